/** The local (dev server) test environment: booking search attributes registered, visibility queries work. */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { CUSTOM_SEARCH_ATTRIBUTES, BookingStatusSA } from '../../src/shared/booking-contract';
import { localEnv, uniqueTaskQueue } from '../helpers/temporal-env';
import { holdUntilReleased } from './workflows';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await localEnv();
});
afterAll(async () => {
  await env?.teardown();
});

test('registers the custom search attributes and finds a workflow by them', async () => {
  const { customAttributes } = await env.connection.operatorService.listSearchAttributes({ namespace: env.namespace ?? 'default' });
  expect(Object.keys(customAttributes ?? {})).toEqual(expect.arrayContaining(Object.keys(CUSTOM_SEARCH_ATTRIBUTES)));

  const taskQueue = uniqueTaskQueue('local-env');
  const status = `status-${taskQueue}`;
  const handle = await env.client.workflow.start(holdUntilReleased, {
    taskQueue,
    workflowId: taskQueue,
    typedSearchAttributes: [{ key: BookingStatusSA, value: status }],
  });
  const found: string[] = [];
  for (let i = 0; i < 100 && found.length === 0; i++) {
    for await (const wf of env.client.workflow.list({ query: `BookingStatus = '${status}'` })) found.push(wf.workflowId);
    if (found.length === 0) await new Promise((r) => setTimeout(r, 200));
  }
  expect(found).toEqual([handle.workflowId]);
  await handle.terminate('test done');
});
