/**
 * The API listening on a loopback port over a real stack: a Temporal dev server (CLI, search attributes
 * registered), the engine's worker in-process (all workflows, real activities, Salesforce off) and an in-memory
 * PGlite store. Used by the fuzzer and the bad-input and security tests.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { buildApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import type { FastifyTypebox } from '../../src/api/types';
import type { Db } from '../../src/store/db';
import { openMemoryDb } from '../../src/store/open-db';
import { createActivities } from '../../activities';
import { localEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';

/** The API key the stack accepts. */
export const STACK_API_KEY = 'fuzz-api-key-7d1c2e9b';

export interface ApiStack {
  url: string;
  app: FastifyTypebox;
  env: TestWorkflowEnvironment;
  db: Db;
  config: Config;
  stop(): Promise<void>;
}

/** Starts the stack; `env` adds configuration (e.g. API_BODY_LIMIT_BYTES). */
export async function startApiStack(env: NodeJS.ProcessEnv = {}): Promise<ApiStack> {
  const temporal = await localEnv();
  const db = await openMemoryDb();
  const taskQueue = uniqueTaskQueue('api-stack');
  const config = loadConfig({
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    API_KEYS: STACK_API_KEY,
    API_PORT: '0',
    DATA_DIR: path.join(os.tmpdir(), 'booking-api-stack-unused'),
    SALESFORCE_MODE: 'off',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8',
    WEBHOOK_ALLOW_HTTP: 'true',
    LOG_LEVEL: 'error',
    ...env,
  });
  const worker = await Worker.create({
    connection: temporal.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ config, db, temporal: temporal.client }),
  });
  const running = worker.run();
  const app = await buildApp({ config, db, temporal: temporal.client }, { logger: false });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: address,
    app,
    env: temporal,
    db,
    config,
    async stop() {
      await app.close();
      worker.shutdown();
      await running.catch(() => undefined);
      await temporal.teardown();
      await db.close();
    },
  };
}
