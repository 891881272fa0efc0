/**
 * `npx tsx bench/levers.ts`: one setting measured off (A) and on (B) in the same run (BENCHMARKS.md, "Issue 19:
 * levers"). Two complete harnesses (dev server, engine, receivers, stand-in) run side by side, differing only in
 * the setting; scenario a's steps alternate A, B, A, B at one moderate rate (only one harness is loaded at a time),
 * then scenario b alternates the same way, then c counts each side's histories. On a shared, noisy machine only the
 * ratio of B to A within the run means something.
 *
 * LEVER: `eager-activities` (default): TEMPORAL_DEV_EAGER_ACTIVITIES=false vs true on the dev server; each side's
 * server metrics are read for the eager dispatches it made. `eager-workflow-start`: TEMPORAL_EAGER_WORKFLOW_START=false
 * vs true in the engine (the API's client on the worker's NativeConnection, booking starts eager); the server's
 * workflow_eager_execution counts the eager starts. `worker-slots`: the worker's task slots at their defaults (40
 * workflow tasks, 200 activities) vs 100 and 500.
 * LEVERS_RATE (5 bookings/s), LEVERS_ROUNDS (2), LEVERS_WINDOW_SECONDS (30), LEVERS_B_ROUNDS (2; 0 skips b),
 * LEVERS_B_WINDOW_SECONDS (20), LEVERS_ORDER (`AB`: A first in every round; `BA`: B first, to see whether the order
 * favours a side), LEVERS_NO_SAVE=1 prints only.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { freePort } from '../src/temporal/dev-server';
import { startHarness, type Harness } from './lib/harness';
import { startLifecycleStep, subscribeLifecycle, type LifecycleResult } from './scenarios/lifecycle';
import { measureCost, type CostResult } from './scenarios/cost';
import { runEngineLimit, type EngineLimitResult } from './scenarios/engine-limit';
import { sleep } from './lib/stats';

const started = Date.now();
function log(msg: string): void {
  process.stdout.write(`[levers +${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);
}

/** What one side sets: the dev server's environment (startHarness's devServerEnv) and the engine's. */
interface LeverSetting {
  devServer?: Record<string, string>;
  engine?: Record<string, string>;
}

interface Side {
  label: 'A' | 'B';
  setting: Record<string, string>;
  h: Harness;
  metricsPort: number;
  subs: { ids: string[]; paths: string[] };
  steps: LifecycleResult[];
  limits: EngineLimitResult[];
  cost: CostResult | null;
  serverMetrics: Record<string, number>;
}

const LEVERS: Record<string, { a: LeverSetting; b: LeverSetting }> = {
  'eager-activities': { a: { devServer: { TEMPORAL_DEV_EAGER_ACTIVITIES: 'false' } }, b: { devServer: { TEMPORAL_DEV_EAGER_ACTIVITIES: 'true' } } },
  'eager-workflow-start': { a: { engine: { TEMPORAL_EAGER_WORKFLOW_START: 'false' } }, b: { engine: { TEMPORAL_EAGER_WORKFLOW_START: 'true' } } },
  // The worker's task slots: the defaults (40 workflow tasks, 200 activities) against two and a half times as many.
  'worker-slots': {
    a: { engine: { WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '40', WORKER_MAX_CONCURRENT_ACTIVITIES: '200' } },
    b: { engine: { WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '100', WORKER_MAX_CONCURRENT_ACTIVITIES: '500' } },
  },
};

/**
 * Sums of the dev server's metric series that mention eager execution, activity or workflow tasks (AddActivityTask
 * and AddWorkflowTask are matching being handed a task; an eagerly dispatched one skips it), by metric name and
 * operation.
 */
async function scrapeServerMetrics(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !/eager|activitytask|activity_task|workflowtask|workflow_task/i.test(line)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels = m[2] ?? '';
    // Keep the series by metric name and operation/task type, summed over the rest.
    const op = /operation="([^"]*)"/.exec(labels)?.[1] ?? '';
    const key = op ? `${m[1]}{${op}}` : m[1];
    if (/_bucket$/.test(m[1])) continue;
    out[key] = (out[key] ?? 0) + Number(m[3]);
  }
  return out;
}

function pick(r: LifecycleResult) {
  return {
    rate: r.params.rate,
    completed: `${r.completedLifecycles}/${r.offered}`,
    errors: r.errors,
    sustained: r.sustained,
    webhook: r.webhookLatencyMs,
    webhookByType: r.webhookLatencyByType,
    salesforce: r.salesforceWriteLatencyMs,
    create: r.createMs,
    reschedule: r.rescheduleMs,
    completionLag: r.completionLagMs,
  };
}

