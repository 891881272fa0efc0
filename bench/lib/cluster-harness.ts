/**
 * The bench's world on the production topology (`npm run bench -- --engine cluster`): `npm run cluster` as a user runs
 * it, in a fresh temporary DATA_DIR on free ports (test/cluster/cluster-run.ts does the same for the tests), with the
 * bench's own side around it as under the dev server (harness.ts): the Salesforce stand-in, whose writes the bench
 * sees (the workers run in `org` mode against it, so the cluster starts no stand-in of its own), the webhook
 * receivers, the API client on the cluster's API and a Temporal client on its frontend. Scenario b's worker runs in
 * processes of the bench (cluster-bench-worker.ts), one per cluster worker, outside the cluster's process tree.
 *
 * Its processes are named as in the cluster's pids file (postgres, temporal-frontend, …, worker-1, api), each the root
 * of a process tree: PostgreSQL's postmaster with its backends, each worker's node under its `npm run worker`.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveTemporalBinaries } from '../../src/cluster/binaries';
import { freeClusterPorts, PORT_SETTINGS, type ClusterPorts } from '../../src/cluster/settings';
import { leftoverGroups } from '../../src/cluster/watchdog';
import { loadConfig } from '../../src/config';
import { bundleWorkflowsInChild } from '../../src/temporal/workflow-bundle';
import { benchEngineVariables, Cleanups, connectWorld, startBenchSide, type BenchWorld } from './harness';
import type { BenchWorkerHost } from './engine-process';
import type { NamedProcess } from './proc-memory';
import { sleep } from './stats';

const ROOT = path.join(__dirname, '..', '..');
const BANNER = 'Press Ctrl-C to stop.';

export interface ClusterHarness extends BenchWorld {
  ports: ClusterPorts;
  /** Worker processes (CLUSTER_WORKERS). */
  workers: number;
  /** What the cluster runs, for the results. */
  versions: BenchWorld['versions'] & { postgres: string; engineNode: string; ui: string };
  /** The cluster's start-up lines (its output up to the banner). */
  startOutput: string;
  /** The product's processes by name, in start order (the cluster's pids file). */
  processes(): NamedProcess[];
  /** Why `npm run cluster` ended before close() asked it to (a process of it died), else null. */
  endedEarly(): string | null;
  /**
   * Stops the cluster and everything of the bench's; resolves once no process of the cluster is left (every call
   * waits for the same stop).
   */
  close(): Promise<void>;
}

/** The node running the bench, when it can be named as CLUSTER_NODE (an absolute path to `node`). */
function benchNode(): string {
  return path.basename(process.execPath) === 'node' ? process.execPath : 'path';
}

/** `npm run cluster`, started and waited for until its banner. */
async function startCluster(opts: {
  env: NodeJS.ProcessEnv;
  pidsFile: string;
  timeoutMs: number;
  log: (line: string) => void;
}): Promise<{ output: () => string; endedEarly: () => string | null; stop: () => Promise<void> }> {
  const proc = spawn('npm', ['run', 'cluster'], { cwd: ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  // If the bench dies without stopping it (SIGKILL), this shell's pipe closes and it asks the cluster to stop.
  const guard = spawn('/bin/sh', ['-c', 'read -r _; kill -TERM "$1" 2>/dev/null', 'bench-cluster-guard', String(proc.pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  guard.on('error', () => undefined);
  guard.stdin?.on('error', () => undefined);
  guard.unref();
  let output = '';
  let partial = '';
  let stopping = false;
  let ended: string | null = null;
  const take = (d: Buffer) => {
    output += d.toString('utf8');
    if (output.length > 200_000) output = output.slice(-100_000);
    const lines = (partial + d.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) opts.log(`  cluster | ${line}`);
  };
  proc.stdout.on('data', take);
  proc.stderr.on('data', take);
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      if (!stopping) ended = `npm run cluster exited (${signal ?? `code ${code}`})`;
      resolve();
    }),
  );
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    guard.kill('SIGKILL');
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      // Its own stop takes the processes down in order, each within 30 s (PostgreSQL 60 s); past 180 s, killing
      // `npm run cluster` hands the stop to its watchdog, which stops every group in the pids file.
      const killer = setTimeout(() => {
        opts.log('cluster: not stopped after 180 s; killing npm run cluster (its watchdog stops the rest)');
        killTree(proc.pid as number);
      }, 180_000);
      await exited;
      clearTimeout(killer);
    }
    // The pids file is gone after a normal stop, and once the watchdog has stopped everything after a killed one.
    for (let i = 0; i < 400 && leftoverGroups(opts.pidsFile).length > 0; i++) await sleep(100);
  };
  const deadline = Date.now() + opts.timeoutMs;
  while (!output.includes(BANNER)) {
    if (ended !== null || Date.now() > deadline) {
      await stop().catch(() => undefined);
      throw new Error(`npm run cluster did not start (${ended ?? `no banner after ${opts.timeoutMs / 1000} s`}):\n${output.slice(-6000)}`);
    }
    await sleep(200);
  }
  return { output: () => output, endedEarly: () => ended, stop };
}

