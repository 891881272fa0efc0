/**
 * One trace per booking, across processes. The API (`src/server.ts`, the `npm run api` entry) and the worker
 * (`src/worker.ts`, `npm run worker`) run as two child processes with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a real
 * OTLP/HTTP receiver on loopback (the API exports JSON, the worker protobuf), on a dev server, PostgreSQL and the
 * Salesforce stand-in. One booking made with POST /v2/bookings reaches a subscriber that answers 503 once (so its
 * delivery goes on in a delivery workflow). Its spans, from both processes, share one trace id: the API's server
 * span, its pg queries and the workflow start; routeEvent; each webhook POST (undici); the delivery workflow's start
 * and its retry; the Salesforce sync and its HTTP calls. The worker's log lines about the booking carry its ids and
 * that trace id, and the histories recorded with tracing on replay with and without the tracing bundle. With tracing
 * off the same entry points load no OpenTelemetry SDK.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { prepareWorkflowBundle } from '../../src/temporal/workflow-bundle';
import { uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { startReceiver, type Receiver } from '../webhooks/receiver';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver';
import { apiCaller, salesforcePage, startBackends, type Backends } from './stack';

jest.setTimeout(5 * 60_000);

const ROOT = path.join(__dirname, '..', '..');
const API_KEY = 'tracing-key';
const SERVER_KIND = 2;
const CLIENT_KIND = 3;

interface EntryProcess {
  child: ChildProcess;
  /** Every JSON line the process wrote to stdout, parsed. */
  lines: Record<string, unknown>[];
  output(): string;
  /** Resolves with the first line whose msg is `msg`. */
  ready: Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Starts an entry point (`src/worker.ts`, `src/server.ts`) as its own Node process, as the worker-process helper does. */
