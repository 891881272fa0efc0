/**
 * The HTTP API process: `npm run api` serves it against TEMPORAL_ADDRESS and DATABASE_URL, as production
 * runs it; the embedded default (src/main.ts) calls startApi in-process.
 */
// First: with tracing on, the instrumentations must be in place before node:http and pg load.
import './observability/tracing-preload';
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { buildApp } from './app';
import { loadConfig, type Config } from './config';
import { createLogger } from './logging';
import { openDb } from './store';
import type { Db } from './store/db';
import type { FastifyTypebox } from './api/types';
import { connectionOptions, type TemporalConnectionOptions } from './temporal/connection';
import type { Logger } from 'pino';
import { apiMetrics, instrumentTemporalClient } from './observability/api-metrics';
import { alive, apiReadiness } from './observability/health';
import { startMetricsServer, type MetricsServer } from './observability/metrics-server';
import { shutdownTracing, tracingClientInterceptors, tracingStarted } from './observability/tracing';

export interface RunningApi {
  app: FastifyTypebox;
  url: string;
  /** Base URL of the API's metrics listener (`/metrics`, `/healthz`, `/readyz`); null when METRICS_PORT is off. */
  metricsUrl: string | null;
  close(): Promise<void>;
}

/** The Temporal client of an API that shares its process with the worker (sharedProcessClient). */
export interface SharedProcessClient {
  client: Client;
  /** For startApi: booking starts ask for eager workflow start. */
  eagerWorkflowStart: boolean;
  /** Closes the client's own connection, if it has one (the worker's is the worker's to close). */
  close(): Promise<void>;
}

/**
 * The Temporal client where the API and the worker share a process (npm start, bench/engine.ts), also the worker's
 * activities' client. TEMPORAL_EAGER_WORKFLOW_START on: the worker's NativeConnection, the only kind through which a
 * start can hand the new workflow's first task to a worker (the SDK refuses `requestEagerStart` on a grpc-js
 * Connection), and booking starts ask for it. Off: a grpc-js Connection of its own, as `npm run api` has.
 */
export async function sharedProcessClient(
  config: Config,
  worker: NativeConnection,
  options: TemporalConnectionOptions,
): Promise<SharedProcessClient> {
  const clientOptions = { namespace: config.temporal.namespace, interceptors: tracingClientInterceptors() };
  if (config.temporal.eagerWorkflowStart) {
    return { client: new Client({ connection: worker, ...clientOptions }), eagerWorkflowStart: true, close: async () => undefined };
  }
  const connection = await Connection.connect(options);
  return { client: new Client({ connection, ...clientOptions }), eagerWorkflowStart: false, close: () => connection.close() };
}

/**
 * Builds the app and listens on config.api.host:port, and its metrics on config.metrics.host and METRICS_PORT. The
 * app's Temporal calls go through a client that counts their failures. `eagerWorkflowStart` only with a client on
 * the worker's NativeConnection (sharedProcessClient).
 */
export async function startApi(deps: { config: Config; db: Db; temporal: Client; logger: Logger; eagerWorkflowStart?: boolean }): Promise<RunningApi> {
  const temporal = instrumentTemporalClient(deps.temporal);
  const metrics = apiMetrics();
  metrics.watch({ db: deps.db });
  const app = await buildApp({ config: deps.config, db: deps.db, temporal, eagerWorkflowStart: deps.eagerWorkflowStart }, { logger: deps.logger });
  let metricsServer: MetricsServer | null = null;
  try {
    await app.listen({ host: deps.config.api.host, port: deps.config.api.port });
    if (deps.config.metrics.api) {
      metricsServer = await startMetricsServer({
        name: 'API metrics',
        host: deps.config.metrics.host,
        port: deps.config.metrics.api,
        registry: metrics.registry,
        live: alive,
        ready: () => apiReadiness({ temporal, db: deps.db }),
      });
    }
  } catch (err) {
    await app.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : deps.config.api.port;
  const host = deps.config.api.host === '0.0.0.0' ? '127.0.0.1' : deps.config.api.host;
  return {
    app,
    url: `http://${host}:${port}`,
    metricsUrl: metricsServer?.url ?? null,
    close: async () => {
      await app.close();
      await metricsServer?.close();
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  if (!config.temporal.address) throw new Error('npm run api needs TEMPORAL_ADDRESS (npm start runs the embedded default)');
  if (!config.databaseUrl) throw new Error('npm run api needs DATABASE_URL: the embedded store belongs to npm start');
  const connection = await Connection.connect(connectionOptions(config));
  const temporal = new Client({ connection, namespace: config.temporal.namespace, interceptors: tracingClientInterceptors() });
  const db = await openDb(config);
  const api = await startApi({ config, db, temporal, logger });
  logger.info({ url: api.url, metricsUrl: api.metricsUrl, tracing: tracingStarted() }, 'API listening');
  const stop = async () => {
    await api.close();
    await db.close();
    await connection.close();
    await shutdownTracing();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
