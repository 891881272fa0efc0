/**
 * Histories recorded across worker restarts. Every action (issue 13's list: approve, decline, reschedule,
 * request-reschedule then the customer's reschedule, cancel, no-show, reassign, rebook, a package session, a
 * conversation's answer and close) reaches its workflow in the first task of a worker that was just started,
 * on a Salesforce-connected and an unconnected page, in two timings:
 *   - settled: the previous dispatches completed before the restart (the workflow task that took their
 *     completion commanded nothing, which the SDK may fold into the next task after a cache miss, but not on
 *     replay: temporalio/sdk-rust#1146);
 *   - in flight: the dispatch activities are still running when the action arrives.
 * Workflow workers run workflow tasks (and the local activity) only; one activity worker outlives them and
 * holds the in-flight scenarios' activities until their action was sent. The second worker caches two
 * workflows, so most tasks start from a replay. Runs on a dev server (real time, real matching).
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import {
  applyActionUpdate,
  cancelSignal,
  type BookingAction,
  type BookingInput,
  type BookingPageSnapshot,
  type BookingView,
} from '../../src/shared/booking-contract';
import { conversationActionUpdate, type ConversationAction, type ConversationInput, type ConversationView } from '../../src/shared/conversation-contract';
import type { RoutableEvent, SalesforceSyncInput } from '../../src/shared/dispatch-contract';
import { alice, approvalPage, automaticPage, bob, bobPage, bookingInput } from '../fixtures/bookings';

const hour = 3600_000;
const sfSettings = { connected: true, create_activity_event: true, relate_to: 'lead' as const, create_missing_record: false };
const settings = { noShowWindowMinutes: 60, rescheduleRequestTtlMinutes: 60, indexSearchAttributes: true };

type Timing = 'settled' | 'inflight';
type Step = { update: BookingAction } | { signal: 'cancel' } | { conversation: ConversationAction } | { rebookWith: 'new' };

interface Plan {
  name: string;
  kind: 'booking' | 'conversation';
  input: BookingInput | ConversationInput;
  /** One step per worker restart after the first worker (each step is sent to a freshly started worker). */
  steps: Step[];
  /** Event types the run ends with. */
  expect: string[];
  /** Set for a rebook: the new booking, started in the first step. */
  rebookInput?: BookingInput;
}

export interface RestartRecording {
  name: string;
  workflowId: string;
  history: temporal.api.history.v1.IHistory;
  /** Event types of the final view, and what the plan expected. */
  events: string[];
  expected: string[];
}

function pages(connected: boolean): { auto: BookingPageSnapshot; approval: BookingPageSnapshot; other: BookingPageSnapshot } {
  const sf = connected ? sfSettings : automaticPage.salesforce;
  return {
    auto: { ...automaticPage, id: connected ? 'BP-sf' : 'BP-auto', salesforce: sf },
    approval: { ...approvalPage, id: connected ? 'BP-sf-approval' : 'BP-approval', salesforce: sf },
    other: { ...bobPage, id: connected ? 'BP-sf-bob' : 'BP-bob', salesforce: sf },
  };
}

