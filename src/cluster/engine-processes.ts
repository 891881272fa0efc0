/**
 * The engine's own processes, started with the production commands (`npm run worker`, `npm run api`, and
 * `npm run salesforce-standin` for the Salesforce stand-in that `npm start` runs in-process) against the cluster:
 * TEMPORAL_ADDRESS is the frontend, DATABASE_URL the `booking` database, API_KEYS the keys printed at start. Every
 * other engine variable (src/config.ts) passes through, so webhooks follow the production defaults (https only, no
 * private targets) unless WEBHOOK_ALLOW_HTTP / WEBHOOK_ALLOW_PRIVATE_TARGETS say otherwise.
 *
 * The first worker starts alone: whatever `npm run worker` prepares before the worker runs (a build or a workflow
 * bundle) is then done once, and the other workers and the API find it done.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { logMatches, processGroupOf, waitUntilReady, type ManagedProcess, type ProcessSpec } from './process';
import type { ClusterPorts, ClusterSettings } from './settings';
import type { Supervisor } from './supervisor';

const ROOT = path.resolve(__dirname, '..', '..');

/** `npm`, as the npm that runs `npm run cluster` (npm_execpath), else the one on PATH. */
function npmCommand(): [string, string[]] {
  const cli = process.env.npm_execpath;
  if (cli && /\.[cm]?js$/.test(cli)) return [process.execPath, [cli]];
  return ['npm', []];
}

/** The npm scripts the cluster runs for the engine's processes (the production commands). */
export const ENGINE_SCRIPTS = { api: 'api', worker: 'worker', salesforceStandin: 'salesforce-standin' } as const;

/**
 * The variables the cluster sets for every engine process (workers, API, stand-in); everything else in the caller's
 * environment passes through unchanged.
 */
export function engineVariables(opts: { settings: ClusterSettings; ports: ClusterPorts; databaseUrl: string }): Record<string, string> {
  const { settings, ports } = opts;
  return {
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.frontend}`,
    TEMPORAL_NAMESPACE: settings.namespace,
    TEMPORAL_TASK_QUEUE: settings.taskQueue,
    // A plain loopback cluster: credentials for another cluster in the caller's environment must not leak in.
    TEMPORAL_TLS: 'false',
    TEMPORAL_TLS_CERT: '',
    TEMPORAL_TLS_KEY: '',
    TEMPORAL_TLS_CA: '',
    TEMPORAL_TLS_SERVER_NAME: '',
    TEMPORAL_API_KEY: '',
    DATABASE_URL: opts.databaseUrl,
    SALESFORCE_MODE: settings.salesforceMode,
    SALESFORCE_STANDIN_PORT: String(ports.salesforceStandin),
  };
}

/** What the API process gets on top of engineVariables(). */
export function apiVariables(opts: { settings: ClusterSettings; ports: ClusterPorts }): Record<string, string> {
  const { settings, ports } = opts;
  return {
    API_HOST: '127.0.0.1',
    API_PORT: String(ports.api),
    API_PUBLIC_URL: process.env.API_PUBLIC_URL || `http://127.0.0.1:${ports.api}`,
    API_KEYS: settings.apiKeys.join(','),
  };
}

/** The environment of the engine processes: the inherited one with engineVariables() over it. */
export function engineEnv(opts: { settings: ClusterSettings; ports: ClusterPorts; databaseUrl: string }): NodeJS.ProcessEnv {
  return { ...process.env, ...engineVariables(opts) };
}

function npmRun(script: string, name: string, env: NodeJS.ProcessEnv, logsDir: string): ProcessSpec {
  const [command, prefix] = npmCommand();
  return {
    name,
    command,
    args: [...prefix, 'run', script],
    cwd: ROOT,
    env,
    logFile: path.join(logsDir, `${name}.log`),
    // npm passes SIGTERM to its child only, and a `sh -c` child dies of it without passing it on: every process of
    // the group but npm gets it, as from a terminal's Ctrl-C, and npm ends when its child does.
    stopSignal: 'SIGTERM',
    group: true,
    stopTimeoutMs: 30_000,
  };
}