/** SIGKILL to `root` and every process below it (the npm, sh, tsx and node of `npm run cluster`). */
function killTree(root: number): void {
  let pids: number[] = [root];
  try {
    const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number));
    for (let grew = true; grew; ) {
      const before = pids.length;
      pids = [...new Set([...pids, ...rows.filter(([, ppid]) => pids.includes(ppid)).map(([pid]) => pid)])];
      grew = pids.length > before;
    }
  } catch {
    // no ps: the root alone
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** The process groups of the pids file (`<pid> <signal> <name>` a line), in start order. */
function readPids(pidsFile: string): NamedProcess[] {
  try {
    return fs
      .readFileSync(pidsFile, 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 3 && /^\d+$/.test(f[0]))
      .map(([pid, , name]) => ({ name, pid: Number(pid) }));
  } catch {
    return [];
  }
}

/**
 * Scenario b's workers: `count` processes (cluster-bench-worker.ts) on `env`, sharing one workflow bundle (bench/
 * workflows.ts) made in a child process as the product's worker does.
 */
function benchWorkers(opts: { count: number; env: NodeJS.ProcessEnv; logFile: string }): BenchWorkerHost & { stopAll(): Promise<void> } {
  let running: ChildProcess[] = [];
  const stopAll = async () => {
    const children = running;
    running = [];
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        if (child.connected) child.send('stop');
        else child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exit;
        clearTimeout(killer);
      }),
    );
  };
  const startOne = async (taskQueue: string, codePath: string): Promise<void> => {
    const out = fs.openSync(opts.logFile, 'a');
    const child = fork(path.join(__dirname, 'cluster-bench-worker.ts'), [taskQueue, codePath], {
      env: opts.env,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', out, out, 'ipc'],
    });
    fs.closeSync(out);
    running.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(`bench worker said ${String(m)}`))));
      child.once('exit', (code) => reject(new Error(`bench worker exited (code ${code}) before it was ready; see ${opts.logFile}`)));
    });
  };
  return {
    async startBenchWorker(taskQueue) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-workflows-'));
      try {
        const codePath = path.join(dir, 'bundle.js');
        await bundleWorkflowsInChild(codePath, require.resolve('../workflows'));
        await Promise.all(Array.from({ length: opts.count }, () => startOne(taskQueue, codePath)));
      } catch (err) {
        await stopAll();
        throw err;
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    stopBenchWorker: stopAll,
    stopAll,
  };
}

