/** The time-skipping helper: timers jump, so a workflow sleeping for hours completes within the test. */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { sleeper } from './workflows';

const WORKFLOWS = require.resolve('./workflows');
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await timeSkippingEnv();
});

afterAll(async () => {
  await env?.teardown();
});

test('a workflow sleeping 3 hours completes, having slept 3 hours of workflow time', async () => {
  const taskQueue = uniqueTaskQueue('time-skipping');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(WORKFLOWS),
  });
  const slept = await worker.runUntil(
    env.client.workflow.execute(sleeper, { args: [3], taskQueue, workflowId: `${taskQueue}-sleeper` }),
  );
  expect(slept).toBeGreaterThanOrEqual(3 * 60 * 60 * 1000);
});

test('the workflow bundle is built once per path and reused', async () => {
  expect(workflowBundle(WORKFLOWS)).toBe(workflowBundle(WORKFLOWS));
});
