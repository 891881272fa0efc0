/**
 * The metrics as a real Prometheus sees them. Debian's `prometheus` binary runs on loopback with the alerting rules of
 * deploy/prometheus/alerts.yml and scrapes, every second, the API (in this process, its metrics on METRICS_PORT) and a
 * real worker process (`src/worker.ts`: WORKER_METRICS_PORT and the SDK's exporter on WORKER_SDK_METRICS_PORT), both
 * on a dev server, a PostgreSQL store and the Salesforce stand-in. Bookings made over the API reach three
 * subscribers: one answering 204, one answering 503 once (delivered by the schedule's 35 s retry) and one answering
 * 410. Every assertion goes through Prometheus's HTTP query API: every target is up, the health endpoints answer,
 * and the engine's series count exactly what happened (one failed attempt per 503 answered, ...).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { openDb } from '../../src/store';
import type { Db } from '../../src/store/db';
import { startApi, type RunningApi } from '../../src/server';
import { freePort } from '../../src/temporal/dev-server';
import { approveSignal } from '../../src/shared/booking-contract';
import { uniqueTaskQueue } from '../helpers/temporal-env';
import { startReceiver, type Receiver } from '../webhooks/receiver';
import { spawnWorker, type WorkerProcess } from '../reliability/worker-process';
import { apiCaller, salesforcePage, startBackends, type Backends } from './stack';

jest.setTimeout(5 * 60_000);

const ROOT = path.join(__dirname, '..', '..');
const API_KEY = 'observability-key';

let backends: Backends;
let tmp: string;
let db: Db;
let connection: Connection;
let client: Client;
let worker: WorkerProcess;
let api: RunningApi;
let prometheus: ChildProcess | null = null;
let prometheusLog = '';
let promUrl: string;
const ports = { apiMetrics: 0, workerMetrics: 0, sdkMetrics: 0, prometheus: 0 };
const receivers: { ok: Receiver; flaky: Receiver; gone: Receiver } = {} as never;
/** The status each receiver answered, request by request. */
const answers = new Map<Receiver, number[]>();

/** A receiver answering `statusFor(i)` to its i-th request, remembering it. */
async function subscriberAnswering(statusFor: (i: number) => number): Promise<Receiver> {
  const sent: number[] = [];
  const r = await startReceiver((_req, i) => {
    sent.push(statusFor(i));
    return { status: statusFor(i) };
  });
  answers.set(r, sent);
  return r;
}

