/**
 * The bench's world on loopback: the embedded Temporal dev server (startDevServer, file-backed SQLite in a fresh
 * temp DATA_DIR, the CLI's default SQLite settings), the Salesforce stand-in, webhook receivers, the engine child
 * process (worker + API over PGlite), an undici API client and a Temporal client for histories and scenario b.
 * The bench's own side (stand-in, receivers, clients, the owner and pages) is shared with the cluster's world
 * (cluster-harness.ts, `npm run bench -- --engine cluster`).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../src/config';
import { SQLITE_PRAGMAS, startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { resolveTemporalCli } from '../../src/temporal/binaries';
import { startSalesforceStandin, type SalesforceStandin } from '../../src/salesforce/standin/server';
import { apiClient, expectStatus, type ApiClient } from './api';
import { startEngine, type BenchWorkerHost, type EngineProcess } from './engine-process';
import { startReceiver, type Receiver } from './receivers';

export const BENCH_API_KEY = 'bench-api-key';
const SF_CLIENT = { clientId: 'bench-client', clientSecret: 'bench-secret' };

/** A Salesforce REST write as the stand-in received it, with the time it arrived. */
export interface SalesforceWrite {
  at: number;
  method: string;
  path: string;
  entry: { body: unknown };
}

/** What scenarios a, b and c need, whichever engine runs: the dev server's harness or the cluster's. */
export interface BenchWorld {
  dataDir: string;
  standin: SalesforceStandin;
  /** Event create/update requests received by the stand-in, timestamped on arrival. */
  salesforceWrites: SalesforceWrite[];
  /** Runs scenario b's bench-only worker. */
  engine: BenchWorkerHost;
  api: ApiClient;
  temporal: Client;
  /** Healthy receiver shared by every scenario (paths tell subscribers apart). */
  receiver: Receiver;
  /** Receiver that never answers. */
  hangingReceiver: Receiver;
  owner: { id: string; email: string };
  /** Booking page with Salesforce connected and create_activity_event on. */
  salesforcePage: { id: string };
  /** Booking page without Salesforce. */
  plainPage: { id: string };
  /** Environment given to the engine (reported in the results). */
  engineEnv: Record<string, string>;
  /** Creates subscriptions through the API; returns their ids. */
  subscribe(subs: { name: string; url: string; events: string[] }[]): Promise<string[]>;
  unsubscribe(ids: string[]): Promise<void>;
  versions: { node: string; temporalCli: string; temporalServer: string };
}

/** The dev server's world (`npm run bench`'s default). */
export interface Harness extends BenchWorld {
  devServer: DevServer;
  engine: EngineProcess;
  /** --sqlite-pragma values given to the dev server ([] = the CLI's defaults). */
  sqlitePragmas: string[];
  close(): Promise<{ sqliteJournalMode: string | null }>;
}

/** Dev-server ERROR lines (persistence timeouts under overload are counted, the first few shown). */
export const devServerErrors = { count: 0, samples: [] as string[] };
const devServerLog = {
  info: () => undefined,
  warn: (_o: object, m: string) => {
    devServerErrors.count++;
    if (devServerErrors.samples.length < 5) devServerErrors.samples.push(m.slice(0, 300));
  },
};

function cliVersion(cli: string): { cli: string; server: string } {
  try {
    const out = execFileSync(cli, ['--version'], { encoding: 'utf8' }).trim();
    // "temporal version 1.5.1 (Server 1.29.1, UI 2.41.0)"
    return { cli: /version (\S+)/.exec(out)?.[1] ?? out, server: /Server (\S+?)[,)]/.exec(out)?.[1] ?? 'unknown' };
  } catch {
    return { cli: 'unknown', server: 'unknown' };
  }
}