/** Every scenario, for one page kind and one timing. Workflow ids carry both, so the runs stay apart. */
function plans(now: number, connected: boolean, timing: Timing): Plan[] {
  const p = pages(connected);
  const tag = `${connected ? 'sf' : 'plain'}-${timing}`;
  const id = (name: string) => `BKNG-restart-${name}-${tag}-${now.toString(36)}`;
  const booking = (name: string, o: Partial<BookingInput> & { startInMs?: number } = {}) =>
    bookingInput({ now, bookingId: id(name), page: p.auto, settings, ...o });
  const at = (ms: number) => new Date(now + ms).toISOString();
  const list: Plan[] = [
    { name: 'approve', kind: 'booking', input: booking('approve', { page: p.approval }), steps: [{ update: { kind: 'approve' } }], expect: ['booking.scheduled'] },
    { name: 'decline', kind: 'booking', input: booking('decline', { page: p.approval }), steps: [{ update: { kind: 'decline', reason: 'full' } }], expect: [] },
    {
      name: 'reschedule',
      kind: 'booking',
      input: booking('reschedule'),
      steps: [{ update: { kind: 'reschedule', startTime: at(5 * hour), actionedBy: 'customer' } }],
      expect: ['booking.scheduled', 'booking.rescheduled'],
    },
    {
      name: 'request-reschedule',
      kind: 'booking',
      input: booking('request-reschedule'),
      steps: [{ update: { kind: 'requestReschedule', reason: 'travelling' } }, { update: { kind: 'reschedule', startTime: at(26 * hour), actionedBy: 'customer' } }],
      expect: ['booking.scheduled', 'booking.canceled_reschedule_requested', 'booking.rescheduled'],
    },
    { name: 'cancel', kind: 'booking', input: booking('cancel'), steps: [{ update: { kind: 'cancel', actionedBy: 'customer', reason: 'x' } }], expect: ['booking.scheduled', 'booking.canceled'] },
    { name: 'cancel-signal', kind: 'booking', input: booking('cancel-signal'), steps: [{ signal: 'cancel' }], expect: ['booking.scheduled', 'booking.canceled'] },
    {
      // A meeting that ends 3 s after it starts, 1.5 s from now: completed before the restart.
      name: 'no-show',
      kind: 'booking',
      input: booking('no-show', { startInMs: 1500, durationMinutes: 0.05 }),
      steps: [{ update: { kind: 'noShow', userId: alice.id } }],
      expect: ['booking.scheduled', 'booking.completed', 'booking.no_show'],
    },
    {
      name: 'reassign',
      kind: 'booking',
      input: booking('reassign'),
      steps: [{ update: { kind: 'reassign', owner: bob, page: p.other, reason: 'holiday' } }],
      expect: ['booking.scheduled', 'booking.reassigned'],
    },
    {
      name: 'package-session',
      kind: 'booking',
      input: booking('package', { sessionPackage: { id: `PKG-restart-${tag}`, index: 2, size: 3 } }),
      steps: [{ update: { kind: 'reschedule', startTime: at(7 * hour), actionedBy: 'user' } }],
      expect: ['booking.scheduled', 'booking.rescheduled'],
    },
  ];
  const old = booking('rebook-old');
  list.push({
    name: 'rebook',
    kind: 'booking',
    input: old,
    rebookInput: bookingInput({
      now,
      bookingId: id('rebook-new'),
      page: p.other,
      owner: bob,
      settings,
      startInMs: 6 * hour,
      rebookOf: { bookingId: old.bookingId, reason: 'prefer Bob', actionedBy: 'customer', pageConnectedToSalesforce: connected },
    }),
    steps: [{ rebookWith: 'new' }],
    expect: ['booking.scheduled', 'booking.canceled'],
  });
  const cvr = `CVR-restart-${tag}-${now.toString(36)}`;
  list.push({
    name: 'conversation',
    kind: 'conversation',
    input: {
      conversationId: cvr,
      createdAt: new Date(now).toISOString(),
      initiatedBy: 'contact',
      bot: { id: 'BOT-sales', name: 'Sales bot' },
      website: { id: 'WEB-acme', name: 'Acme', url: 'https://acme.example' },
      contact: { name: 'Ada Lovelace', email: 'ada@example.com' },
      owner: alice,
      settings: { abandonAfterMinutes: 10 },
      indexSearchAttributes: true,
    },
    steps: [{ conversation: { kind: 'answer', question: 'Company size?', value: '50' } }, { conversation: { kind: 'close', reason: 'flow_completed' } }],
    expect: ['conversation.started', 'conversation.closed'],
  });
  // Conversations have no Salesforce side: record them once per timing.
  return connected ? list.filter((x) => x.kind === 'booking') : list;
}

function workflowIdOf(plan: Plan): string {
  return plan.kind === 'booking' ? (plan.input as BookingInput).bookingId : (plan.input as ConversationInput).conversationId;
}