/** The Temporal server's and UI server's versions, as their binaries report them. */
async function temporalVersions(): Promise<{ server: string; ui: string }> {
  const version = (binary: string) => {
    try {
      return /version (\S+)/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
    } catch {
      return 'unknown';
    }
  };
  const b = await resolveTemporalBinaries().catch(() => null);
  return b ? { server: version(b.temporalServer), ui: version(b.temporalUiServer) } : { server: 'unknown', ui: 'unknown' };
}

/**
 * Starts the cluster with `workers` workers and the bench around it. `engineEnv` is what the bench gives the engine's
 * processes (reported in the results); CLUSTER_NODE defaults to the bench's own node, so both engines run on one Node.
 */
export async function startClusterHarness(opts: { workers: number; log: (line: string) => void }): Promise<ClusterHarness> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-bench-cluster-'));
  // PostgreSQL runs as the postgres user when the bench runs as root: it must be able to enter the folder.
  fs.chmodSync(dataDir, 0o755);
  const pidsFile = path.join(dataDir, 'cluster', 'pids');
  const namespace = loadConfig({ ...process.env, TEMPORAL_ADDRESS: '' }).temporal.namespace;
  const cleanups = new Cleanups();
  try {
    const side = await startBenchSide(cleanups);
    const ports = await freeClusterPorts();
    const engineEnv: Record<string, string> = {
      ...benchEngineVariables(side.standin.url),
      CLUSTER_WORKERS: String(opts.workers),
      CLUSTER_NODE: process.env.CLUSTER_NODE || benchNode(),
    };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      TEMPORAL_ADDRESS: '',
      DATABASE_URL: '',
      TEMPORAL_NAMESPACE: namespace,
      ...engineEnv,
    };
    for (const [key, s] of Object.entries(PORT_SETTINGS)) env[s.variable] = String(ports[key as keyof ClusterPorts]);
    const [temporal, cluster] = await Promise.all([
      temporalVersions(),
      startCluster({ env, pidsFile, timeoutMs: 300_000, log: opts.log }),
    ]);
    cleanups.add(() => cluster.stop());
    const startOutput = cluster.output();
    const frontend = `127.0.0.1:${ports.frontend}`;
    const workers = benchWorkers({
      count: opts.workers,
      // As `npm run worker` runs: its heap limit and malloc arenas (package.json), the cluster's frontend.
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        TEMPORAL_ADDRESS: frontend,
        TEMPORAL_NAMESPACE: namespace,
        LOG_LEVEL: 'warn',
        MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
        NODE_OPTIONS: `--max-old-space-size=512 ${process.env.NODE_OPTIONS ?? ''}`.trim(),
      },
      logFile: path.join(dataDir, 'bench-worker.log'),
    });
    cleanups.add(() => workers.stopAll());
    const clients = await connectWorld({ apiUrl: `http://127.0.0.1:${ports.api}`, temporalAddress: frontend, namespace, cleanups });
    let known: NamedProcess[] = readPids(pidsFile);
    let closing: Promise<void> | null = null;
    return {
      dataDir,
      ...side,
      engine: workers,
      ...clients,
      engineEnv,
      ports,
      workers: opts.workers,
      versions: {
        node: process.version,
        temporalCli: 'n/a (temporal-server and temporal-ui-server)',
        temporalServer: temporal.server,
        postgres: /\(PostgreSQL ([^)]+)\)/.exec(startOutput)?.[1] ?? 'unknown',
        engineNode: /engine processes on Node (\S+)/.exec(startOutput)?.[1] ?? 'unknown',
        ui: temporal.ui,
      },
      startOutput,
      processes() {
        const now = readPids(pidsFile);
        if (now.length > 0) known = now;
        return known;
      },
      endedEarly: cluster.endedEarly,
      close() {
        closing ??= (async () => {
          await cleanups.undo();
          const left = leftoverGroups(pidsFile);
          if (left.length > 0) throw new Error(`cluster processes left running: ${left.map((l) => `${l.name} (group ${l.pid})`).join(', ')}`);
        })();
        return closing;
      },
    };
  } catch (err) {
    await cleanups.undo();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
