/**
 * The worker: runs every workflow and activity of the engine on the task queue. `npm run worker` starts one
 * against TEMPORAL_ADDRESS and DATABASE_URL (production runs several), compiled (dist/src/worker.js, with the build's
 * prebuilt workflow bundle); the embedded default (src/main.ts) runs one in-process.
 */
// First: with tracing on, the instrumentations must be in place before node:http and pg load.
import './observability/tracing-preload';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadConfig, type Config } from './config';
import { openDb } from './store';
import type { Db } from './store/db';
import { connectionOptions } from './temporal/connection';
import { prepareWorkflowBundle, type PreparedWorkflowBundle } from './temporal/workflow-bundle';
import { createLogger, installWorkerRuntime } from './logging';
import { workerMetrics } from './observability/worker-metrics';
import { startMetricsServer, type MetricsServer } from './observability/metrics-server';
import { correlationActivityInterceptors } from './observability/log-correlation';
import { shutdownTracing, tracingClientInterceptors, tracingStarted, tracingWorkerOptions } from './observability/tracing';

export interface WorkerDeps {
  config: Config;
  connection: NativeConnection;
  /** Client used by activities that start delivery workflows. */
  client: Client;
  db: Db;
}

/** Options that are measured, not guessed: see BENCHMARKS.md for how the defaults were chosen. */
export function workerTuning(config: Config): Partial<WorkerOptions> {
  return {
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTaskExecutions,
  };
}

/** Adds the log-correlation activity interceptor after tracing's (which makes the activity's span the active one). */
function withCorrelation(opts: Pick<WorkerOptions, 'interceptors'>): Pick<WorkerOptions, 'interceptors'> {
  return { ...opts, interceptors: { ...opts.interceptors, activity: [...(opts.interceptors?.activity ?? []), correlationActivityInterceptors] } };
}

const metricsServers = new WeakMap<Worker, MetricsServer>();

/** Base URL of the worker's metrics listener (`/metrics`, `/healthz`, `/readyz`); null when WORKER_METRICS_PORT is off. */
export function workerMetricsUrl(worker: Worker): string | null {
  return metricsServers.get(worker)?.url ?? null;
}

/** Stops the worker's metrics listener (it never keeps the process alive, so an entry point that exits needs not). */
export async function closeWorkerMetrics(worker: Worker): Promise<void> {
  await metricsServers.get(worker)?.close();
  metricsServers.delete(worker);
}

/**
 * Serves the worker's metrics and health on WORKER_METRICS_PORT, before the worker exists: a taken port stops the
 * start before anything polls. Ready once the worker runs (polls its task queue); alive unless it failed.
 */
async function startWorkerMetrics(config: Config, worker: () => Worker | null): Promise<MetricsServer | null> {
  if (!config.metrics.worker) return null;
  const state = () => worker()?.getState() ?? 'CREATING';
  return startMetricsServer({
    name: 'worker metrics',
    host: config.metrics.host,
    port: config.metrics.worker,
    registry: workerMetrics().registry,
    live: () => ({ ok: state() !== 'FAILED', body: { status: state() === 'FAILED' ? 'failed' : 'ok', state: state() } }),
    ready: async () => {
      const s = state();
      return { ok: s === 'RUNNING', body: { status: s === 'RUNNING' ? 'ready' : 'not_ready', state: s, taskQueue: config.temporal.taskQueue } };
    },
  });
}

/**
 * Creates the booking worker. Its workflow bundle is built in a child process (or is the checked prebuilt bundle:
 * the build's, or WORKER_WORKFLOW_BUNDLE), not with `workflowsPath`: in-process webpack bundling leaves ~45-60 MiB
 * resident. A bundle prepared by the caller is used, and released, instead. Its metrics listener (workerMetricsUrl)
 * starts with it when WORKER_METRICS_PORT is on.
 */
export async function createBookingWorker(deps: WorkerDeps, prepared?: PreparedWorkflowBundle): Promise<Worker> {
  const bundle = prepared ?? (await prepareWorkflowBundle(deps.config.worker.workflowBundlePath, { tracing: tracingStarted() }));
  let created: Worker | null = null;
  let server: MetricsServer | null = null;
  try {
    server = await startWorkerMetrics(deps.config, () => created);
    created = await Worker.create({
      connection: deps.connection,
      namespace: deps.config.temporal.namespace,
      taskQueue: deps.config.temporal.taskQueue,
      // Worker.create reads the file whole, so a temporary bundle can go right after.
      workflowBundle: { codePath: bundle.codePath },
      activities: createActivities({ config: deps.config, db: deps.db, temporal: deps.client }),
      ...workerTuning(deps.config),
      // Tracing on: the activity interceptors; off: nothing. The booking's ids go on every activity log line either way.
      ...withCorrelation(tracingWorkerOptions()),
    });
    workerMetrics().watch({ worker: created, db: deps.db });
    if (server) metricsServers.set(created, server);
    return created;
  } catch (err) {
    await server?.close();
    throw err;
  } finally {
    bundle.release();
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  const { sdkMetricsUrl } = installWorkerRuntime(logger, { metrics: config.metrics });
  if (!config.temporal.address) throw new Error('npm run worker needs TEMPORAL_ADDRESS (npm start runs the embedded default)');
  if (!config.databaseUrl) throw new Error('npm run worker needs DATABASE_URL: the embedded store belongs to npm start');
  // First, so a missing or stale prebuilt bundle stops the start before anything connects.
  const bundle = await prepareWorkflowBundle(config.worker.workflowBundlePath, { tracing: tracingStarted() });
  const workflowBundle = bundle.prebuilt ? bundle.codePath : 'bundled at start';
  let connection: NativeConnection | undefined;
  let clientConnection: Connection | undefined;
  let db: Db | undefined;
  let worker: Worker | undefined;
  try {
    const opts = connectionOptions(config);
    connection = await NativeConnection.connect(opts);
    clientConnection = await Connection.connect(opts);
    db = await openDb(config);
    const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace, interceptors: tracingClientInterceptors() });
    worker = await createBookingWorker({ config, connection, client, db }, bundle);
    const metricsUrl = workerMetricsUrl(worker);
    logger.info({ taskQueue: config.temporal.taskQueue, address: opts.address, workflowBundle, metricsUrl, sdkMetricsUrl, tracing: tracingStarted() }, 'worker running');
    await worker.run();
  } finally {
    if (worker) await closeWorkerMetrics(worker);
    bundle.release();
    await db?.close();
    await clientConnection?.close();
    await connection?.close();
    await shutdownTracing();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