const answered = (r: Receiver, status: number) => (answers.get(r) ?? []).filter((s) => s === status).length;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}\nworker:\n${worker?.tail()}\nprometheus:\n${prometheusLog.slice(-4000)}`);
    }
    await sleep(500);
  }
}

/** One instant query: each series's labels and value. */
async function query(expr: string): Promise<{ metric: Record<string, string>; value: number }[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** The value of a query that yields one series (the sum of a family), or undefined while it yields none. */
async function scalar(expr: string): Promise<number | undefined> {
  const r = await query(expr);
  if (r.length > 1) throw new Error(`${expr} yields ${r.length} series`);
  return r[0]?.value;
}

/** Waits until `expr` (one series) equals `want`, and returns it; on a time-out the message shows the last value. */
async function expectSeries(expr: string, want: number, timeoutMs = 30_000): Promise<void> {
  let seen: number | undefined;
  await until(`${expr} == ${want} (last seen: ${seen})`, async () => {
    seen = await scalar(expr);
    return seen === want ? true : undefined;
  }, timeoutMs).catch((err: Error) => {
    throw new Error(`${expr}: expected ${want}, Prometheus says ${seen}\n${err.message}`);
  });
}

const callApi = apiCaller(() => api.url, API_KEY);

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function startPrometheus(): void {
  const dir = path.join(tmp, 'prometheus');
  fs.mkdirSync(dir, { recursive: true });
  const target = (port: number) => `['127.0.0.1:${port}']`;
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    configFile,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${JSON.stringify(path.join(ROOT, 'deploy', 'prometheus', 'alerts.yml'))}`,
      'scrape_configs:',
      `  - job_name: booking-api\n    static_configs:\n      - targets: ${target(ports.apiMetrics)}`,
      `  - job_name: booking-worker\n    static_configs:\n      - targets: ${target(ports.workerMetrics)}`,
      `  - job_name: temporal-sdk\n    static_configs:\n      - targets: ${target(ports.sdkMetrics)}`,
      '',
    ].join('\n'),
  );
  const child = spawn(
    'prometheus',
    [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${ports.prometheus}`],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.on('error', (err) => {
    prometheusLog += `\ncould not start prometheus (${err.message}): install it with \`apt-get install prometheus\``;
  });
  const onData = (d: Buffer) => {
    prometheusLog = (prometheusLog + d.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  prometheus = child;
}

beforeAll(async () => {
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  promUrl = `http://127.0.0.1:${ports.prometheus}`;

  backends = await startBackends('observability', uniqueTaskQueue('observability'));
  tmp = backends.tmp;
  connection = await Connection.connect({ address: backends.devServer.address });
  client = new Client({ connection });

  receivers.ok = await subscriberAnswering(() => 204);
  // 503 to its first request only: that delivery goes on in its workflow, whose next attempt (35 s later) succeeds.
  receivers.flaky = await subscriberAnswering((i) => (i === 0 ? 503 : 204));
  receivers.gone = await subscriberAnswering(() => 410);

  const env = {
    ...backends.env,
    METRICS_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
  worker = spawnWorker('observability-worker', {
    ...env,
    // The worker logs "worker running" at info; the ready check reads it.
    LOG_LEVEL: 'info',
    WORKER_METRICS_PORT: String(ports.workerMetrics),
    WORKER_SDK_METRICS_PORT: String(ports.sdkMetrics),
  });

  const apiConfig = loadConfig({ ...env, API_PORT: '0', API_KEYS: API_KEY, METRICS_PORT: String(ports.apiMetrics) });
  db = await openDb(apiConfig);
  api = await startApi({ config: apiConfig, db, temporal: client, logger: pino({ level: 'warn' }) });
  await worker.ready;
  startPrometheus();
  await until('Prometheus to be ready', async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined));
}, 240_000);

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const p = prometheus;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
      setTimeout(() => p.kill('SIGKILL'), 10_000).unref();
    });
  }
  await api?.close();
  await worker?.stop();
  await db?.close();
  await connection?.close();
  for (const r of Object.values(receivers)) await r?.close();
  await backends?.stop();
});

