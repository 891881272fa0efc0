/**
 * `npm run cluster` for real, as a user runs it, in a temporary DATA_DIR on free ports: PostgreSQL, the four Temporal
 * services, the Web UI server, the stand-in, two workers and the API as separate processes. A booking made over HTTP
 * is found by a list query on BookingStatus (SQL visibility) through the frontend, the API and the UI server; SIGTERM
 * stops every process in reverse order and leaves none behind; a second start finds the booking; every history
 * replays; and a cluster whose own process is SIGKILLed still takes all its processes with it (the watchdog), the
 * next start taking over its lock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { PORT_SETTINGS, type ClusterPorts } from '../../src/cluster/settings';
import { freePort } from '../../src/temporal/dev-server';
import { replayEveryHistory } from '../helpers/replay-gate';

const ROOT = path.join(__dirname, '..', '..');
const API_KEY = 'cluster-key';
const NAMESPACE = 'default';
let dataDir: string;
let ports: ClusterPorts;
let proc: ChildProcess | null = null;
let output = '';

function startCluster(): Promise<void> {
  output = '';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    API_KEYS: API_KEY,
    CLUSTER_WORKERS: '2',
    TEMPORAL_NAMESPACE: NAMESPACE,
    TEMPORAL_ADDRESS: '',
    DATABASE_URL: '',
  };
  for (const [key, s] of Object.entries(PORT_SETTINGS)) env[s.variable] = String(ports[key as keyof ClusterPorts]);
  proc = spawn('npm', ['run', 'cluster'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cluster did not start in 240 s:\n${output}`)), 240_000);
    const check = setInterval(() => {
      if (output.includes('Press Ctrl-C to stop')) {
        clearInterval(check);
        clearTimeout(timer);
        console.log(output.match(/^Booking lifecycle engine is running.*$/m)?.[0]);
        resolve();
      }
    }, 100);
    proc!.once('exit', (code) => {
      clearInterval(check);
      clearTimeout(timer);
      reject(new Error(`cluster exited with ${code}:\n${output}`));
    });
  });
}

function stopCluster(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  const p = proc;
  proc = null;
  if (!p || p.exitCode !== null) return Promise.resolve(p?.exitCode ?? null);
  return new Promise((resolve) => {
    p.removeAllListeners('exit');
    p.once('exit', (code) => resolve(code));
    p.kill(signal);
  });
}

/** State letter and parent pid of a process, or null once it is gone. */
function stat(pid: number): { state: string; ppid: number; cmdline: string } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    return { state, ppid: Number(ppid), cmdline };
  } catch {
    return null;
  }
}

/** Every live descendant of `root`, with its command line. */
function descendants(root: number): Map<number, string> {
  const children = new Map<number, number[]>();
  const cmd = new Map<number, string>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (!s || s.state === 'Z') continue;
    cmd.set(Number(entry), s.cmdline);
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), Number(entry)]);
  }
  const out = new Map<number, string>();
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      out.set(c, cmd.get(c) ?? '');
      walk(c);
    }
  };
  walk(root);
  return out;
}

