/**
 * Scenario d, scale: many open bookings waiting on their timers. They are created through the API (closed loop,
 * `concurrency` requests in flight) on a page without Salesforce, with one subscription to booking.completed.
 * A first batch measures the creation rate so the rest can be given meeting ends that fall after the last
 * creation; those ends are staggered over a window, and each completion's lag from its timer's due time to the
 * webhook's arrival is measured. The engine's RSS and heap, and the dev server's RSS, are sampled throughout.
 */
import { databaseSizes, type Harness } from '../lib/harness';
import { procMemory } from '../lib/proc-memory';
import { mapLimit, sleep, summarise, waitFor, type Summary } from '../lib/stats';

export interface ScaleParams {
  bookings: number;
  concurrency: number;
  /** Bookings created first to measure the rate; their meetings are a day away and stay open. */
  calibration: number;
  /** Completions are spread evenly over this window. */
  staggerSeconds: number;
  drainSeconds: number;
  /** Earliest due time for the staggered completions (ms since epoch), e.g. after other scenarios' timers. */
  notBefore?: number;
  /**
   * Quick mode: completions may begin while bookings are still being created (each meeting still starts
   * after its own creation), so the run is short; the full run waits until every booking is open.
   */
  overlap?: boolean;
}

export interface ScaleResult {
  params: ScaleParams;
  created: number;
  errors: number;
  errorSamples: string[];
  createSeconds: number;
  createRatePerSecond: number;
  createMs: Summary;
  /** Timers that came due before the last booking was created (their lag includes creation load). */
  dueDuringCreation: number;
  openAfterCreation: {
    rssBytes: number;
    heapUsedBytes: number;
    heapTotalBytes: number;
    externalBytes: number;
    arrayBuffersBytes: number;
    temporalSqliteBytes: number;
    pgliteBytes: number;
  };
  peakRssBytes: number;
  peakHeapUsedBytes: number;
  /** The dev server process (a separate process: not in the engine's figures), RSS from /proc. */
  devServer: { rssBytesOpen: number | null; peakRssBytes: number };
  completionsExpected: number;
  completionsArrived: number;
  completionLagMs: Summary;
}

const PATH = '/scale/completed';

/** Starts the scenario: `created` resolves once every booking exists, `result` once the completions are in. */
export function runScale(h: Harness, params: ScaleParams): { created: Promise<void>; result: Promise<ScaleResult> } {
  let markCreated: () => void = () => undefined;
  const created = new Promise<void>((resolve) => (markCreated = resolve));
  const result = scale(h, params, () => markCreated());
  // A failure before creation ended must not leave `created` pending.
  result.catch(() => markCreated());
  return { created, result };
}

async function scale(h: Harness, params: ScaleParams, onCreated: () => void): Promise<ScaleResult> {
  const [subId] = await h.subscribe([{ name: 'bench scale', url: h.receiver.url + PATH, events: ['booking.completed'] }]);
  let peakRss = 0;
  let peakHeap = 0;
  let peakDevRss = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const m = await h.engine.memory().catch(() => null);
      if (m) {
        peakRss = Math.max(peakRss, m.rssBytes);
        peakHeap = Math.max(peakHeap, m.heapUsedBytes);
      }
      peakDevRss = Math.max(peakDevRss, procMemory(h.devServer.pid)?.rssBytes ?? 0);
      await sleep(1000);
    }
  })();

  const createMs: number[] = [];
  const errors: string[] = [];
  const due = new Map<string, number>();
  let n = 0;
  const create = async (startMs: number, completes: boolean) => {
    n++;
    const r = await h.api.call<{ id: string }>('POST', '/v2/bookings', {
      booking_page_id: h.plainPage.id,
      starting_time: new Date(startMs).toISOString(),
      duration_minutes: 1,
      customer_timezone: 'Europe/Paris',
      form_submission: { name: `Scale Customer ${n}`, email: `scale${n}@bench.example` },
    });
    if (r.status !== 201) {
      errors.push(`HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      return;
    }
    createMs.push(r.ms);
    if (completes) due.set(r.body.id, startMs + 60_000);
  };

  const t0 = Date.now();
  const calibration = Math.min(params.calibration, params.bookings);
  await mapLimit(Array.from({ length: calibration }), params.concurrency, () => create(Date.now() + 24 * 3600_000, false));
  const rate = calibration / ((Date.now() - t0) / 1000);
  const rest = params.bookings - calibration;
  // Meetings (one minute long) must start after their creation and end after the last creation (at 80 % of
  // the measured rate, plus margin); their ends are spread over the window.
  const createMsEstimate = (rest / (rate * 0.8)) * 1000;
  const firstDue = Math.max(params.notBefore ?? 0, Date.now() + 60_000 + (params.overlap ? 0 : createMsEstimate) + 5_000);
  const window = params.overlap ? Math.max(params.staggerSeconds * 1000, createMsEstimate) : params.staggerSeconds * 1000;
  const spacing = rest > 1 ? window / (rest - 1) : 0;
  await mapLimit(Array.from({ length: rest }), params.concurrency, (_x, i) => create(firstDue + i * spacing - 60_000, true));
  const createdAt = Date.now();
  onCreated();
  const createSeconds = (createdAt - t0) / 1000;

  const mem = await h.engine.memory();
  const devRssOpen = procMemory(h.devServer.pid)?.rssBytes ?? null;
  const disk = databaseSizes(h.dataDir);
  const dueDuringCreation = [...due.values()].filter((d) => d < createdAt).length;

  const lastDue = Math.max(0, ...due.values());
  const arrived = () => h.receiver.arrivals.filter((a) => a.path === PATH && a.bookingId && due.has(a.bookingId));
  await waitFor(() => Date.now() >= lastDue && arrived().length >= due.size, Math.max(0, lastDue - Date.now()) + params.drainSeconds * 1000, 500);
  sampling = false;
  await sampler;
  const lags = arrived().map((a) => a.at - (due.get(a.bookingId as string) as number));
  await h.unsubscribe([subId]);
  return {
    params,
    created: createMs.length,
    errors: errors.length,
    errorSamples: errors.slice(0, 3),
    createSeconds: Math.round(createSeconds * 10) / 10,
    createRatePerSecond: Math.round((createMs.length / createSeconds) * 10) / 10,
    createMs: summarise(createMs),
    dueDuringCreation,
    openAfterCreation: { ...mem, ...disk },
    peakRssBytes: Math.max(peakRss, h.engine.procRss()?.peakRssBytes ?? 0),
    peakHeapUsedBytes: peakHeap,
    devServer: { rssBytesOpen: devRssOpen, peakRssBytes: peakDevRss },
    completionsExpected: due.size,
    completionsArrived: arrived().length,
    completionLagMs: summarise(lags),
  };
}