function startEntry(entry: string, env: NodeJS.ProcessEnv, readyMsg: string): EntryProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', entry)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const lines: Record<string, unknown>[] = [];
  let out = '';
  let pending = '';
  let resolveReady!: (l: Record<string, unknown>) => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<Record<string, unknown>>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined);
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out = (out + s).slice(-64 * 1024);
    pending += s;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const p of parts) {
      try {
        const l = JSON.parse(p) as Record<string, unknown>;
        lines.push(l);
        if (l.msg === readyMsg) resolveReady(l);
      } catch {
        // not a JSON line
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (out = (out + s).slice(-64 * 1024)));
  const timer = setTimeout(() => rejectReady(new Error(`${entry} not ready after 120 s:\n${out}`)), 120_000);
  child.once('exit', (code, signal) => {
    live.delete(child);
    rejectReady(new Error(`${entry} exited (${signal ?? code}):\n${out}`));
  });
  void ready.finally(() => clearTimeout(timer));
  return {
    child,
    lines,
    output: () => out,
    ready,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(killer);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nworker:\n${worker?.output()}\napi:\n${api?.output()}`);
    await sleep(250);
  }
}

let backends: Backends;
let otlp: OtlpReceiver;
let subscriber: Receiver;
let worker: EntryProcess;
let api: EntryProcess;
let apiUrl: string;

beforeAll(async () => {
  backends = await startBackends('tracing', uniqueTaskQueue('tracing'));
  otlp = await startOtlpReceiver();
  // 503 to the first POST: routing hands the delivery to a delivery workflow, whose retry (35 s later) succeeds.
  subscriber = await startReceiver((_req, i) => ({ status: i === 0 ? 503 : 204 }));

  const env = {
    ...backends.env,
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_BSP_SCHEDULE_DELAY: '200',
  };
  worker = startEntry('worker.ts', { ...env, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, 'worker running');
  api = startEntry('server.ts', { ...env, API_PORT: '0', API_KEYS: API_KEY, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'API listening');
  const [w, a] = await Promise.all([worker.ready, api.ready]);
  expect(w.tracing).toBe(true);
  expect(a.tracing).toBe(true);
  apiUrl = String(a.url);
}, 240_000);

afterAll(async () => {
  await api?.stop();
  await worker?.stop();
  await subscriber?.close();
  await otlp?.close();
  await backends?.stop();
});

const callApi = apiCaller(() => apiUrl, API_KEY);

test('the spans of one booking share one trace id, across the API and worker processes', async () => {
  const page = await salesforcePage(callApi, 'Traced call', { name: 'Tess Tracer', email: 'tess@tracing.example' });
  expect(page.status).toBe(201);
  const sub = await callApi('POST', '/v2/webhooks', { name: 'traced', url: `${subscriber.url}/hook`, events: ['booking'] });
  expect(sub.status).toBe(201);
  const booking = await callApi('POST', '/v2/bookings', {
    booking_page_id: page.body.id,
    starting_time: new Date(Date.now() + 2 * 24 * 3600_000).toISOString(),
    duration_minutes: 30,
    customer_timezone: 'Europe/Paris',
    form_submission: { name: 'Carl Customer', email: 'carl@tracing.example', company: 'Acme' },
  });
  expect(booking.status).toBe(201);
  const bookingId = booking.body.id as string;

  // The API's server span for this request names its route; its trace is the booking's.
  const root = await until('the server span of POST /v2/bookings', () =>
    otlp.spans.find((s) => s.service === 'booking-api' && s.kind === SERVER_KIND && s.name === 'POST /v2/bookings'),
  );
  expect(root.attributes['http.route']).toBe('/v2/bookings');
  const trace = root.traceId;
  expect(trace).toMatch(/^[0-9a-f]{32}$/);
  const inTrace = () => otlp.spans.filter((s) => s.traceId === trace);
  const has = (what: string, pred: (s: ReceivedSpan) => boolean) => () => (inTrace().some(pred) ? true : undefined);

  // API process: the workflow start (Temporal's client interceptor) and the store's queries (pg).
  await until('StartWorkflow:bookingWorkflow', has('start', (s) => s.service === 'booking-api' && s.name === 'StartWorkflow:bookingWorkflow'));
  await until('a pg span in the API', has('pg', (s) => s.service === 'booking-api' && s.attributes['db.system'] === 'postgresql'));

  // Worker process: the workflow's spans (from its sandbox, through the exporter sink), the activities, the POSTs.
  await until('RunActivity:routeEvent', has('route', (s) => s.service === 'booking-worker' && s.name === 'RunActivity:routeEvent'));
  const isWebhookPost = (s: ReceivedSpan) =>
    s.service === 'booking-worker' && s.kind === CLIENT_KIND && String(s.attributes['url.full'] ?? '').startsWith(subscriber.url);
  await until('the routing POST (undici)', has('post', isWebhookPost));
  await until('RunActivity:syncActivityEvent', has('sync', (s) => s.service === 'booking-worker' && s.name === 'RunActivity:syncActivityEvent'));
  const standinHost = new URL(backends.standin.url).host;
  await until('the Salesforce HTTP calls', has('sf', (s) =>
    s.service === 'booking-worker' && s.kind === CLIENT_KIND && String(s.attributes['http.url'] ?? s.attributes['url.full'] ?? '').includes(standinHost),
  ));
  // The 503's delivery goes on in its own workflow, started by routeEvent: same trace, and its retry POSTs again.
  await until('StartWorkflow:webhookDeliveryWorkflow', has('delivery', (s) => s.service === 'booking-worker' && s.name.startsWith('StartWorkflow:')));
  await until('the retry POST in the delivery workflow', () => (inTrace().filter(isWebhookPost).length >= 2 ? true : undefined), 90_000);
  await until('RunActivity:deliverWebhook', has('deliver', (s) => s.name === 'RunActivity:deliverWebhook'));

  // Both POSTs carried the trace to the subscriber (W3C traceparent).
  expect(subscriber.requests.length).toBeGreaterThanOrEqual(2);
  for (const r of subscriber.requests) expect(String(r.headers.traceparent)).toContain(`-${trace}-`);
  // Both exporters were used: JSON from the API, protobuf from the worker.
  expect(otlp.requests['application/json']).toBeGreaterThan(0);
  expect(otlp.requests['application/x-protobuf']).toBeGreaterThan(0);
  // No span of this booking's activities went to another trace.
  const booked = otlp.spans.filter((s) => s.name.startsWith('RunActivity:') && s.traceId !== trace);
  expect(booked).toEqual([]);

  // The worker's log lines about the booking carry its ids and the trace id.
  const about = worker.lines.filter((l) => l.bookingId === bookingId);
  expect(about.length).toBeGreaterThan(0);
  for (const l of about) {
    expect(l).toMatchObject({ bookingId, trace_id: trace });
    expect(typeof l.runId).toBe('string');
    expect(typeof l.span_id).toBe('string');
  }
  expect(about.some((l) => typeof l.eventId === 'string')).toBe(true);
  // The delivery's lines: its delivery, subscription, event and booking.
  const delivered = await until('the delivery workflow\'s "webhook attempt succeeded" line', () =>
    worker.lines.find((l) => l.msg === 'webhook attempt succeeded' && l.trace_id === trace),
  );
  expect(delivered).toMatchObject({ bookingId, subscriptionId: sub.body.id, trace_id: trace });
  expect(String(delivered.deliveryId)).toMatch(/^DLVR-/);
  expect(String(delivered.eventId)).toMatch(/./);
  // The API's request line for the POST carries the created booking's id and the trace id.
  const completed = api.lines.find((l) => l.msg === 'request completed' && l.bookingId === bookingId);
  expect(completed).toMatchObject({ trace_id: trace });

  // Tracing changed no command: the booking's and its delivery's histories, recorded with tracing on, replay against
  // the tracing bundle and the plain one.
  const connection = await Connection.connect({ address: backends.devServer.address });
  try {
    const client = new Client({ connection });
    const deliveryId = String(delivered.deliveryId);
    const histories = [
      { workflowId: bookingId, history: await client.workflow.getHandle(bookingId).fetchHistory() },
      { workflowId: deliveryId, history: await client.workflow.getHandle(deliveryId).fetchHistory() },
    ];
    const traced = await prepareWorkflowBundle(null, { tracing: true });
    try {
      for (const bundle of [{ codePath: traced.codePath }, await workflowBundle()]) {
        for (const h of histories) await Worker.runReplayHistory({ workflowBundle: bundle }, h.history, h.workflowId);
      }
    } finally {
      traced.release();
    }
  } finally {
    await connection.close();
  }
});

test('tracing off: the entry points load no OpenTelemetry SDK, instrumentation or Temporal interceptor', () => {
  const script = [
    "require('./src/worker'); require('./src/server'); require('./src/app');",
    "const t = require('./src/observability/tracing');",
    'const loaded = Object.keys(require.cache).filter((f) => /@opentelemetry[\\/](sdk-|exporter-|instrumentation|resources|core)|interceptors-opentelemetry|pino-pretty/.test(f));',
    'console.log(JSON.stringify({ started: t.tracingStarted(), client: Boolean(t.tracingClientInterceptors()), worker: Object.keys(t.tracingWorkerOptions()), loaded }));',
  ].join('\n');
  const run = (env: NodeJS.ProcessEnv) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env: { ...clean, ...env }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { started: boolean; client: boolean; worker: string[]; loaded: string[] };
  };
  const off = run({});
  expect(off).toEqual({ started: false, client: false, worker: [], loaded: [] });
  // The control: the same with the endpoint set loads the SDK and the interceptors.
  const on = run({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
  expect(on).toMatchObject({ started: true, client: true, worker: ['interceptors'] });
  expect(on.loaded.some((f) => f.includes('sdk-trace-node'))).toBe(true);
  expect(on.loaded.some((f) => f.includes('instrumentation-undici'))).toBe(true);
});
