/**
 * `npx tsx bench/memory.ts`: memory per open booking. Opens bookings in steps (BENCH_MEMORY_STEPS, cumulative
 * counts, default 0,250,500,1000,2000) through the API on a page without Salesforce, their meetings a day or more
 * away so every one stays open. After each step it waits (BENCH_MEMORY_SETTLE_SECONDS, default 60, as the dev
 * server reports its Go runtime figures once a minute) and records the engine process (worker + API + PGlite: RSS
 * from /proc, V8 heap and external memory over IPC) and the dev server process (RSS from /proc; Go heap, goroutines
 * and its history cache's entries from its /metrics) side by side. BENCH_MEMORY_HOLD_SECONDS (default 0) then keeps
 * every booking open and samples both every 30 s; last, a probe times requests on cached and on evicted bookings
 * (CacheProbe, BENCH_MEMORY_PROBE bookings each, default 200). Same harness as `npm run bench`; worker and dev
 * server settings come from the environment (WORKER_MAX_CACHED_WORKFLOWS, TEMPORAL_DEV_HISTORY_CACHE_SIZE, ...).
 * Writes bench/results/memory-<time>.json unless --no-save. See BENCHMARKS.md, "Memory per open booking".
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { loadConfig } from '../src/config';
import { databaseSizes, processCpuSeconds, startHarness, type Harness } from './lib/harness';
import { devServerRuntime, findMetricsUrl, procMemory, type DevServerRuntime, type ProcMemory } from './lib/proc-memory';
import { mapLimit, sleep, summarise, type Summary } from './lib/stats';
import { bookingWorkflowId, getBookingQuery } from '../src/shared/booking-contract';
import type { EngineMemory } from './engine';

const MiB = 1024 * 1024;
const save = !process.argv.includes('--no-save');
const started = Date.now();

function log(msg: string): void {
  process.stdout.write(`[memory +${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);
}

/** Everything recorded at one count of open bookings, at the end of its settle period. */
export interface MemoryStep {
  openBookings: number;
  createErrors: number;
  createSeconds: number;
  engine: { proc: ProcMemory | null; v8: EngineMemory | null; cpuSeconds: number | null };
  devServer: { proc: ProcMemory | null; runtime: DevServerRuntime | null; cpuSeconds: number | null };
  /** Highest RSS of each process seen while this step's bookings were created and settled. */
  peakRssBytes: { engine: number; devServer: number };
  temporalSqliteBytes: number;
  pgliteBytes: number;
}

/**
 * What the caches save, on the most recently created bookings (still cached) and on the oldest (evicted once more
 * bookings are open than a cache holds), one request at a time so the figures are latencies, not queueing.
 * `describe` (DescribeWorkflowExecution) is served by the dev server's history service alone: its difference is
 * the server's cache miss. `query` (the booking's getBooking query) also goes to the worker, which answers a cached
 * run at once and replays an evicted one from its history: its difference is both caches' misses.
 */
export interface CacheProbe {
  count: number;
  describe: { newestMs: Summary; oldestMs: Summary };
  query: { newestMs: Summary; oldestMs: Summary };
  failures: number;
  failureSamples: string[];
}

