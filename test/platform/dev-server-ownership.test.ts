/**
 * The dev server belongs to the engine that started it: it dies with that engine even on SIGKILL, a second engine
 * on the same DATA_DIR refuses to start, and a port held by another server (a previous engine's orphan) fails the
 * start instead of being adopted. Real processes throughout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../../src/config';
import { resolveTemporalCli } from '../../src/temporal/binaries';
import { LOCK_FILE_NAME, processAlive } from '../../src/temporal/data-dir-lock';
import { freePort, startDevServer, type DevServer } from '../../src/temporal/dev-server';

const ROOT = path.resolve(__dirname, '..', '..');
const OWNER = path.join(__dirname, 'dev-server-owner.ts');
const silentLog = { info: () => undefined, warn: () => undefined };

let tmp: string;
const children: ChildProcess[] = [];
const servers: DevServer[] = [];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-ownership-'));
});

afterAll(async () => {
  for (const s of servers) await s.stop().catch(() => undefined);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Starts dev-server-owner.ts on `dataDir` and resolves with its dev server's pid and address. */
function startOwner(dataDir: string): Promise<{ owner: ChildProcess; pid: number; address: string }> {
  const owner = spawn(process.execPath, ['--import', 'tsx', OWNER], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, TEMPORAL_DEV_PORT: '0', TEMPORAL_UI_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(owner);
  let out = '';
  let err = '';
  owner.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    owner.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ owner, ...(JSON.parse(line) as { pid: number; address: string }) });
    });
    owner.once('exit', (code) => reject(new Error(`the owner exited (${code}) before its dev server was ready:\n${err}`)));
  });
}

async function waitUntil(what: string, ok: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!ok()) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - started;
}

test('a second engine on the same DATA_DIR refuses to start, naming the engine that holds it', async () => {
  const dataDir = path.join(tmp, 'shared');
  const { owner, pid } = await startOwner(dataDir);
  const config = loadConfig({ DATA_DIR: dataDir, TEMPORAL_DEV_PORT: '0', TEMPORAL_UI_PORT: '0' });
  await expect(startDevServer({ config, log: silentLog })).rejects.toThrow(
    new RegExp(`DATA_DIR ${dataDir} is in use by another engine \\(pid ${owner.pid} .*its Temporal dev server is pid ${pid}\\)`),
  );
  // The refusal left the first engine's lock and server alone.
  expect(JSON.parse(fs.readFileSync(path.join(dataDir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({ pid: owner.pid, devServerPid: pid });
  expect(processAlive(pid)).toBe(true);
  owner.kill('SIGTERM');
});

test('SIGKILL of the engine alone takes its dev server down within seconds; the next start takes the data over', async () => {
  const dataDir = path.join(tmp, 'crash');
  const { owner, pid, address } = await startOwner(dataDir);
  expect(processAlive(pid)).toBe(true);
  owner.kill('SIGKILL'); // what the out-of-memory killer does: the engine only, not its process tree
  const gone = await waitUntil(`dev server pid ${pid} gone after its engine was SIGKILLed`, () => !processAlive(pid), 15_000);
  console.log(`dev server gone ${gone} ms after its engine was SIGKILLed`);
  // Its port is free again, and the stale lock does not stop the next engine.
  const config = loadConfig({ DATA_DIR: dataDir, TEMPORAL_DEV_PORT: address.split(':')[1], TEMPORAL_UI_PORT: '0' });
  const server = await startDevServer({ config, log: silentLog });
  servers.push(server);
  expect(server.address).toBe(address);
  expect(JSON.parse(fs.readFileSync(path.join(dataDir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({ pid: process.pid, devServerPid: server.pid });
  await server.stop();
  expect(fs.existsSync(path.join(dataDir, LOCK_FILE_NAME))).toBe(false);
});

test('a gRPC port held by another Temporal server fails the start instead of adopting that server', async () => {
  // Another dev server (no data file) on the port, as an orphan of an earlier engine would be.
  const port = await freePort();
  const other = spawn(await resolveTemporalCli(), ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error'], {
    stdio: 'ignore',
  });
  children.push(other);
  for (let attempt = 0; ; attempt++) {
    try {
      const c = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1000 });
      await c.workflowService.describeNamespace({ namespace: 'default' });
      await c.close();
      break;
    } catch (err) {
      if (attempt > 100 || other.exitCode !== null) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const dataDir = path.join(tmp, 'port-taken');
  const config = loadConfig({ DATA_DIR: dataDir, TEMPORAL_DEV_PORT: String(port), TEMPORAL_UI_PORT: '0' });
  await expect(startDevServer({ config, log: silentLog })).rejects.toThrow(
    new RegExp(`gRPC port ${port} \\(TEMPORAL_DEV_PORT\\) on 127.0.0.1 is already in use by another process`),
  );
  // Nothing of this engine is left: no lock, no SQLite file.
  expect(fs.existsSync(path.join(dataDir, LOCK_FILE_NAME))).toBe(false);
  expect(fs.existsSync(path.join(dataDir, 'temporal.sqlite'))).toBe(false);
  other.kill('SIGTERM');
});

test('a Web UI port held by another process fails the start, naming TEMPORAL_UI_PORT', async () => {
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const uiPort = (holder.address() as net.AddressInfo).port;
  try {
    const config = loadConfig({ DATA_DIR: path.join(tmp, 'ui-taken'), TEMPORAL_DEV_PORT: '0', TEMPORAL_UI_PORT: String(uiPort) });
    await expect(startDevServer({ config, log: silentLog })).rejects.toThrow(
      new RegExp(`Web UI port ${uiPort} \\(TEMPORAL_UI_PORT\\) on 127.0.0.1 is already in use by another process`),
    );
  } finally {
    holder.close();
  }
});
