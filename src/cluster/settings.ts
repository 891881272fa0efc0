/**
 * What `npm run cluster` is configured by, read once from the environment: its ports (all on 127.0.0.1, defaults
 * apart from `npm start`'s 3000, 3100, 7233 and 8233; 0 picks a free one at each start), the number of engine worker
 * processes and the retention of a namespace it creates. The engine's own variables (src/config.ts) reach the API and
 * worker processes unchanged, except those the cluster sets for them (engine-processes.ts).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { loadConfig } from '../config';
import { freePort } from '../temporal/dev-server';

/** Every port of the cluster. */
export interface ClusterPorts {
  postgres: number;
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  workerService: number;
  frontendMembership: number;
  historyMembership: number;
  matchingMembership: number;
  workerServiceMembership: number;
  ui: number;
  api: number;
  salesforceStandin: number;
}

/** A port's variable, default, meaning and, for membership ports, the highest it may be. */
export interface PortSetting {
  variable: string;
  fallback: number;
  what: string;
  /** Temporal stores membership ports in a SMALLINT column (cluster_membership.rpc_port): at most 32767. */
  max?: number;
}

const MEMBERSHIP_MAX = 32767;

/** Each port's variable, default and meaning (the table in docs/configuration.md). */
export const PORT_SETTINGS: Record<keyof ClusterPorts, PortSetting> = {
  postgres: { variable: 'CLUSTER_POSTGRES_PORT', fallback: 15432, what: 'PostgreSQL' },
  frontend: { variable: 'CLUSTER_FRONTEND_PORT', fallback: 17233, what: 'Temporal frontend gRPC' },
  frontendHttp: { variable: 'CLUSTER_FRONTEND_HTTP_PORT', fallback: 17243, what: 'Temporal frontend HTTP' },
  history: { variable: 'CLUSTER_HISTORY_PORT', fallback: 17234, what: 'Temporal history gRPC' },
  matching: { variable: 'CLUSTER_MATCHING_PORT', fallback: 17235, what: 'Temporal matching gRPC' },
  workerService: { variable: 'CLUSTER_WORKER_SERVICE_PORT', fallback: 17239, what: 'Temporal worker service' },
  frontendMembership: {
    variable: 'CLUSTER_FRONTEND_MEMBERSHIP_PORT',
    fallback: 16933,
    what: 'frontend membership',
    max: MEMBERSHIP_MAX,
  },
  historyMembership: {
    variable: 'CLUSTER_HISTORY_MEMBERSHIP_PORT',
    fallback: 16934,
    what: 'history membership',
    max: MEMBERSHIP_MAX,
  },
  matchingMembership: {
    variable: 'CLUSTER_MATCHING_MEMBERSHIP_PORT',
    fallback: 16935,
    what: 'matching membership',
    max: MEMBERSHIP_MAX,
  },
  workerServiceMembership: {
    variable: 'CLUSTER_WORKER_SERVICE_MEMBERSHIP_PORT',
    fallback: 16939,
    what: 'worker service membership',
    max: MEMBERSHIP_MAX,
  },
  ui: { variable: 'CLUSTER_UI_PORT', fallback: 18233, what: 'Temporal Web UI' },
  api: { variable: 'CLUSTER_API_PORT', fallback: 13000, what: 'engine API' },
  salesforceStandin: { variable: 'CLUSTER_SALESFORCE_STANDIN_PORT', fallback: 13100, what: 'Salesforce stand-in' },
};

/** The cluster's settings. */
export interface ClusterSettings {
  /** DATA_DIR, as `npm start` reads it. */
  dataDir: string;
  /** DATA_DIR/cluster: PostgreSQL's files, the generated configs, logs, the lock. */
  clusterDir: string;
  logsDir: string;
  /** As configured: 0 means "pick a free port at start". */
  ports: ClusterPorts;
  /** Engine worker processes (CLUSTER_WORKERS). */
  workers: number;
  /** Retention of the namespace when the cluster creates it (CLUSTER_NAMESPACE_RETENTION_DAYS). */
  retentionDays: number;
  namespace: string;
  taskQueue: string;
  /** Keys the API accepts: API_KEYS, else `dev-api-key` as under `npm start`. */
  apiKeys: string[];
  /** SALESFORCE_MODE for the workers: the stand-in unless set otherwise. */
  salesforceMode: string;
  /** How long each process may take to become ready (CLUSTER_START_TIMEOUT_SECONDS). */
  startTimeoutMs: number;
  /** The server's system.enableActivityEagerExecution (CLUSTER_EAGER_ACTIVITIES, default true). */
  eagerActivities: boolean;
}

export class ClusterSettingsError extends Error {}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ClusterSettingsError(`${name} must be an integer from ${min} to ${max}, got '${v}'`);
  }
  return n;
}

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (/^(true|1)$/i.test(v)) return true;
  if (/^(false|0)$/i.test(v)) return false;
  throw new ClusterSettingsError(`${name} must be true or false, got '${v}'`);
}

