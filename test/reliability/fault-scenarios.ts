/**
 * The fault suites' bookings, subscribers and checks, shared by the embedded one (faults.test.ts, dev server) and the
 * cluster's (test/cluster/cluster-faults.test.ts): bookings started as the booking service starts them, with planned
 * actions, and after a fault, every invariant asserted: each run ended in the state its actions say with every
 * completion timer fired, every webhook delivered at least once under its stable event id with a valid signature,
 * the store agreeing, exactly one Salesforce Event per booking with the right final status.
 */
import { Client, WorkflowIdReusePolicy } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Db } from '../../src/store/db';
import { createWebhooksRepository } from '../../src/store/webhooks-repository';
import { newSecret, newSubscriptionId } from '../../src/webhooks/ids';
import { verifyOncehubSignature } from '../../src/webhooks/verify';
import { startSalesforceStandin, type SalesforceStandin } from '../../src/salesforce/standin/server';
import { newBookingId, type BookingService } from '../../src/bookings/booking-service';
import {
  BookingOwnerSA,
  BookingPageSA,
  BookingStatusSA,
  MeetingStartSA,
  type BookingInput,
  type BookingPageSnapshot,
  type BookingView,
  type UserSnapshot,
} from '../../src/shared/booking-contract';
import { startReceiver, type Receiver } from '../webhooks/receiver';

/** What the helpers work against: set once by each suite (getters, so a suite may replace a part). */
export interface FaultContext {
  readonly client: Client;
  readonly db: Db;
  readonly standin: SalesforceStandin;
  serviceFor(taskQueue: string): BookingService;
  /** Every subscriber added, for the suite's secret scan and clean-up. */
  readonly subscribers: Subscriber[];
}

let context: FaultContext | null = null;

export function setFaultContext(c: FaultContext): void {
  context = c;
}

function ctx(): FaultContext {
  if (!context) throw new Error('setFaultContext() was not called');
  return context;
}

export const OWNER: UserSnapshot = { id: 'USR-reliability', name: 'Rel Owner', email: 'owner@reliability.example', timezone: 'Europe/London' };
export const PAGE: BookingPageSnapshot = {
  id: 'BP-reliability',
  name: 'Reliability call',
  mode: 'automatic',
  owner_user_id: OWNER.id,
  salesforce: { connected: true, create_activity_event: true, relate_to: 'lead', create_missing_record: false },
};

/** The same page without the Salesforce connector: its bookings must create no Event. */
export const PLAIN_PAGE: BookingPageSnapshot = { ...PAGE, id: 'BP-reliability-plain', salesforce: { ...PAGE.salesforce, connected: false, create_activity_event: false } };

export type Plan = 'complete' | 'cancel' | 'reschedule' | 'requestReschedule';
export const EXPECTED: Record<Plan, { status: string; events: string[]; sfStatus: string }> = {
  complete: { status: 'completed', events: ['booking.scheduled', 'booking.completed'], sfStatus: 'Completed' },
  cancel: { status: 'canceled', events: ['booking.scheduled', 'booking.canceled'], sfStatus: 'Canceled' },
  reschedule: { status: 'completed', events: ['booking.scheduled', 'booking.rescheduled', 'booking.completed'], sfStatus: 'Completed' },
  // The user asks for a new time, the customer picks one: the booking goes on and completes.
  requestReschedule: {
    status: 'completed',
    events: ['booking.scheduled', 'booking.canceled_reschedule_requested', 'booking.rescheduled', 'booking.completed'],
    sfStatus: 'Completed',
  },
};

