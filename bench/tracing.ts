/**
 * What tracing and metrics cost (`npx tsx bench/tracing.ts`, BENCHMARKS.md "Tracing cost"): scenario a's lifecycle
 * steps, run by the same harness as `npm run bench`, once per mode in one run: `off` (no OTEL_*, no metrics
 * listener), `on` (tracing: OTEL_EXPORTER_OTLP_ENDPOINT set to an OTLP/HTTP receiver on loopback that accepts and
 * counts every export) and `metrics` (the API's, the worker's and the SDK's Prometheus endpoints on, each scraped
 * every 5 s by the bench, three times Prometheus's default rate; tracing off). For each step: lifecycles
 * completed per second, webhook p99, the engine process's CPU time per completed lifecycle (user + system, from
 * /proc: the figure a busy shared machine disturbs least) and its RSS (sampled every second: peak, and at the step's
 * end). The engine is one process (worker + API + PGlite), so pg is not traced here; the HTTP server, undici, jsforce's
 * HTTP calls and the Temporal interceptors are.
 *
 *   BENCH_TRACING_RATES   lifecycle rates per second (default 2,4)
 *   BENCH_TRACING_ORDER   the modes, in order (default off,on; `metrics` is the third)
 *   BENCH_TRACING_WINDOW  seconds of each step (default 30)
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { freePort } from '../src/temporal/dev-server';
import { processCpuSeconds, startHarness } from './lib/harness';
import { startLifecycleStep, subscribeLifecycle, type LifecycleResult } from './scenarios/lifecycle';

const MiB = 1024 * 1024;

const started = Date.now();
const log = (msg: string) => process.stdout.write(`[bench-tracing +${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);

/** An OTLP/HTTP receiver that accepts every export and counts requests and bytes (no decoding: cost of the sender only). */
async function startSink(): Promise<{ url: string; stats: { requests: number; bytes: number }; close(): Promise<void> }> {
  const stats = { requests: 0, bytes: 0 };
  const server = http.createServer((req, res) => {
    req.on('data', (c: Buffer) => (stats.bytes += c.length));
    req.on('end', () => {
      stats.requests++;
      res.writeHead(200, { 'content-type': String(req.headers['content-type'] ?? 'application/x-protobuf') }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

type Mode = 'off' | 'on' | 'metrics';
const MODES: Mode[] = ['off', 'on', 'metrics'];

/** Scrapes each URL every 5 s and counts scrapes and bytes, as a Prometheus would (more often than its 15 s default). */
function startScraper(urls: string[]): { stats: { scrapes: number; bytes: number; failures: number }; stop(): void } {
  const stats = { scrapes: 0, bytes: 0, failures: 0 };
  const timer = setInterval(() => {
    for (const url of urls) {
      fetch(url)
        .then(async (r) => {
          if (!r.ok) throw new Error(String(r.status));
          stats.bytes += (await r.arrayBuffer()).byteLength;
          stats.scrapes++;
        })
        .catch(() => stats.failures++);
    }
  }, 5000);
  return { stats, stop: () => clearInterval(timer) };
}

interface StepResult {
  mode: Mode;
  rate: number;
  lifecyclesPerSecond: number;
  completed: number;
  offered: number;
  sustained: boolean;
  webhookP99Ms: number | null;
  createP99Ms: number | null;
  /** Engine CPU seconds over the step (its window and drain) per completed lifecycle. */
  cpuMsPerLifecycle: number | null;
  peakRssMiB: number;
  endRssMiB: number;
  exports: { requests: number; bytes: number } | null;
  /** Metrics mode: scrapes of the three endpoints over the step, their bytes, failed scrapes. */
  scrapes: { scrapes: number; bytes: number; failures: number } | null;
}

async function runMode(mode: Mode, rates: number[], windowSeconds: number): Promise<StepResult[]> {
  const sink = mode === 'on' ? await startSink() : null;
  const metricsPorts = mode === 'metrics' ? [await freePort(), await freePort(), await freePort()] : null;
  const engineEnv: Record<string, string> = {
    ...(sink
      ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_SERVICE_NAME: 'booking-bench' }
      : { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' }),
    ...(metricsPorts
      ? { METRICS_PORT: String(metricsPorts[0]), WORKER_METRICS_PORT: String(metricsPorts[1]), WORKER_SDK_METRICS_PORT: String(metricsPorts[2]) }
      : { METRICS_PORT: 'off', WORKER_METRICS_PORT: 'off', WORKER_SDK_METRICS_PORT: 'off' }),
  };
  log(`mode ${mode}: starting dev server, stand-in, receivers and the engine`);
  const h = await startHarness({ engineEnv });
  const scraper = metricsPorts ? startScraper(metricsPorts.map((p) => `http://127.0.0.1:${p}/metrics`)) : null;
  const out: StepResult[] = [];
  try {
    const subs = await subscribeLifecycle(h);
    for (const rate of rates) {
      const before = sink ? { ...sink.stats } : null;
      const scrapesBefore = scraper ? { ...scraper.stats } : null;
      let peak = 0;
      const cpuBefore = processCpuSeconds(h.engine.pid);
      const sampler = setInterval(() => (peak = Math.max(peak, h.engine.procRss()?.rssBytes ?? 0)), 1000);
      log(`mode ${mode}: lifecycle at ${rate}/s for ${windowSeconds} s`);
      let res: LifecycleResult;
      try {
        res = await startLifecycleStep(h, { rate, windowSeconds, startOffsetSeconds: 3, drainSeconds: 60 }, subs.paths).finish();
      } finally {
        clearInterval(sampler);
      }
      const end = h.engine.procRss()?.rssBytes ?? 0;
      const cpuAfter = processCpuSeconds(h.engine.pid);
      const cpuMsPerLifecycle =
        cpuBefore !== null && cpuAfter !== null && res.completedLifecycles > 0 ? Math.round(((cpuAfter - cpuBefore) * 1000) / res.completedLifecycles) : null;
      const step: StepResult = {
        mode,
        rate,
        lifecyclesPerSecond: res.lifecyclesPerSecond,
        completed: res.completedLifecycles,
        offered: res.offered,
        sustained: res.sustained,
        webhookP99Ms: res.webhookLatencyMs.p99,
        createP99Ms: res.createMs.p99,
        cpuMsPerLifecycle,
        peakRssMiB: Math.round(Math.max(peak, end) / MiB),
        endRssMiB: Math.round(end / MiB),
        exports: sink && before ? { requests: sink.stats.requests - before.requests, bytes: sink.stats.bytes - before.bytes } : null,
        scrapes:
          scraper && scrapesBefore
            ? {
                scrapes: scraper.stats.scrapes - scrapesBefore.scrapes,
                bytes: scraper.stats.bytes - scrapesBefore.bytes,
                failures: scraper.stats.failures - scrapesBefore.failures,
              }
            : null,
      };
      out.push(step);
      log(`mode ${mode} at ${rate}/s: ${JSON.stringify(step)}`);
    }
  } finally {
    scraper?.stop();
    await h.close();
    fs.rmSync(h.dataDir, { recursive: true, force: true });
    await sink?.close();
  }
  return out;
}

async function main(): Promise<void> {
  const rates = (process.env.BENCH_TRACING_RATES ?? '2,4').split(',').map(Number);
  const order = (process.env.BENCH_TRACING_ORDER ?? 'off,on').split(',').map((m) => m.trim()) as Mode[];
  const unknown = order.filter((m) => !MODES.includes(m));
  if (unknown.length > 0) throw new Error(`BENCH_TRACING_ORDER: unknown mode ${unknown.join(', ')} (${MODES.join(', ')})`);
  const windowSeconds = Number(process.env.BENCH_TRACING_WINDOW ?? 30);
  const results: StepResult[] = [];
  for (const mode of order) results.push(...(await runMode(mode, rates, windowSeconds)));
  const rows = results.map(
    (r) =>
      `| ${r.mode} | ${r.rate}/s | ${r.completed}/${r.offered} | ${r.lifecyclesPerSecond.toFixed(2)} | ${r.sustained ? 'yes' : 'no'} | ` +
      `${r.webhookP99Ms ?? 'n/a'} ms | ${r.createP99Ms ?? 'n/a'} ms | ${r.cpuMsPerLifecycle ?? 'n/a'} ms | ${r.peakRssMiB} MiB | ${r.endRssMiB} MiB | ` +
      `${r.exports ? `${r.exports.requests} / ${(r.exports.bytes / MiB).toFixed(1)} MiB` : '-'} | ` +
      `${r.scrapes ? `${r.scrapes.scrapes} / ${(r.scrapes.bytes / MiB).toFixed(1)} MiB${r.scrapes.failures ? `, ${r.scrapes.failures} failed` : ''}` : '-'} |`,
  );
  process.stdout.write(
    [
      '',
      '| mode | rate | lifecycles done | lifecycles/s | sustained | webhook p99 | create p99 | engine CPU per lifecycle | engine peak RSS | RSS at end | OTLP exports / bytes | scrapes / bytes |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `tracing-${new Date(started).toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ startedAt: new Date(started).toISOString(), rates, order, windowSeconds, results }, null, 2) + '\n');
  log(`wrote ${path.relative(process.cwd(), file)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
