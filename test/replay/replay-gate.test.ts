/**
 * The replay gate bites: on a dev server, a probe workflow runs once to completion and once stays open (waiting
 * on its timer). The gate replays both against the bundle they ran under without a failure, and reports both,
 * open and closed, against a copy of the probe that no longer starts the timer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { localEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { replayEveryHistory } from '../helpers/replay-gate';

jest.setTimeout(180_000);

// Inside the repository so the bundler resolves @temporalio/workflow from node_modules.
const tmpDir = path.join(__dirname, `.gate-probe-${process.pid}`);
const PROBE = `import { sleep } from '@temporalio/workflow';
export async function gateProbeWorkflow(ms: number): Promise<string> {
  await sleep(ms);
  return 'done';
}
`;
// The incompatible change: the timer is gone, so replay meets TimerStarted where the code completes the workflow.
const PROBE_WITHOUT_TIMER = `export async function gateProbeWorkflow(_ms: number): Promise<string> {
  return 'done';
}
`;

let env: TestWorkflowEnvironment;

function writeProbe(name: string, source: string): string {
  const file = path.join(tmpDir, name);
  fs.writeFileSync(file, source);
  return file;
}

beforeAll(async () => {
  fs.mkdirSync(tmpDir, { recursive: true });
  env = await localEnv();
});

afterAll(async () => {
  await env?.teardown();
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

test('the gate passes histories the code replays and reports every one it cannot, open or closed', async () => {
  const [probe, withoutTimer] = await Promise.all([
    workflowBundle(writeProbe('probe.ts', PROBE)),
    workflowBundle(writeProbe('probe-without-timer.ts', PROBE_WITHOUT_TIMER)),
  ]);
  const taskQueue = uniqueTaskQueue('replay-gate-probe');
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: probe });
  const [closed, open] = await worker.runUntil(async () => {
    const closed = await env.client.workflow.start('gateProbeWorkflow', { taskQueue, workflowId: 'gate-probe-closed', args: [10] });
    expect(await closed.result()).toBe('done');
    const open = await env.client.workflow.start('gateProbeWorkflow', { taskQueue, workflowId: 'gate-probe-open', args: [3_600_000] });
    // Open with its first workflow task completed: the history holds the TimerStarted the changed code lacks.
    for (let i = 0; ; i++) {
      const { events } = await open.fetchHistory();
      if (events?.some((e) => e.timerStartedEventAttributes)) break;
      if (i > 100) throw new Error('the open probe never started its timer');
      await new Promise((r) => setTimeout(r, 100));
    }
    return [closed, open];
  });
  // Visibility is eventually consistent: the gate lists once, so wait until both runs are listed.
  for (let i = 0; (await env.client.workflow.count()).count < 2; i++) {
    if (i > 100) throw new Error('the probes never showed up in visibility');
    await new Promise((r) => setTimeout(r, 100));
  }
  const runs = [
    { workflowId: closed.workflowId, runId: closed.firstExecutionRunId },
    { workflowId: open.workflowId, runId: open.firstExecutionRunId },
  ].sort((a, b) => a.workflowId.localeCompare(b.workflowId));

  const same = await replayEveryHistory(env.client, { workflowBundle: probe, label: 'probe, same code' });
  expect(same).toMatchObject({ workflows: 2, open: 1, replayed: 2, failures: [] });

  const changed = await replayEveryHistory(env.client, { workflowBundle: withoutTimer, label: 'probe, timer removed' });
  expect(changed).toMatchObject({ workflows: 2, open: 1, replayed: 2 });
  const failed = [...changed.failures].sort((a, b) => a.workflowId.localeCompare(b.workflowId));
  expect(failed.map(({ workflowId, runId, workflowType }) => ({ workflowId, runId, workflowType }))).toEqual(
    runs.map((r) => ({ ...r, workflowType: 'gateProbeWorkflow' })),
  );
  for (const f of failed) expect(f.error).toMatch(/^DeterminismViolationError: .*[Nn]ondeterminism/);
});
