/**
 * Scenario a, lifecycle throughput: bookings created through the API at a fixed offered rate (open loop: each
 * request leaves on its schedule whatever the earlier ones are doing), each rescheduled at once and completed
 * by its own timer one minute after its (new) start. Three subscriptions take every booking event and the page
 * has Salesforce connected with create_activity_event on.
 */
import type { BenchWorld } from '../lib/harness';
import { sleep, summarise, waitFor, type Summary } from '../lib/stats';

/** Events one lifecycle emits, in order. */
export const LIFECYCLE_EVENTS = ['booking.scheduled', 'booking.rescheduled', 'booking.completed'] as const;
export const LIFECYCLE_SUBSCRIBERS = 3;

export interface LifecycleParams {
  rate: number;
  windowSeconds: number;
  /** The meeting starts this long after the create request, and again this long after the reschedule. */
  startOffsetSeconds: number;
  /** Time allowed after the last due time for everything to arrive. */
  drainSeconds: number;
}

export interface LifecycleBooking {
  id: string | null;
  sentAt: number;
  createMs: number | null;
  rescheduleMs: number | null;
  /** When its timer is due: the rescheduled start plus the one-minute duration. */
  dueAt: number | null;
  error: string | null;
}

export interface LifecycleResult {
  params: LifecycleParams;
  offered: number;
  created: number;
  errors: number;
  errorSamples: string[];
  /** Lifecycles whose 3 events reached all 3 subscribers and were written to Salesforce. */
  completedLifecycles: number;
  sustained: boolean;
  notSustainedBecause: string[];
  /** Completed lifecycles per second of the offered window. */
  lifecyclesPerSecond: number;
  createMs: Summary;
  rescheduleMs: Summary;
  webhookLatencyMs: Summary;
  webhookLatencyByType: Record<string, Summary>;
  salesforceWriteLatencyMs: Summary;
  /** Due time of the timer to the arrival of booking.completed at a subscriber. */
  completionLagMs: Summary;
  bookingIds: string[];
}

export interface RunningStep {
  params: LifecycleParams;
  bookings: LifecycleBooking[];
  /** Resolves once every request of the step has been answered. */
  sent: Promise<void>;
  finish(): Promise<LifecycleResult>;
}

/** Subscribes the three lifecycle receivers (every booking event); returns their ids and paths. */
export async function subscribeLifecycle(h: BenchWorld): Promise<{ ids: string[]; paths: string[] }> {
  const paths = Array.from({ length: LIFECYCLE_SUBSCRIBERS }, (_, i) => `/lifecycle/${i + 1}`);
  const ids = await h.subscribe(paths.map((p, i) => ({ name: `bench lifecycle ${i + 1}`, url: h.receiver.url + p, events: ['booking'] })));
  return { ids, paths };
}

let customer = 0;

/** Starts one step at `params.rate`; `finish` waits for its completions and measures. */
export function startLifecycleStep(h: BenchWorld, params: LifecycleParams, paths: string[]): RunningStep {
  const bookings: LifecycleBooking[] = [];
  const total = Math.max(1, Math.round(params.rate * params.windowSeconds));
  const t0 = Date.now() + 200;
  const inflight: Promise<void>[] = [];

  const one = async (b: LifecycleBooking) => {
    customer++;
    const created = await h.api.call<{ id: string }>('POST', '/v2/bookings', {
      booking_page_id: h.salesforcePage.id,
      starting_time: new Date(Date.now() + params.startOffsetSeconds * 1000).toISOString(),
      duration_minutes: 1,
      customer_timezone: 'Europe/Paris',
      form_submission: { name: `Bench Customer ${customer}`, email: `customer${customer}.${process.pid}@bench.example`, company: 'Bench' },
    });
    b.createMs = created.ms;
    if (created.status !== 201) throw new Error(`create: HTTP ${created.status} ${JSON.stringify(created.body).slice(0, 200)}`);
    b.id = created.body.id;
    const newStart = Date.now() + params.startOffsetSeconds * 1000;
    const moved = await h.api.call('POST', `/v2/bookings/${b.id}/reschedule`, {
      starting_time: new Date(newStart).toISOString(),
      duration_minutes: 1,
      actioned_by: 'customer',
    });
    b.rescheduleMs = moved.ms;
    if (moved.status !== 200) throw new Error(`reschedule: HTTP ${moved.status} ${JSON.stringify(moved.body).slice(0, 200)}`);
    b.dueAt = new Date(new Date(newStart).toISOString()).getTime() + 60_000;
  };

  const sent = (async () => {
    for (let i = 0; i < total; i++) {
      const at = t0 + (i * 1000) / params.rate;
      const wait = at - Date.now();
      if (wait > 0) await sleep(wait);
      const b: LifecycleBooking = { id: null, sentAt: Date.now(), createMs: null, rescheduleMs: null, dueAt: null, error: null };
      bookings.push(b);
      inflight.push(one(b).catch((err: unknown) => void (b.error = err instanceof Error ? err.message : String(err))));
    }
    await Promise.all(inflight);
  })();

  return {
    params,
    bookings,
    sent,
    async finish() {
      await sent;
      const ok = bookings.filter((b) => b.id && b.dueAt && !b.error);
      const ids = new Set(ok.map((b) => b.id as string));
      const pathSet = new Set(paths);
      const want = LIFECYCLE_EVENTS.length * paths.length;
      const arrivalsFor = () => {
        const m = new Map<string, number>();
        for (const a of h.receiver.arrivals) {
          if (a.bookingId && ids.has(a.bookingId) && pathSet.has(a.path)) m.set(a.bookingId, (m.get(a.bookingId) ?? 0) + 1);
        }
        return m;
      };
      const lastDue = Math.max(Date.now(), ...ok.map((b) => b.dueAt as number));
      const sfCount = () => salesforceWritesByBooking(h, ids);
      await waitFor(
        () => {
          if (Date.now() < lastDue) return false;
          const m = arrivalsFor();
          const sf = sfCount();
          return ok.every((b) => (m.get(b.id as string) ?? 0) >= want && (sf.get(b.id as string)?.length ?? 0) >= LIFECYCLE_EVENTS.length);
        },
        lastDue - Date.now() + params.drainSeconds * 1000,
        250,
      );
      return measure(h, params, bookings, paths);
    },
  };
}