/** A subscriber: its receiver, secret, and the status it answered each attempt with, by event id. */
export interface Subscriber {
  name: string;
  receiver: Receiver;
  secret: string;
  answers: Map<string, number[]>;
  /** Whether the first attempt of every event is refused (the flapping subscriber). */
  flaps: boolean;
}
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(what: string, pred: () => Promise<boolean> | boolean, timeoutMs: number, diagnose?: () => Promise<string> | string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${diagnose ? `: ${await diagnose()}` : ''}`);
    await sleep(500);
  }
}

/** Runs fn over items with at most `n` at a time. */
export async function pool<T, R>(items: T[], n: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/** A booking whose one-minute meeting is under way and ends `endsInMs` from now (no no-show window after). */
export function bookingInput(endsInMs: number, n: number, page: BookingPageSnapshot = PAGE): BookingInput {
  const now = Date.now();
  const bookingId = newBookingId();
  return {
    bookingId,
    trackingId: bookingId.slice(5, 15),
    createdAt: new Date(now).toISOString(),
    page,
    owner: OWNER,
    startTime: new Date(now + endsInMs - 60_000).toISOString(),
    durationMinutes: 1,
    customerTimezone: 'Europe/Paris',
    subject: `Reliability call ${n}`,
    attendees: [`customer${n}@reliability.example`],
    form: { name: `Customer ${n}`, email: `customer${n}@reliability.example` },
    settings: { noShowWindowMinutes: 0, rescheduleRequestTtlMinutes: 60, indexSearchAttributes: true },
  };
}

/**
 * Starts a booking's workflow with the options the booking service uses (id = booking id, REJECT_DUPLICATE,
 * search attributes at start), without the service's follow-up query: with hundreds of workflows starting at
 * once on a loaded CI machine, the first query could outwait its deadline, which is not what this test is about.
 */
export async function startBooking(input: BookingInput, taskQueue: string): Promise<void> {
  await ctx().client.workflow.start('bookingWorkflow', {
    workflowId: input.bookingId,
    taskQueue,
    args: [input],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: new TypedSearchAttributes([
      { key: BookingStatusSA, value: 'scheduled' },
      { key: BookingOwnerSA, value: input.owner.id },
      { key: BookingPageSA, value: input.page.id },
      { key: MeetingStartSA, value: new Date(input.startTime) },
    ]),
  });
}

/** One group of bookings on one task queue and what is planned for each. */
export interface Scenario {
  label: string;
  service: BookingService;
  plans: Map<string, Plan>;
  /** When the last original meeting ends (ms epoch). */
  lastEnd: number;
}

/** Starts n bookings (through the booking service, as the API does) and applies their planned actions. */
export async function startScenario(label: string, taskQueue: string, n: number, endsIn: (i: number) => number, planFor: (i: number) => Plan): Promise<Scenario> {
  const service = ctx().serviceFor(taskQueue);
  const inputs = Array.from({ length: n }, (_, i) => bookingInput(endsIn(i), i));
  const plans = new Map<string, Plan>();
  inputs.forEach((input, i) => plans.set(input.bookingId, planFor(i)));
  // Each action right after its own start, well before that meeting ends, whatever the load on the machine.
  await pool(inputs, 10, async (input) => {
    await startBooking(input, taskQueue);
    const id = input.bookingId;
    const plan = plans.get(id);
    if (plan === 'cancel') await service.act(id, { kind: 'cancel', actionedBy: 'customer', reason: 'fault test' });
    if (plan === 'reschedule') {
      await service.act(id, { kind: 'reschedule', startTime: new Date(Date.now() + 40_000).toISOString(), durationMinutes: 1, actionedBy: 'customer' });
    }
  });
  const lastEnd = Math.max(...inputs.map((i) => Date.parse(i.startTime) + 60_000));
  return { label, service, plans, lastEnd };
}

export interface EnvelopeSeen {
  id: string;
  type: string;
  data: { id: string };
}

/** gRPC codes a read may meet while a service it needs is coming back: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE. */
const TRANSIENT_GRPC_CODES = new Set([4, 8, 14]);

/**
 * A booking run's result, read again when the read itself fails transiently (a Temporal service that was just
 * restarted; the client's own retries give up after about 10 s): the run's outcome is the test's business, not the
 * read's.
 */
export async function resultOf(id: string): Promise<BookingView> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await ctx().client.workflow.getHandle(id).result()) as BookingView;
    } catch (err) {
      const e = err as { code?: number; cause?: { code?: number } };
      const code = e.cause?.code ?? e.code;
      if (code === undefined || !TRANSIENT_GRPC_CODES.has(code) || attempt >= 30) throw err;
      await sleep(2_000);
    }
  }
}

/** Waits for the scenario to settle, asserts every invariant and returns the counts it printed. */
export async function verifyScenario(s: Scenario, subs: Subscriber[], timeoutMs: number): Promise<Record<string, unknown>> {
  const ids = [...s.plans.keys()];
  const deadline = Date.now() + timeoutMs;

  // 1. Every booking's run ended, in the state its actions say, with every completion timer fired.
  const views = await Promise.race([
    pool(ids, 20, (id) => resultOf(id)),
    sleep(timeoutMs).then(async () => {
      const open = await ctx().client.workflow.count(`WorkflowType = 'bookingWorkflow' AND ExecutionStatus = 'Running'`);
      throw new Error(`${s.label}: bookings still running after ${timeoutMs} ms (${open.count} open)`);
    }),
  ]);
  const wrong: string[] = [];
  views.forEach((v, i) => {
    const want = EXPECTED[s.plans.get(ids[i])!];
    const types = v.events.map((e) => e.type);
    if (v.booking.status !== want.status || JSON.stringify(types) !== JSON.stringify(want.events) || !v.closed) {
      wrong.push(`${ids[i]}: ${v.booking.status} ${types.join(',')}`);
    }
  });
  expect(wrong).toEqual([]);
  const completions = views.filter((v) => v.events.some((e) => e.type === 'booking.completed')).length;
  expect(completions).toBe([...s.plans.values()].filter((p) => p !== 'cancel').length);

  // 2. Every expected webhook reached every subscriber at least once, under its own stable event id.
  const expected = new Map<string, { type: string; bookingId: string }>();
  for (const v of views) for (const e of v.events) if (e.webhook) expected.set(e.id, { type: e.type, bookingId: v.booking.id });
  const bookingIds = new Set(ids);
  const seenBy = (sub: Subscriber) => {
    const byId = new Map<string, EnvelopeSeen[]>();
    for (const r of sub.receiver.requests) {
      const env = JSON.parse(r.raw.toString('utf8')) as EnvelopeSeen;
      if (!bookingIds.has(env.data.id)) continue;
      const list = byId.get(env.id) ?? [];
      list.push(env);
      byId.set(env.id, list);
    }
    return byId;
  };
  const delivered = (sub: Subscriber, id: string) => (sub.answers.get(id) ?? []).some((st) => st >= 200 && st < 300);
  await waitUntil(
    `${s.label}: every webhook delivered`,
    () => subs.every((sub) => [...expected.keys()].every((id) => delivered(sub, id))),
    Math.max(deadline - Date.now(), 5_000),
    () => subs.map((sub) => `${sub.name}: ${[...expected.keys()].filter((id) => !delivered(sub, id)).length} missing`).join('; '),
  );
  const counts: Record<string, unknown> = { bookings: ids.length, plans: countBy([...s.plans.values()]), completionTimersFired: completions, webhookEvents: expected.size };
  for (const sub of subs) {
    const byId = seenBy(sub);
    const unexpected = [...byId.keys()].filter((id) => !expected.has(id));
    expect(unexpected).toEqual([]);
    const bad: string[] = [];
    for (const [id, want] of expected) {
      for (const env of byId.get(id) ?? []) if (env.type !== want.type || env.data.id !== want.bookingId) bad.push(`${id}: ${env.type} for ${env.data.id}`);
      if (sub.flaps) {
        const a = sub.answers.get(id) ?? [];
        // Refused once, then delivered by a retry carrying the same event id.
        if (a[0] !== 503 || !a.slice(1).some((st) => st === 200)) bad.push(`${id}: answers ${a.join(',')}`);
      }
    }
    expect(bad).toEqual([]);
    // Each attempt is signed with the subscription's secret over the exact bytes sent.
    const mine = sub.receiver.requests.filter((r) => expected.has(String(r.headers['webhook-id'])));
    for (const r of mine) {
      const t = Number(/t=(\d+)/.exec(String(r.headers['oncehub-signature']))?.[1]);
      expect(verifyOncehubSignature({ header: r.headers['oncehub-signature'], rawBody: r.raw, secret: sub.secret, now: t * 1000 })).toBe(true);
    }
    const requests = [...byId.values()].reduce((n, l) => n + l.length, 0);
    counts[sub.name] = { requests, distinctEventIds: byId.size, repeatedIds: [...byId.values()].filter((l) => l.length > 1).length };
  }

  // 3. The store agrees: one delivery per event and subscriber, all succeeded.
  const eventIds = [...expected.keys()];
  const subIds = subs.map((sub) => sub.name);
  let rows: { status: string; n: number }[] = [];
  await waitUntil(
    `${s.label}: every delivery recorded as succeeded`,
    async () => {
      rows = (
        await ctx().db.query<{ status: string; n: number }>(
          `SELECT d.status, count(*)::int AS n FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
           WHERE d.event_id = ANY($1::text[]) AND s.name = ANY($2::text[]) GROUP BY d.status`,
          [eventIds, subIds],
        )
      ).rows;
      return rows.length === 1 && rows[0].status === 'succeeded' && rows[0].n === eventIds.length * subs.length;
    },
    30_000,
    () => JSON.stringify(rows),
  );
  counts.deliveries = Object.fromEntries(rows.map((r) => [r.status, r.n]));

  // 4. Salesforce: exactly one Event per booking, final status right, and the booking knows its id.
  const events = ctx().standin.records('Event').filter((e) => bookingIds.has(String(e.Booking_Id__c)));
  const perBooking = countBy(events.map((e) => String(e.Booking_Id__c)));
  const sfWrong: string[] = [];
  views.forEach((v, i) => {
    const id = ids[i];
    const mine = events.filter((e) => e.Booking_Id__c === id);
    const want = EXPECTED[s.plans.get(id)!].sfStatus;
    if (v.booking.booking_page === PLAIN_PAGE.id) {
      if (mine.length !== 0 || v.salesforce.state !== 'disabled') sfWrong.push(`${id} (unconnected page): ${mine.length} Events, ${v.salesforce.state}`);
      return;
    }
    if (mine.length !== 1) sfWrong.push(`${id}: ${mine.length} Events`);
    else if (mine[0].Event_Status__c !== want) sfWrong.push(`${id}: Event_Status__c ${String(mine[0].Event_Status__c)}, want ${want}`);
    else if (v.salesforce.state !== 'synced' || v.salesforce.activity_event_id !== mine[0].Id) sfWrong.push(`${id}: booking says ${JSON.stringify(v.salesforce)}`);
  });
  expect(sfWrong).toEqual([]);
  counts.salesforceEvents = {
    total: events.length,
    bookingsWithOne: Object.values(perBooking).filter((n) => n === 1).length,
    unconnectedBookings: views.filter((v) => v.booking.booking_page === PLAIN_PAGE.id).length,
    byStatus: countBy(events.map((e) => String(e.Event_Status__c))),
  };
  return counts;
}

export function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

export function report(label: string, data: Record<string, unknown>): void {
  // Printed for the run log and RELIABILITY.md.
  console.log(`[reliability] ${label}\n${JSON.stringify(data, null, 2)}`);
}

export async function addSubscriber(name: string, flaps: boolean): Promise<Subscriber> {
  const answers = new Map<string, number[]>();
  const receiver = await startReceiver((req) => {
    const id = String(req.headers['webhook-id']);
    const list = answers.get(id) ?? [];
    const status = flaps && list.length === 0 ? 503 : 200;
    list.push(status);
    answers.set(id, list);
    return { status };
  });
  const secret = newSecret();
  await createWebhooksRepository(ctx().db).createSubscription({ id: newSubscriptionId(), name, url: `${receiver.url}/hook`, events: ['booking'], secret });
  const sub = { name, receiver, secret, answers, flaps };
  ctx().subscribers.push(sub);
  return sub;
}


/** The connected app the suites' workers sign in to the stand-in with (client credentials). */
export const SF_CREDENTIALS = { clientId: 'reliability-client', clientSecret: 'reliability-client-secret-5f3a9c' };

/** The Salesforce stand-in the suites' workers sign in to, with the owner as a user. */
export function startFaultStandin(extraUsers: { Id: string; Email: string; Name: string }[] = []): Promise<SalesforceStandin> {
  return startSalesforceStandin({
    port: 0,
    clients: [SF_CREDENTIALS],
    users: [
      { Id: '005000000000001AAA', Email: 'integration@reliability.example', Name: 'Integration' },
      { Id: '005000000000002AAA', Email: OWNER.email, Name: OWNER.name },
      ...extraUsers,
    ],
    apiLimit: 10_000_000,
  });
}

/** What the suites' workers need besides Temporal and the store: the stand-in as their org, webhooks to loopback. */
export function faultEngineEnv(standin: SalesforceStandin): NodeJS.ProcessEnv {
  return {
    SALESFORCE_MODE: 'org',
    SALESFORCE_LOGIN_URL: standin.url,
    SALESFORCE_CLIENT_ID: SF_CREDENTIALS.clientId,
    SALESFORCE_CLIENT_SECRET: SF_CREDENTIALS.clientSecret,
    SALESFORCE_GRANT: 'client_credentials',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8',
    WEBHOOK_ALLOW_HTTP: 'true',
  };
}
