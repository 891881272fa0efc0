/**
 * The embedded Temporal dev server (`temporal server start-dev`), persisted to SQLite in the data directory, used
 * when no TEMPORAL_ADDRESS is configured. Starting it takes the DATA_DIR lock, resolves (or builds) the CLI, checks
 * its ports are free, starts it with a watchdog that stops it if this process dies, waits until it has announced its
 * own frontend and answers for the namespace, and registers the booking search attributes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Config } from '../config';
import { resolveTemporalCli } from './binaries';
import { registerSearchAttributes, searchAttributeFlags } from './connection';
import { lockDataDir, type DataDirLock } from './data-dir-lock';

/** The few logger methods used here; a pino logger fits. */
export interface DevServerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** A running dev server. */
export interface DevServer {
  /** host:port of the gRPC frontend. */
  address: string;
  uiUrl: string;
  /** SQLite file holding the server's state. */
  dbFile: string;
  /** The server's process id (the bench reads its CPU time). */
  pid: number;
  /** The Temporal CLI binary running it (`npm run temporal` runs the same one). */
  cliPath: string;
  /** SIGTERM, then SIGKILL if the process has not exited after 10 s; resolves once it has exited. */
  stop(): Promise<void>;
}

export interface StartDevServerOptions {
  config: Config;
  log: DevServerLogger;
  /** How long to wait for the frontend to answer; the first start on a new SQLite file takes a few seconds. */
  readyTimeoutMs?: number;
  /** SQLite pragmas for the state file; SQLITE_PRAGMAS by default, [] for the CLI's own defaults (benchmark baseline). */
  sqlitePragmas?: readonly string[];
  /**
   * The DATA_DIR lock, when the caller holds it (npm start, whose embedded store shares the directory). Without it
   * the lock is taken here and released by stop().
   */
  lock?: DataDirLock;
  /** false: register no custom search attributes, as a release before them did (tests of an older SQLite file). */
  searchAttributes?: boolean;
  /** The server's own Prometheus /metrics port on 127.0.0.1 (the CLI picks a random one otherwise). */
  metricsPort?: number;
}

/** A port the dev server needs is taken. `retryable` when the port was picked here and others can be picked. */
export class DevServerPortInUseError extends Error {
  constructor(
    message: string,
    readonly port: number,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const STDERR_TAIL_BYTES = 8 * 1024;
/** Starts with freshly picked ports when a port picked here was taken before the server bound it. */
const PORT_ATTEMPTS = 3;

/** SQLite settings of the embedded server's file (see the comment where they are passed). */
export const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'] as const;

/**
 * A free TCP port on 127.0.0.1, for settings left at 0. Linux picks a port for bind(0) at random, so a port just
 * closed here could be handed to the next bind(0) anywhere on the machine (another test's server, the CLI's own
 * metrics and internal ports) or become the local port of an outgoing connection before our server binds it. As the
 * Temporal CLI does for its own ports, a connection is made to it and closed from the listening side, which leaves
 * it in TIME_WAIT for a minute: the kernel then gives it to neither bind(0) nor connect(), while a server binding it
 * by number (SO_REUSEADDR, set by Go and Node) still can. macOS and Windows allocate sequentially and need no trick.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      if (process.platform === 'darwin' || process.platform === 'win32') {
        srv.close(() => resolve(port));
        return;
      }
      srv.once('connection', (accepted) => {
        accepted.on('error', () => undefined);
        accepted.destroy(); // the listening side closes first, so TIME_WAIT lands on `port`
      });
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => undefined); // 'close' follows; the port is no less free without the reservation
      client.resume();
      client.on('close', () => srv.close(() => resolve(port)));
    });
  });
}

/** Whether 127.0.0.1:port can be listened on now (SO_REUSEADDR, as the CLI binds it). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err)));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * The watchdog: a shell in its own session (Ctrl-C does not reach it) blocked reading a pipe whose only writer is
 * this process. When this process dies in any way, SIGKILL and the out-of-memory killer included, the kernel closes
 * the pipe, the read returns and the shell stops the server: SIGTERM, SIGKILL after 10 s. (Its stdout and stderr
 * have lost their reader too, so the server's first line after SIGTERM ends it at once by SIGPIPE: for the server a
 * crash, which its SQLite WAL file survives.) While this process lives the watchdog only waits; it is killed as soon as
 * the server exits. Every command here is one that cannot make the shell exit early.
 */
const WATCHDOG_SCRIPT = [
  'read -r _',
  'kill -TERM "$1" 2>/dev/null || exit 0',
  'n=0',
  'while [ "$n" -lt 100 ] && kill -0 "$1" 2>/dev/null; do sleep 0.1; n=$((n + 1)); done',
  'kill -KILL "$1" 2>/dev/null',
  'exit 0',
].join('\n');

function startWatchdog(pid: number): ChildProcess | null {
  if (process.platform === 'win32') return null;
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'temporal-dev-server-watchdog', String(pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  watchdog.on('error', () => undefined); // no /bin/sh: the server still runs, without the guard
  watchdog.stdin?.on('error', () => undefined);
  watchdog.unref();
  return watchdog;
}

/** Starts the dev server with config.dataDir/temporal.sqlite and returns once it serves the namespace. */
export async function startDevServer(options: StartDevServerOptions): Promise<DevServer> {
  const { config, log } = options;
  const cli = await resolveTemporalCli(config.temporal.cliPath);
  const ownLock = options.lock === undefined;
  const lock = options.lock ?? (await lockDataDir(config.dataDir, { log }));
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const server = await startOnce(cli, lock, options);
        if (!ownLock) return server;
        return {
          ...server,
          stop: async () => {
            await server.stop();
            lock.release();
          },
        };
      } catch (err) {
        if (!(err instanceof DevServerPortInUseError && err.retryable && attempt < PORT_ATTEMPTS)) throw err;
        log.warn({ port: err.port, attempt }, 'a port picked for the dev server was taken before it bound it; picking others');
      }
    }
  } catch (err) {
    if (ownLock) lock.release();
    throw err;
  }
}

