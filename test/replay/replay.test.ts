/**
 * Determinism: every committed history (test/replay/histories, refreshed by `npm run histories:refresh`) replays
 * against the current workflow code with Worker.runReplayHistories. A copy of the booking workflow with one
 * incompatible change (a timer before the first dispatch) must fail the same replay: that proves the check bites.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { DefaultLogger, Runtime, Worker, type ReplayResult } from '@temporalio/worker';
import { workflowBundle } from '../helpers/temporal-env';
import { historyFileText, historyFromFile, HISTORIES_DIR } from './scenarios';

jest.setTimeout(180_000);

// The negative test makes the SDK log one nondeterminism warning per history; only errors are worth showing.
try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // A runtime already exists in this process (files run in one jest process): keep it.
}

const files = fs
  .readdirSync(HISTORIES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

function histories(names: string[]) {
  return names.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: historyFromFile(path.join(HISTORIES_DIR, f)) }));
}

async function replay(bundlePath: string | undefined, names: string[]): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle(bundlePath) }, histories(names))) results.push(r);
  return results;
}

/** Workflow type of a recorded history (first event). */
function workflowType(file: string): string {
  const h = historyFromFile(path.join(HISTORIES_DIR, file));
  return h.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '';
}

const tmpDir = path.join(__dirname, `.incompatible-${process.pid}`);

afterAll(() => {
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

test('every committed history is the SDK history JSON that recordHistories writes (historyToJSON, read back by historyFromJSON)', () => {
  // Read and written again, each file comes out byte for byte: a file in another format (the protobuf-message JSON
  // these were stored in before, with {seconds, nanos} timestamps) either fails historyFromJSON or differs here.
  const different = files.filter((f) => {
    const file = path.join(HISTORIES_DIR, f);
    return historyFileText(historyFromFile(file)) !== fs.readFileSync(file, 'utf8');
  });
  expect(different).toEqual([]);
});

test('every committed history replays against the current workflows', async () => {
  // Every workflow type and both booking modes are covered, so a change to any of them is checked.
  const types = new Set(files.map(workflowType));
  expect([...types].sort()).toEqual(['bookingWorkflow', 'conversationWorkflow', 'webhookDeliveryWorkflow']);
  expect(files.length).toBeGreaterThanOrEqual(25);
  const results = await replay(undefined, files);
  const failed = results.filter((r) => r.error).map((r) => `${r.workflowId}: ${String(r.error)}`);
  expect(failed).toEqual([]);
  expect(results).toHaveLength(files.length);
  console.log(`[replay] ${results.length} histories replayed, 0 failures`);
});

test('an incompatible change to the booking workflow makes the replay fail', async () => {
  // The deliberate change: a one-second timer before the first lifecycle event is dispatched. A deployed
  // worker with this code would find ActivityTaskScheduled in history where it now issues StartTimer.
  const source = fs.readFileSync(path.join(__dirname, '..', '..', 'workflows', 'booking.ts'), 'utf8');
  const anchor = '  apply(started.effects);\n  publish();\n';
  expect(source).toContain(anchor);
  const changed = source
    .replace(/'\.\.\/src\//g, "'../../../src/")
    .replace(/'\.\/(?=[a-z-]+')/g, "'../../../workflows/")
    .replace(anchor, `  await condition(() => false, 1000);\n${anchor}`);
  fs.mkdirSync(tmpDir, { recursive: true });
  const changedPath = path.join(tmpDir, 'booking.ts');
  fs.writeFileSync(changedPath, changed);

  const bookingFiles = files.filter((f) => workflowType(f) === 'bookingWorkflow');
  // Histories whose first workflow task dispatched an event (automatic bookings) must all fail; approval
  // requests start with the deadline timer and may coincide with the extra timer's position.
  const dispatchedFirst = bookingFiles.filter((f) => f.startsWith('automatic-completed') || f.startsWith('automatic-canceled'));
  expect(dispatchedFirst.length).toBeGreaterThanOrEqual(2);
  const results = await replay(changedPath, bookingFiles);
  const failures = results.filter((r) => r.error);
  for (const f of dispatchedFirst) {
    const r = results.find((x) => x.workflowId === f.replace(/\.json$/, ''));
    expect(r?.error).toBeInstanceOf(DeterminismViolationError);
  }
  console.log(`[replay] incompatible change: ${failures.length} of ${results.length} booking histories fail with DeterminismViolationError`);
});
