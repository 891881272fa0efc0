/**
 * The HTTP API process: `npm run api` serves it against TEMPORAL_ADDRESS and DATABASE_URL, as production
 * runs it; the embedded default (src/main.ts) calls startApi in-process.
 */
import { Client, Connection } from '@temporalio/client';
import { buildApp } from './app';
import { loadConfig, type Config } from './config';
import { createLogger } from './logging';
import { openDb } from './store';
import type { Db } from './store/db';
import type { FastifyTypebox } from './api/types';
import { connectionOptions } from './temporal/connection';
import type { Logger } from 'pino';

export interface RunningApi {
  app: FastifyTypebox;
  url: string;
  close(): Promise<void>;
}

/** Builds the app and listens on config.api.host:port. */
export async function startApi(deps: { config: Config; db: Db; temporal: Client; logger: Logger }): Promise<RunningApi> {
  const app = await buildApp({ config: deps.config, db: deps.db, temporal: deps.temporal }, { logger: deps.logger });
  await app.listen({ host: deps.config.api.host, port: deps.config.api.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : deps.config.api.port;
  const host = deps.config.api.host === '0.0.0.0' ? '127.0.0.1' : deps.config.api.host;
  return { app, url: `http://${host}:${port}`, close: () => app.close() };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  if (!config.temporal.address) throw new Error('npm run api needs TEMPORAL_ADDRESS (npm start runs the embedded default)');
  if (!config.databaseUrl) throw new Error('npm run api needs DATABASE_URL: the embedded store belongs to npm start');
  const connection = await Connection.connect(connectionOptions(config));
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const db = await openDb(config);
  const api = await startApi({ config, db, temporal, logger });
  logger.info({ url: api.url }, 'API listening');
  const stop = async () => {
    await api.close();
    await db.close();
    await connection.close();
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
