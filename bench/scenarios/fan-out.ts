/**
 * Scenario e, fan-out: one booking event to many subscriptions (time from the event's creation until the last
 * subscriber has it), and a subscriber that never answers beside healthy ones: the healthy subscribers' latency
 * with it, beside the same run with every subscriber healthy.
 */
import { processCpuSeconds, type Harness } from '../lib/harness';
import type { EngineLoad } from '../engine';
import { mapLimit, poissonOffsets, seededRandom, sleep, summarise, waitFor, type Summary } from '../lib/stats';

export interface FanOutParams {
  subscribers: number;
  /** Subscribers of the isolation runs (one of them times out in the second run). */
  isolationSubscribers: number;
  /** Events per isolation run, and the rate they are caused at. */
  isolationEvents: number;
  isolationRate: number;
  /**
   * How isolation events arrive: 'poisson' (exponential gaps from a fixed seed, the same in both runs) or
   * 'periodic' (exactly 1/rate apart). A fixed period equal to the routing wait (2 s at 0.5/s) makes every
   * event's handoff land on the next event's POSTs, an artefact no real traffic has.
   */
  isolationArrivals: 'poisson' | 'periodic';
  /** Events of an unmeasured all-healthy run first, so neither measured run pays for warming the engine up. */
  isolationWarmupEvents: number;
  timeoutSeconds: number;
}

export interface FanOutResult {
  params: FanOutParams;
  fanOut: { delivered: number; allDeliveredMs: number | null; latencyMs: Summary };
  allHealthy: IsolationRun;
  withTimingOut: IsolationRun;
  /** (healthy p99 with a timing-out subscriber) / (all-healthy p99) - 1. */
  p99Change: number | null;
}

/** One isolation run: the healthy subscribers' latency, and what the engine and the dev server spent meanwhile. */
export interface IsolationRun {
  latencyMs: Summary;
  delivered: number;
  expected: number;
  /** The slowest healthy arrival of each event, summarised over the run's events. */
  eventMaxLatencyMs: Summary;
  engine: EngineLoad;
  devServerCpuSeconds: number | null;
}

/** The isolation runs' arrival pattern is drawn from this seed, so both runs (and every rerun) see the same one. */
const ISOLATION_SEED = 20261127;

/** Creates a booking far ahead on the plain page and cancels it; returns the booking id. */
async function bookAndCancel(h: Harness, label: string): Promise<string> {
  const r = await h.api.call<{ id: string }>('POST', '/v2/bookings', {
    booking_page_id: h.plainPage.id,
    starting_time: new Date(Date.now() + 3600_000).toISOString(),
    duration_minutes: 30,
    customer_timezone: 'Europe/Paris',
    form_submission: { name: 'Fan-out Customer', email: `${label}@bench.example` },
  });
  if (r.status !== 201) throw new Error(`create: HTTP ${r.status}`);
  const c = await h.api.call('POST', `/v2/bookings/${r.body.id}/cancel`, { actioned_by: 'customer', reason: 'bench' });
  if (c.status !== 200) throw new Error(`cancel: HTTP ${c.status} ${JSON.stringify(c.body).slice(0, 200)}`);
  return r.body.id;
}

