/**
 * Replay across restarts (issue 13): every action arrives in the first task of a freshly started worker, with
 * its booking's earlier dispatches settled or still in flight, on connected and unconnected pages; every
 * resulting history must replay against the same code, and every run must end with the events its actions say.
 * The loops this replaced fail the same check: that proves the recording reproduces the restart bug.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type ReplayResult, type WorkflowBundle } from '@temporalio/worker';
import { localEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { recordRestartScenarios, type RestartRecording } from './restart-scenarios';

jest.setTimeout(6 * 60_000);

let env: TestWorkflowEnvironment;
const legacyDir = path.join(__dirname, `.legacy-${process.pid}`);

beforeAll(async () => {
  env = await localEnv();
});

afterAll(async () => {
  await env?.teardown();
  fs.rmSync(legacyDir, { recursive: true, force: true });
});

async function replay(bundle: WorkflowBundle, recs: RestartRecording[]): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  const histories = recs.map((r) => ({ workflowId: r.name, history: r.history }));
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) results.push(r);
  return results;
}

test('every action in a restarted worker\'s first task replays, on connected and unconnected pages, settled and in flight', async () => {
  const bundle = await workflowBundle();
  const recs = await recordRestartScenarios(env, bundle, uniqueTaskQueue('restart'));
  // 10 booking scenarios (the rebook as two runs) on two page kinds, a conversation, in two timings.
  expect(recs).toHaveLength(2 * (2 * 11 + 1));
  for (const r of recs) expect({ name: r.name, events: r.events }).toEqual({ name: r.name, events: r.expected });
  const results = await replay(bundle, recs);
  expect(results.filter((r) => r.error).map((r) => `${r.workflowId}: ${String(r.error)}`)).toEqual([]);
  expect(results).toHaveLength(recs.length);
  console.log(`[restart-replay] ${results.length} histories recorded across restarts replayed, 0 failures`);
});

test('the concurrent loops this replaced fail the same replay (the recording reproduces the restart bug)', async () => {
  // The workflows as they ran before the fix: the patch that selects the ordered loop answers false.
  fs.mkdirSync(legacyDir, { recursive: true });
  const workflowsDir = path.join(__dirname, '..', '..', 'workflows');
  for (const f of ['booking.ts', 'conversation.ts', 'ordered-loop.ts']) {
    const source = fs.readFileSync(path.join(workflowsDir, f), 'utf8').replace(/'\.\.\/src\//g, "'../../../src/");
    const legacy = source.replace('patched(ONE_ORDERED_LOOP)', 'false').replace('patched(CONVERSATION_ORDERED_LOOP)', 'false');
    if (f !== 'ordered-loop.ts') expect(legacy).not.toEqual(source);
    fs.writeFileSync(path.join(legacyDir, f), legacy);
  }
  fs.writeFileSync(path.join(legacyDir, 'index.ts'), "export * from './booking';\nexport * from './conversation';\n");
  const bundle = await workflowBundle(path.join(legacyDir, 'index.ts'));
  const recs = await recordRestartScenarios(env, bundle, uniqueTaskQueue('restart-legacy'), { only: ['cancel--sf-settled', 'reschedule--sf-settled', 'request-reschedule--sf-settled'], stuckAfterMs: 5000 });
  const results = await replay(bundle, recs);
  const failed = results.filter((r) => r.error);
  console.log(`[restart-replay] legacy loops: ${failed.length} of ${results.length} histories fail replay`);
  expect(failed.length).toBeGreaterThan(0);
  for (const r of failed) expect(r.error).toBeInstanceOf(DeterminismViolationError);
});
