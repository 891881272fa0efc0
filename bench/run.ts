/**
 * `npm run bench`: drives the real engine on loopback and prints a table; the JSON result goes to bench/results/.
 * `npm run bench -- --quick` runs small sizes in under two minutes (what CI runs: it fails only on an insane
 * figure, never on speed). Other flags: --profile (CPU profile of the engine into bench/results/profiles/),
 * --no-save (print only), --engine dev|cluster|dev,cluster (which engine: the embedded dev server with the engine in
 * one process, the default; `npm run cluster`'s production topology, scenarios a, b and c; or both in one run, side
 * by side). See BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dynamicConfig } from '../src/cluster/temporal-config';
import { loadConfig } from '../src/config';
import { startClusterHarness, type ClusterHarness } from './lib/cluster-harness';
import { devServerErrors, startHarness, type BenchWorld, type Harness } from './lib/harness';
import { watchProcessMemory, type NamedProcess, type ProcessMemoryResult } from './lib/proc-memory';
import { startLifecycleStep, subscribeLifecycle, type LifecycleParams, type LifecycleResult } from './scenarios/lifecycle';
import { measureCost, type CostResult } from './scenarios/cost';
import { runEngineLimit, type EngineLimitResult } from './scenarios/engine-limit';
import { runScale, type ScaleResult } from './scenarios/scale';
import { runFanOut, type FanOutResult } from './scenarios/fan-out';
import { sleep } from './lib/stats';

const argv = process.argv.slice(2);
const args = new Set(argv);
const quick = args.has('--quick');
const profile = args.has('--profile');
const save = !args.has('--no-save');
const sqliteDefaults = args.has('--sqlite-defaults');

type EngineKind = 'dev' | 'cluster';

/** `--engine dev` (default), `cluster`, `dev,cluster` or `both` (`--engine=…` too): the engines to run, in order. */
function enginesArg(): EngineKind[] {
  const i = argv.findIndex((a) => a === '--engine' || a.startsWith('--engine='));
  if (i < 0) return ['dev'];
  const value = argv[i].startsWith('--engine=') ? argv[i].slice('--engine='.length) : (argv[i + 1] ?? '');
  const list = value === 'both' ? ['dev', 'cluster'] : value.split(',').map((x) => x.trim());
  if (list.length === 0 || list.some((x) => x !== 'dev' && x !== 'cluster') || new Set(list).size !== list.length) {
    process.stderr.write(`bench: --engine takes dev, cluster, dev,cluster or both, not '${value}'\n`);
    process.exit(2);
  }
  return list as EngineKind[];
}
const engines = enginesArg();
/** Worker processes of the cluster (CLUSTER_WORKERS, 2 by default). */
const clusterWorkers = Number(process.env.CLUSTER_WORKERS || 2);

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function git(...a: string[]): string {
  try {
    return execFileSync('git', a, { cwd: path.join(__dirname, '..'), encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function log(msg: string): void {
  process.stdout.write(`[bench +${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);
}

const started = Date.now();

interface Results {
  /** The dev server (bench/engine.ts: worker + API + PGlite in one process) or `npm run cluster`. */
  engine: EngineKind;
  mode: 'quick' | 'full';
  variant: string;
  startedAt: string;
  durationSeconds: number;
  environment: Record<string, unknown>;
  /** The scenarios that ran (only they are judged by sanity()). */
  scenarios: string[];
  lifecycle: LifecycleResult[];
  highestSustainedRate: number | null;
  cost: CostResult | null;
  engineLimit: EngineLimitResult | null;
  ratio: number | null;
  scale: ScaleResult | null;
  fanOut: FanOutResult | null;
  /** RSS and PSS of each process of the engine and its Temporal, sampled during the a steps. */
  processMemory: ProcessMemoryResult | null;
  targets: { name: string; target: string; value: string; met: boolean | null }[];
  sanityFailures: string[];
}

/** What the scenarios run against: a, b and c need the world; d and e need the dev server's harness. */
interface Target {
  world: BenchWorld;
  dev: Harness | null;
  /** The processes whose memory is sampled during the a steps. */
  processes(): NamedProcess[];
}

/** Facts about the machine and the code, the same for both engines. */
function machine(): Record<string, unknown> {
  return {
    commit: git('rev-parse', 'HEAD'),
    dirty: git('status', '--porcelain', '--', 'src', 'activities', 'workflows', 'bench') !== '',
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / GiB) * 10) / 10,
  };
}

function emptyResults(engine: EngineKind, startedAt: number, environment: Record<string, unknown>): Results {
  return {
    engine,
    mode: quick ? 'quick' : 'full',
    variant: engine === 'dev' && sqliteDefaults ? 'sqlite-defaults' : 'default',
    startedAt: new Date(startedAt).toISOString(),
    durationSeconds: 0,
    environment,
    scenarios: [],
    lifecycle: [],
    highestSustainedRate: null,
    cost: null,
    engineLimit: null,
    ratio: null,
    scale: null,
    fanOut: null,
    processMemory: null,
    targets: [],
    sanityFailures: [],
  };
}

/** Drops secrets from the engine's environment before it is reported. */
function reported(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !/SECRET|KEY/.test(k)));
}

async function main(): Promise<void> {
  const all: Results[] = [];
  for (const engine of engines) {
    const r = engine === 'dev' ? await runDev() : await runCluster();
    r.targets = targets(r);
    r.sanityFailures.push(...sanity(r));
    print(r);
    all.push(r);
  }
  const startedAt = new Date(started).toISOString();
  if (all.length > 1) printSideBySide(all);
  if (save) {
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    const stamp = startedAt.replace(/[:.]/g, '-');
    const mode = quick ? 'quick' : 'full';
    let file: string;
    let body: unknown;
    if (all.length === 1) {
      const r = all[0];
      file = path.join(dir, `${mode}${r.engine === 'cluster' ? '-cluster' : sqliteDefaults ? '-sqlite-defaults' : ''}-${stamp}.json`);
      body = r;
    } else {
      file = path.join(dir, `${mode}-${engines.join('-')}-${stamp}.json`);
      const durationSeconds = Math.round((Date.now() - started) / 1000);
      body = { mode, engines, startedAt, durationSeconds, sideBySide: sideBySideRows(all), ...Object.fromEntries(all.map((r) => [r.engine, r])) };
    }
    fs.writeFileSync(file, JSON.stringify(body, null, 2) + '\n');
    log(`wrote ${path.relative(process.cwd(), file)}`);
  }
  const failures = all.flatMap((r) => r.sanityFailures.map((f) => (all.length > 1 ? `${r.engine}: ${f}` : f)));
  if (failures.length > 0) {
    process.stderr.write(`bench: insane figures:\n  ${failures.join('\n  ')}\n`);
    process.exit(1);
  }
}

/** The scenarios on the dev server: `npm run bench` as it always ran. */
async function runDev(): Promise<Results> {
  const t0 = Date.now();
  const cpuProfDir = profile ? path.join(__dirname, 'results', 'profiles') : undefined;
  if (cpuProfDir) fs.mkdirSync(cpuProfDir, { recursive: true });
  log(`mode ${quick ? 'quick' : 'full'}; starting dev server, Salesforce stand-in, receivers and the engine`);
  const h = await startHarness({ cpuProfDir, sqliteDefaults });
  const tuning = loadConfig({ ...process.env, ...h.engineEnv }).worker;
  const results = emptyResults('dev', t0, {
    ...machine(),
    node: h.versions.node,
    temporalCli: h.versions.temporalCli,
    temporalServer: h.versions.temporalServer,
    temporalStore: 'dev server (temporal server start-dev via startDevServer), file-backed SQLite in a fresh temp DATA_DIR',
    sqlitePragmas: h.sqlitePragmas.length ? h.sqlitePragmas : 'none (the CLI defaults)',
    // TEMPORAL_DEV_EAGER_ACTIVITIES (the dev server's system.enableActivityEagerExecution; BENCHMARKS.md, issue 19).
    devServerEagerActivities: loadConfig({ ...process.env, TEMPORAL_ADDRESS: '' }).temporal.devServerEagerActivities,
    appStore: 'PGlite (embedded) in DATA_DIR/pglite',
    workerTuning: tuning,
    engineEnv: reported(h.engineEnv),
    engineProcess: 'one child process: booking worker + HTTP API + PGlite (its RSS is an upper bound for the worker alone)',
  });
  const target: Target = {
    world: h,
    dev: h,
    processes: () => [
      { name: 'dev server', pid: h.devServer.pid },
      { name: 'engine', pid: h.engine.pid },
    ],
  };
  try {
    await runAll(target, results);
  } finally {
    log('stopping');
    const closed = await h.close();
    results.environment.sqliteJournalMode = closed.sqliteJournalMode;
    results.environment.devServerErrorLines = devServerErrors;
    fs.rmSync(h.dataDir, { recursive: true, force: true });
  }
  results.durationSeconds = Math.round((Date.now() - t0) / 1000);
  return results;
}

/** Display order of the cluster's processes (the others follow in start order). */
const CLUSTER_ORDER = ['temporal-frontend', 'temporal-history', 'temporal-matching', 'temporal-worker', 'postgres', 'temporal-ui'];

/** Scenarios a, b and c on `npm run cluster`, started fresh and stopped at the end (also when a scenario fails). */
async function runCluster(): Promise<Results> {
  const t0 = Date.now();
  if (profile || sqliteDefaults) log('cluster: --profile and --sqlite-defaults apply to the dev server only');
  log(`mode ${quick ? 'quick' : 'full'}; starting npm run cluster (${clusterWorkers} workers), Salesforce stand-in and receivers`);
  const h: ClusterHarness = await startClusterHarness({ workers: clusterWorkers, log });
  const results = emptyResults('cluster', t0, {
    ...machine(),
    node: h.versions.node,
    engineNode: h.versions.engineNode,
    temporalServer: h.versions.temporalServer,
    temporalUi: h.versions.ui,
    postgres: h.versions.postgres,
    temporalStore: `npm run cluster: PostgreSQL ${h.versions.postgres} (temporal, temporal_visibility), Temporal's four services in four processes, 4 history shards, in a fresh temp DATA_DIR`,
    eagerActivities: dynamicConfig()['system.enableActivityEagerExecution'],
    appStore: 'PostgreSQL (database booking of the same server)',
    workerTuning: loadConfig({ ...process.env, ...h.engineEnv, TEMPORAL_ADDRESS: '' }).worker,
    engineEnv: reported(h.engineEnv),
    engineProcess:
      `${h.workers} workers (npm run worker: node dist/src/worker.js) and one API (npm run api: node dist/src/server.js), ` +
      `each its own process; scenario b's worker in ${h.workers} processes of the bench, outside the figures`,
    salesforce: "org mode against the bench's stand-in (in the bench process, as under the dev server); the cluster starts no stand-in",
    ports: h.ports,
  });
  const target: Target = {
    world: h,
    dev: null,
    processes: () => {
      const list = h.processes();
      const rank = (n: string) => (CLUSTER_ORDER.includes(n) ? CLUSTER_ORDER.indexOf(n) : CLUSTER_ORDER.length);
      return list.map((p, i) => ({ p, i })).sort((x, y) => rank(x.p.name) - rank(y.p.name) || x.i - y.i).map((x) => x.p);
    },
  };
  // Ctrl-C (or SIGTERM) stops the cluster, removes its data and ends the bench (exit 130).
  let interruption: Promise<void> | null = null;
  const interrupted = () => {
    log('interrupted: stopping the cluster');
    interruption ??= h
      .close()
      .catch(() => undefined)
      .finally(() => {
        fs.rmSync(h.dataDir, { recursive: true, force: true });
        process.exit(130);
      });
  };
  // `on`, not `once`: Ctrl-C reaches the bench twice (from the terminal, and relayed by npm through tsx).
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  let failed = false;
  try {
    await runAll(target, results);
  } catch (err) {
    // A scenario failing because Ctrl-C stopped the cluster: the interruption ends the bench.
    if (interruption) await interruption;
    failed = true;
    const ended = h.endedEarly();
    // A scenario failing because a process of the cluster died: say so first.
    if (ended) throw new Error(`cluster: ${ended} during the run (its output above says why); then ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  } finally {
    const ended = h.endedEarly();
    if (ended && !failed) results.sanityFailures.push(`cluster: ${ended} during the run (its output above says why)`);
    log('stopping the cluster');
    await h.close().catch((err: unknown) => results.sanityFailures.push(`cluster: ${err instanceof Error ? err.message : String(err)}`));
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    // After a failure the cluster's logs (cluster/logs) and the bench workers' log stay for a look.
    if (failed || ended) log(`cluster data and logs kept in ${h.dataDir}`);
    else fs.rmSync(h.dataDir, { recursive: true, force: true });
  }
  results.durationSeconds = Math.round((Date.now() - t0) / 1000);
  return results;
}

async function runAll(t: Target, r: Results): Promise<void> {
  const h = t.world;
  const ran = (scenario: string) => r.scenarios.push(scenario);
  /** Memory of the engine's and Temporal's processes, sampled while lifecycle steps run. */
  const watchMemory = () => watchProcessMemory(t.processes, quick ? 1000 : 2000);
  const lifecycleSubs = await subscribeLifecycle(h);
  const step = (rate: number): LifecycleParams => ({
    rate,
    windowSeconds: quick ? 8 : 30,
    startOffsetSeconds: 3,
    drainSeconds: quick ? 15 : 60,
  });
  // One lifecycle's shape (c measures it in a full run): routing + Salesforce per event, the meeting-end timer and
  // the reschedule's; healthy deliveries need no workflow of their own since routing makes the first attempt.
  const timings = { activities: 6, timers: 2, leaves: 0 };

  if (quick) {
    // The lifecycle's one-minute meetings leave the engine idle: the other scenarios run meanwhile, and the
    // scale scenario's completions come after the lifecycle's. On the cluster: a, b and c only.
    log('a: lifecycle at 0.5/s for 8 s');
    const memory = watchMemory();
    const a = startLifecycleStep(h, step(0.5), lifecycleSubs.paths);
    await a.sent;
    const aLastDue = Math.max(...a.bookings.map((b) => b.dueAt ?? 0));
    let d: ReturnType<typeof runScale> | null = null;
    if (t.dev) {
      log('d: 60 open bookings (completions after the lifecycle ones)');
      d = runScale(t.dev, { bookings: 60, concurrency: 16, calibration: 10, staggerSeconds: 5, drainSeconds: 15, notBefore: aLastDue + 3000, overlap: true });
      await d.created;
    }
    log('b: engine limit (10 s)');
    r.engineLimit = await runEngineLimit(h, { ...timings, timerMs: 1000, concurrency: 32, warmupSeconds: 3, windowSeconds: 10 });
    ran('b');
    if (t.dev) {
      log('e: fan-out to 50, isolation 10 + 5 events');
      r.fanOut = await runFanOut(t.dev, {
        subscribers: 50,
        isolationSubscribers: 10,
        isolationEvents: 5,
        isolationRate: 2,
        isolationArrivals: 'poisson',
        isolationWarmupEvents: 2,
        timeoutSeconds: 15,
      });
      ran('e');
    }
    r.lifecycle.push(await a.finish());
    r.processMemory = memory.stop();
    ran('a');
    log(`a: ${summaryLine(r.lifecycle[0])}`);
    if (d) {
      r.scale = await d.result;
      ran('d');
    }
    r.cost = await measureCost(h, r.lifecycle[0].bookingIds, lifecycleSubs.ids, 5);
    ran('c');
  } else {
    // BENCH_ONLY=e (or a,c,b,e,d in any combination) reruns chosen scenarios of the full run.
    const only = new Set((process.env.BENCH_ONLY ?? 'a,b,c,d,e').split(',').map((x) => x.trim()));
    if (!t.dev) {
      for (const x of ['d', 'e']) if (only.delete(x)) log(`${x}: runs on the dev server only; not on the cluster`);
    }
    const rates = only.has('a') ? (process.env.BENCH_RATES ?? '1,2,4,6,8,10,12,16').split(',').map(Number) : [];
    const memory = rates.length > 0 ? watchMemory() : null;
    /** One 30 s lifecycle step at `rate`, kept in the results. */
    const runStep = async (rate: number, why = ''): Promise<LifecycleResult> => {
      log(`a: lifecycle at ${rate}/s for 30 s${why}`);
      const res = await startLifecycleStep(h, step(rate), lifecycleSubs.paths).finish();
      r.lifecycle.push(res);
      log(`a: ${summaryLine(res)}`);
      return res;
    };
    let best: number | null = null;
    let failed: number | null = null;
    for (const rate of rates) {
      if (!(await runStep(rate)).sustained) {
        failed = rate;
        break;
      }
      best = rate;
    }
    // One step between the last sustained rate and the first that was not.
    if (best !== null && failed !== null) await runStep((best + failed) / 2);
    // The latency target is read at half the highest sustained rate: measure that step when the list missed it.
    const highest = Math.max(...r.lifecycle.filter((x) => x.sustained).map((x) => x.params.rate));
    if (Number.isFinite(highest) && !r.lifecycle.some((x) => x.params.rate === highest / 2)) {
      if (failed !== null) {
        // The steps that were not sustained left work behind (late deliveries, meeting ends): let it finish.
        log('a: 60 s cool-down after the steps that were not sustained');
        await sleep(60_000);
      }
      await runStep(highest / 2, ' (half the highest sustained rate)');
    }
    if (memory) r.processMemory = memory.stop();
    if (r.lifecycle.length > 0) ran('a');
    const finished = r.lifecycle.find((x) => x.completedLifecycles > 0);
    if (finished && only.has('c')) {
      log('c: counting histories');
      r.cost = await measureCost(h, finished.bookingIds, lifecycleSubs.ids, 20);
      ran('c');
      timings.activities = Math.round(r.cost.perLifecycle.activities - r.cost.perLifecycle.deliveryWorkflows);
      timings.timers = Math.round(r.cost.perLifecycle.timers);
      timings.leaves = Math.round(r.cost.perLifecycle.deliveryWorkflows);
    } else if (only.has('c')) {
      log('c: not run (it counts the histories of lifecycles a finished)');
    }
    if (only.has('b')) {
      log('b: engine limit (30 s)');
      // Enough units in flight to saturate the server: each takes at least its timers (2 × 1 s), so 16 lanes
      // could never finish more than 8/s, and measured 5 (Little's law), not the limit. 64 and 160 lanes both
      // gave ~14.4/s. BENCH_LIMIT_CONCURRENCY overrides.
      const concurrency = Number(process.env.BENCH_LIMIT_CONCURRENCY ?? 128);
      r.engineLimit = await runEngineLimit(h, { ...timings, timerMs: 1000, concurrency, warmupSeconds: 5, windowSeconds: 30 });
      ran('b');
    }
    await h.unsubscribe(lifecycleSubs.ids);
    if (only.has('e') && t.dev) {
      // Isolation is offered at a rate the server keeps up with (4/s × 50 subscribers queued for seconds, so
      // queueing, not the timing-out subscriber, set the p99); BENCH_ISOLATION_RATE overrides.
      const isolationRate = Number(process.env.BENCH_ISOLATION_RATE ?? 0.5);
      // The p99 of one run is about its slowest event (each event's 49 arrivals move together): more events
      // (BENCH_ISOLATION_EVENTS) make the comparison steadier.
      const isolationEvents = Number(process.env.BENCH_ISOLATION_EVENTS ?? 40);
      // Poisson arrivals by default (BENCH_ISOLATION_ARRIVALS=periodic for a fixed period; see FanOutParams).
      const isolationArrivals = process.env.BENCH_ISOLATION_ARRIVALS === 'periodic' ? 'periodic' : 'poisson';
      log(`e: fan-out to 500, isolation ${isolationEvents} + ${isolationEvents} events at ${isolationRate}/s (${isolationArrivals})`);
      r.fanOut = await runFanOut(t.dev, {
        subscribers: 500,
        isolationSubscribers: 50,
        isolationEvents,
        isolationRate,
        isolationArrivals,
        isolationWarmupEvents: Math.min(20, isolationEvents),
        timeoutSeconds: 15,
      });
      ran('e');
    }
    if (only.has('d') && t.dev) {
      const bookings = Number(process.env.BENCH_SCALE_BOOKINGS ?? 10_000);
      log(`d: ${bookings} open bookings`);
      // Completions are spread so they arrive at a rate the engine sustains (about 17/s for 10,000 over 600 s);
      // offered faster, the lag measures the queue, not the timers. BENCH_SCALE_STAGGER_SECONDS overrides.
      const staggerSeconds = Number(process.env.BENCH_SCALE_STAGGER_SECONDS ?? Math.max(120, Math.round(bookings / 16)));
      r.scale = await runScale(t.dev, { bookings, concurrency: 32, calibration: Math.min(300, Math.ceil(bookings / 10)), staggerSeconds, drainSeconds: 120 }).result;
      ran('d');
    }
  }
  r.scenarios.sort();
  const sustained = r.lifecycle.filter((x) => x.sustained).map((x) => x.params.rate);
  r.highestSustainedRate = sustained.length ? Math.max(...sustained) : null;
  if (r.highestSustainedRate !== null && r.engineLimit && r.engineLimit.unitsPerSecond > 0) {
    r.ratio = Math.round((r.highestSustainedRate / r.engineLimit.unitsPerSecond) * 100) / 100;
  }
}

function summaryLine(x: LifecycleResult): string {
  return (
    `${x.completedLifecycles}/${x.offered} lifecycles, ${x.errors} errors, sustained=${x.sustained}` +
    `${x.sustained ? '' : ` (${x.notSustainedBecause.join('; ')})`}, webhook p99 ${x.webhookLatencyMs.p99} ms`
  );
}

function ms(v: number | null | undefined): string {
  return v === null || v === undefined ? 'n/a' : `${v} ms`;
}

/** The sustained step at half the highest sustained rate, where the latency targets are read. */
function halfStep(r: Results): LifecycleResult | undefined {
  const highest = r.highestSustainedRate;
  return highest === null ? undefined : r.lifecycle.find((x) => x.params.rate === highest / 2 && x.sustained);
}

function targets(r: Results): Results['targets'] {
  const out: Results['targets'] = [];
  // Issue 19 raised the targets (a/b >= 0.5 -> 0.8; webhook p99 < 250 -> 150 ms, and p50 < 40 ms).
  out.push({ name: 'a/b', target: '>= 0.8', value: r.ratio === null ? 'n/a' : String(r.ratio), met: r.ratio === null ? null : r.ratio >= 0.8 });
  const half = halfStep(r);
  const halfP99 = half?.webhookLatencyMs.p99 ?? null;
  const halfP50 = half?.webhookLatencyMs.p50 ?? null;
  out.push({
    name: 'webhook p99 at half the highest sustained rate',
    target: '< 150 ms',
    value: half ? `${halfP99} ms at ${half.params.rate}/s` : 'n/a (no step at half the highest sustained rate)',
    met: halfP99 === null ? null : halfP99 < 150,
  });
  out.push({
    name: 'webhook p50 at half the highest sustained rate',
    target: '< 40 ms',
    value: half ? `${halfP50} ms at ${half.params.rate}/s` : 'n/a (no step at half the highest sustained rate)',
    met: halfP50 === null ? null : halfP50 < 40,
  });
  // Targets of the scenarios that did not run are left out (the cluster runs a, b and c).
  const ran = new Set(r.scenarios);
  const rss = r.scale?.peakRssBytes ?? null;
  if (ran.has('d')) {
    out.push({
      name: `${r.scale?.params.bookings ?? 0} open bookings: engine peak RSS`,
      target: '< 1 GiB (for 10,000)',
      value: rss === null ? 'n/a' : `${Math.round(rss / MiB)} MiB`,
      met: rss === null ? null : rss < GiB,
    });
  }
  if (!ran.has('e')) return out;
  const fan = r.fanOut?.fanOut.allDeliveredMs ?? null;
  out.push({
    name: `fan-out to ${r.fanOut?.params.subscribers ?? 0} subscribers`,
    target: '< 5 s (for 500)',
    value: fan === null ? 'not all delivered' : `${(fan / 1000).toFixed(2)} s`,
    met: fan === null ? false : fan < 5000,
  });
  const change = r.fanOut?.p99Change ?? null;
  out.push({
    name: 'healthy p99 change with a timing-out subscriber',
    target: '< +10 %',
    value: change === null ? 'n/a' : `${(change * 100).toFixed(1)} % (${ms(r.fanOut?.allHealthy.latencyMs.p99)} -> ${ms(r.fanOut?.withTimingOut.latencyMs.p99)})`,
    met: change === null ? null : change < 0.1,
  });
  return out;
}

/**
 * Figures that cannot be right whatever the machine: the harness is broken if any holds. Only the scenarios that ran
 * are judged (BENCH_ONLY, and the cluster runs a, b and c).
 */
function sanity(r: Results): string[] {
  const bad: string[] = [];
  const ran = new Set(r.scenarios);
  const finite = (name: string, v: number | null | undefined) => {
    if (v === null || v === undefined || !Number.isFinite(v) || v < 0) bad.push(`${name} is ${v}`);
  };
  if (ran.size === 0) bad.push('no scenario ran');
  const first = r.lifecycle[0];
  if (ran.has('a')) {
    if (!first) bad.push('no lifecycle step ran');
    else {
      if (!(first.completedLifecycles > 0)) bad.push('no booking lifecycle completed');
      finite('webhook latency p50', first.webhookLatencyMs.p50);
      finite('webhook latency p99', first.webhookLatencyMs.p99);
      finite('Salesforce write latency p99', first.salesforceWriteLatencyMs.p99);
      finite('completion lag p99', first.completionLagMs.p99 === null ? null : Math.max(0, first.completionLagMs.p99));
    }
    if (!r.processMemory) bad.push('memory: not sampled during a');
    for (const p of r.processMemory?.processes ?? []) if (!(p.rss.peakBytes > 0)) bad.push(`memory: ${p.name} has no RSS`);
  }
  if (ran.has('b') && !(r.engineLimit && r.engineLimit.unitsPerSecond > 0)) bad.push('engine limit throughput is zero');
  if (ran.has('c') && !(r.cost && r.cost.perLifecycle.actions > 0 && r.cost.perLifecycle.historyEvents > 0)) bad.push('no actions or history events counted');
  if (ran.has('d')) {
    if (!r.scale || !(r.scale.created > 0) || !(r.scale.openAfterCreation.rssBytes > 0)) bad.push('scale: nothing created or no RSS');
    else {
      if (!(r.scale.completionsArrived > 0)) bad.push('scale: no completion arrived');
      finite('scale completion lag p99', r.scale.completionLagMs.p99 === null ? null : Math.abs(r.scale.completionLagMs.p99));
      if (!(r.scale.openAfterCreation.temporalSqliteBytes > 0)) bad.push('scale: SQLite file size is zero');
    }
  }
  if (ran.has('e')) {
    if (!r.fanOut || r.fanOut.fanOut.allDeliveredMs === null) bad.push('fan-out: not every subscriber received the event');
    else finite('fan-out time', r.fanOut.fanOut.allDeliveredMs);
    if (r.fanOut) {
      finite('all-healthy p99', r.fanOut.allHealthy.latencyMs.p99);
      finite('with-timing-out healthy p99', r.fanOut.withTimingOut.latencyMs.p99);
    }
  }
  return bad;
}

function mib(bytes: number): number {
  return Math.round(bytes / MiB);
}

/** How each process is called in the tables. */
const PROCESS_LABELS: Record<string, string> = {
  'dev server': 'dev server (temporal server start-dev, UI included)',
  engine: 'engine (worker + API + PGlite, one process)',
  'temporal-frontend': 'Temporal frontend',
  'temporal-history': 'Temporal history',
  'temporal-matching': 'Temporal matching',
  'temporal-worker': 'Temporal worker service',
  postgres: 'PostgreSQL (postmaster + backends)',
  'temporal-ui': 'Temporal UI server',
  api: 'API',
};

/** "peak / end MiB" of one process during a; PostgreSQL's PSS too (its backends share their buffers). */
function memoryCell(p: ProcessMemoryResult['processes'][number]): string {
  const rss = `${mib(p.rss.peakBytes)} / ${mib(p.rss.endBytes)} MiB`;
  return p.name === 'postgres' ? `${rss} (PSS ${mib(p.pss.peakBytes)} / ${mib(p.pss.endBytes)})` : rss;
}

/** The figures the issue compares, one row each, a column per engine. */
function sideBySideRows(list: Results[]): string[][] {
  const rows: string[][] = [['', ...list.map((r) => (r.engine === 'dev' ? 'dev server' : `cluster (${clusterWorkers} workers)`))]];
  const row = (label: string, f: (r: Results) => string) => rows.push([label, ...list.map(f)]);
  row('sustained lifecycles/s (a)', (r) => (r.highestSustainedRate === null ? 'none' : String(r.highestSustainedRate)));
  row('b limit, lifecycle-equivalents/s', (r) => (r.engineLimit ? String(r.engineLimit.unitsPerSecond) : 'n/a'));
  row('a/b', (r) => (r.ratio === null ? 'n/a' : String(r.ratio)));
  row('webhook p50/p99 at half the sustained rate', (r) => {
    const half = halfStep(r);
    return half ? `${half.webhookLatencyMs.p50}/${half.webhookLatencyMs.p99} ms at ${half.params.rate}/s` : 'n/a (no step there)';
  });
  row('billable actions per lifecycle (c)', (r) => (r.cost ? String(r.cost.perLifecycle.actions) : 'n/a'));
  const names: string[] = [];
  for (const r of list) for (const p of r.processMemory?.processes ?? []) if (!names.includes(p.name)) names.push(p.name);
  for (const name of names) {
    row(`RSS peak / end during a: ${PROCESS_LABELS[name] ?? name}`, (r) => {
      const p = r.processMemory?.processes.find((x) => x.name === name);
      return p ? memoryCell(p) : '-';
    });
  }
  row('RSS peak / end during a: all of the above', (r) => {
    const t = r.processMemory?.total;
    return t ? `${mib(t.rss.peakBytes)} / ${mib(t.rss.endBytes)} MiB (PSS ${mib(t.pss.peakBytes)} / ${mib(t.pss.endBytes)})` : 'n/a';
  });
  return rows;
}

function printSideBySide(list: Results[]): void {
  const rows = sideBySideRows(list);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const out = [line(rows[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)];
  process.stdout.write(`Side by side (${quick ? 'quick' : 'full'} run, one machine):\n${out.join('\n')}\n\n`);
}

function print(r: Results): void {
  const rows: [string, string][] = [];
  const env = r.environment;
  const hardware = `${env.cpus} CPUs (${env.cpuModel}), ${env.memoryGiB} GiB`;
  if (r.engine === 'dev') {
    rows.push(['engine', 'dev server (embedded Temporal, SQLite) + the engine in one process']);
    rows.push(['machine', `${hardware}, Node ${env.node}, Temporal CLI ${env.temporalCli} / server ${env.temporalServer}`]);
  } else {
    rows.push(['engine', `npm run cluster: ${String(env.engineProcess)}`]);
    rows.push([
      'machine',
      `${hardware}, Node ${env.node} (engine processes ${env.engineNode}), Temporal server ${env.temporalServer} (4 services), ` +
        `UI server ${env.temporalUi}, PostgreSQL ${env.postgres}`,
    ]);
  }
  rows.push(['worker tuning', JSON.stringify(env.workerTuning)]);
  for (const x of r.lifecycle) {
    rows.push([
      `a ${x.params.rate}/s x ${x.params.windowSeconds}s`,
      `${x.completedLifecycles}/${x.offered} done, ${x.errors} err, ${x.sustained ? 'sustained' : 'NOT sustained'}; ` +
        `webhook p50/p95/p99 ${x.webhookLatencyMs.p50}/${x.webhookLatencyMs.p95}/${x.webhookLatencyMs.p99} ms; ` +
        `Salesforce p50/p99 ${x.salesforceWriteLatencyMs.p50}/${x.salesforceWriteLatencyMs.p99} ms; ` +
        `create p99 ${x.createMs.p99} ms; completion lag p50/p99 ${x.completionLagMs.p50}/${x.completionLagMs.p99} ms`,
    ]);
  }
  rows.push(['a highest sustained', r.highestSustainedRate === null ? 'none' : `${r.highestSustainedRate} bookings/s`]);
  if (r.engineLimit) {
    const b = r.engineLimit;
    rows.push([
      'b engine limit',
      `${b.unitsPerSecond} lifecycle-equivalents/s (${b.workflowsPerSecond} workflows/s, ${b.activitiesPerSecond} activities/s; ` +
        `${b.params.activities} activities + ${b.params.timers} timers + ${b.params.leaves} one-activity workflows each)`,
    ]);
  }
  rows.push(['a/b', r.ratio === null ? 'n/a' : String(r.ratio)]);
  if (r.cost) {
    const c = r.cost.perLifecycle;
    rows.push([
      'c per lifecycle',
      `${c.actions} actions (booking ${c.bookingActions}, deliveries ${c.deliveryActions}, API queries ${c.apiQueries}) vs design minimum ${r.cost.designMinimum.actions}; ` +
        `${c.historyEvents} history events (booking ${c.bookingHistoryEvents}, ${c.deliveryWorkflows} deliveries ${c.deliveryHistoryEvents})`,
    ]);
    rows.push(['c actions by kind', Object.entries(c.actionsByKind).map(([k, v]) => `${k} ${v}`).join(', ')]);
    rows.push(['c not billed', Object.entries(c.notBilledByKind).map(([k, v]) => `${k} ${v}`).join(', ') || 'none']);
  }
  if (r.scale) {
    const s = r.scale;
    rows.push([
      `d ${s.params.bookings} open`,
      `created in ${s.createSeconds} s (${s.createRatePerSecond}/s, ${s.errors} err); RSS ${Math.round(s.openAfterCreation.rssBytes / MiB)} MiB ` +
        `(peak ${Math.round(s.peakRssBytes / MiB)}), heap ${Math.round(s.openAfterCreation.heapUsedBytes / MiB)} MiB; ` +
        `SQLite ${Math.round(s.openAfterCreation.temporalSqliteBytes / MiB)} MiB, PGlite ${Math.round(s.openAfterCreation.pgliteBytes / MiB)} MiB; ` +
        `dev server RSS ${s.devServer.rssBytesOpen === null ? 'n/a' : Math.round(s.devServer.rssBytesOpen / MiB)} MiB (peak ${Math.round(s.devServer.peakRssBytes / MiB)})`,
    ]);
    if (s.errorSamples.length) rows.push(['d error samples', s.errorSamples.join(' | ')]);
    rows.push([
      'd completions',
      `${s.completionsArrived}/${s.completionsExpected} over ${s.params.staggerSeconds} s; lag due->arrival p50/p99 ${s.completionLagMs.p50}/${s.completionLagMs.p99} ms` +
        (s.dueDuringCreation ? ` (${s.dueDuringCreation} came due during creation)` : ''),
    ]);
  }
  if (r.fanOut) {
    const f = r.fanOut;
    rows.push([`e fan-out ${f.params.subscribers}`, `${f.fanOut.delivered} delivered, all in ${ms(f.fanOut.allDeliveredMs)}; p50 ${ms(f.fanOut.latencyMs.p50)}`]);
    rows.push([
      `e isolation ${f.params.isolationSubscribers}`,
      `healthy p99 all-healthy ${ms(f.allHealthy.latencyMs.p99)} vs one timing out ${ms(f.withTimingOut.latencyMs.p99)}` +
        ` (${f.p99Change === null ? 'n/a' : `${(f.p99Change * 100).toFixed(1)} %`})`,
    ]);
    for (const [label, run] of [['all healthy', f.allHealthy], ['one timing out', f.withTimingOut]] as const) {
      rows.push([
        `e load, ${label}`,
        `engine CPU ${run.engine.cpuSeconds} s, loop delay p99 ${run.engine.loopDelayMs.p99} ms, GC ${run.engine.gc.pauseMs} ms ` +
          `(${run.engine.gc.majorCount} major, ${run.engine.gc.majorPauseMs} ms); dev server CPU ${run.devServerCpuSeconds ?? 'n/a'} s`,
      ]);
    }
  }
  if (r.processMemory) {
    const m = r.processMemory;
    for (const p of m.processes) {
      rows.push([
        `memory ${p.name}`,
        `RSS peak/end ${mib(p.rss.peakBytes)}/${mib(p.rss.endBytes)} MiB, PSS ${mib(p.pss.peakBytes)}/${mib(p.pss.endBytes)} MiB ` +
          `(${p.processes} process${p.processes === 1 ? '' : 'es'}${p.launcherRssBytes === null ? '' : `; npm launcher ${mib(p.launcherRssBytes)} MiB not counted`})`,
      ]);
    }
    rows.push([
      'memory, all',
      `RSS peak/end ${mib(m.total.rss.peakBytes)}/${mib(m.total.rss.endBytes)} MiB, PSS ${mib(m.total.pss.peakBytes)}/${mib(m.total.pss.endBytes)} MiB ` +
        `(${m.samples} samples every ${m.intervalMs / 1000} s over the a steps, ${m.seconds} s)`,
    ]);
  }
  rows.push(['scenarios', r.scenarios.join(', ') || 'none']);
  rows.push(['duration', `${r.durationSeconds} s${r.engine === 'dev' ? `; SQLite journal_mode ${String(env.sqliteJournalMode)}` : ''}`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write('\n' + rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n\nTargets:\n');
  for (const t of r.targets) process.stdout.write(`  [${t.met === null ? ' ?  ' : t.met ? ' met' : 'MISS'}] ${t.name}: ${t.value} (target ${t.target})\n`);
  process.stdout.write('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
