/**
 * The cluster's PostgreSQL: Debian's server binaries on a data directory in DATA_DIR/cluster/postgres, listening on
 * 127.0.0.1 only (no Unix socket), password authentication for the one role `temporal` (as docker-compose.yml's
 * `postgresql` service), its password generated at the first start into DATA_DIR/cluster/postgres.password (0600).
 * PostgreSQL refuses to run as root: as root, initdb and the server run as the `postgres` user, which owns the data
 * directory. The server is this process's child, stopped with a fast shutdown (SIGINT).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { indent, waitUntilReady, type ManagedProcess } from './process';
import type { Supervisor } from './supervisor';

/** The role Temporal and the engine connect as. */
export const POSTGRES_USER = 'temporal';

/** The OS user PostgreSQL runs as: the current one, or `postgres` when this is root. */
export interface ServerUser {
  uid?: number;
  gid?: number;
  name: string;
}

export function postgresServerUser(): ServerUser {
  if (process.getuid?.() !== 0) return { name: 'the current user' };
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid, name: 'postgres' };
  } catch {
    throw new Error(
      'running as root, and PostgreSQL refuses root: there is no `postgres` OS user to run it as ' +
        '(`apt-get install postgresql` creates it, or `useradd --system postgres`)',
    );
  }
}

/** Where the cluster's PostgreSQL keeps its files, and how it is reached. */
export interface PostgresPaths {
  binDir: string;
  /** PGDATA: DATA_DIR/cluster/postgres. */
  dataDir: string;
  passwordFile: string;
  logFile: string;
}

/** The password of POSTGRES_USER, generated at the first start. */
export function postgresPassword(paths: PostgresPaths): string {
  if (!fs.existsSync(paths.passwordFile)) {
    if (fs.existsSync(path.join(paths.dataDir, 'PG_VERSION'))) {
      throw new Error(`${paths.passwordFile} is missing, and without it the database in ${paths.dataDir} cannot be reached`);
    }
    fs.writeFileSync(paths.passwordFile, `${randomBytes(18).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  }
  return fs.readFileSync(paths.passwordFile, 'utf8').trim();
}

/**
 * Creates the database cluster once: initdb into a temporary sibling renamed into place, so an interrupted first
 * start leaves nothing half-made. Returns false when it already existed.
 */
export function initPostgres(paths: PostgresPaths, user: ServerUser, password: string): boolean {
  if (fs.existsSync(path.join(paths.dataDir, 'PG_VERSION'))) return false;
  const parent = path.dirname(paths.dataDir);
  const tmp = fs.mkdtempSync(path.join(parent, '.postgres.tmp-'));
  try {
    if (user.uid !== undefined) fs.chownSync(tmp, user.uid, user.gid!);
    const asUser = { uid: user.uid, gid: user.gid, cwd: tmp, encoding: 'utf8' as const };
    if (spawnSync('test', ['-w', tmp], asUser).status !== 0) {
      // Name the folder in the way: the outermost ancestor the server's user may not enter.
      const blocking = ancestors(parent).find((dir) => spawnSync('test', ['-x', dir], asUser).status !== 0) ?? parent;
      throw new Error(
        `PostgreSQL runs as ${user.name}, who cannot enter ${blocking} (on the way to ${paths.dataDir}): ` +
          `allow it (\`chmod o+x ${blocking}\`) or set DATA_DIR to a folder it can reach`,
      );
    }
    const pwfile = path.join(tmp, 'pwfile');
    fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (user.uid !== undefined) fs.chownSync(pwfile, user.uid, user.gid!);
    const data = path.join(tmp, 'data');
    const r = spawnSync(
      path.join(paths.binDir, 'initdb'),
      [
        ...['-D', data, '-U', POSTGRES_USER, `--pwfile=${pwfile}`],
        // Passwords over TCP (the only way in: the server listens on no Unix socket).
        ...['--auth-host=scram-sha-256', '--auth-local=peer', '-E', 'UTF8', '--locale=C'],
      ],
      asUser,
    );
    fs.appendFileSync(paths.logFile, `\n=== ${new Date().toISOString()} initdb\n${r.stdout ?? ''}${r.stderr ?? ''}`);
    if (r.status !== 0) {
      throw new Error(`initdb failed (${r.error?.message ?? `exit code ${r.status}`}):\n${indent((r.stderr ?? '').trim())}`);
    }
    fs.rmSync(pwfile);
    fs.renameSync(data, paths.dataDir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return true;
}

/** `/`, `/a`, `/a/b`, … down to `dir`. */
function ancestors(dir: string): string[] {
  const out: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    out.unshift(d);
    if (path.dirname(d) === d) return out;
  }
}

/** postgres://… of a database on the cluster's server. */
export function postgresUrl(port: number, password: string, database: string): string {
  return `postgres://${POSTGRES_USER}:${password}@127.0.0.1:${port}/${database}`;
}

/** Starts the server and waits until it accepts connections. */
export async function startPostgres(opts: {
  supervisor: Supervisor;
  paths: PostgresPaths;
  user: ServerUser;
  port: number;
  password: string;
  timeoutMs: number;
}): Promise<ManagedProcess> {
  const { paths, user, port } = opts;
  const url = postgresUrl(port, opts.password, 'postgres');
  const readiness = (proc: ManagedProcess) =>
    waitUntilReady(
      proc,
      'accepting connections',
      async () => {
        const c = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
        try {
          await c.connect();
          await c.query('SELECT 1');
          return true;
        } finally {
          await c.end().catch(() => undefined);
        }
      },
      opts.timeoutMs,
    );
  const proc = opts.supervisor.start(
    {
      name: 'postgres',
      command: path.join(paths.binDir, 'postgres'),
      args: [
        '-D',
        paths.dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        // Four Temporal services' pools plus the engine's processes (see temporal-config.ts for the pool sizes).
        '-c',
        'max_connections=200',
      ],
      cwd: paths.dataDir,
      env: { PATH: process.env.PATH, LANG: 'C' },
      logFile: paths.logFile,
      uid: user.uid,
      gid: user.gid,
      stopSignal: 'SIGINT',
      stopTimeoutMs: 60_000,
    },
    readiness,
  );
  await readiness(proc);
  return proc;
}