async function startOnce(
  cli: string,
  lock: DataDirLock,
  { config, log, readyTimeoutMs = 60_000, sqlitePragmas = SQLITE_PRAGMAS, searchAttributes = true, metricsPort }: StartDevServerOptions,
): Promise<DevServer> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const dbFile = path.join(config.dataDir, 'temporal.sqlite');
  const { devServerPort, uiPort: configuredUiPort } = config.temporal;
  const port = devServerPort || (await freePort());
  const uiPort = configuredUiPort || (await freePort());
  const namespace = config.temporal.namespace;
  const address = `127.0.0.1:${port}`;
  const uiUrl = `http://127.0.0.1:${uiPort}`;

  const portInUse = (p: number, detail = ''): DevServerPortInUseError => {
    const [what, variable, fixed] =
      p === port ? ['gRPC', 'TEMPORAL_DEV_PORT', devServerPort !== 0] : p === uiPort ? ['Web UI', 'TEMPORAL_UI_PORT', configuredUiPort !== 0] : ['internal', '', false];
    if (!fixed) {
      return new DevServerPortInUseError(`port ${p} (the dev server's ${what} port, picked free) was taken before the server bound it${detail}`, p, true);
    }
    return new DevServerPortInUseError(
      `Temporal dev server ${what} port ${p} (${variable}) on 127.0.0.1 is already in use by another process, perhaps an ` +
        'engine or a Temporal server still running or left behind; this engine never uses a server it did not start. ' +
        `Stop that process (on Linux \`ss -ltnp 'sport = :${p}'\` names it) or set ${variable} to a free port.${detail}`,
      p,
      false,
    );
  };
  if (port === uiPort) {
    if (devServerPort !== 0 && configuredUiPort !== 0) throw new Error(`TEMPORAL_DEV_PORT and TEMPORAL_UI_PORT are both ${port}`);
    throw new DevServerPortInUseError(`port ${port} was picked for both the gRPC frontend and the Web UI`, port, true);
  }
  for (const p of [port, uiPort]) {
    if (!(await portIsFree(p))) throw portInUse(p);
  }

  const args = [
    'server',
    'start-dev',
    '--db-filename',
    dbFile,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    // Measured (BENCHMARKS.md): the CLI's SQLite defaults (rollback journal, synchronous=FULL) serialise every
    // write on an fsync and cut workflow throughput about 3x; WAL with synchronous=NORMAL survives a crash of
    // the process and loses at most the last commits on a power cut, which suits the embedded default.
    ...sqlitePragmas.flatMap((p) => ['--sqlite-pragma', p]),
    // The history service's cache of workflow executions, an LRU that evicts only when full (its one-hour TTL is
    // checked on access). The CLI sets 8096 entries and a booking takes two (its run and its current-run lock), so
    // the server grew with the first ~4,000 open bookings, to 374 MiB at 10,000; 2000 entries (~1,000 bookings, twice
    // the worker's cache) keep it near 300 MiB; a miss reloads the execution from SQLite (BENCHMARKS.md, "Memory per
    // open booking").
    '--dynamic-config-value',
    `history.hostLevelCacheMaxSize=${config.temporal.devServerHistoryCacheSize}`,
    // Eager activity execution (the server leaves it off): an activity scheduled on the task queue of the worker
    // completing the workflow task, when that worker has a free slot and asks for it (the SDK does by default), comes
    // back in the completion's response instead of through matching; measured in BENCHMARKS.md, "Issue 19: levers".
    '--dynamic-config-value',
    `system.enableActivityEagerExecution=${config.temporal.devServerEagerActivities}`,
    ...(searchAttributes ? searchAttributeFlags() : []),
    ...(metricsPort === undefined ? [] : ['--metrics-port', String(metricsPort)]),
  ];
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const watchdog = child.pid === undefined ? null : startWatchdog(child.pid);
  let stderrTail = '';
  let stopping = false;
  // The CLI prints `Server:  localhost:<port>` once its own frontend listens: the proof that the server answering
  // on the port is this child and not another one holding it (a previous engine's orphan).
  const serverLine = new RegExp(`^Server:\\s+\\S+:${port}\\s*$`, 'm');
  let stdoutHead = '';
  let announced = false;
  let onAnnounced: () => void = () => undefined;
  const announcement = new Promise<void>((resolve) => (onAnnounced = resolve));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    if (announced) return; // keep the pipe drained
    stdoutHead = (stdoutHead + chunk).slice(-STDERR_TAIL_BYTES);
    if (serverLine.test(stdoutHead)) {
      announced = true;
      onAnnounced();
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    if (stopping) return; // shutdown chatter (pollers losing their connection) is expected
    for (const line of chunk.split('\n')) {
      if (/level=(ERROR|FATAL)/.test(line)) log.warn({ component: 'temporal-dev-server' }, line);
    }
  });
  let spawnError: Error | null = null;
  child.on('error', (err) => {
    spawnError = err;
  });
  const exited = waitForExit(child);
  // Never leave an orphaned server behind if this process exits without calling stop().
  const killOnExit = (): void => {
    child.kill('SIGKILL');
    watchdog?.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  void exited.then(() => {
    process.off('exit', killOnExit);
    watchdog?.kill('SIGKILL');
    try {
      lock.setDevServerPid(null);
    } catch {
      // DATA_DIR is gone (a test removing its directory): nothing left to guard
    }
  });

  const stop = async (): Promise<void> => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };

  const died = (): Error | null => {
    if (spawnError) return new Error(`cannot start ${cli}: ${spawnError.message}`);
    if (child.exitCode === null && child.signalCode === null) return null;
    const tail = stderrTail.trim();
    const bind = /:(\d+): bind: address already in use/.exec(tail);
    if (bind) return portInUse(Number(bind[1]), `. The server's stderr:\n${tail}`);
    return new Error(
      `Temporal dev server exited (${child.signalCode ?? `code ${child.exitCode}`}) before it was ready ` +
        `(another server on ${dbFile}?). Its stderr:\n${tail}`,
    );
  };

  try {
    if (child.pid !== undefined) lock.setDevServerPid(child.pid);
    const deadline = Date.now() + readyTimeoutMs;
    let connection: Connection | null = null;
    let lastError: unknown = null;
    while (connection === null) {
      const dead = died();
      if (dead) throw dead;
      if (Date.now() > deadline) {
        const why = announced ? String(lastError) : `the server never announced its frontend on port ${port}`;
        throw new Error(`Temporal dev server at ${address} not ready after ${readyTimeoutMs} ms: ${why}\n${stderrTail.trim()}`);
      }
      if (!announced) {
        await Promise.race([announcement, exited, delay(250)]);
        continue;
      }
      try {
        const c = await Connection.connect({ address, connectTimeout: 1_000 });
        try {
          // Answers only once the namespace exists, which is what callers need.
          await c.workflowService.describeNamespace({ namespace });
          connection = c;
        } catch (err) {
          await c.close();
          throw err;
        }
      } catch (err) {
        lastError = err;
        await Promise.race([delay(250), exited]);
      }
    }
    try {
      if (searchAttributes) {
        const added = await registerSearchAttributes(connection, namespace);
        if (added.length > 0) log.info({ namespace, added }, 'registered search attributes');
      }
    } finally {
      await connection.close();
    }
    const dead = died();
    if (dead) throw dead;
  } catch (err) {
    await stop();
    throw err;
  }

  log.info({ address, uiUrl, dbFile, pid: child.pid }, 'Temporal dev server ready');
  return { address, uiUrl, dbFile, pid: child.pid as number, cliPath: cli, stop };
}
