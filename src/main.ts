/**
 * `npm start`: the embedded default, one process tree. Without TEMPORAL_ADDRESS it starts a Temporal dev
 * server (SQLite file and Web UI in DATA_DIR), the embedded PostgreSQL-compatible store (PGlite) unless
 * DATABASE_URL is set, the Salesforce stand-in (SALESFORCE_MODE=standin), then the worker and the API.
 * Ctrl-C or SIGTERM stops everything in reverse order; a second start finds the same data. DATA_DIR is locked for
 * as long as this process uses it, so a second engine on the same data refuses to start.
 */
// First: with tracing on, the instrumentations must be in place before node:http and pg load.
import './observability/tracing-preload';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from './config';
import { createLogger, installWorkerRuntime } from './logging';
import { openDb } from './store';
import { lockDataDir } from './temporal/data-dir-lock';
import { startDevServer, type DevServer } from './temporal/dev-server';
import { connectionOptions } from './temporal/connection';
import { createBookingWorker, workerMetricsUrl } from './worker';
import { sharedProcessClient, startApi } from './server';
import { TRACING_VARIABLE, shutdownTracing, tracingStarted } from './observability/tracing';
import { STANDIN_LOG_LIMIT, startSalesforceStandin, type SalesforceStandin } from './salesforce/standin/server';

async function main(): Promise<void> {
  const config = loadConfig();
  // Pretty lines on a terminal, JSON otherwise (LOG_FORMAT).
  const logger = createLogger(config, { interactive: true });
  const { sdkMetricsUrl } = installWorkerRuntime(logger, { handleSignals: false, metrics: config.metrics });
  const stops: (() => Promise<unknown>)[] = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping');
    for (const stop of stops.reverse()) {
      await stop().catch((err: unknown) => logger.error({ err }, 'error while stopping'));
    }
    process.exit(code);
  };
  // Registered first, so it runs last: the spans of the stop are sent too.
  stops.push(() => shutdownTracing());
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    // Both the dev server's SQLite file and the embedded store live in DATA_DIR; the lock is released last.
    const lock = !config.temporal.address || !config.databaseUrl ? await lockDataDir(config.dataDir, { log: logger }) : null;
    if (lock) stops.push(async () => lock.release());
    let devServer: DevServer | null = null;
    if (!config.temporal.address) {
      devServer = await startDevServer({ config, log: logger, lock: lock ?? undefined });
      stops.push(() => devServer!.stop());
    }
    const opts = connectionOptions(config, devServer?.address);

    const db = await openDb(config);
    stops.push(() => db.close());

    let standin: SalesforceStandin | null = null;
    if (config.salesforce.mode === 'standin') {
      standin = await startSalesforceStandin({
        port: config.salesforce.standinPort,
        clients: [{ clientId: config.salesforce.clientId!, clientSecret: config.salesforce.clientSecret! }],
        refreshTokens: config.salesforce.refreshToken ? [config.salesforce.refreshToken] : [],
        users: [{ Email: 'integration@standin.example', Name: 'Integration User' }],
        logLimit: STANDIN_LOG_LIMIT,
      });
      stops.push(() => standin!.stop());
    }
    // SALESFORCE_STANDIN_PORT=0: the connector's default login URL named port 0; it is the port the stand-in took.
    const engineConfig =
      standin && config.salesforce.loginUrl === `http://127.0.0.1:0` ? { ...config, salesforce: { ...config.salesforce, loginUrl: standin.url } } : config;

    const nativeConnection = await NativeConnection.connect(opts);
    stops.push(() => nativeConnection.close());
    // TEMPORAL_EAGER_WORKFLOW_START: the API's client shares the worker's connection, and booking starts go eager.
    const { client, eagerWorkflowStart, close: closeClient } = await sharedProcessClient(config, nativeConnection, opts);
    stops.push(closeClient);
    const worker = await createBookingWorker({ config: engineConfig, connection: nativeConnection, client, db });
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
    });
    running.catch((err: unknown) => {
      logger.error({ err }, 'worker failed');
      void shutdown(1);
    });

    const api = await startApi({ config, db, temporal: client, logger, eagerWorkflowStart });
    stops.push(() => api.close());

    const workerMetrics = workerMetricsUrl(worker);
    const metricsUrls = [
      api.metricsUrl && `${api.metricsUrl}/metrics (API)`,
      workerMetrics && `${workerMetrics}/metrics (worker)`,
      sdkMetricsUrl && `${sdkMetricsUrl} (Temporal SDK)`,
    ].filter(Boolean);
    const lines = [
      '',
      'Booking lifecycle engine is running.',
      `  API:          ${api.url}   (header API-Key: ${config.api.apiKeys[0] ?? '<set API_KEYS>'})`,
      `  OpenAPI:      ${api.url}/v2/openapi.json`,
      `  Health:       ${api.url}/readyz${workerMetrics ? `, ${workerMetrics}/readyz (worker)` : ''}`,
      `  Tracing:      ${tracingStarted() ? `OTLP to ${process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT}` : `off (${TRACING_VARIABLE})`}`,
      `  Metrics:      ${metricsUrls.length ? metricsUrls.join('\n                ') : 'off (METRICS_PORT, WORKER_METRICS_PORT, WORKER_SDK_METRICS_PORT)'}`,
      devServer ? `  Temporal UI:  ${devServer.uiUrl}` : `  Temporal:     ${opts.address} (namespace ${config.temporal.namespace})`,
      devServer
        ? `  Temporal CLI: npm run temporal -- workflow list   (${devServer.cliPath}, pointed at ${devServer.address})`
        : `  Temporal CLI: npm run temporal -- workflow list`,
      standin
        ? `  Salesforce:   stand-in at ${standin.url}, client id ${config.salesforce.clientId}, secret ${config.salesforce.clientSecret}`
        : `  Salesforce:   ${config.salesforce.mode}`,
      `  Data:         ${config.dataDir}`,
      'Press Ctrl-C to stop.',
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } catch (err) {
    logger.error({ err }, 'start failed');
    process.stderr.write(`\nThe engine did not start: ${err instanceof Error ? err.message : String(err)}\n`);
    await shutdown(1);
  }
}

void main();
