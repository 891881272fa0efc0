/**
 * `npm run cluster` for real, as a user runs it, in a temporary DATA_DIR on free ports: PostgreSQL, the four Temporal
 * services, the Web UI server, the stand-in, two workers and the API as separate processes. A booking made over HTTP
 * is found by a list query on BookingStatus (SQL visibility) through the frontend, the API and the UI server; SIGTERM
 * stops every process in reverse order and leaves none behind; a second start finds the booking; every history
 * replays; and a cluster whose own process is SIGKILLed still takes all its processes with it (the watchdog), the
 * next start taking over its lock.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { replayEveryHistory } from '../helpers/replay-gate';
import { alive, ClusterRun, descendants, until } from './cluster-run';

const API_KEY = 'cluster-key';
const NAMESPACE = 'default';
let cluster: ClusterRun;
let dataDir: string;
let ports: ClusterRun['ports'];
let output = '';

const startCluster = async (): Promise<void> => {
  try {
    await cluster.start();
  } finally {
    output = cluster.output;
  }
};
const stopCluster = async (signal?: NodeJS.Signals): Promise<number | null> => {
  const code = await cluster.stop(signal);
  output = cluster.output;
  return code;
};
const api = (method: string, url: string, body?: unknown) => cluster.api(method, url, body);

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
  cluster = await ClusterRun.create({ apiKey: API_KEY });
  ({ dataDir, ports } = cluster);
});

afterAll(async () => {
  await cluster.dispose();
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
  const tree = descendants(cluster.proc!.pid!);
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
  expect(cluster.proc).not.toBeNull();
  const tree = descendants(cluster.proc!.pid!);
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