/** Holds the dispatch activities of chosen workflows until released. */
class Gate {
  private readonly held = new Set<string>();
  private readonly waiters = new Map<string, (() => void)[]>();
  readonly calls = new Map<string, number>();
  hold(id: string): void {
    this.held.add(id);
  }
  release(id: string): void {
    this.held.delete(id);
    for (const w of this.waiters.get(id) ?? []) w();
    this.waiters.delete(id);
  }
  releaseAll(): void {
    for (const id of [...this.held]) this.release(id);
  }
  async pass(id: string): Promise<void> {
    this.calls.set(id, (this.calls.get(id) ?? 0) + 1);
    if (!this.held.has(id)) return;
    await new Promise<void>((resolve) => this.waiters.set(id, [...(this.waiters.get(id) ?? []), resolve]));
  }
}

function dispatchActivities(gate: Gate) {
  return {
    // The two dispatches answer at different times, as real ones do: each completion is a workflow task of its
    // own, and the Salesforce one, the last, commands nothing (the task that a cache miss folds into the next).
    async routeEvent(e: RoutableEvent) {
      await gate.pass(e.sourceWorkflowId);
      await new Promise((r) => setTimeout(r, 20));
      return { deliveryIds: [] };
    },
    async syncActivityEvent(i: SalesforceSyncInput) {
      await gate.pass(i.bookingId);
      await new Promise((r) => setTimeout(r, 80));
      return { outcome: i.event.seq === 1 ? ('created' as const) : ('updated' as const), activityEventId: '00U000000000001AAA' };
    },
  };
}

const noteActivities = { async noteIgnoredSignal() {} };

