/**
 * The lifecycle scenarios whose histories are committed under test/replay/histories: every booking scenario of
 * lifecycle.md section 2 (both modes), ignored signals, a Salesforce configuration error, conversations and
 * webhook deliveries (success, a retried failure, 410). Most run on the time-skipping server (hours of meeting
 * time in a second); a few run on a dev server so the histories also hold search-attribute upserts.
 * Activities are stubs: replay checks the workflow code's commands, not what activities did.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import {
  approveSignal,
  cancelSignal,
  declineSignal,
  getBookingQuery,
  noShowSignal,
  reassignSignal,
  requestRescheduleSignal,
  rescheduleSignal,
  type BookingInput,
  type BookingView,
} from '../../src/shared/booking-contract';
import { answerSignal, closeSignal, type ConversationInput } from '../../src/shared/conversation-contract';
import { DELIVERY_FAILURE, type DeliveryHandoff, type DeliveryInput, type RoutableEvent, type SalesforceSyncInput } from '../../src/shared/dispatch-contract';
import { alice, approvalPage, automaticPage, bob, bobPage, bookingInput } from '../fixtures/bookings';
import { localEnv, timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { recordRestartScenarios } from './restart-scenarios';

/** Where the committed histories live. */
export const HISTORIES_DIR = path.join(__dirname, 'histories');
/** Histories from before a versioned change (patched()); never rewritten by a refresh. */
export const PINNED_PREFIX = 'pinned--';
/** Histories recorded across worker restarts. */
export const RESTART_PREFIX = 'restart--';

const hour = 3600_000;
const connectedPage = { ...automaticPage, id: 'BP-sf', salesforce: { connected: true, create_activity_event: true, relate_to: 'lead' as const, create_missing_record: false } };

/** Stub activities: every dispatch succeeds, except where the scenario's ids ask for a failure. */
function stubActivities() {
  return {
    async routeEvent(_e: RoutableEvent) {
      return { deliveryIds: [] };
    },
    async syncActivityEvent(i: SalesforceSyncInput) {
      if (i.bookingId.includes('sferror')) throw ApplicationFailure.create({ type: 'INVALID_FIELD', nonRetryable: true, message: 'No such column Event_Status__c' });
      return { outcome: i.event.seq === 1 ? ('created' as const) : ('updated' as const), activityEventId: '00U000000000001AAA' };
    },
    async noteIgnoredSignal() {},
    async deliverWebhook(input: DeliveryInput) {
      const attempt = Context.current().info.attempt;
      if (input.deliveryId.includes('gone')) throw ApplicationFailure.create({ type: DELIVERY_FAILURE.gone, nonRetryable: true, message: 'Endpoint answered 410 Gone' });
      if (input.deliveryId.includes('retry') && attempt === 1) {
        throw ApplicationFailure.create({ type: DELIVERY_FAILURE.attemptFailed, message: 'HTTP 503', nextRetryDelay: '35 seconds' });
      }
      return { status: 200, attempts: (input.handoff?.attemptsMade ?? 0) + attempt };
    },
    async finishDelivery() {
      return { attempts: 1 };
    },
  };
}

interface Ctx {
  env: TestWorkflowEnvironment;
  taskQueue: string;
  now(): Promise<number>;
}

type Handle = WorkflowHandle;
type Scenario = (ctx: Ctx) => Promise<Handle[]>;

async function startBooking(ctx: Ctx, input: BookingInput): Promise<Handle> {
  return ctx.env.client.workflow.start('bookingWorkflow', { taskQueue: ctx.taskQueue, workflowId: input.bookingId, args: [input] });
}

