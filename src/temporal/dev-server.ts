/**
 * The embedded Temporal dev server (`temporal server start-dev`), persisted to SQLite in the data directory, used
 * when no TEMPORAL_ADDRESS is configured. Starting it resolves (or builds) the CLI, waits until the frontend answers
 * for the namespace and registers the booking search attributes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Config } from '../config';
import { resolveTemporalCli } from './binaries';
import { registerSearchAttributes, searchAttributeFlags } from './connection';

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
}

const STDERR_TAIL_BYTES = 8 * 1024;

/** SQLite settings of the embedded server's file (see the comment where they are passed). */
export const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'] as const;

/** A free TCP port on 127.0.0.1, for settings left at 0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts the dev server with config.dataDir/temporal.sqlite and returns once it serves the namespace. */
export async function startDevServer({ config, log, readyTimeoutMs = 60_000, sqlitePragmas = SQLITE_PRAGMAS }: StartDevServerOptions): Promise<DevServer> {
  const cli = await resolveTemporalCli(config.temporal.cliPath);
  fs.mkdirSync(config.dataDir, { recursive: true });
  const dbFile = path.join(config.dataDir, 'temporal.sqlite');
  const port = config.temporal.devServerPort || (await freePort());
  const uiPort = config.temporal.uiPort || (await freePort());
  const namespace = config.temporal.namespace;
  const address = `127.0.0.1:${port}`;
  const uiUrl = `http://127.0.0.1:${uiPort}`;

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
    ...searchAttributeFlags(),
  ];
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderrTail = '';
  let stopping = false;
  child.stdout.resume(); // the banner only; keep the pipe drained
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
  };
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));

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
    return new Error(
      `Temporal dev server exited (${child.signalCode ?? `code ${child.exitCode}`}) before it was ready ` +
        `(port ${port} or ${uiPort} in use? another server on ${dbFile}?). Its stderr:\n${stderrTail.trim()}`,
    );
  };

  try {
    const deadline = Date.now() + readyTimeoutMs;
    let connection: Connection | null = null;
    let lastError: unknown = null;
    while (connection === null) {
      const dead = died();
      if (dead) throw dead;
      if (Date.now() > deadline) {
        throw new Error(
          `Temporal dev server at ${address} not ready after ${readyTimeoutMs} ms: ${String(lastError)}\n${stderrTail.trim()}`,
        );
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
      const added = await registerSearchAttributes(connection, namespace);
      if (added.length > 0) log.info({ namespace, added }, 'registered search attributes');
    } finally {
      await connection.close();
    }
  } catch (err) {
    await stop();
    throw err;
  }

  log.info({ address, uiUrl, dbFile }, 'Temporal dev server ready');
  return { address, uiUrl, dbFile, pid: child.pid as number, stop };
}
