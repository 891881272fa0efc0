/**
 * buildTestApp: the real API (buildApp) over an in-memory PGlite store, for app.inject tests. Temporal is
 * a placeholder that fails loudly when touched unless the test passes a real client.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import type { AppDeps, FastifyTypebox } from '../../src/api/types';
import type { Db } from '../../src/store/db';
import { openMemoryDb } from '../../src/store/open-db';

/** The API key buildTestApp accepts. */
export const TEST_API_KEY = 'test-key';

export interface TestApp {
  app: FastifyTypebox;
  db: Db;
  /** Closes the app, and the database too when buildTestApp opened it. */
  close(): Promise<void>;
}

export interface TestAppOverrides extends Partial<AppDeps> {
  /** Extra environment for loadConfig (ignored when `config` is given). */
  env?: NodeJS.ProcessEnv;
}

function temporalPlaceholder(): Client {
  return new Proxy({} as Client, {
    get(_target, prop) {
      // Let promise checks and inspection see a plain object.
      if (prop === 'then' || typeof prop === 'symbol' || prop === 'toJSON') return undefined;
      throw new Error(`buildTestApp: this test touched temporal.${String(prop)} but passed no Temporal client`);
    },
  });
}

/** Builds the app for inject-based tests; pass a db, temporal client, config or env to override. */
export async function buildTestApp(overrides: TestAppOverrides = {}): Promise<TestApp> {
  const config =
    overrides.config ??
    loadConfig({
      API_KEYS: TEST_API_KEY,
      DATA_DIR: path.join(os.tmpdir(), 'booking-engine-test-unused'),
      LOG_LEVEL: 'warn',
      ...overrides.env,
    });
  const ownsDb = overrides.db === undefined;
  const db = overrides.db ?? (await openMemoryDb());
  try {
    const app = await buildApp({ config, db, temporal: overrides.temporal ?? temporalPlaceholder() }, { logger: false });
    return {
      app,
      db,
      async close() {
        await app.close();
        if (ownsDb) await db.close();
      },
    };
  } catch (err) {
    if (ownsDb) await db.close();
    throw err;
  }
}