async function main(): Promise<void> {
  const lever = process.env.LEVER ?? 'eager-activities';
  const spec = LEVERS[lever];
  if (!spec) throw new Error(`unknown LEVER ${lever}; one of ${Object.keys(LEVERS).join(', ')}`);
  const rate = Number(process.env.LEVERS_RATE ?? 5);
  const rounds = Number(process.env.LEVERS_ROUNDS ?? 2);
  const windowSeconds = Number(process.env.LEVERS_WINDOW_SECONDS ?? 30);
  const bRounds = Number(process.env.LEVERS_B_ROUNDS ?? 2);
  const bWindow = Number(process.env.LEVERS_B_WINDOW_SECONDS ?? 20);
  const order = process.env.LEVERS_ORDER ?? 'AB';
  if (order !== 'AB' && order !== 'BA') throw new Error(`LEVERS_ORDER must be AB or BA, got ${order}`);
  const sides: Side[] = [];
  // The order in which the sides take their turn in each round.
  const turns = () => (order === 'BA' ? [...sides].reverse() : sides);
  try {
    for (const [label, lever] of [['A', spec.a], ['B', spec.b]] as const) {
      const setting = { ...lever.devServer, ...lever.engine };
      log(`starting side ${label} (${JSON.stringify(setting)})`);
      const metricsPort = await freePort();
      const h = await startHarness({ devServerEnv: lever.devServer, engineEnv: lever.engine, devServerMetricsPort: metricsPort });
      const subs = await subscribeLifecycle(h);
      sides.push({ label, setting, h, metricsPort, subs, steps: [], limits: [], cost: null, serverMetrics: {} });
    }
    const before = await Promise.all(sides.map((s) => scrapeServerMetrics(s.metricsPort)));
    for (let round = 0; round < rounds; round++) {
      for (const s of turns()) {
        log(`a: side ${s.label} at ${rate}/s for ${windowSeconds} s (round ${round + 1})`);
        const r = await startLifecycleStep(s.h, { rate, windowSeconds, startOffsetSeconds: 3, drainSeconds: 60 }, s.subs.paths).finish();
        s.steps.push(r);
        log(`a: side ${s.label}: ${r.completedLifecycles}/${r.offered}, webhook p50/p95/p99 ${r.webhookLatencyMs.p50}/${r.webhookLatencyMs.p95}/${r.webhookLatencyMs.p99} ms`);
      }
    }
    const afterA = await Promise.all(sides.map((s) => scrapeServerMetrics(s.metricsPort)));
    sides.forEach((s, i) => {
      for (const [k, v] of Object.entries(afterA[i])) {
        const d = v - (before[i][k] ?? 0);
        if (d !== 0) s.serverMetrics[k] = d;
      }
    });
    for (const s of sides) {
      const finished = s.steps.find((x) => x.completedLifecycles > 0);
      if (finished) s.cost = await measureCost(s.h, finished.bookingIds, s.subs.ids, 20);
    }
    for (let round = 0; round < bRounds; round++) {
      for (const s of turns()) {
        log(`b: side ${s.label}, ${bWindow} s (round ${round + 1})`);
        const r = await runEngineLimit(s.h, { activities: 6, timers: 2, leaves: 0, timerMs: 1000, concurrency: 128, warmupSeconds: 5, windowSeconds: bWindow });
        s.limits.push(r);
        log(`b: side ${s.label}: ${r.unitsPerSecond}/s`);
        await sleep(5000);
      }
    }
  } finally {
    for (const s of sides) {
      await s.h.close().catch(() => undefined);
      fs.rmSync(s.h.dataDir, { recursive: true, force: true });
    }
  }
  const med = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length ? (v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : null;
  };
  const summary = sides.map((s) => ({
    side: s.label,
    setting: s.setting,
    steps: s.steps.map(pick),
    webhookP50: s.steps.map((x) => x.webhookLatencyMs.p50),
    webhookP99: s.steps.map((x) => x.webhookLatencyMs.p99),
    engineLimit: s.limits.map((x) => x.unitsPerSecond),
    engineLimitMedian: med(s.limits.map((x) => x.unitsPerSecond)),
    cost: s.cost?.perLifecycle ?? null,
    serverMetrics: s.serverMetrics,
  }));
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: path.join(__dirname, '..'), encoding: 'utf8' }).trim();
  } catch {
    // not a checkout
  }
  const result = {
    mode: 'levers',
    lever,
    startedAt: new Date(started).toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    params: { rate, rounds, windowSeconds, bRounds, bWindow, order: `${order[0]},${order[1]} per round` },
    environment: { commit, cpus: os.cpus().length, loadAverageAtEnd: os.loadavg(), node: process.version },
    sides: summary,
  };
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  if (!process.env.LEVERS_NO_SAVE) {
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `levers-${lever}-${result.startedAt.replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`levers failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
