/**
 * `npm start`'s process tree for real, as a user runs it: dev server + PGlite + Salesforce stand-in +
 * worker + API in one child process on free ports. A booking made over HTTP reaches a webhook receiver
 * (signature checked with the `standardwebhooks` package) and Salesforce; the process stops on SIGTERM;
 * a second start on the same data finds the open booking; headless Chromium finds it in the Temporal UI
 * filtered by BookingStatus. Last, every history on that dev server replays against the current workflow code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Webhook } from 'standardwebhooks';
import { freePort } from '../../src/temporal/dev-server';
import { isValidOncehubSignature } from '../../src/webhooks/verify';
import { replayEveryHistory } from '../helpers/replay-gate';
import { openBookingInUi } from '../helpers/temporal-ui';

const ROOT = path.join(__dirname, '..', '..');
const API_KEY = 'e2e-key';
let dataDir: string;
let ports: { api: number; dev: number; ui: number; sf: number };
let proc: ChildProcess | null = null;
let output = '';

function startEngine(): Promise<void> {
  output = '';
  proc = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      API_PORT: String(ports.api),
      API_KEYS: API_KEY,
      TEMPORAL_DEV_PORT: String(ports.dev),
      TEMPORAL_UI_PORT: String(ports.ui),
      // 0: the stand-in takes a free port, and the connector must follow it there (the sync below proves it).
      SALESFORCE_STANDIN_PORT: '0',
      LOG_LEVEL: 'warn',
      TEMPORAL_ADDRESS: '',
      DATABASE_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`engine did not start in 120 s:\n${output}`)), 120_000);
    const check = setInterval(() => {
      if (output.includes('Press Ctrl-C to stop')) {
        ports.sf = Number(/stand-in at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1] ?? NaN);
        clearInterval(check);
        clearTimeout(timer);
        resolve();
      }
    }, 100);
    proc!.once('exit', (code) => {
      clearInterval(check);
      clearTimeout(timer);
      reject(new Error(`engine exited with ${code}:\n${output}`));
    });
  });
}

function stopEngine(): Promise<number | null> {
  const p = proc;
  proc = null;
  if (!p || p.exitCode !== null) return Promise.resolve(p?.exitCode ?? null);
  return new Promise((resolve) => {
    p.removeAllListeners('exit');
    p.once('exit', (code) => resolve(code));
    p.kill('SIGTERM');
  });
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

interface Arrival {
  headers: http.IncomingHttpHeaders;
  body: string;
}
const arrivals: Arrival[] = [];
let receiver: http.Server;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-e2e-'));
  ports = { api: await freePort(), dev: await freePort(), ui: await freePort(), sf: NaN };
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      arrivals.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  await startEngine();
}, 180_000);

afterAll(async () => {
  await stopEngine();
  await new Promise((r) => receiver.close(r));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('a booking made through the API is delivered, synced, survives a restart and shows in the UI', async () => {
  expect(output).toContain(`Temporal UI:  http://127.0.0.1:${ports.ui}`);
  expect(output).toMatch(new RegExp(`Temporal CLI: npm run temporal -- workflow list   \\(/\\S+/temporal, pointed at 127\\.0\\.0\\.1:${ports.dev}\\)`));
  expect(ports.sf).toBeGreaterThan(0);
  expect(output).toContain(`Salesforce:   stand-in at http://127.0.0.1:${ports.sf}, client id standin-client, secret standin-secret`);
  const user = await api('POST', '/v2/users', { name: 'Alice', email: 'alice@example.com', timezone: 'Europe/London' });
  const page = await api('POST', '/v2/booking-pages', {
    name: 'Sales call',
    owner_user_id: user.body.id,
    salesforce: { connected: true, create_activity_event: true, relate_to: 'lead', create_missing_record: true },
  });
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  const sub = await api('POST', '/v2/webhooks', { name: 'e2e', url: receiverUrl, events: ['booking'] });
  expect(sub.status).toBe(201);
  const secret = sub.body.secret as string;

  const booking = await api('POST', '/v2/bookings', {
    booking_page_id: page.body.id,
    starting_time: new Date(Date.now() + 24 * 3600_000).toISOString(),
    duration_minutes: 30,
    customer_timezone: 'Europe/Paris',
    form_submission: { name: 'Carol Customer', email: 'carol@example.com', company: 'Acme' },
  });
  expect(booking.status).toBe(201);
  const id = booking.body.id as string;

  // The webhook arrives, signed both ways.
  const arrival = await until('the booking.scheduled webhook', async () => arrivals.find((a) => JSON.parse(a.body).data.id === id));
  const envelope = JSON.parse(arrival.body);
  expect(envelope).toMatchObject({ object: 'event', type: 'booking.scheduled', api_version: 'v2', data: { id, status: 'scheduled' } });
  expect(arrival.headers['webhook-id']).toBe(envelope.id);
  const verified = new Webhook(Buffer.from(secret, 'utf8').toString('base64')).verify(arrival.body, {
    'webhook-id': String(arrival.headers['webhook-id']),
    'webhook-timestamp': String(arrival.headers['webhook-timestamp']),
    'webhook-signature': String(arrival.headers['webhook-signature']),
  });
  expect(verified).toMatchObject({ id: envelope.id });
  expect(isValidOncehubSignature({ header: String(arrival.headers['oncehub-signature']), rawBody: arrival.body, secret })).toBe(true);

  // The Salesforce stand-in got the Activity Event.
  const synced = await until('the Salesforce sync', async () => {
    const b = await api('GET', `/v2/bookings/${id}`);
    return b.body.lifecycle.salesforce.state === 'synced' ? b.body : undefined;
  });
  expect(synced.lifecycle.salesforce.activity_event_id).toMatch(/^00U/);

  // Stop cleanly, start again on the same data: the open booking is still there and still waiting.
  expect(await stopEngine()).toBe(0);
  // The ordered stop ran alone: the SDK did not also shut the worker down on the same signal.
  expect(output).not.toMatch(/error while stopping|Not running|Cannot close connection/);
  await startEngine();
  const after = await api('GET', `/v2/bookings/${id}`);
  expect(after.status).toBe(200);
  expect(after.body).toMatchObject({ id, status: 'scheduled', lifecycle: { closed: false } });
  const hooks = await api('GET', `/v2/webhooks/${sub.body.id}/deliveries?status=succeeded`);
  expect(hooks.body.data.length).toBeGreaterThanOrEqual(1);

  // Headless Chromium opens the Temporal UI, filters by BookingStatus and finds the booking; the run's page shows its
  // summary (owner and detailed status) without opening the history.
  await openBookingInUi({
    uiUrl: `http://127.0.0.1:${ports.ui}`,
    namespace: 'default',
    query: 'BookingStatus="scheduled"',
    bookingId: id,
    expectText: 'Scheduled (By customer)',
    screenshotPath: path.join(dataDir, 'ui.png'),
  });
}, 300_000);

test('npm run demo walks a booking to booking.completed, and a second run reuses its user, page and subscription', async () => {
  const receiverPort = await freePort();
  const runDemo = () =>
    new Promise<string>((resolve, reject) => {
      let out = '';
      const child = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'src', 'demo', 'main.ts')], {
        cwd: ROOT,
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: '',
          DATABASE_URL: '',
          DEMO_API_URL: `http://127.0.0.1:${ports.api}`,
          DEMO_API_KEY: API_KEY,
          DEMO_UI_URL: `http://127.0.0.1:${ports.ui}`,
          DEMO_RECEIVER_PORT: String(receiverPort),
          // A short lead keeps the test short; the one-minute meeting is the demo's own.
          DEMO_LEAD_SECONDS: '6',
          DEMO_SHIFT_SECONDS: '4',
          SALESFORCE_STANDIN_PORT: String(ports.sf),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`demo exited with ${code}:\n${out}`))));
    });
  const ids = (out: string, label: string) => new RegExp(`^${label}\\s+(\\S+)`, 'm').exec(out)?.[1];

  const first = await runDemo();
  const bookingId = ids(first, 'booked');
  expect(bookingId).toMatch(/^BKNG-/);
  for (const type of ['booking.scheduled', 'booking.rescheduled', 'booking.completed']) {
    expect(first).toMatch(new RegExp(`<- webhook\\s+${type.replace('.', '\\.')}\\s+EVNT-\\S+\\s+signatures: Oncehub-Signature ok, Standard Webhooks ok`));
  }
  // The timeline, the stand-in's Event and the UI link of this booking.
  expect(first).toMatch(new RegExp(`timeline of ${bookingId}:\\n(  \\S+  booking\\.\\w+\\n){3,}`));
  expect(first).toMatch(/Salesforce Event 00U\w+ \(http:\/\/127\.0\.0\.1:\d+\):/);
  expect(first).toMatch(/Event_Status__c\s+Completed/);
  expect(first).toContain(`Temporal UI    http://127.0.0.1:${ports.ui}/namespaces/default/workflows/${bookingId}`);
  const b = await api('GET', `/v2/bookings/${bookingId}`);
  expect(b.body).toMatchObject({ status: 'completed' });

  const second = await runDemo();
  for (const label of ['user', 'booking page', 'subscription']) expect(ids(second, label)).toBe(ids(first, label));
  expect(ids(second, 'booked')).not.toBe(bookingId);
  expect(second).toMatch(/<- webhook\s+booking\.completed/);
  const subs = await api('GET', '/v2/webhooks?limit=100');
  expect(subs.body.data.filter((w: { name: string }) => w.name === 'npm run demo')).toHaveLength(1);
}, 400_000);

test('npm run temporal runs the CLI against the engine\'s dev server (TEMPORAL_DEV_PORT), passing its arguments on', async () => {
  const bookings = await api('GET', '/v2/bookings?limit=1');
  const id = bookings.body.data[0].id as string;
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'src', 'temporal', 'cli-main.ts'), 'workflow', 'describe', '--workflow-id', id, '-o', 'json'],
      { cwd: ROOT, env: { ...process.env, TEMPORAL_ADDRESS: '', TEMPORAL_DEV_PORT: String(ports.dev) }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}: ${text}`))));
  });
  expect(JSON.parse(out)).toMatchObject({ workflowExecutionInfo: { execution: { workflowId: id }, type: { name: 'bookingWorkflow' } } });
});

test('every history on the server replays against the current workflow code', async () => {
  // The engine started above is still running: its dev server holds every workflow the test made, on both starts.
  const connection = await Connection.connect({ address: `127.0.0.1:${ports.dev}` });
  try {
    const gate = await replayEveryHistory(new Client({ connection }), { label: 'e2e' });
    expect(gate.failures).toEqual([]);
    expect(gate.replayed).toBeGreaterThan(0);
  } finally {
    await connection.close();
  }
});