/** Starts everything; `engineEnv` adds to (and overrides) the engine's environment. */
export async function startHarness(
  opts: {
    engineEnv?: Record<string, string>;
    cpuProfDir?: string;
    sqliteDefaults?: boolean;
    /** Adds to the environment the dev server's settings are read from (TEMPORAL_DEV_EAGER_ACTIVITIES, ...). */
    devServerEnv?: Record<string, string>;
    /** The dev server's Prometheus /metrics port (none by default). */
    devServerMetricsPort?: number;
  } = {},
): Promise<Harness> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-bench-'));
  const config = loadConfig({
    ...process.env,
    ...opts.devServerEnv,
    DATA_DIR: dataDir,
    TEMPORAL_ADDRESS: '',
    TEMPORAL_DEV_PORT: '0',
    TEMPORAL_UI_PORT: '0',
    LOG_LEVEL: 'warn',
  });
  const cli = await resolveTemporalCli(config.temporal.cliPath);
  const v = cliVersion(cli);
  const cleanups = new Cleanups();
  try {
    const sqlitePragmas = opts.sqliteDefaults ? [] : [...SQLITE_PRAGMAS];
    const devServer = await startDevServer({ config, log: devServerLog, sqlitePragmas, metricsPort: opts.devServerMetricsPort });
    cleanups.add(() => devServer.stop());
    const side = await startBenchSide(cleanups);
    const engineEnv: Record<string, string> = {
      DATA_DIR: dataDir,
      TEMPORAL_ADDRESS: devServer.address,
      TEMPORAL_NAMESPACE: config.temporal.namespace,
      API_HOST: '127.0.0.1',
      API_PORT: '0',
      ...benchEngineVariables(side.standin.url),
      // As `npm start` and `npm run worker` run it (package.json): two glibc malloc arenas instead of one per
      // thread saved ~200 MiB of RSS at 10,000 open bookings (BENCHMARKS.md, d).
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
      // As package.json's start and worker scripts: a 512 MiB V8 heap limit. V8 sizes its heap growth by the limit,
      // so the heap stays closer to the live data (peak RSS 1036 -> 722 MiB, BENCHMARKS.md, d). A
      // --max-old-space-size of your own comes later and wins.
      NODE_OPTIONS: `--max-old-space-size=512 ${process.env.NODE_OPTIONS ?? ''}`.trim(),
      ...opts.engineEnv,
    };
    const engine = await startEngine({ env: engineEnv, logFile: path.join(dataDir, 'engine.log'), cpuProfDir: opts.cpuProfDir });
    cleanups.add(() => engine.stop());
    const clients = await connectWorld({ apiUrl: engine.apiUrl, temporalAddress: devServer.address, namespace: config.temporal.namespace, cleanups });
    return {
      dataDir,
      devServer,
      ...side,
      engine,
      ...clients,
      engineEnv,
      versions: { node: process.version, temporalCli: v.cli, temporalServer: v.server },
      sqlitePragmas,
      async close() {
        await cleanups.undo();
        let sqliteJournalMode: string | null = null;
        try {
          sqliteJournalMode = execFileSync('sqlite3', ['-readonly', devServer.dbFile, 'PRAGMA journal_mode;'], { encoding: 'utf8' }).trim();
        } catch {
          sqliteJournalMode = null;
        }
        return { sqliteJournalMode };
      },
    };
  } catch (err) {
    await cleanups.undo();
    throw err;
  }
}

/** Stops, newest first: each part of a world pushes its own as it starts. */
export class Cleanups {
  private readonly steps: (() => Promise<unknown>)[] = [];

  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  /** Runs every step once, newest first, ignoring failures. */
  async undo(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await step().catch(() => undefined);
  }
}

/**
 * The bench's own side, whatever engine it drives: the Salesforce stand-in, whose Event writes are stamped on arrival,
 * and the webhook receivers.
 */
export async function startBenchSide(
  cleanups: Cleanups,
): Promise<Pick<BenchWorld, 'standin' | 'salesforceWrites' | 'receiver' | 'hangingReceiver'>> {
  const standin = await startSalesforceStandin({
    clients: [SF_CLIENT],
    users: [{ Email: 'integration@standin.example', Name: 'Integration User' }, { Email: 'owner@bench.example', Name: 'Bench Owner' }],
    apiLimit: 1_000_000_000,
  });
  cleanups.add(() => standin.stop());
  // The stand-in logs every REST request; stamp each on arrival so write latency can be measured.
  const salesforceWrites: SalesforceWrite[] = [];
  const log = standin.state.requests;
  const push = log.push.bind(log);
  log.push = (...items) => {
    for (const item of items) {
      if (item.path.includes('/sobjects/Event') && (item.method === 'POST' || item.method === 'PATCH')) {
        // The stand-in attaches the parsed body to the entry right after the push: keep the entry.
        salesforceWrites.push({ at: Date.now(), method: item.method, path: item.path, entry: item });
      }
    }
    // Keep the stand-in's own log small: the bench reads writes from salesforceWrites.
    const n = push(...items);
    if (log.length > 1000) log.splice(0, log.length - 100);
    return n;
  };
  const receiver = await startReceiver();
  cleanups.add(() => receiver.close());
  const hangingReceiver = await startReceiver({ hang: true });
  cleanups.add(() => hangingReceiver.close());
  return { standin, salesforceWrites, receiver, hangingReceiver };
}

