/**
 * The engine under test, in a child process of the bench so its RSS and heap are its own: the booking worker
 * (createBookingWorker) and the HTTP API (startApi) over the embedded PGlite store, like `npm start` minus the
 * dev server and the Salesforce stand-in (the bench runs those). On request it also runs the bench-only worker
 * of scenario b. It talks to the bench over the IPC channel; configuration comes from the environment.
 */
// First: with OTEL_EXPORTER_OTLP_ENDPOINT set (bench/tracing.ts), tracing starts before node:http loads.
import '../src/observability/tracing-preload';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { createLogger, installWorkerRuntime } from '../src/logging';
import { openDb } from '../src/store';
import { connectionOptions } from '../src/temporal/connection';
import { createBookingWorker, workerTuning } from '../src/worker';
import { bundleWorkflowsInChild } from '../src/temporal/workflow-bundle';
import { sharedProcessClient, startApi } from '../src/server';

/** A request from the bench. */
export type EngineRequest =
  | { id: number; cmd: 'memory' }
  | { id: number; cmd: 'load' }
  | { id: number; cmd: 'startBenchWorker'; taskQueue: string }
  | { id: number; cmd: 'stopBenchWorker' }
  | { id: number; cmd: 'stop' };

/** Memory of this process, as sampled on request. */
export interface EngineMemory {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
}

/**
 * What the process did since the previous `load` request: CPU time, event-loop delay and garbage-collection
 * pauses. It tells whether extra latency in a run came from this process (a busy loop, long GC pauses) or from
 * elsewhere (the dev server).
 */
export interface EngineLoad {
  cpuSeconds: number;
  loopDelayMs: { p50: number; p99: number; max: number };
  gc: { count: number; pauseMs: number; majorCount: number; majorPauseMs: number; maxPauseMs: number };
}

/** Samples this process's load between calls of the returned function. */
function loadMeter(): () => EngineLoad {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let cpu = process.cpuUsage();
  const noGc = (): EngineLoad['gc'] => ({ count: 0, pauseMs: 0, majorCount: 0, majorPauseMs: 0, maxPauseMs: 0 });
  let gc = noGc();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.pauseMs += e.duration;
      gc.maxPauseMs = Math.max(gc.maxPauseMs, e.duration);
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
        gc.majorCount++;
        gc.majorPauseMs += e.duration;
      }
    }
  }).observe({ entryTypes: ['gc'] });
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  return () => {
    const used = process.cpuUsage(cpu);
    const out: EngineLoad = {
      cpuSeconds: Math.round((used.user + used.system) / 1e4) / 100,
      loopDelayMs: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
      gc: { ...gc, pauseMs: Math.round(gc.pauseMs), majorPauseMs: Math.round(gc.majorPauseMs), maxPauseMs: Math.round(gc.maxPauseMs) },
    };
    cpu = process.cpuUsage();
    loop.reset();
    gc = noGc();
    return out;
  };
}

/** Messages the engine sends without being asked. */
export type EngineEvent = { type: 'ready'; apiUrl: string } | { type: 'failed'; error: string };

function send(msg: unknown): void {
  process.send?.(msg);
}

async function main(): Promise<void> {
  const load = loadMeter();
  const config = loadConfig();
  const logger = createLogger(config);
  // The SDK's Prometheus exporter only when WORKER_SDK_METRICS_PORT is set (bench/tracing.ts's metrics mode), as in npm start.
  installWorkerRuntime(logger, { metrics: config.metrics });
  const opts = connectionOptions(config);
  const db = await openDb(config);
  const nativeConnection = await NativeConnection.connect(opts);
  // As npm start: with TEMPORAL_EAGER_WORKFLOW_START the API's client shares the worker's connection.
  const { client, eagerWorkflowStart, close: closeClient } = await sharedProcessClient(config, nativeConnection, opts);
  const worker = await createBookingWorker({ config, connection: nativeConnection, client, db });
  const running = worker.run();
  running.catch((err: unknown) => {
    send({ type: 'failed', error: String(err) } satisfies EngineEvent);
    process.exit(1);
  });
  const api = await startApi({ config, db, temporal: client, logger, eagerWorkflowStart });

  let bench: { worker: Worker; running: Promise<void> } | null = null;

  const stop = async (): Promise<void> => {
    if (bench) {
      bench.worker.shutdown();
      await bench.running;
    }
    await api.close();
    worker.shutdown();
    await running;
    await closeClient();
    await nativeConnection.close();
    await db.close();
  };

  process.on('message', (raw: EngineRequest) => {
    const reply = (result: unknown) => send({ id: raw.id, ok: true, result });
    const fail = (err: unknown) => send({ id: raw.id, ok: false, error: String(err) });
    switch (raw.cmd) {
      case 'memory': {
        const m = process.memoryUsage();
        const h = v8.getHeapStatistics();
        reply({
          rssBytes: m.rss,
          heapUsedBytes: h.used_heap_size,
          heapTotalBytes: h.total_heap_size,
          externalBytes: m.external,
          arrayBuffersBytes: m.arrayBuffers,
        } satisfies EngineMemory);
        return;
      }
      case 'load':
        reply(load());
        return;
      case 'startBenchWorker':
        void (async () => {
          // Bundled in a child process like the product's worker, so webpack does not stay in this process's RSS.
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-workflows-'));
          try {
            const codePath = path.join(dir, 'bundle.js');
            await bundleWorkflowsInChild(codePath, require.resolve('./workflows'));
            const w = await Worker.create({
              connection: nativeConnection,
              namespace: config.temporal.namespace,
              taskQueue: raw.taskQueue,
              workflowBundle: { codePath },
              activities: { noop: async () => undefined },
              ...workerTuning(config),
            });
            bench = { worker: w, running: w.run() };
          } finally {
            fs.rmSync(dir, { recursive: true, force: true });
          }
        })().then(() => reply(null), fail);
        return;
      case 'stopBenchWorker':
        void (async () => {
          if (!bench) return;
          bench.worker.shutdown();
          await bench.running;
          bench = null;
        })().then(() => reply(null), fail);
        return;
      case 'stop':
        stop().then(
          () => {
            reply(null);
            setTimeout(() => process.exit(0), 50);
          },
          (err) => {
            fail(err);
            setTimeout(() => process.exit(1), 50);
          },
        );
        return;
    }
  });
  // The bench going away (even killed) ends the engine too.
  process.on('disconnect', () => void stop().finally(() => process.exit(0)));
  send({ type: 'ready', apiUrl: api.url } satisfies EngineEvent);
}

main().catch((err: unknown) => {
  send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies EngineEvent);
  process.exit(1);
});
