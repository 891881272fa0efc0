/**
 * What the observability tests that run real engine processes share: PostgreSQL, the Salesforce stand-in and a dev
 * server on loopback, the engine processes' environment for them, an API caller, and a booking page that syncs to
 * Salesforce (prometheus.test.ts, tracing.test.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config';
import { startDevServer, freePort, type DevServer } from '../../src/temporal/dev-server';
import { startSalesforceStandin, type SalesforceStandin } from '../../src/salesforce/standin/server';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres';

export interface Backends {
  tmp: string;
  pg: TestPostgres;
  standin: SalesforceStandin;
  devServer: DevServer;
  /** The engine processes' environment (worker and API): these backends, webhooks to loopback allowed. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts the backends; `name` names the temporary directory and the stand-in's client. */
export async function startBackends(name: string, taskQueue: string): Promise<Backends> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `booking-${name}-`));
  const sf = { clientId: `${name}-client`, clientSecret: `${name}-secret-8d1e` };
  const pg = await startTestPostgres();
  const standin = await startSalesforceStandin({
    port: 0,
    clients: [sf],
    users: [{ Id: '005000000000001AAA', Email: `integration@${name}.example`, Name: 'Integration' }],
  });
  const devConfig = loadConfig({ DATA_DIR: tmp, TEMPORAL_DEV_PORT: String(await freePort()), TEMPORAL_UI_PORT: String(await freePort()) });
  const devServer = await startDevServer({ config: devConfig, log: { info: () => undefined, warn: () => undefined } });
  return {
    tmp,
    pg,
    standin,
    devServer,
    env: {
      TEMPORAL_ADDRESS: devServer.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATABASE_URL: pg.url,
      DATA_DIR: tmp,
      SALESFORCE_MODE: 'org',
      SALESFORCE_LOGIN_URL: standin.url,
      SALESFORCE_CLIENT_ID: sf.clientId,
      SALESFORCE_CLIENT_SECRET: sf.clientSecret,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8',
      WEBHOOK_ALLOW_HTTP: 'true',
    },
    async stop() {
      await devServer.stop();
      await standin.stop();
      await pg.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests read arbitrary JSON
export type ApiAnswer = { status: number; body: Record<string, any> };

/** Calls the API at `baseUrl()` with `apiKey`, JSON in and out. */
export function apiCaller(baseUrl: () => string, apiKey: string) {
  return async (method: string, url: string, body?: unknown): Promise<ApiAnswer> => {
    const res = await fetch(`${baseUrl()}${url}`, {
      method,
      headers: { 'api-key': apiKey, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as ApiAnswer['body'] };
  };
}

/** A user and a booking page of theirs that writes a Salesforce Activity Event (a lead, created when missing). */
export async function salesforcePage(callApi: ReturnType<typeof apiCaller>, name: string, owner: { name: string; email: string }): Promise<ApiAnswer> {
  const user = await callApi('POST', '/v2/users', { ...owner, timezone: 'Europe/London' });
  return callApi('POST', '/v2/booking-pages', {
    name,
    owner_user_id: user.body.id,
    salesforce: { connected: true, create_activity_event: true, relate_to: 'lead', create_missing_record: true },
  });
}