function alive(pids: Iterable<number>): number[] {
  return [...pids].filter((p) => {
    const s = stat(p);
    return s !== null && s.state !== 'Z' && s.state !== 'X';
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function api(method: string, url: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${ports.api}${url}`, {
    method,
    headers: { 'api-key': API_KEY, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads arbitrary JSON
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function listByStatus(status: string): Promise<string[]> {
  const connection = await Connection.connect({ address: `127.0.0.1:${ports.frontend}` });
  try {
    const r = await connection.workflowService.listWorkflowExecutions({ namespace: NAMESPACE, query: `BookingStatus = "${status}"` });
    return (r.executions ?? []).map((e) => e.execution?.workflowId ?? '');
  } finally {
    await connection.close();
  }
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-cluster-'));
  // mkdtemp makes it 0700; PostgreSQL runs as the postgres user when the tests run as root, and must enter it.
  fs.chmodSync(dataDir, 0o755);
  // Membership ports must stay under 32768 (Temporal keeps them in a SMALLINT), below the range freePort() picks
  // from: 0 lets the cluster pick them at each start.
  const picked: Partial<ClusterPorts> = {};
  for (const [key, s] of Object.entries(PORT_SETTINGS) as [keyof ClusterPorts, { max?: number }][]) {
    picked[key] = s.max === undefined ? await freePort() : 0;
  }
  ports = picked as ClusterPorts;
});

afterAll(async () => {
  await stopCluster();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

let bookingId: string;

test('a booking through the API is listed by SQL visibility and the UI, SIGTERM stops every process, a restart finds it', async () => {
  await startCluster();
  expect(output).toContain(`API:          http://127.0.0.1:${ports.api}   (header API-Key: ${API_KEY})`);
  expect(output).toContain(`OpenAPI:      http://127.0.0.1:${ports.api}/v2/openapi.json`);
  expect(output).toContain(`Temporal:     127.0.0.1:${ports.frontend} (namespace ${NAMESPACE}`);
  expect(output).toContain(`Temporal UI:  http://127.0.0.1:${ports.ui}`);
  expect(output).toContain(`Salesforce:   stand-in at http://127.0.0.1:${ports.salesforceStandin}`);
  expect(output).toContain(`Data:         ${dataDir}`);
  for (const name of ['postgres', 'temporal-history', 'temporal-matching', 'temporal-frontend', 'temporal-worker', 'temporal-ui', 'worker-1', 'worker-2', 'api']) {
    expect(output).toMatch(new RegExp(`cluster: ${name} +ready in`));
    expect(fs.existsSync(path.join(dataDir, 'cluster', 'logs', `${name}.log`))).toBe(true);
  }

  const user = await api('POST', '/v2/users', { name: 'Alice', email: 'alice@example.com', timezone: 'Europe/London' });
  const page = await api('POST', '/v2/booking-pages', {
    name: 'Sales call',
    owner_user_id: user.body.id,
    salesforce: { connected: true, create_activity_event: true, relate_to: 'lead', create_missing_record: true },
  });
  expect(page.status).toBe(201);
  const booking = await api('POST', '/v2/bookings', {
    booking_page_id: page.body.id,
    starting_time: new Date(Date.now() + 24 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    duration_minutes: 30,
    customer_timezone: 'Europe/Paris',
    form_submission: { name: 'Carol Customer', email: 'carol@example.com' },
  });
  expect(booking.status).toBe(201);
  bookingId = booking.body.id as string;

  // SQL visibility: a list query on the custom search attribute, straight to the frontend, and through the API.
  await until('the booking in a BookingStatus list query', async () => ((await listByStatus('scheduled')).includes(bookingId) ? true : undefined));
  const listed = await api('GET', `/v2/bookings?status=scheduled&owner_user_id=${user.body.id as string}`);
  expect(listed.body.data.map((b: { id: string }) => b.id)).toContain(bookingId);
  // A worker synced it to the stand-in.
  await until('the Salesforce sync', async () => {
    const b = await api('GET', `/v2/bookings/${bookingId}`);
    return b.body.lifecycle.salesforce.state === 'synced' ? true : undefined;
  });

  // The UI server answers: its page, and its API proxying the same query to the frontend.
  const page1 = await fetch(`http://127.0.0.1:${ports.ui}/`);
  expect(page1.status).toBe(200);
  expect(await page1.text()).toMatch(/<html/i);
  const uiList = await fetch(
    `http://127.0.0.1:${ports.ui}/api/v1/namespaces/${NAMESPACE}/workflows?query=${encodeURIComponent('BookingStatus="scheduled"')}`,
  );
  expect(uiList.status).toBe(200);
  expect(JSON.stringify(await uiList.json())).toContain(bookingId);

  // Every process of the cluster, seen from the outside.
  const tree = descendants(proc!.pid!);
  const commands = [...tree.values()];
  expect(commands.filter((c) => /temporal-server .*start --service (frontend|history|matching|worker)$/.test(c))).toHaveLength(4);
  expect(commands.some((c) => /postgres -D .*cluster\/postgres/.test(c))).toBe(true);
  expect(commands.some((c) => /temporal-ui-server/.test(c))).toBe(true);
  expect(commands.filter((c) => /npm(-cli\.js)? run worker/.test(c))).toHaveLength(2);

  expect(await stopCluster()).toBe(0);
  const stopped = [...output.matchAll(/cluster: (\S+) +stopped in/g)].map((m) => m[1]);
  expect(stopped).toEqual([
    'api',
    'worker-2',
    'worker-1',
    'salesforce-standin',
    'temporal-ui',
    'temporal-worker',
    'temporal-frontend',
    'temporal-matching',
    'temporal-history',
    'postgres',
  ]);
  expect(alive(tree.keys())).toEqual([]);
  expect(fs.existsSync(path.join(dataDir, 'cluster', 'pids'))).toBe(false);
  expect(fs.existsSync(path.join(dataDir, 'cluster', 'cluster.lock'))).toBe(false);

  // A second start on the same data: schemas already current, namespace found, the booking still open.
  await startCluster();
  expect(output).toMatch(/namespace default found, search attributes present/);
  const after = await api('GET', `/v2/bookings/${bookingId}`);
  expect(after).toMatchObject({ status: 200, body: { id: bookingId, status: 'scheduled', lifecycle: { closed: false } } });
  expect(await listByStatus('scheduled')).toContain(bookingId);
}, 600_000);

test('every history on the cluster replays against the current workflow code', async () => {
  const connection = await Connection.connect({ address: `127.0.0.1:${ports.frontend}` });
  try {
    const gate = await replayEveryHistory(new Client({ connection, namespace: NAMESPACE }), { label: 'cluster' });
    expect(gate.failures).toEqual([]);
    expect(gate.replayed).toBeGreaterThan(0);
  } finally {
    await connection.close();
  }
}, 120_000);

test('a SIGKILLed cluster process takes every process of the cluster with it', async () => {
  expect(proc).not.toBeNull();
  const tree = descendants(proc!.pid!);
  const main = [...tree.entries()].find(([, c]) => /src\/cluster\/main\.ts/.test(c) && !/tsx\/dist\/cli|\.bin\/tsx/.test(c));
  expect(main).toBeDefined();
  process.kill(main![0], 'SIGKILL');
  await until('every process of the cluster to be gone', async () => (alive(tree.keys()).length === 0 ? true : undefined), 60_000);
  expect(await stopCluster()).not.toBe(0);
  expect(fs.existsSync(path.join(dataDir, 'cluster', 'pids'))).toBe(false);

  // The dead run's lock is stale: the next start takes it over and finds the booking.
  expect(fs.existsSync(path.join(dataDir, 'cluster', 'cluster.lock'))).toBe(true);
  await startCluster();
  expect((await api('GET', `/v2/bookings/${bookingId}`)).body).toMatchObject({ id: bookingId, status: 'scheduled' });
  expect(await stopCluster()).toBe(0);
}, 300_000);