/** The Salesforce stand-in (SALESFORCE_MODE=standin only). */
export async function startStandin(opts: {
  supervisor: Supervisor;
  env: NodeJS.ProcessEnv;
  port: number;
  logsDir: string;
  timeoutMs: number;
}): Promise<{ proc: ManagedProcess; url: string }> {
  const readiness = (p: ManagedProcess) =>
    waitUntilReady(p, 'listening', logMatches(p, /Salesforce stand-in listening on/), opts.timeoutMs);
  const proc = opts.supervisor.start(
    npmRun(ENGINE_SCRIPTS.salesforceStandin, 'salesforce-standin', opts.env, opts.logsDir),
    readiness,
  );
  await readiness(proc);
  const url = `http://127.0.0.1:${opts.port}`;
  opts.supervisor.ready(proc, url);
  return { proc, url };
}

/** Pino levels that hide the worker's info-level "worker running" line. */
const INFO_HIDDEN = /^(warn|error|fatal|silent)$/i;

/**
 * The process groups whose workers poll the task queue now: the SDK's default worker identity is `<pid>@<host>`, and
 * that pid (the node process under npm and tsx) belongs to the group of the `npm run worker` that started it.
 */
async function pollingGroups(connection: Connection, namespace: string, taskQueue: string): Promise<Set<number>> {
  const r = await connection.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
  });
  const groups = new Set<number>();
  for (const poller of r.pollers ?? []) {
    const m = /^(\d+)@(.+)$/.exec(poller.identity ?? '');
    if (!m || m[2] !== os.hostname()) continue;
    const group = processGroupOf(Number(m[1]));
    if (group !== null) groups.add(group);
  }
  return groups;
}

/**
 * `count` workers on the task queue: the first alone, then the others together. Each is ready once it logged "worker
 * running"; when LOG_LEVEL hides that line, once a process of its group polls the task queue.
 */
export async function startWorkers(opts: {
  supervisor: Supervisor;
  env: NodeJS.ProcessEnv;
  count: number;
  logsDir: string;
  timeoutMs: number;
}): Promise<ManagedProcess[]> {
  const byPolling = INFO_HIDDEN.test(opts.env.LOG_LEVEL ?? '');
  const readiness = async (proc: ManagedProcess): Promise<void> => {
    const connection = byPolling ? await Connection.connect({ address: opts.env.TEMPORAL_ADDRESS! }) : null;
    try {
      const check = connection
        ? async () => (await pollingGroups(connection, opts.env.TEMPORAL_NAMESPACE!, opts.env.TEMPORAL_TASK_QUEUE!)).has(proc.pid)
        : logMatches(proc, /"msg":"worker running"/);
      await waitUntilReady(proc, 'running', check, opts.timeoutMs, connection ? 1_000 : 250);
    } finally {
      await connection?.close();
    }
  };
  const start = (n: number) => opts.supervisor.start(npmRun(ENGINE_SCRIPTS.worker, `worker-${n}`, opts.env, opts.logsDir), readiness);
  const ready = async (proc: ManagedProcess) => {
    await readiness(proc);
    opts.supervisor.ready(proc);
  };
  const first = start(1);
  await ready(first);
  const others = Array.from({ length: opts.count - 1 }, (_, i) => start(i + 2));
  await Promise.all(others.map(ready));
  return [first, ...others];
}

/** The API; ready once it serves its OpenAPI document. */
export async function startApiProcess(opts: {
  supervisor: Supervisor;
  env: NodeJS.ProcessEnv;
  port: number;
  logsDir: string;
  timeoutMs: number;
}): Promise<{ proc: ManagedProcess; url: string }> {
  const url = `http://127.0.0.1:${opts.port}`;
  const readiness = (p: ManagedProcess) =>
    waitUntilReady(
      p,
      'serving /v2/openapi.json',
      async () => {
        const res = await fetch(`${url}/v2/openapi.json`, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        return res.ok;
      },
      opts.timeoutMs,
    );
  const proc = opts.supervisor.start(npmRun(ENGINE_SCRIPTS.api, 'api', opts.env, opts.logsDir), readiness);
  await readiness(proc);
  opts.supervisor.ready(proc, url);
  return { proc, url };
}