/** One run: the measured healthy subscribers plus one more at `lastUrl` (healthy, or the one that never answers). */
async function isolationRun(h: Harness, params: FanOutParams, label: string, healthyPaths: string[], lastUrl: string, events = params.isolationEvents): Promise<IsolationRun> {
  const subs = [
    ...healthyPaths.map((p) => ({ name: `bench ${label} ${p}`, url: h.receiver.url + p, events: ['booking.canceled'] })),
    { name: `bench ${label} last`, url: lastUrl, events: ['booking.canceled'] },
  ];
  const ids = await h.subscribe(subs);
  await h.engine.load(); // starts the engine's load window
  const serverCpu = processCpuSeconds(h.devServer.pid);
  const offsets =
    params.isolationArrivals === 'poisson'
      ? poissonOffsets(events, params.isolationRate, seededRandom(ISOLATION_SEED))
      : Array.from({ length: events }, (_, i) => Math.round((i * 1000) / params.isolationRate));
  // Open loop: each event is caused at its offset whether or not the previous one's requests have returned.
  const start = Date.now();
  const pending: Promise<string>[] = [];
  for (let i = 0; i < offsets.length; i++) {
    const wait = start + offsets[i] - Date.now();
    if (wait > 0) await sleep(wait);
    pending.push(bookAndCancel(h, `${label}-${i}`));
  }
  const bookings = await Promise.all(pending);
  const set = new Set(bookings);
  const pathSet = new Set(healthyPaths);
  const healthy = () => h.receiver.arrivals.filter((a) => a.type === 'booking.canceled' && a.bookingId && set.has(a.bookingId) && pathSet.has(a.path));
  const expected = bookings.length * healthyPaths.length;
  await waitFor(() => healthy().length >= expected, 30_000, 100);
  const arrivals = healthy();
  const engine = await h.engine.load();
  const serverCpuEnd = processCpuSeconds(h.devServer.pid);
  await h.unsubscribe(ids);
  const slowest = new Map<string, number>();
  for (const a of arrivals) slowest.set(a.eventId, Math.max(slowest.get(a.eventId) ?? 0, a.at - a.createdAt));
  return {
    latencyMs: summarise(arrivals.map((a) => a.at - a.createdAt)),
    delivered: arrivals.length,
    expected,
    eventMaxLatencyMs: summarise([...slowest.values()]),
    engine,
    devServerCpuSeconds: serverCpu === null || serverCpuEnd === null ? null : Math.round((serverCpuEnd - serverCpu) * 100) / 100,
  };
}

export async function runFanOut(h: Harness, params: FanOutParams): Promise<FanOutResult> {
  // One event to every subscriber.
  const paths = Array.from({ length: params.subscribers }, (_, i) => `/fan-out/${i + 1}`);
  const ids = (
    await mapLimit(paths, 8, (p) => h.subscribe([{ name: `bench fan-out ${p}`, url: h.receiver.url + p, events: ['booking.canceled'] }]))
  ).flat();
  const booking = await bookAndCancel(h, 'fan-out');
  const pathSet = new Set(paths);
  const got = () => h.receiver.arrivals.filter((a) => a.bookingId === booking && pathSet.has(a.path));
  await waitFor(() => got().length >= paths.length, 120_000, 50);
  const arrivals = got();
  const created = arrivals[0]?.createdAt ?? null;
  const fanOut = {
    delivered: arrivals.length,
    allDeliveredMs: arrivals.length >= paths.length && created !== null ? Math.max(...arrivals.map((a) => a.at)) - created : null,
    latencyMs: summarise(arrivals.map((a) => a.at - a.createdAt)),
  };
  await mapLimit(ids, 8, (id) => h.unsubscribe([id]));

  // The same healthy subscribers in both runs; the second adds one that never answers.
  const healthyPaths = Array.from({ length: params.isolationSubscribers - 1 }, (_, i) => `/isolation/${i + 1}`);
  if (params.isolationWarmupEvents > 0) {
    await isolationRun(h, params, 'warm-up', healthyPaths, `${h.receiver.url}/isolation/last`, params.isolationWarmupEvents);
  }
  const allHealthy = await isolationRun(h, params, 'all-healthy', healthyPaths, `${h.receiver.url}/isolation/last`);
  const withTimingOut = await isolationRun(h, params, 'one-timing-out', healthyPaths, `${h.hangingReceiver.url}/hang`);
  const base = allHealthy.latencyMs.p99;
  const now = withTimingOut.latencyMs.p99;
  return {
    params,
    fanOut,
    allHealthy,
    withTimingOut,
    p99Change: base && now !== null ? Math.round((now / base - 1) * 1000) / 1000 : null,
  };
}