/** Reads the settings; throws ClusterSettingsError naming a bad variable. */
export function loadClusterSettings(env: NodeJS.ProcessEnv = process.env): ClusterSettings {
  const config = loadConfig({ ...env, TEMPORAL_ADDRESS: '', DATABASE_URL: '' });
  const clusterDir = path.join(config.dataDir, 'cluster');
  const ports = Object.fromEntries(
    Object.entries(PORT_SETTINGS).map(([key, s]) => [key, integer(env, s.variable, s.fallback, 0, s.max ?? 65535)]),
  ) as unknown as ClusterPorts;
  const apiKeys = (env.API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  return {
    dataDir: config.dataDir,
    clusterDir,
    logsDir: path.join(clusterDir, 'logs'),
    ports,
    workers: integer(env, 'CLUSTER_WORKERS', 2, 1, 64),
    retentionDays: integer(env, 'CLUSTER_NAMESPACE_RETENTION_DAYS', 7, 1, 3650),
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    apiKeys: apiKeys.length > 0 ? apiKeys : ['dev-api-key'],
    salesforceMode: env.SALESFORCE_MODE || 'standin',
    startTimeoutMs: integer(env, 'CLUSTER_START_TIMEOUT_SECONDS', 180, 10, 3600) * 1000,
    eagerActivities: boolean(env, 'CLUSTER_EAGER_ACTIVITIES', true),
  };
}

/**
 * Ports for a cluster beside others on one machine (the tests', the bench's): free ones picked now, except the
 * membership ports, which Temporal keeps in a SMALLINT and freePort() picks above: 0 lets the cluster pick them.
 */
export async function freeClusterPorts(): Promise<ClusterPorts> {
  const picked: Partial<ClusterPorts> = {};
  for (const [key, s] of Object.entries(PORT_SETTINGS) as [keyof ClusterPorts, { max?: number }][]) {
    picked[key] = s.max === undefined ? await freePort() : 0;
  }
  return picked as ClusterPorts;
}

/** Whether 127.0.0.1:port can be listened on now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err)));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * The ports of this start: every fixed port checked free, and 0s replaced by the port picked for them at the previous
 * start when it is still free (recorded in `stateFile`), else by a free one. Keeping them matters for the membership
 * ports: the Temporal services find each other through the addresses in the membership table, and addresses a
 * previous run left there that nobody answers any more hold up a joining service for up to 30 s each attempt.
 * A taken fixed port is an error naming its variable (a cluster left running, `npm start`, or another program).
 */
export async function resolvePorts(configured: ClusterPorts, stateFile?: string): Promise<ClusterPorts> {
  const resolved = { ...configured };
  let previous: Partial<ClusterPorts> = {};
  try {
    if (stateFile) previous = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as Partial<ClusterPorts>;
  } catch {
    // first start, or an unreadable file: pick afresh
  }
  const seen = new Map<number, string>();
  for (const [key, s] of Object.entries(PORT_SETTINGS) as [keyof ClusterPorts, (typeof PORT_SETTINGS)[keyof ClusterPorts]][]) {
    const fixed = configured[key];
    if (fixed === 0) continue;
    const other = seen.get(fixed);
    if (other) throw new ClusterSettingsError(`${s.variable} and ${other} are both ${fixed}`);
    seen.set(fixed, s.variable);
    if (!(await portIsFree(fixed))) {
      throw new ClusterSettingsError(
        `port ${fixed} (${s.what}, ${s.variable}) on 127.0.0.1 is in use by another process, perhaps a cluster or ` +
          `engine still running; stop it (\`ss -ltnp 'sport = :${fixed}'\` names it) or set ${s.variable} to a free port`,
      );
    }
  }
  for (const key of Object.keys(PORT_SETTINGS) as (keyof ClusterPorts)[]) {
    if (resolved[key] !== 0) continue;
    const max = PORT_SETTINGS[key].max;
    const before = previous[key];
    const reusable = typeof before === 'number' && before > 0 && before <= (max ?? 65535) && !seen.has(before);
    if (reusable && (await portIsFree(before))) {
      seen.set(before, PORT_SETTINGS[key].variable);
      resolved[key] = before;
      continue;
    }
    let port = max === undefined ? await freePort() : await freePortBelow(max);
    while (seen.has(port)) port = max === undefined ? await freePort() : await freePortBelow(max);
    seen.set(port, PORT_SETTINGS[key].variable);
    resolved[key] = port;
  }
  if (stateFile) fs.writeFileSync(stateFile, `${JSON.stringify(resolved, null, 2)}\n`);
  return resolved;
}

/** A free port from 20000 to `max`: below the kernel's ephemeral range, where bind(0) never lands. */
async function freePortBelow(max: number): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * (max - 20_000 + 1));
    if (await portIsFree(port)) return port;
  }
}