/** Polls until `check` holds; after `giveUpMs` (when set) it returns quietly instead of failing. */
async function pollUntil(what: string, check: () => Promise<boolean>, giveUpMs?: number): Promise<void> {
  const deadline = Date.now() + (giveUpMs ?? 60_000);
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) {
      if (giveUpMs !== undefined) return;
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** No workflow task is pending (the last one completed); with 'none', no activity is running either. */
async function quiet(h: WorkflowHandle, activities: 'none' | 'any'): Promise<boolean> {
  const d = await h.describe();
  if (d.status.name !== 'RUNNING') return true;
  if (activities === 'none' && (d.raw.pendingActivities?.length ?? 0) > 0) return false;
  return !d.raw.pendingWorkflowTask;
}

/**
 * Runs every scenario on `env` with the given workflow code and returns each workflow's history and final
 * events. `only` narrows the scenarios by name (for a quick check).
 */
export async function recordRestartScenarios(
  env: TestWorkflowEnvironment,
  bundle: WorkflowBundle,
  taskQueue: string,
  opts: { only?: string[]; log?: (line: string) => void; stuckAfterMs?: number } = {},
): Promise<RestartRecording[]> {
  const log = opts.log ?? (() => undefined);
  const now = Date.now();
  const all: (Plan & { timing: Timing })[] = [];
  for (const timing of ['settled', 'inflight'] as const) {
    for (const connected of [true, false]) for (const plan of plans(now, connected, timing)) all.push({ ...plan, timing, name: `${plan.name}--${connected ? 'sf' : 'plain'}-${timing}` });
  }
  const chosen = opts.only ? all.filter((p) => opts.only!.some((o) => p.name.startsWith(o))) : all;
  const client = env.client;
  const gate = new Gate();
  const activityWorker = await Worker.create({ connection: env.nativeConnection, taskQueue, activities: dispatchActivities(gate) });
  const workflowWorker = (maxCachedWorkflows: number) =>
    Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: noteActivities,
      enableNonLocalActivities: false,
      maxCachedWorkflows,
      // A stopped worker hands its tasks back at once (the next one starts from history).
      stickyQueueScheduleToStartTimeout: '1s',
    });
  const handle = (id: string) => client.workflow.getHandle(id);
  let rebooked = false;
  // A run whose workflow tasks fail (code that is not replay-safe) never settles: with stuckAfterMs, move on.
  const settle = (what: string, id: string, activities: 'none' | 'any') => pollUntil(`${what}: ${id}`, () => quiet(handle(id), activities), opts.stuckAfterMs);
  const waitAll = async (what: string, activities: (p: (typeof chosen)[number]) => 'none' | 'any') => {
    await Promise.all(
      chosen.map(async (p) => {
        await settle(what, workflowIdOf(p), activities(p));
        if (p.rebookInput && rebooked) await settle(what, p.rebookInput.bookingId, activities(p));
      }),
    );
  };

  /** Sends a plan's step: an update (the API's path), a signal (the CLI's and UI's), or the rebook's new booking. */
  const act = async (p: (typeof chosen)[number], step: number): Promise<void> => {
    const s = p.steps[step];
    const id = workflowIdOf(p);
    if ('update' in s) await handle(id).executeUpdate(applyActionUpdate, { args: [s.update] });
    else if ('signal' in s) await handle(id).signal(cancelSignal, { actionedBy: 'user', reason: 'by signal' });
    else if ('conversation' in s) await handle(id).executeUpdate(conversationActionUpdate, { args: [s.conversation] });
    else await client.workflow.start('bookingWorkflow', { taskQueue, workflowId: p.rebookInput!.bookingId, args: [p.rebookInput!] });
  };

  const activityRun = activityWorker.run();
  try {
    // Worker 1: start everything; in-flight scenarios keep their first dispatches running.
    for (const p of chosen) if (p.timing === 'inflight') gate.hold(workflowIdOf(p));
    let worker = await workflowWorker(100);
    let run = worker.run();
    for (const p of chosen) {
      const workflowType = p.kind === 'booking' ? 'bookingWorkflow' : 'conversationWorkflow';
      await client.workflow.start(workflowType, { taskQueue, workflowId: workflowIdOf(p), args: [p.input] });
    }
    // The no-show meeting must have completed (its timer fired, its dispatches too) before the restart.
    await Promise.all(
      chosen
        .filter((p) => p.name.startsWith('no-show'))
        .map((p) =>
          pollUntil(`${p.name} completed`, async () => {
            const v = (await handle(workflowIdOf(p)).query('getBooking')) as BookingView;
            return v.booking.status === 'completed';
          }),
        ),
    );
    await waitAll('first worker', (p) => (p.timing === 'inflight' ? 'any' : 'none'));
    const maxSteps = Math.max(...chosen.map((p) => p.steps.length));
    for (let step = 0; step < maxSteps; step++) {
      worker.shutdown();
      await run;
      log(`restart before step ${step + 1}`);
      // Later workers cache two workflows: most tasks start from a replay of the whole history.
      worker = await workflowWorker(2);
      run = worker.run();
      const acting = chosen.filter((p) => p.steps.length > step);
      await Promise.all(
        acting.map(async (p) => {
          // A run stuck on a failed workflow task refuses updates; with stuckAfterMs that is expected.
          await act(p, step).catch((err: unknown) => {
            if (opts.stuckAfterMs === undefined) throw err;
            log(`${p.name}: step ${step + 1} refused: ${String(err)}`);
          });
        }),
      );
      rebooked = true;
      // The actions are in; the dispatches held since before the restart may finish now.
      gate.releaseAll();
      for (const p of chosen) if (p.timing === 'inflight' && p.steps.length > step + 1) gate.hold(workflowIdOf(p));
      await waitAll(`step ${step + 1}`, (p) => (p.timing === 'inflight' && p.steps.length > step + 1 ? 'any' : 'none'));
    }
    gate.releaseAll();
    await waitAll('the end', () => 'none');
    const out: RestartRecording[] = [];
    for (const p of chosen) {
      for (const [suffix, id] of p.rebookInput ? [['--old', workflowIdOf(p)], ['--new', p.rebookInput.bookingId]] : [['', workflowIdOf(p)]]) {
        const h = handle(id);
        const view = (await h.query(p.kind === 'booking' ? 'getBooking' : 'getConversation').catch(() => null)) as BookingView | ConversationView | null;
        const events = view ? view.events.map((e) => e.type) : ['(unreadable)'];
        const expected = suffix === '--new' ? ['booking.canceled_then_rescheduled'] : p.expect;
        out.push({ name: `${p.name}${suffix}`, workflowId: id, history: await h.fetchHistory(), events, expected });
      }
    }
    worker.shutdown();
    await run;
    return out;
  } finally {
    gate.releaseAll();
    activityWorker.shutdown();
    await activityRun;
  }
}
