/**
 * A real PostgreSQL database for tests. With TEST_DATABASE_URL (CI) each call creates a fresh database on
 * that server and drops it at stop(). Without it, a throwaway server is started from the installed
 * binaries (initdb + pg_ctl, in a temp dir, on a free loopback port, as the `postgres` OS user when run as
 * root) and shared by the calls of one test file, each still getting its own database.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from '../../src/temporal/dev-server';

const run = promisify(execFile);

export interface TestPostgres {
  /** postgres:// URL of a database nobody else uses. */
  url: string;
  /** Drops the database (and stops the server this process started, once its last database is gone). */
  stop(): Promise<void>;
}

interface Server {
  /** URL of the maintenance database `postgres`. */
  adminUrl: string;
  stop(): Promise<void>;
}

function findBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')) && fs.existsSync(path.join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin. Install them with `apt-get install postgresql` ' +
        '(or set TEST_DATABASE_URL to a server the tests may create databases on).',
    );
  }
  return path.join(root, versions[0], 'bin');
}

/** PostgreSQL refuses to run as root: run its tools as the `postgres` user then. */
function asServerUser(): { wrap: (cmd: string, args: string[]) => [string, string[]]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { wrap: (cmd, args) => [cmd, args] };
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  } catch {
    throw new Error('Running as root but there is no `postgres` OS user to run the test server as (apt-get install postgresql creates it).');
  }
  return { wrap: (cmd, args) => ['runuser', ['-u', 'postgres', '--', cmd, ...args]], uid, gid };
}

async function bootServer(): Promise<Server> {
  const bin = findBinDir();
  const user = asServerUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-test-pg-'));
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  if (user.uid !== undefined) fs.chownSync(dir, user.uid, user.gid!);
  const exec = (tool: string, args: string[]) => {
    const [cmd, argv] = user.wrap(path.join(bin, tool), args);
    return run(cmd, argv, { cwd: dir });
  };
  const cleanupDir = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    await exec('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  } catch (err) {
    cleanupDir();
    throw new Error(`initdb failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
  // Durability is pointless for a throwaway server; turning it off keeps tests quick.
  const settings = '-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c listen_addresses=127.0.0.1';
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      await exec('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', `-p ${port} -k ${dir} ${settings}`, 'start']);
    } catch (err) {
      // Most likely the port was taken between probing and binding: try another.
      lastError = `${(err as { stderr?: string }).stderr ?? String(err)}\n${fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : ''}`;
      continue;
    }
    let stopped = false;
    const stopSync = () => {
      if (stopped) return;
      stopped = true;
      try {
        const [cmd, argv] = user.wrap(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
        execFileSync(cmd, argv, { stdio: 'ignore' });
      } catch {
        // already gone
      }
      cleanupDir();
    };
    // Jest's forceExit can end the process before afterAll finishes: never leave a server behind.
    process.once('exit', stopSync);
    return {
      adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
      async stop() {
        process.removeListener('exit', stopSync);
        if (stopped) return;
        stopped = true;
        await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
        cleanupDir();
      },
    };
  }
  cleanupDir();
  throw new Error(`Could not start a test PostgreSQL server: ${lastError}`);
}

let shared: Promise<Server> | null = null;
let users = 0;

async function acquireServer(): Promise<{ server: Server; release: () => Promise<void> }> {
  const fromEnv = process.env.TEST_DATABASE_URL;
  if (fromEnv) return { server: { adminUrl: fromEnv, stop: async () => undefined }, release: async () => undefined };
  users++;
  const pending = (shared ??= bootServer());
  let server: Server;
  try {
    server = await pending;
  } catch (err) {
    users--;
    if (shared === pending) shared = null;
    throw err;
  }
  return {
    server,
    release: async () => {
      users--;
      if (users === 0 && shared === pending) {
        shared = null;
        await server.stop();
      }
    },
  };
}

async function admin<T>(adminUrl: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A fresh, empty database on a real PostgreSQL server. Throws (never skips) when none can be had. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const { server, release } = await acquireServer();
  const name = `test_${randomBytes(8).toString('hex')}`;
  try {
    await admin(server.adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  } catch (err) {
    await release();
    throw err;
  }
  const url = new URL(server.adminUrl);
  url.pathname = `/${name}`;
  let stopped = false;
  return {
    url: url.toString(),
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        // FORCE ends connections a test forgot to close (PostgreSQL 13+).
        await admin(server.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      } finally {
        await release();
      }
    },
  };
}
