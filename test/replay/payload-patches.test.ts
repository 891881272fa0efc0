/**
 * The two patches of issue 18, item 6, in the booking workflow: `form-submission-every-field` (event payloads, update
 * answers and the result carry every form field) and `details-owner-local-times` (the run's current details show the
 * meeting in the owner's time zone as well as UTC). Runs recorded before them (every committed history) carry neither
 * marker, so they take the old branches, and replay; a run recorded now carries both markers, sends the new shape
 * and replays too; and a run started on the code before, continued by the patched code, keeps what it sent and sends
 * the new shape from its next event on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type ReplayResult } from '@temporalio/worker';
import { bookingWorkflow, COMPLETE_FORM_SUBMISSION, DETAILS_LOCAL_TIMES } from '../../workflows/booking';
import { cancelSignal, type BookingView } from '../../src/shared/booking-contract';
import type { RoutableEvent } from '../../src/shared/dispatch-contract';
import { timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { alice, bookingInput } from '../fixtures/bookings';
import { historyFromFile, HISTORIES_DIR } from './scenarios';

jest.setTimeout(180_000);

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // A runtime already exists in this process: keep it.
}

const PATCHES = [COMPLETE_FORM_SUBMISSION, DETAILS_LOCAL_TIMES];
const bookingFiles = fs
  .readdirSync(HISTORIES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .filter((f) => historyFromFile(path.join(HISTORIES_DIR, f)).events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name === 'bookingWorkflow');

/** The patch ids a history's markers name (the SDK writes the id into the marker's details). */
function patchMarkers(history: ReturnType<typeof historyFromFile>): string[] {
  const ids: string[] = [];
  for (const e of history.events ?? []) {
    const m = e.markerRecordedEventAttributes;
    if (m?.markerName !== 'core_patch') continue;
    const data = m.details?.['patch-data']?.payloads?.[0]?.data;
    const text = data ? Buffer.from(data).toString('utf8') : '';
    for (const p of PATCHES) if (text.includes(p)) ids.push(p);
  }
  return ids;
}

async function replayAll(items: { workflowId: string; history: ReturnType<typeof historyFromFile> }[]): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, items)) results.push(r);
  return results;
}

let env: TestWorkflowEnvironment;
const tmpDir = path.join(__dirname, `.before-payload-patches-${process.pid}`);
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  fs.rmSync(tmpDir, { recursive: true, force: true });
  await env?.teardown();
});

/** Activities that record what the workflow routed. */
function recordingActivities(routed: RoutableEvent[]) {
  return {
    routeEvent: async (e: RoutableEvent) => {
      routed.push(e);
      return { deliveryIds: [], delivered: 0, retrying: 0, stopped: 0 };
    },
    syncActivityEvent: async () => ({ outcome: 'skipped' }),
    noteIgnoredSignal: async () => undefined,
  };
}

test('booking histories recorded before the patches carry neither marker and replay against the patched code', async () => {
  expect(bookingFiles.length).toBeGreaterThanOrEqual(60);
  const items = bookingFiles.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: historyFromFile(path.join(HISTORIES_DIR, f)) }));
  for (const { workflowId, history } of items) expect([workflowId, patchMarkers(history)]).toEqual([workflowId, []]);
  const results = await replayAll(items);
  expect(results.filter((r) => r.error).map((r) => `${r.workflowId}: ${String(r.error)}`)).toEqual([]);
  expect(results).toHaveLength(items.length);
});