test('every target is up, and the health endpoints answer', async () => {
  for (const job of ['booking-api', 'booking-worker', 'temporal-sdk']) {
    await expectSeries(`up{job="${job}"}`, 1);
  }
  const metricsBase = (port: number) => `http://127.0.0.1:${port}`;
  expect(api.metricsUrl).toBe(metricsBase(ports.apiMetrics));

  // The API port: no API key needed, JSON, the dependencies checked.
  expect(await getJson(`${api.url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
  expect(await getJson(`${api.url}/readyz`)).toEqual({
    status: 200,
    body: { status: 'ready', checks: { temporal: { status: 'ok' }, store: { status: 'ok' } } },
  });
  // Not in the OpenAPI document; the rest of the API still wants its key.
  const openapi = (await (await fetch(`${api.url}/v2/openapi.json`)).json()) as { paths: Record<string, unknown> };
  expect(Object.keys(openapi.paths).filter((p) => /healthz|readyz/.test(p))).toEqual([]);
  expect((await fetch(`${api.url}/v2/users`)).status).toBe(401);

  // The metrics ports answer the same two.
  expect((await getJson(`${metricsBase(ports.apiMetrics)}/readyz`)).status).toBe(200);
  expect(await getJson(`${metricsBase(ports.workerMetrics)}/healthz`)).toEqual({ status: 200, body: { status: 'ok', state: 'RUNNING' } });
  expect(await getJson(`${metricsBase(ports.workerMetrics)}/readyz`)).toMatchObject({ status: 200, body: { status: 'ready', state: 'RUNNING' } });

  // Prometheus loaded every rule of alerts.yml.
  const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: unknown[] }[] } };
  expect(rules.data.groups.flatMap((g) => g.rules)).toHaveLength(10);
});

test('bookings, deliveries, Salesforce writes and ignored signals are counted as they happened', async () => {
  const page = await salesforcePage(callApi, 'Observed call', { name: 'Olga Owner', email: 'olga@observability.example' });
  expect(page.status).toBe(201);
  for (const [name, r] of Object.entries(receivers)) {
    const sub = await callApi('POST', '/v2/webhooks', { name, url: `${r.url}/hook`, events: ['booking'] });
    expect(sub.status).toBe(201);
  }
  const book = async (n: number) => {
    const b = await callApi('POST', '/v2/bookings', {
      booking_page_id: page.body.id,
      starting_time: new Date(Date.now() + (n + 1) * 24 * 3600_000).toISOString(),
      duration_minutes: 30,
      customer_timezone: 'Europe/Paris',
      form_submission: { name: `Carl Customer${n}`, email: `carl${n}@observability.example`, company: 'Acme' },
    });
    expect(b.status).toBe(201);
    return b.body.id as string;
  };

  // The first booking: booking.scheduled reaches ok (204), flaky (503: handed over) and gone (410: subscription disabled).
  const first = await book(1);
  await expectSeries('sum(booking_engine_webhook_subscriptions_disabled_total{reason="endpoint_gone"})', 1);
  await expectSeries('sum(booking_engine_webhook_deliveries_total{outcome="handed_over"})', 1);
  // The handed-over delivery is open until its retry, 35 s after the 503.
  await expectSeries('max(booking_engine_webhook_open_handoffs)', 1);

  // The second booking and the first one's cancellation: ok and flaky only now (gone is disabled).
  const second = await book(2);
  expect((await callApi('POST', `/v2/bookings/${first}/cancel`, { actioned_by: 'customer', reason: 'observability test' })).status).toBe(200);
  // Approving a booking that awaits nothing is ignored by the workflow (the API would refuse it: a raw signal).
  await client.workflow.getHandle(second).signal(approveSignal, {});

  // Lifecycle events, once each.
  await expectSeries('sum(booking_engine_lifecycle_events_total{type="booking.scheduled"})', 2);
  await expectSeries('sum(booking_engine_lifecycle_events_total{type="booking.canceled"})', 1);
  await expectSeries('sum(booking_engine_ignored_signals_total{signal="approve",reason="wrong_state"})', 1);

  // Salesforce: two Events created, the cancellation an update; the connection authorized once.
  await expectSeries('sum(booking_engine_salesforce_writes_total{outcome="created"})', 2);
  await expectSeries('sum(booking_engine_salesforce_writes_total{outcome="updated"})', 1);
  await expectSeries('sum(booking_engine_salesforce_write_duration_seconds_count{outcome=~"created|updated"})', 3);
  await expectSeries('sum(booking_engine_salesforce_token_requests_total{grant="client_credentials",result="ok"})', 1);
  await expectSeries('max(booking_engine_salesforce_retrying_for_seconds)', 0);

  // The flaky subscriber's retry (35 s after its 503) delivers the first event; nothing is open any more.
  await expectSeries('sum(booking_engine_webhook_deliveries_total{outcome="delivered_after_retries"})', 1, 90_000);
  await expectSeries('max(booking_engine_webhook_open_handoffs)', 0, 30_000);

  // Deliveries: ok 3 + flaky 2 at once, flaky 1 after the retry, gone 1; nothing failed or refused.
  expect(receivers.ok.requests).toHaveLength(3);
  expect(receivers.flaky.requests).toHaveLength(4);
  expect(receivers.gone.requests).toHaveLength(1);
  await expectSeries('sum(booking_engine_webhook_deliveries_total{outcome="delivered_at_once"})', 5);
  await expectSeries('sum(booking_engine_webhook_deliveries_total{outcome="gone"})', 1);
  await expectSeries('sum(booking_engine_webhook_deliveries_total{outcome=~"failed|forbidden"})', 0);

  // Attempts: one failed attempt per 503 answered, one per 410, and every 2xx a success.
  await expectSeries('sum(booking_engine_webhook_attempt_duration_seconds_count{result="failed",status_class="5xx"})', answered(receivers.flaky, 503));
  expect(answered(receivers.flaky, 503)).toBe(1);
  await expectSeries('sum(booking_engine_webhook_attempt_duration_seconds_count{result="failed",status_class="4xx"})', 1);
  await expectSeries(
    'sum(booking_engine_webhook_attempt_duration_seconds_count{result="succeeded",status_class="2xx"})',
    answered(receivers.ok, 204) + answered(receivers.flaky, 204),
  );

  // The API: requests by route template (never by id), and its store pool.
  await expectSeries('sum(booking_engine_api_requests_total{route="/v2/bookings",method="POST",status="201"})', 2);
  await expectSeries('sum(booking_engine_api_requests_total{route="/v2/bookings/:id/cancel",method="POST",status="200"})', 1);
  expect(await scalar(`count(booking_engine_api_requests_total{route=~".*BKNG.*"})`)).toBeUndefined();
  await until('the API histogram', async () => ((await scalar('sum(booking_engine_api_request_duration_seconds_count{route="/v2/bookings"})')) ?? 0) >= 2 || undefined);
  // The pool's gauges exist (PostgreSQL); its idle connections close after 10 s, so the counts may be 0 by now.
  const total = await scalar('sum(booking_engine_store_pool_connections{job="booking-api",state="total"})');
  const idle = await scalar('sum(booking_engine_store_pool_connections{job="booking-api",state="idle"})');
  expect(total).toBeGreaterThanOrEqual(idle ?? NaN);
  expect(await scalar('sum(booking_engine_store_pool_waiting_requests{job="booking-api"})')).toBe(0);
  expect(await scalar('max_over_time(booking_engine_store_pool_connections{job="booking-api",state="total"}[5m])')).toBeGreaterThanOrEqual(1);

  // A booking that does not exist: the API's Temporal call fails with NOT_FOUND, counted by method and code.
  expect((await callApi('GET', '/v2/bookings/BKNG-doesnotexist0000')).status).toBe(404);
  await until('a Temporal NOT_FOUND counted', async () => ((await scalar('sum(booking_engine_api_temporal_errors_total{code="NOT_FOUND"})')) ?? 0) >= 1 || undefined);

  // The worker's own state and the SDK's metrics: pollers, activity schedule-to-start, no workflow task failure.
  await expectSeries('booking_engine_worker_running', 1);
  expect(await scalar('sum(temporal_num_pollers{poller_type="workflow_task"})')).toBeGreaterThan(0);
  expect(await scalar('sum(temporal_activity_schedule_to_start_latency_count)')).toBeGreaterThan(0);
  expect(await scalar('sum(temporal_long_request{operation="PollActivityTaskQueue"})')).toBeGreaterThan(0);
  expect(await scalar('sum(temporal_workflow_task_execution_failed)')).toBeUndefined();

  // The 410 disabled a subscription: its alert fires (no `for`), and no exhaustion alert does.
  const alerts = await until('WebhookSubscriptionAutoDisabled to fire', async () => {
    const r = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
    return r.data.alerts.some((a) => a.labels.alertname === 'WebhookSubscriptionAutoDisabled' && a.state === 'firing') ? r.data.alerts : undefined;
  });
  expect(alerts.find((a) => a.labels.alertname === 'WebhookSubscriptionAutoDisabled')?.labels.reason).toBe('endpoint_gone');
  expect(alerts.map((a) => a.labels.alertname)).not.toContain('WebhookDeliveriesExhausted');
  expect(alerts.map((a) => a.labels.alertname)).not.toContain('SalesforceConfigurationError');
});