async function main(): Promise<void> {
  const steps = (process.env.BENCH_MEMORY_STEPS ?? '0,250,500,1000,2000').split(',').map(Number);
  if (steps.some((s, i) => !Number.isInteger(s) || s < 0 || (i > 0 && s <= steps[i - 1]))) {
    throw new Error('BENCH_MEMORY_STEPS must be increasing non-negative integers');
  }
  const settleSeconds = Number(process.env.BENCH_MEMORY_SETTLE_SECONDS ?? 60);
  log(`starting dev server and engine; steps ${steps.join(', ')}, settle ${settleSeconds} s`);
  const sourceDigest = digest(['src', 'activities', 'workflows', 'package-lock.json'].map((p) => path.join(__dirname, '..', p)));
  log(`source digest ${sourceDigest}`);
  const h = await startHarness();
  const devConfig = loadConfig({ ...process.env, DATA_DIR: h.dataDir, TEMPORAL_ADDRESS: '' }).temporal;
  const workerConfig = loadConfig({ ...process.env, ...h.engineEnv }).worker;
  const out: MemoryStep[] = [];
  const ids: string[] = [];
  let probe: CacheProbe | null = null;
  const hold: { atSeconds: number; engineRssBytes: number; engineHeapUsedBytes: number; devServerRssBytes: number; goHeapInuseBytes: number }[] = [];
  let metricsUrl: string | null = null;
  try {
    metricsUrl = await findMetricsUrl(h.devServer.pid);
    if (!metricsUrl) log('dev server metrics not found (no `ss`?): Go heap figures left out');
    let open = 0;
    for (const target of steps) {
      const t0 = Date.now();
      const peaks = { engine: 0, devServer: 0 };
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peaks.engine = Math.max(peaks.engine, procMemory(h.engine.pid)?.rssBytes ?? 0);
          peaks.devServer = Math.max(peaks.devServer, procMemory(h.devServer.pid)?.rssBytes ?? 0);
          await sleep(500);
        }
      })();
      const errors = await openBookings(h, open, target - open, ids);
      const createSeconds = (Date.now() - t0) / 1000;
      open = target;
      await sleep(settleSeconds * 1000);
      sampling = false;
      await sampler;
      const step: MemoryStep = {
        openBookings: target,
        createErrors: errors,
        createSeconds: Math.round(createSeconds * 10) / 10,
        engine: { proc: procMemory(h.engine.pid), v8: await h.engine.memory().catch(() => null), cpuSeconds: processCpuSeconds(h.engine.pid) },
        devServer: {
          proc: procMemory(h.devServer.pid),
          runtime: metricsUrl ? await devServerRuntime(metricsUrl) : null,
          cpuSeconds: processCpuSeconds(h.devServer.pid),
        },
        peakRssBytes: peaks,
        ...databaseSizes(h.dataDir),
      };
      out.push(step);
      log(line(step));
    }
    // Idle with every booking open: does anything still grow, or does RSS come back down?
    const holdSeconds = Number(process.env.BENCH_MEMORY_HOLD_SECONDS ?? 0);
    for (let t = 30; t <= holdSeconds; t += 30) {
      await sleep(30_000);
      const sample = {
        atSeconds: t,
        engineRssBytes: procMemory(h.engine.pid)?.rssBytes ?? NaN,
        engineHeapUsedBytes: (await h.engine.memory().catch(() => null))?.heapUsedBytes ?? NaN,
        devServerRssBytes: procMemory(h.devServer.pid)?.rssBytes ?? NaN,
        goHeapInuseBytes: metricsUrl ? ((await devServerRuntime(metricsUrl))?.goHeapInuseBytes ?? NaN) : NaN,
      };
      hold.push(sample);
      log(`hold +${t} s: engine RSS ${mib(sample.engineRssBytes)} MiB, dev server RSS ${mib(sample.devServerRssBytes)} MiB (Go heap in use ${mib(sample.goHeapInuseBytes)})`);
    }
    const probeCount = Math.min(Number(process.env.BENCH_MEMORY_PROBE ?? 200), Math.floor(ids.length / 2));
    if (probeCount > 0) {
      const failures: string[] = [];
      const timed = async (list: string[], call: (id: string) => Promise<unknown>) => {
        const ms: number[] = [];
        for (const id of list) {
          const t = performance.now();
          try {
            await call(id);
            ms.push(performance.now() - t);
          } catch (err) {
            const cause = (err as { cause?: { details?: string; message?: string } }).cause;
            failures.push(`${id}: ${String(err)}${cause ? ` (${cause.details ?? cause.message})` : ''}`);
          }
        }
        return summarise(ms);
      };
      const handle = (id: string) => h.temporal.workflow.getHandle(bookingWorkflowId(id));
      const newest = ids.slice(-probeCount).reverse();
      const oldest = ids.slice(0, probeCount);
      // Newest first each time: touching the oldest puts them in the caches and evicts others (least recently used).
      const describe = { newestMs: await timed(newest, (id) => handle(id).describe()), oldestMs: await timed(oldest, (id) => handle(id).describe()) };
      const older = ids.slice(probeCount, 2 * probeCount); // not yet touched by the describes
      const query = { newestMs: await timed(newest, (id) => handle(id).query(getBookingQuery)), oldestMs: await timed(older, (id) => handle(id).query(getBookingQuery)) };
      probe = { count: probeCount, describe, query, failures: failures.length, failureSamples: failures.slice(0, 3) };
      if (failures.length) log(`${failures.length} probe requests failed, e.g. ${failures[0]}`);
      const p = (x: Summary) => `p50 ${x.p50} ms, p99 ${x.p99} ms`;
      log(`describe: newest ${p(describe.newestMs)}; oldest ${p(describe.oldestMs)}. query: newest ${p(query.newestMs)}; oldest ${p(query.oldestMs)}`);
    }
  } finally {
    log('stopping');
    await h.close();
    fs.rmSync(h.dataDir, { recursive: true, force: true });
  }
  printTable(out);
  if (save) {
    const file = path.join(__dirname, 'results', `memory-${new Date(started).toISOString().replace(/[:.]/g, '-')}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const git = (...a: string[]) => {
      try {
        return execFileSync('git', a, { cwd: path.join(__dirname, '..'), encoding: 'utf8' }).trim();
      } catch {
        return 'unknown';
      }
    };
    const environment = {
      commit: git('rev-parse', 'HEAD'),
      // Other work may change the tree between runs: runs compare only when this digest matches.
      sourceDigest,
      cpus: os.cpus().length,
      loadAverage: os.loadavg(),
      node: h.versions.node,
      temporalCli: h.versions.temporalCli,
      temporalServer: h.versions.temporalServer,
      workerTuning: workerConfig,
      devServerHistoryCacheSize: devConfig.devServerHistoryCacheSize,
      engineEnv: Object.fromEntries(Object.entries(h.engineEnv).filter(([k]) => !/SECRET|KEY/.test(k))),
    };
    const body = { startedAt: new Date(started).toISOString(), durationSeconds: Math.round((Date.now() - started) / 1000), settleSeconds: Number(process.env.BENCH_MEMORY_SETTLE_SECONDS ?? 60), environment, steps: out, hold, probe };
    fs.writeFileSync(file, JSON.stringify(body, null, 2) + '\n');
    log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}

/** sha256 (first 12 hex digits) over the paths and contents of the files under `roots`, in sorted order. */
function digest(roots: string[]): string {
  const hash = createHash('sha256');
  const walk = (p: string): void => {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      if (path.basename(p) === 'results' || path.basename(p) === 'node_modules') return;
      for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e));
      return;
    }
    hash.update(p).update(fs.readFileSync(p));
  };
  for (const r of roots) walk(r);
  return hash.digest('hex').slice(0, 12);
}

/**
 * Creates `count` bookings, 32 in flight, whose meetings start a day or more ahead (one minute apart from the
 * `offset`-th on), so none completes during the run; appends their ids to `ids` in the order they were created.
 * Returns the number of failed creates.
 */
async function openBookings(h: Harness, offset: number, count: number, ids: string[]): Promise<number> {
  const base = Date.now() + 24 * 3600_000;
  let errors = 0;
  await mapLimit(Array.from({ length: count }), 32, async (_x, i) => {
    const n = offset + i;
    const r = await h.api.call<{ id: string }>('POST', '/v2/bookings', {
      booking_page_id: h.plainPage.id,
      starting_time: new Date(base + n * 60_000).toISOString(),
      duration_minutes: 30,
      customer_timezone: 'Europe/Paris',
      form_submission: { name: `Memory Customer ${n}`, email: `memory${n}@bench.example` },
    });
    if (r.status !== 201) errors++;
    else ids.push(r.body.id);
  });
  return errors;
}

const mib = (b: number | null | undefined) => (b === null || b === undefined || Number.isNaN(b) ? 'n/a' : String(Math.round(b / MiB)));

function line(s: MemoryStep): string {
  return (
    `${s.openBookings} open (${s.createErrors} errors, ${s.createSeconds} s): engine RSS ${mib(s.engine.proc?.rssBytes)} MiB ` +
    `(heap ${mib(s.engine.v8?.heapUsedBytes)}/${mib(s.engine.v8?.heapTotalBytes)}, external ${mib(s.engine.v8?.externalBytes)}), ` +
    `dev server RSS ${mib(s.devServer.proc?.rssBytes)} MiB (Go heap in use ${mib(s.devServer.runtime?.goHeapInuseBytes)}, ` +
    `cached mutable states ${s.devServer.runtime?.mutableStateCacheEntries ?? 'n/a'})`
  );
}

function printTable(steps: MemoryStep[]): void {
  const rows = [
    ['open', 'engine RSS', 'V8 used', 'V8 total', 'external', 'engine other', 'dev RSS', 'Go in use', 'Go idle-released', 'MS cache', 'sum'],
    ...steps.map((s) => {
      const e = s.engine.proc?.rssBytes ?? NaN;
      const d = s.devServer.proc?.rssBytes ?? NaN;
      const v8 = s.engine.v8;
      const rt = s.devServer.runtime;
      return [
        String(s.openBookings),
        mib(e),
        mib(v8?.heapUsedBytes),
        mib(v8?.heapTotalBytes),
        mib(v8?.externalBytes),
        mib(v8 ? e - v8.heapTotalBytes - v8.externalBytes : NaN),
        mib(d),
        mib(rt?.goHeapInuseBytes),
        mib(rt ? rt.goHeapIdleBytes - rt.goHeapReleasedBytes : NaN),
        String(rt?.mutableStateCacheEntries ?? 'n/a'),
        mib(e + d),
      ];
    }),
  ];
  const widths = rows[0].map((_c, i) => Math.max(...rows.map((r) => r[i].length)));
  process.stdout.write('\nMiB at the end of each step\n');
  for (const r of rows) process.stdout.write(r.map((c, i) => c.padStart(widths[i])).join('  ') + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/memory: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
