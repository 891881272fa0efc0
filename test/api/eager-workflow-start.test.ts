/**
 * Eager workflow start (TEMPORAL_EAGER_WORKFLOW_START) in the setup `npm start` runs: the embedded dev server, the
 * booking worker and the API in one process, wired as src/main.ts wires them (sharedProcessClient, createBookingWorker,
 * startApi). On, a booking created through the API is started eagerly: its history's start event says the server
 * accepted eager execution, and its first workflow task ran at once (no time-out, no matching); off, the API never asks
 * (the dev server's counter of eager requests stays at 0). Idempotent creates and REJECT_DUPLICATE answer as before
 * with it on, and a refused duplicate start gives back the worker slot it reserved.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import pino from 'pino';
import { createBookingService } from '../../src/bookings/booking-service';
import { loadConfig, type Config } from '../../src/config';
import { sharedProcessClient, startApi, type RunningApi, type SharedProcessClient } from '../../src/server';
import type { Db } from '../../src/store/db';
import { openMemoryDb } from '../../src/store/open-db';
import { connectionOptions } from '../../src/temporal/connection';
import { freePort, startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { createBookingWorker } from '../../src/worker';
import { installTestRuntime, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';

const API_KEY = 'eager-start-key';
const silentLog = { info: () => undefined, warn: () => undefined };

/** One engine as npm start runs it, on its own task queue of the shared dev server. */
interface Engine {
  config: Config;
  taskQueue: string;
  shared: SharedProcessClient;
  api: RunningApi;
  stop(): Promise<void>;
}

let dataDir: string;
let devServer: DevServer;
let metricsPort: number;
let db: Db;
let bundlePath: string;
let on: Engine;
let off: Engine;
let page: { id: string };

async function startEngine(eager: boolean): Promise<Engine> {
  const taskQueue = uniqueTaskQueue(`eager-start-${eager ? 'on' : 'off'}`);
  const config = loadConfig({
    DATA_DIR: dataDir,
    TEMPORAL_ADDRESS: devServer.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    TEMPORAL_EAGER_WORKFLOW_START: String(eager),
    API_KEYS: API_KEY,
    API_PORT: '0',
    METRICS_PORT: 'off',
    WORKER_METRICS_PORT: 'off',
    WORKER_SDK_METRICS_PORT: 'off',
    SALESFORCE_MODE: 'off',
    LOG_LEVEL: 'warn',
  });
  const opts = connectionOptions(config);
  const native = await NativeConnection.connect(opts);
  const shared = await sharedProcessClient(config, native, opts);
  const worker: Worker = await createBookingWorker(
    { config, connection: native, client: shared.client, db },
    { codePath: bundlePath, prebuilt: true, release: () => undefined },
  );
  const running = worker.run();
  const api = await startApi({ config, db, temporal: shared.client, logger: pino({ level: 'silent' }), eagerWorkflowStart: shared.eagerWorkflowStart });
  return {
    config,
    taskQueue,
    shared,
    api,
    async stop() {
      await api.close();
      worker.shutdown();
      await running;
      await shared.close();
      await native.close();
    },
  };
}