async function waitFor(h: Handle, pred: (v: BookingView) => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (pred(await h.query(getBookingQuery))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not reached for ${h.workflowId}`);
}

async function done(...hs: Handle[]): Promise<Handle[]> {
  await Promise.all(hs.map((h) => h.result()));
  return hs;
}

let seq = 0;
/** A booking input with a readable id (the file name says the scenario, the id only needs to be unique). */
async function input(ctx: Ctx, name: string, o: Partial<BookingInput> & { startInMs?: number } = {}): Promise<BookingInput> {
  seq++;
  return bookingInput({ now: await ctx.now(), bookingId: `BKNG-replay-${name}-${seq}`, ...o });
}

/** Booking scenarios run in both modes; `approve` makes an approval booking scheduled. */
function bookingScenarios(mode: 'automatic' | 'approval'): Record<string, Scenario> {
  const page = mode === 'approval' ? approvalPage : automaticPage;
  const booked = async (ctx: Ctx, i: BookingInput) => {
    const h = await startBooking(ctx, i);
    if (mode === 'approval') await h.signal(approveSignal, {});
    await waitFor(h, (v) => v.booking.status === 'scheduled');
    return h;
  };
  return {
    [`${mode}-completed`]: async (ctx) => done(await booked(ctx, await input(ctx, `${mode}-completed`, { page }))),
    [`${mode}-rescheduled`]: async (ctx) => {
      const i = await input(ctx, `${mode}-rescheduled`, { page });
      const h = await booked(ctx, i);
      await h.signal(rescheduleSignal, { startTime: new Date(Date.parse(i.startTime) + 5 * hour).toISOString(), reason: 'clash', actionedBy: 'customer' });
      if (mode === 'approval') {
        await waitFor(h, (v) => v.pending_request !== null);
        await h.signal(approveSignal, {});
      }
      return done(h);
    },
    [`${mode}-rebook-pair`]: async (ctx) => {
      const old = await input(ctx, `${mode}-rebook-old`, { page });
      const oldH = await booked(ctx, old);
      const next = await input(ctx, `${mode}-rebook-new`, {
        page: mode === 'approval' ? { ...bobPage, mode: 'approval' } : bobPage,
        owner: bob,
        rebookOf: { bookingId: old.bookingId, reason: 'prefer Bob', actionedBy: 'customer', pageConnectedToSalesforce: false },
      });
      const newH = await startBooking(ctx, next);
      if (mode === 'approval') await newH.signal(approveSignal, {});
      // On the Java test server the replaced booking may hear of the rebook only after time skipped past its own
      // meeting (then it records the signal as ignored); either way both histories hold the cross-booking signal.
      return done(oldH, newH);
    },
    [`${mode}-reschedule-requested`]: async (ctx) => {
      const i = await input(ctx, `${mode}-reschedule-requested`, { page });
      const h = await booked(ctx, i);
      await h.signal(requestRescheduleSignal, { reason: 'travelling' });
      await waitFor(h, (v) => v.events.length === 2);
      await h.signal(rescheduleSignal, { startTime: new Date(Date.parse(i.startTime) + 24 * hour).toISOString(), actionedBy: 'customer' });
      if (mode === 'approval') {
        await waitFor(h, (v) => v.pending_request !== null);
        await h.signal(approveSignal, {});
      }
      return done(h);
    },
    [`${mode}-canceled-by-user`]: async (ctx) => {
      const h = await booked(ctx, await input(ctx, `${mode}-canceled`, { page }));
      await h.signal(cancelSignal, { reason: 'no longer needed', actionedBy: 'user' });
      return done(h);
    },
    [`${mode}-no-show`]: async (ctx) => {
      const h = await booked(ctx, await input(ctx, `${mode}-no-show`, { page, startInMs: hour }));
      await ctx.env.sleep(hour + 31 * 60_000);
      await waitFor(h, (v) => v.booking.status === 'completed');
      await h.signal(noShowSignal, { userId: alice.id });
      return done(h);
    },
    [`${mode}-reassigned`]: async (ctx) => {
      const i = await input(ctx, `${mode}-reassigned`, { page });
      const h = await booked(ctx, i);
      await h.signal(reassignSignal, { owner: bob, page: bobPage });
      await waitFor(h, (v) => v.events.length === 2);
      await h.signal(rescheduleSignal, { startTime: new Date(Date.parse(i.startTime) + hour).toISOString(), actionedBy: 'user' });
      await waitFor(h, (v) => v.booking.status === 'rescheduled');
      await h.signal(reassignSignal, { owner: alice, page });
      return done(h);
    },
  };
}

/** Scenarios on the time-skipping server. */
export const TIME_SKIPPING_SCENARIOS: Record<string, Scenario> = {
  ...bookingScenarios('automatic'),
  ...bookingScenarios('approval'),
  'approval-declined': async (ctx) => {
    const h = await startBooking(ctx, await input(ctx, 'declined', { page: approvalPage }));
    await h.signal(declineSignal, { reason: 'fully booked' });
    return done(h);
  },
  'approval-expired': async (ctx) => done(await startBooking(ctx, await input(ctx, 'expired', { page: approvalPage, startInMs: 2 * hour }))),
  'approval-reschedule-lapsed': async (ctx) => {
    const h = await startBooking(ctx, await input(ctx, 'lapsed', { page: approvalPage, startInMs: 10 * hour }));
    await h.signal(approveSignal, {});
    await h.signal(rescheduleSignal, { startTime: new Date((await ctx.now()) + 2 * hour).toISOString(), actionedBy: 'customer' });
    await waitFor(h, (v) => v.pending_request?.kind === 'reschedule');
    return done(h);
  },
  'ignored-signals': async (ctx) => {
    const h = await startBooking(ctx, await input(ctx, 'ignored', { page: approvalPage, startInMs: hour }));
    await h.signal(noShowSignal, {});
    await h.signal(approveSignal, {});
    await h.signal(approveSignal, {});
    await waitFor(h, (v) => v.ignored_signals.length === 2);
    return done(h);
  },
  'salesforce-synced': async (ctx) => {
    const i = await input(ctx, 'sf', { page: connectedPage });
    const h = await startBooking(ctx, i);
    await h.signal(rescheduleSignal, { startTime: new Date(Date.parse(i.startTime) + hour).toISOString(), actionedBy: 'customer' });
    return done(h);
  },
  'salesforce-configuration-error': async (ctx) => done(await startBooking(ctx, await input(ctx, 'sferror', { page: connectedPage }))),
  'conversation-closed': async (ctx) => {
    const h = await ctx.env.client.workflow.start('conversationWorkflow', { taskQueue: ctx.taskQueue, workflowId: 'CVR-replay-closed', args: [await conversationInput(ctx, 'CVR-replay-closed')] });
    await h.signal(answerSignal, { question: 'Company size?', value: '50' });
    await h.signal(answerSignal, { question: 'Budget?', value: 'yes' });
    await h.signal(closeSignal, { reason: 'flow_completed' });
    return done(h);
  },
  'conversation-abandoned': async (ctx) => {
    const h = await ctx.env.client.workflow.start('conversationWorkflow', { taskQueue: ctx.taskQueue, workflowId: 'CVR-replay-abandoned', args: [await conversationInput(ctx, 'CVR-replay-abandoned')] });
    await h.signal(answerSignal, { question: 'Company size?', value: '50' });
    return done(h);
  },
  'delivery-succeeded': async (ctx) => done(await startDelivery(ctx, 'DLVR-replay-ok')),
  'delivery-retried-then-succeeded': async (ctx) => done(await startDelivery(ctx, 'DLVR-replay-retry')),
  'delivery-gone': async (ctx) => done(await startDelivery(ctx, 'DLVR-replay-gone')),
  // Routing made attempt 1 (failed); the workflow waits 35 s, its first attempt fails, the next succeeds.
  'delivery-handed-off-retried': async (ctx) =>
    done(await startDelivery(ctx, 'DLVR-replay-handoff-retry', { attemptsMade: 1, firstAttemptAt: new Date(await ctx.now()).toISOString(), waitMs: 35_000 })),
  // A Retry-After past the 72 hours: the workflow stops at once.
  'delivery-handed-off-past-window': async (ctx) =>
    done(await startDelivery(ctx, 'DLVR-replay-handoff-late', { attemptsMade: 1, firstAttemptAt: new Date(await ctx.now()).toISOString(), waitMs: 80 * hour })),
};

async function conversationInput(ctx: Ctx, conversationId: string): Promise<ConversationInput> {
  return {
    conversationId,
    createdAt: new Date(await ctx.now()).toISOString(),
    initiatedBy: 'contact',
    bot: { id: 'BOT-sales', name: 'Sales bot' },
    website: { id: 'WEB-acme', name: 'Acme', url: 'https://acme.example' },
    contact: { name: 'Ada Lovelace', email: 'ada@example.com' },
    owner: alice,
    settings: { abandonAfterMinutes: 10 },
    indexSearchAttributes: false,
  };
}

async function startDelivery(ctx: Ctx, deliveryId: string, handoff?: DeliveryHandoff): Promise<Handle> {
  const input: DeliveryInput = {
    ...(handoff ? { handoff } : {}),
    deliveryId,
    subscriptionId: 'WHK-replay',
    envelope: { id: `EVNT-${deliveryId}`, object: 'event', creation_time: new Date(await ctx.now()).toISOString(), type: 'booking.scheduled', api_version: 'v2', data: { id: 'BKNG-replay' } },
  };
  return ctx.env.client.workflow.start('webhookDeliveryWorkflow', { taskQueue: ctx.taskQueue, workflowId: deliveryId, args: [input] });
}

/** Scenarios on a dev server, with the custom search attributes indexed (meetings already under way, so they end in seconds). */
export const DEV_SERVER_SCENARIOS: Record<string, Scenario> = {
  'indexed-completed': async (ctx) => {
    const h = await startBooking(ctx, await input(ctx, 'indexed-completed', { startInMs: -58_000, durationMinutes: 1, settings: indexed }));
    return done(h);
  },
  'indexed-canceled': async (ctx) => {
    const h = await startBooking(ctx, await input(ctx, 'indexed-canceled', { settings: indexed }));
    await waitFor(h, (v) => v.events.length === 1);
    await h.signal(cancelSignal, { actionedBy: 'customer', reason: 'changed my mind' });
    return done(h);
  },
  'indexed-conversation-closed': async (ctx) => {
    const id = 'CVR-replay-indexed';
    const h = await ctx.env.client.workflow.start('conversationWorkflow', {
      taskQueue: ctx.taskQueue,
      workflowId: `${id}-${Date.now()}`,
      args: [{ ...(await conversationInput(ctx, id)), indexSearchAttributes: true }],
    });
    await h.signal(answerSignal, { question: 'Company size?', value: '50' });
    await h.signal(closeSignal, { reason: 'closed_by_api' });
    return done(h);
  },
};
const indexed = { noShowWindowMinutes: 0, rescheduleRequestTtlMinutes: 60, indexSearchAttributes: true };

/**
 * Reads a committed history into what Worker.runReplayHistories takes. The files are the SDK's history JSON
 * (historyToJSON: proto3 JSON, as `temporal workflow show -o json` and the Web UI's download give), so a history from
 * either reads the same way.
 */
export function historyFromFile(file: string): History {
  return historyFromJSON(JSON.parse(fs.readFileSync(file, 'utf8')));
}

/**
 * A history file's text, as recordHistories writes it: historyToJSON's JSON with the one-space indentation the files
 * have always had (historyToJSON indents by two; one space keeps the diffs small), and a final newline.
 */
export function historyFileText(history: History): string {
  return `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 1)}\n`;
}

async function runAll(env: TestWorkflowEnvironment, scenarios: Record<string, Scenario>, out: Map<string, string>): Promise<void> {
  const taskQueue = uniqueTaskQueue('replay-record');
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: stubActivities() });
  const ctx: Ctx = { env, taskQueue, now: async () => (env.supportsTimeSkipping ? env.currentTimeMs() : Date.now()) };
  await worker.runUntil(async () => {
    for (const [name, scenario] of Object.entries(scenarios)) {
      if (process.env.REPLAY_RECORD_VERBOSE) process.stdout.write(`recording ${name}\n`);
      const handles = await scenario(ctx);
      for (const [i, h] of handles.entries()) {
        const history = await h.fetchHistory();
        out.set(handles.length > 1 ? `${name}--${i + 1}` : name, historyFileText(history));
      }
    }
  });
}

/** Runs every scenario and (re)writes test/replay/histories/<scenario>.json; returns the names written. */
export async function recordHistories(dir = HISTORIES_DIR): Promise<string[]> {
  const out = new Map<string, string>();
  // REPLAY_RECORD_ONLY=dev-server re-records only the dev-server scenarios (indexed, and across restarts) and leaves the other files as they are.
  // REPLAY_RECORD_ONLY=<name>,<name> records only those time-skipping scenarios (new ones) and rewrites nothing else.
  const only = process.env.REPLAY_RECORD_ONLY;
  const onlyDevServer = only === 'dev-server';
  const named = only && !onlyDevServer ? new Set(only.split(',')) : null;
  const skippingScenarios = named
    ? Object.fromEntries(Object.entries(TIME_SKIPPING_SCENARIOS).filter(([name]) => named.has(name)))
    : onlyDevServer
      ? {}
      : TIME_SKIPPING_SCENARIOS;
  if (named && Object.keys(skippingScenarios).length !== named.size) throw new Error(`REPLAY_RECORD_ONLY names unknown scenarios: ${only}`);
  if (Object.keys(skippingScenarios).length) {
    const skipping = await timeSkippingEnv();
    try {
      await runAll(skipping, skippingScenarios, out);
    } finally {
      await skipping.teardown();
    }
  }
  if (!named) {
    const local = await localEnv();
    try {
      await runAll(local, DEV_SERVER_SCENARIOS, out);
      // Every action in a freshly restarted worker's first task (test/replay/restart-scenarios.ts).
      for (const r of await recordRestartScenarios(local, await workflowBundle(), uniqueTaskQueue('replay-record-restart'))) {
        if (JSON.stringify(r.events) !== JSON.stringify(r.expected)) throw new Error(`${r.name} ended with ${r.events.join(', ')}, not ${r.expected.join(', ')}`);
        out.set(`${RESTART_PREFIX}${r.name}`, historyFileText(r.history));
      }
    } finally {
      await local.teardown();
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  // `pinned--` histories were recorded by older workflow code and stay forever: they guard patched() branches.
  // Only a full refresh clears the old files; a partial one rewrites just what it recorded.
  if (!only) for (const f of fs.readdirSync(dir)) if (f.endsWith('.json') && !f.startsWith(PINNED_PREFIX)) fs.rmSync(path.join(dir, f));
  for (const [name, text] of out) fs.writeFileSync(path.join(dir, `${name}.json`), text);
  return [...out.keys()];
}