/**
 * What the engine's processes get from the bench, whoever runs them: the bench's API key, Salesforce in `org` mode
 * against the bench's stand-in (so the bench sees every write), webhooks to loopback receivers, and bookings that
 * close right after they complete.
 */
export function benchEngineVariables(standinUrl: string): Record<string, string> {
  return {
    API_KEYS: BENCH_API_KEY,
    SALESFORCE_MODE: 'org',
    SALESFORCE_LOGIN_URL: standinUrl,
    SALESFORCE_GRANT: 'client_credentials',
    SALESFORCE_CLIENT_ID: SF_CLIENT.clientId,
    SALESFORCE_CLIENT_SECRET: SF_CLIENT.clientSecret,
    WEBHOOK_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8',
    WEBHOOK_ALLOW_HTTP: 'true',
    // The booking closes right after it completes, so its history is final and countable.
    NO_SHOW_WINDOW_MINUTES: '0',
    LOG_LEVEL: 'warn',
  };
}

/** The API and Temporal clients, the owner and the two booking pages, made through the engine's API. */
export async function connectWorld(opts: {
  apiUrl: string;
  temporalAddress: string;
  namespace: string;
  cleanups: Cleanups;
}): Promise<Pick<BenchWorld, 'api' | 'temporal' | 'owner' | 'salesforcePage' | 'plainPage' | 'subscribe' | 'unsubscribe'>> {
  const api = apiClient(opts.apiUrl, BENCH_API_KEY);
  opts.cleanups.add(() => api.close());
  const connection = await Connection.connect({ address: opts.temporalAddress });
  opts.cleanups.add(() => connection.close());
  const temporal = new Client({ connection, namespace: opts.namespace });

  const owner = expectStatus(
    await api.call<{ id: string; email: string }>('POST', '/v2/users', { name: 'Bench Owner', email: 'owner@bench.example', timezone: 'Europe/Paris' }),
    [201],
    'create user',
  );
  const salesforcePage = expectStatus(
    await api.call<{ id: string }>('POST', '/v2/booking-pages', {
      name: 'Bench call (Salesforce)',
      owner_user_id: owner.id,
      mode: 'automatic',
      salesforce: { connected: true, create_activity_event: true, relate_to: 'lead', create_missing_record: true },
    }),
    [201],
    'create booking page',
  );
  const plainPage = expectStatus(
    await api.call<{ id: string }>('POST', '/v2/booking-pages', { name: 'Bench call', owner_user_id: owner.id, mode: 'automatic' }),
    [201],
    'create booking page',
  );
  return {
    api,
    temporal,
    owner,
    salesforcePage,
    plainPage,
    async subscribe(subs) {
      const ids: string[] = [];
      for (const s of subs) ids.push(expectStatus(await api.call<{ id: string }>('POST', '/v2/webhooks', s), [201], 'create webhook').id);
      return ids;
    },
    async unsubscribe(ids) {
      for (const id of ids) expectStatus(await api.call('DELETE', `/v2/webhooks/${id}`), [200, 204], 'delete webhook');
    },
  };
}

/** Bytes used by a file or a directory tree (0 if missing). */
export function diskBytes(p: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const e of fs.readdirSync(p)) total += diskBytes(path.join(p, e));
  return total;
}

/** The dev server's SQLite files (main, WAL, shared memory) and the PGlite directory, in bytes. */
export function databaseSizes(dataDir: string): { temporalSqliteBytes: number; pgliteBytes: number } {
  const base = path.join(dataDir, 'temporal.sqlite');
  return {
    temporalSqliteBytes: diskBytes(base) + diskBytes(`${base}-wal`) + diskBytes(`${base}-shm`),
    pgliteBytes: diskBytes(path.join(dataDir, 'pglite')),
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc; null when unreadable. */
export function processCpuSeconds(pid: number): number | null {
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th (clock ticks of 1/100 s).
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}