async function call(e: Engine, method: string, url: string, body?: object, headers: Record<string, string> = {}) {
  const res = await fetch(`${e.api.url}${url}`, {
    method,
    headers: { 'api-key': API_KEY, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const inHours = (h: number) => new Date(Date.now() + h * 3600_000).toISOString();
const newBooking = (overrides: Record<string, unknown> = {}) => ({
  booking_page_id: page.id,
  starting_time: inHours(48),
  duration_minutes: 30,
  customer_timezone: 'Europe/Paris',
  form_submission: { name: 'Carol Customer', email: 'carol@example.com' },
  ...overrides,
});

/**
 * How the booking's first workflow task reached the worker: `eager` when the start event records that the server
 * accepted eager execution (the task went back in the start's answer), and the history's first four event types.
 */
async function firstTask(e: Engine, id: string): Promise<{ eager: boolean; events: string[] }> {
  const events = (await e.shared.client.workflow.getHandle(id).fetchHistory()).events ?? [];
  const EventType = temporal.api.enums.v1.EventType;
  return {
    eager: events[0]?.workflowExecutionStartedEventAttributes?.eagerExecutionAccepted === true,
    events: events.slice(0, 4).map((x) => EventType[x.eventType ?? 0].replace('EVENT_TYPE_', '')),
  };
}

const RAN_AT_ONCE = ['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED', 'WORKFLOW_TASK_COMPLETED'];

/**
 * The dev server's counters of eager workflow start requests on a task queue: those it let through (also counted when
 * the start is then refused as a duplicate), and those it denied (any reason).
 */
async function eagerStarts(taskQueue: string): Promise<{ eager: number; denied: number }> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  // The server's exporter writes the task queue's `-` as `_`.
  const label = `taskqueue="${taskQueue.replace(/[^A-Za-z0-9_]/g, '_')}"`;
  const sum = (name: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) && l.includes(label))
      .reduce((n, l) => n + Number(l.trim().split(/\s+/).pop()), 0);
  return { eager: sum('workflow_eager_execution'), denied: sum('workflow_eager_execution_denied') };
}

/** Waits until the on side's count reaches `eager` (the server reports about once a second); then reads both sides. */
async function countsWhenOnReaches(eager: number) {
  for (let attempt = 0; attempt < 30; attempt++) {
    if ((await eagerStarts(on.taskQueue)).eager >= eager) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { on: await eagerStarts(on.taskQueue), off: await eagerStarts(off.taskQueue) };
}

/** Waits for the booking's first workflow task to have run: its booking.scheduled event is in its view. */
async function scheduledEvent(e: Engine, id: string): Promise<string[]> {
  let types: string[] = [];
  for (let attempt = 0; attempt < 50 && types.length === 0; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 200));
    const res = await call(e, 'GET', `/v2/bookings/${id}/events`);
    types = res.status === 200 ? (res.body.data as { type: string }[]).map((x) => x.type) : [];
  }
  return types;
}

beforeAll(async () => {
  installTestRuntime();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-eager-start-'));
  metricsPort = await freePort();
  devServer = await startDevServer({ config: loadConfig({ DATA_DIR: dataDir, TEMPORAL_DEV_PORT: '0', TEMPORAL_UI_PORT: '0' }), log: silentLog, metricsPort });
  db = await openMemoryDb();
  bundlePath = path.join(dataDir, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, (await workflowBundle()).code);
  on = await startEngine(true);
  off = await startEngine(false);
  const owner = await call(on, 'POST', '/v2/users', { name: 'Alice', email: 'alice@example.com', timezone: 'Europe/London' });
  page = (await call(on, 'POST', '/v2/booking-pages', { name: 'Intro', owner_user_id: owner.body.id, mode: 'automatic' })).body as { id: string };
});

afterAll(async () => {
  await on?.stop();
  await off?.stop();
  await db?.close();
  await devServer?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('TEMPORAL_EAGER_WORKFLOW_START is on by default; only then does the API share the worker connection', async () => {
  expect(loadConfig({}).temporal.eagerWorkflowStart).toBe(true);
  expect(loadConfig({ TEMPORAL_EAGER_WORKFLOW_START: 'false' }).temporal.eagerWorkflowStart).toBe(false);
  expect(() => loadConfig({ TEMPORAL_EAGER_WORKFLOW_START: 'maybe' })).toThrow(/TEMPORAL_EAGER_WORKFLOW_START/);
  expect(on.shared.eagerWorkflowStart).toBe(true);
  expect(off.shared.eagerWorkflowStart).toBe(false);
  expect(on.shared.client.connection).toBeInstanceOf(NativeConnection);
  expect(off.shared.client.connection).not.toBeInstanceOf(NativeConnection);
});

test('a booking created through the API is started eagerly with the setting on, through matching with it off', async () => {
  const a = await call(on, 'POST', '/v2/bookings', newBooking());
  const b = await call(off, 'POST', '/v2/bookings', newBooking());
  expect([a.status, b.status]).toEqual([201, 201]);
  expect(await scheduledEvent(on, a.body.id)).toEqual(['booking.scheduled']);
  expect(await scheduledEvent(off, b.body.id)).toEqual(['booking.scheduled']);
  expect(await firstTask(on, a.body.id)).toEqual({ eager: true, events: RAN_AT_ONCE });
  expect(await firstTask(off, b.body.id)).toEqual({ eager: false, events: RAN_AT_ONCE });
  expect(await countsWhenOnReaches(1)).toEqual({ on: { eager: 1, denied: 0 }, off: { eager: 0, denied: 0 } });
});

test('with it on, Idempotency-Key and REJECT_DUPLICATE answer as before, and a refused start frees the slot it took', async () => {
  // A create retried under its key gets the first booking; the same key with another body is a 409.
  const key = `eager-${Date.now()}`;
  const payload = newBooking();
  const first = await call(on, 'POST', '/v2/bookings', payload, { 'idempotency-key': key });
  const again = await call(on, 'POST', '/v2/bookings', payload, { 'idempotency-key': key });
  const other = await call(on, 'POST', '/v2/bookings', { ...payload, duration_minutes: 45 }, { 'idempotency-key': key });
  expect([first.status, again.status, other.status]).toEqual([201, 200, 409]);
  expect(again.body.id).toBe(first.body.id);
  expect(other.body.param).toBe('Idempotency-Key');

  // A package retried under its key starts its sessions again: each start is refused (REJECT_DUPLICATE) and read.
  const { booking_page_id, customer_timezone, form_submission } = newBooking();
  const pkg = { booking_page_id, customer_timezone, form_submission, sessions: [24, 48].map((h) => ({ starting_time: inHours(h), duration_minutes: 60 })) };
  const p1 = await call(on, 'POST', '/v2/bookings/packages', pkg, { 'idempotency-key': `pkg-${key}` });
  const p2 = await call(on, 'POST', '/v2/bookings/packages', pkg, { 'idempotency-key': `pkg-${key}` });
  expect([p1.status, p2.status]).toEqual([201, 200]);
  expect(p2.body.bookings.map((x: { id: string }) => x.id)).toEqual(p1.body.bookings.map((x: { id: string }) => x.id));

  // More refused eager starts than the worker has workflow task slots (each reserves one before asking): had any
  // kept its slot, the next booking could not be started eagerly, nor its task run.
  const service = createBookingService({ config: on.config, db, temporal: on.shared.client, eagerWorkflowStart: true });
  const input = await service.buildInput(payload, { bookingId: first.body.id });
  for (let i = 0; i < on.config.worker.maxConcurrentWorkflowTaskExecutions + 5; i++) {
    await expect(service.start(input)).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
  }
  const last = await call(on, 'POST', '/v2/bookings', newBooking());
  expect(last.status).toBe(201);
  expect(await scheduledEvent(on, last.body.id)).toEqual(['booking.scheduled']);
  for (const id of [first.body.id, ...p1.body.bookings.map((x: { id: string }) => x.id), last.body.id]) {
    expect(await firstTask(on, id)).toEqual({ eager: true, events: RAN_AT_ONCE });
  }
});