test('a run recorded now carries both markers, sends every form field, shows owner-zone times, and replays', async () => {
  const taskQueue = uniqueTaskQueue('payload-patches');
  const routed: RoutableEvent[] = [];
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: recordingActivities(routed),
  });
  // The form leaves phone, mobile phone, note, guests and custom fields out, as a customer may.
  const input = bookingInput({ form: { name: 'Carol Customer', email: 'carol@example.com', company: 'Acme' }, owner: { ...alice, timezone: 'Asia/Kolkata' } });
  const { history, details, result } = await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(bookingWorkflow, { taskQueue, workflowId: input.bookingId, args: [input] });
    // Current details while it runs: the meeting as the owner reads it (India, UTC+5:30), and in UTC.
    let meta: { currentDetails?: string } = {};
    for (let i = 0; i < 100 && !meta.currentDetails; i++) meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    await handle.signal(cancelSignal, { actionedBy: 'customer', reason: 'changed plans' });
    const view: BookingView = await handle.result();
    return { history: await handle.fetchHistory(), details: meta.currentDetails ?? '', result: view };
  });

  const complete = { name: 'Carol Customer', email: 'carol@example.com', phone: null, mobile_phone: null, company: 'Acme', note: null, guests: [], custom_fields: [] };
  expect(routed.map((e) => e.envelope.type)).toEqual(['booking.scheduled', 'booking.canceled']);
  for (const e of routed) expect((e.envelope.data as { form_submission: unknown }).form_submission).toEqual(complete);
  expect(result.booking.form_submission).toEqual(complete);
  const start = new Date(input.startTime);
  const local = new Date(start.getTime() + 330 * 60_000);
  const hhmm = `${String(local.getUTCHours()).padStart(2, '0')}:${String(local.getUTCMinutes()).padStart(2, '0')}`;
  expect(details).toContain(`Meeting: `);
  expect(details).toContain(`, ${hhmm} → `);
  expect(details).toContain('Asia/Kolkata (UTC+5:30)');
  expect(details).toContain(`UTC ${input.startTime}`);

  expect(patchMarkers(history).sort()).toEqual([...PATCHES].sort());
  const [replayed] = await replayAll([{ workflowId: input.bookingId, history }]);
  expect(replayed.error).toBeUndefined();
});

test('a run started before the patches replays with its old payloads and sends complete ones from its next event on', async () => {
  // The code before the patches: this workflow with both patches off, which is exactly the branch a run without
  // their markers takes (the old details text and the form as given are unchanged behind them).
  const source = fs.readFileSync(path.join(__dirname, '..', '..', 'workflows', 'booking.ts'), 'utf8');
  const guarded = /patched\((COMPLETE_FORM_SUBMISSION|DETAILS_LOCAL_TIMES)\)/g;
  expect(source.match(guarded)).toHaveLength(3);
  const before = source
    .replace(/'\.\.\/src\//g, "'../../../src/")
    .replace(/'\.\/(?=[a-z-]+')/g, "'../../../workflows/")
    .replace(guarded, 'false');
  fs.mkdirSync(tmpDir, { recursive: true });
  const beforePath = path.join(tmpDir, 'booking.ts');
  fs.writeFileSync(beforePath, before);

  const taskQueue = uniqueTaskQueue('payload-patches-upgrade');
  const routed: RoutableEvent[] = [];
  const worker = async (bundlePath?: string) =>
    Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(bundlePath),
      activities: recordingActivities(routed),
      // No cache, so no sticky queue: every task, the upgraded worker's first included, starts from the history.
      maxCachedWorkflows: 0,
    });
  const input = bookingInput({ form: { name: 'Carol Customer', email: 'carol@example.com' } });
  const handle = await worker(beforePath).then((w) =>
    w.runUntil(async () => {
      const h = await env.client.workflow.start(bookingWorkflow, { taskQueue, workflowId: input.bookingId, args: [input] });
      // Settled on the old code: booking.scheduled routed and its completion processed.
      for (let i = 0; i < 200; i++) {
        const events = (await h.fetchHistory()).events ?? [];
        if (events.some((e) => e.activityTaskCompletedEventAttributes) && events[events.length - 1].workflowTaskCompletedEventAttributes) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      return h;
    }),
  );
  expect(patchMarkers(await handle.fetchHistory())).toEqual([]);

  // The upgraded worker replays the run (no markers: the old branches), then takes the new ones for what comes next.
  const result = await worker().then((w) =>
    w.runUntil(async () => {
      await handle.signal(cancelSignal, { actionedBy: 'customer', reason: 'changed plans' });
      return handle.result();
    }),
  );
  expect(routed.map((e) => e.envelope.type)).toEqual(['booking.scheduled', 'booking.canceled']);
  expect((routed[0].envelope.data as { form_submission: unknown }).form_submission).toEqual({ name: 'Carol Customer', email: 'carol@example.com' });
  const complete = { name: 'Carol Customer', email: 'carol@example.com', phone: null, mobile_phone: null, company: null, note: null, guests: [], custom_fields: [] };
  expect((routed[1].envelope.data as { form_submission: unknown }).form_submission).toEqual(complete);
  expect(result.booking.form_submission).toEqual(complete);
  const history = await handle.fetchHistory();
  expect(patchMarkers(history).sort()).toEqual([...PATCHES].sort());
  const [replayed] = await replayAll([{ workflowId: input.bookingId, history }]);
  expect(replayed.error).toBeUndefined();
});