/** Salesforce Event writes per booking, in arrival order. */
function salesforceWritesByBooking(h: BenchWorld, ids: Set<string>): Map<string, number[]> {
  const byEventId = new Map<string, string>();
  for (const rec of h.standin.records('Event')) {
    const booking = rec.Booking_Id__c;
    if (typeof booking === 'string') byEventId.set(rec.Id.slice(0, 15), booking);
  }
  const out = new Map<string, number[]>();
  for (const w of h.salesforceWrites) {
    let booking: string | undefined;
    if (w.method === 'POST') {
      const b = (w.entry.body as Record<string, unknown> | null)?.Booking_Id__c;
      booking = typeof b === 'string' ? b : undefined;
    } else {
      const id = w.path.split('/').pop() ?? '';
      booking = byEventId.get(id.slice(0, 15));
    }
    if (!booking || !ids.has(booking)) continue;
    const list = out.get(booking);
    if (list) list.push(w.at);
    else out.set(booking, [w.at]);
  }
  return out;
}

function measure(h: BenchWorld, params: LifecycleParams, bookings: LifecycleBooking[], paths: string[]): LifecycleResult {
  const ok = bookings.filter((b) => b.id && b.dueAt && !b.error);
  const ids = new Set(ok.map((b) => b.id as string));
  const pathSet = new Set(paths);
  const latencies: number[] = [];
  const byType: Record<string, number[]> = {};
  const eventsByBooking = new Map<string, Map<string, { type: string; createdAt: number }>>();
  const perBooking = new Map<string, number>();
  const lag: number[] = [];
  const due = new Map(ok.map((b) => [b.id as string, b.dueAt as number]));
  for (const a of h.receiver.arrivals) {
    if (!a.bookingId || !ids.has(a.bookingId) || !pathSet.has(a.path)) continue;
    const ms = a.at - a.createdAt;
    latencies.push(ms);
    (byType[a.type] ??= []).push(ms);
    perBooking.set(a.bookingId, (perBooking.get(a.bookingId) ?? 0) + 1);
    let ev = eventsByBooking.get(a.bookingId);
    if (!ev) eventsByBooking.set(a.bookingId, (ev = new Map()));
    ev.set(a.eventId, { type: a.type, createdAt: a.createdAt });
    if (a.type === 'booking.completed') lag.push(a.at - (due.get(a.bookingId) as number));
  }
  const sfLatency: number[] = [];
  const sf = salesforceWritesByBooking(h, ids);
  let completed = 0;
  const want = LIFECYCLE_EVENTS.length * paths.length;
  for (const b of ok) {
    const id = b.id as string;
    const events = [...(eventsByBooking.get(id)?.values() ?? [])].sort((x, y) => x.createdAt - y.createdAt);
    const writes = sf.get(id) ?? [];
    // The k-th write of a booking's Event carries its k-th lifecycle event (the sync runs the events in order).
    for (let k = 0; k < Math.min(writes.length, events.length); k++) sfLatency.push(writes[k] - events[k].createdAt);
    if ((perBooking.get(id) ?? 0) >= want && writes.length >= LIFECYCLE_EVENTS.length) completed++;
  }
  const errors = bookings.filter((b) => b.error);
  const createMs = summarise(bookings.flatMap((b) => (b.createMs === null ? [] : [b.createMs])));
  const rescheduleMs = summarise(bookings.flatMap((b) => (b.rescheduleMs === null ? [] : [b.rescheduleMs])));
  const completionLagMs = summarise(lag);
  const why: string[] = [];
  if (errors.length > 0) why.push(`${errors.length} request errors`);
  if (completed < bookings.length) why.push(`${bookings.length - completed} of ${bookings.length} lifecycles not fully delivered in time`);
  if ((createMs.p99 ?? 0) > 2000) why.push(`create p99 ${createMs.p99} ms > 2000 ms (requests queue up)`);
  if ((completionLagMs.p99 ?? 0) > 5000) why.push(`completion lag p99 ${completionLagMs.p99} ms > 5000 ms (timers fall behind)`);
  const webhookLatencyByType: Record<string, Summary> = {};
  for (const [t, v] of Object.entries(byType)) webhookLatencyByType[t] = summarise(v);
  return {
    params,
    offered: bookings.length,
    created: ok.length,
    errors: errors.length,
    errorSamples: errors.slice(0, 3).map((b) => b.error as string),
    completedLifecycles: completed,
    sustained: why.length === 0,
    notSustainedBecause: why,
    lifecyclesPerSecond: Math.round((completed / params.windowSeconds) * 100) / 100,
    createMs,
    rescheduleMs,
    webhookLatencyMs: summarise(latencies),
    webhookLatencyByType,
    salesforceWriteLatencyMs: summarise(sfLatency),
    completionLagMs,
    bookingIds: ok.map((b) => b.id as string),
  };
}
