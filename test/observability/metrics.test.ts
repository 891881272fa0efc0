/**
 * The observability pieces on their own: the metrics variables, the listener's ports and endpoints, the API's health
 * routes and request metrics (through inject), the Temporal error counter, and the label helpers that keep every
 * label value in a small set.
 */
import * as net from 'node:net';
import { Client, type Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Counter, Registry } from 'prom-client';
import { loadConfig, ConfigError } from '../../src/config';
import { apiMetrics, instrumentTemporalClient } from '../../src/observability/api-metrics';
import { startMetricsServer, MetricsPortInUseError } from '../../src/observability/metrics-server';
import { codeLabel, eventTypeLabel, ignoredSignalLabels, retryingWrites, statusClass, workerMetrics } from '../../src/observability/worker-metrics';
import { buildTestApp, TEST_API_KEY } from '../helpers/app';
import { booking, lifecycleEvent } from '../salesforce/fixtures';
import { activitiesFor, startTestStandin } from '../salesforce/helpers';

async function counterValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return match?.value ?? 0;
}

describe('configuration', () => {
  test('npm start serves metrics on default ports; production processes only when told', () => {
    const embedded = loadConfig({});
    expect(embedded.metrics).toEqual({
      host: '127.0.0.1',
      api: { port: 9464, fallback: true, variable: 'METRICS_PORT' },
      worker: { port: 9465, fallback: true, variable: 'WORKER_METRICS_PORT' },
      sdk: { port: 9466, fallback: true, variable: 'WORKER_SDK_METRICS_PORT' },
    });
    const production = loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233', WORKER_METRICS_PORT: '9465', METRICS_HOST: '0.0.0.0' });
    expect(production.metrics).toEqual({
      host: '0.0.0.0',
      api: null,
      worker: { port: 9465, fallback: false, variable: 'WORKER_METRICS_PORT' },
      sdk: null,
    });
  });

  test('0 picks a free port, off turns a listener off, anything else is refused', () => {
    const c = loadConfig({ METRICS_PORT: '0', WORKER_METRICS_PORT: 'off', WORKER_SDK_METRICS_PORT: 'OFF' });
    expect(c.metrics.api).toEqual({ port: 0, fallback: false, variable: 'METRICS_PORT' });
    expect(c.metrics.worker).toBeNull();
    expect(c.metrics.sdk).toBeNull();
    expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(ConfigError);
    expect(() => loadConfig({ WORKER_METRICS_PORT: 'nine' })).toThrow(/WORKER_METRICS_PORT must be a port/);
  });
});

describe('the metrics listener', () => {
  const registry = new Registry();
  new Counter({ name: 'observability_test_total', help: 'a test counter', registers: [registry] });

  async function taken(): Promise<{ port: number; close(): Promise<void> }> {
    const srv = net.createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    return { port: (srv.address() as net.AddressInfo).port, close: () => new Promise((r) => srv.close(() => r())) };
  }

  test('serves /metrics, /healthz and /readyz as JSON, and 404 elsewhere', async () => {
    let ready = false;
    const server = await startMetricsServer({
      name: 'test metrics',
      host: '127.0.0.1',
      port: { port: 0, fallback: false, variable: 'TEST_PORT' },
      registry,
      ready: async () => ({ ok: ready, body: { status: ready ? 'ready' : 'not_ready' } }),
    });
    try {
      const metrics = await fetch(`${server.url}/metrics`);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await metrics.text()).toContain('observability_test_total 0');
      expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
      const notReady = await fetch(`${server.url}/readyz`);
      expect([notReady.status, await notReady.json()]).toEqual([503, { status: 'not_ready' }]);
      ready = true;
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect((await fetch(`${server.url}/other`)).status).toBe(404);
      expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
  });

  test('a taken default port moves to a free one; a taken configured port stops the start, naming its variable', async () => {
    const other = await taken();
    try {
      const moved = await startMetricsServer({
        name: 'test metrics',
        host: '127.0.0.1',
        port: { port: other.port, fallback: true, variable: 'TEST_PORT' },
        registry,
        ready: async () => ({ ok: true, body: {} }),
      });
      expect(moved.port).not.toBe(other.port);
      await moved.close();
      await expect(
        startMetricsServer({
          name: 'test metrics',
          host: '127.0.0.1',
          port: { port: other.port, fallback: false, variable: 'TEST_PORT' },
          registry,
          ready: async () => ({ ok: true, body: {} }),
        }),
      ).rejects.toThrow(MetricsPortInUseError);
    } finally {
      await other.close();
    }
  });
});

describe('the API', () => {
  test('/healthz and /readyz answer without an API key and are not in the OpenAPI document', async () => {
    const t = await buildTestApp();
    try {
      const health = await t.app.inject({ method: 'GET', url: '/healthz' });
      expect([health.statusCode, health.json()]).toEqual([200, { status: 'ok' }]);
      // The test app's Temporal is a placeholder that fails when touched: not ready, and the answer says why.
      const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'not_ready', checks: { temporal: { status: 'error' }, store: { status: 'ok' } } });
      const doc = (await t.app.inject({ method: 'GET', url: '/v2/openapi.json' })).json() as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).not.toContain('/healthz');
      expect(Object.keys(doc.paths)).not.toContain('/readyz');
      expect((await t.app.inject({ method: 'GET', url: '/v2/users' })).statusCode).toBe(401);
    } finally {
      await t.close();
    }
  });

  test('requests are counted by route template, never by URL', async () => {
    const { registry } = apiMetrics();
    const t = await buildTestApp();
    try {
      const labels = { route: '/v2/users/:id', method: 'GET', status: '404' };
      const before = await counterValue(registry, 'booking_engine_api_requests_total', labels);
      const res = await t.app.inject({ method: 'GET', url: '/v2/users/USR-doesnotexist', headers: { 'api-key': TEST_API_KEY } });
      expect(res.statusCode).toBe(404);
      expect(await counterValue(registry, 'booking_engine_api_requests_total', labels)).toBe(before + 1);
      await t.app.inject({ method: 'GET', url: '/no/such/route' });
      expect(await counterValue(registry, 'booking_engine_api_requests_total', { route: 'unmatched', status: '401' })).toBeGreaterThanOrEqual(1);
      const text = await registry.metrics();
      expect(text).not.toContain('USR-doesnotexist');
      expect(text).not.toContain('/no/such/route');
    } finally {
      await t.close();
    }
  });

  test('failed Temporal calls are counted by method and gRPC code; the shared connection is not', async () => {
    const failing = Object.assign(new Error('workflow not found'), { code: 5 });
    const service = { getWorkflowExecutionHistory: async () => Promise.reject(failing), getSystemInfo: async () => ({}) };
    const connection = {
      workflowService: service,
      withDeadline: <R>(_d: number, fn: () => Promise<R>) => fn(),
      close: async () => undefined,
    } as unknown as Connection;
    const original = new Client({ connection });
    const instrumented = instrumentTemporalClient(original);
    const { registry } = apiMetrics();
    const labels = { method: 'getWorkflowExecutionHistory', code: 'NOT_FOUND' };
    const before = await counterValue(registry, 'booking_engine_api_temporal_errors_total', labels);
    await expect(instrumented.workflowService.getWorkflowExecutionHistory({})).rejects.toBe(failing);
    await instrumented.workflowService.getSystemInfo({});
    expect(await counterValue(registry, 'booking_engine_api_temporal_errors_total', labels)).toBe(before + 1);
    await expect(original.workflowService.getWorkflowExecutionHistory({})).rejects.toBe(failing);
    expect(await counterValue(registry, 'booking_engine_api_temporal_errors_total', labels)).toBe(before + 1);
    expect(instrumented.options.namespace).toBe(original.options.namespace);
  });
});

describe('label values stay in small sets', () => {
  test('HTTP statuses by class', () => {
    expect([statusClass(204), statusClass(302), statusClass(410), statusClass(503), statusClass(null), statusClass(99)]).toEqual([
      '2xx',
      '3xx',
      '4xx',
      '5xx',
      'none',
      'other',
    ]);
  });

  test('codes and event types as they are when identifier-like, otherwise other', () => {
    expect(codeLabel('INVALID_FIELD')).toBe('INVALID_FIELD');
    expect(codeLabel('ERROR_HTTP_503')).toBe('ERROR_HTTP_503');
    expect(codeLabel('Salesforce said: no')).toBe('other');
    expect(codeLabel(undefined)).toBe('other');
    expect(eventTypeLabel('booking.canceled_reschedule_requested')).toBe('booking.canceled_reschedule_requested');
    expect(eventTypeLabel('BKNG-123')).toBe('other');
  });

  test('an ignored signal\'s reason becomes a category, whatever booking or state it names', () => {
    const cases: [string, string, string][] = [
      ['approve', 'nothing awaits approval: the booking is scheduled', 'wrong_state'],
      ['cancel', 'only a scheduled booking can be canceled: the booking is closed (canceled)', 'wrong_state'],
      ['canceledForRebook', 'the booking cannot be replaced by BKNG-ABC: the booking is completed', 'wrong_state'],
      ['noShow', 'no-show can be set only on a completed meeting: the booking is scheduled', 'wrong_state'],
      ['requestReschedule', 'the user can ask for a new time only while the booking is scheduled: the booking is closed (canceled)', 'wrong_state'],
      ['reschedule', 'the new starting time must be in the future', 'invalid_input'],
      ['reschedule', "'soon' is not a valid time", 'invalid_input'],
      ['approve', 'the requested new time has already passed', 'invalid_input'],
      ['reschedule', 'the booking is already at that time', 'unchanged'],
      ['reschedule', 'that new time is already waiting for approval', 'unchanged'],
      ['reassign', 'the booking already belongs to that user and page', 'unchanged'],
      ['reschedule', 'the customer, not the user, picks the new time after a reschedule request', 'other'],
    ];
    for (const [signal, reason, category] of cases) expect(ignoredSignalLabels(signal, reason)).toEqual({ signal, reason: category });
    expect(ignoredSignalLabels('somethingElse', 'x').signal).toBe('other');
  });
});

test('Salesforce writes retrying: the longest, until it ends or its next attempt is overdue', () => {
  const r = retryingWrites();
  expect(r.snapshot(1_000_000)).toEqual({ count: 0, longestSeconds: 0 });
  r.failed('BKNG-1/2', 1_000_000, 1_000_000 + 3_600_000);
  r.failed('BKNG-2/2', 2_000_000, 2_000_000 + 60_000);
  expect(r.snapshot(2_030_000)).toEqual({ count: 2, longestSeconds: 1030 });
  // BKNG-2's next attempt is overdue: another worker has it.
  expect(r.snapshot(2_100_000)).toEqual({ count: 1, longestSeconds: 1100 });
  r.ended('BKNG-1/2');
  expect(r.snapshot(2_100_000)).toEqual({ count: 0, longestSeconds: 0 });
});

test('Salesforce syncs: by outcome and code, with their latency, and the write retrying for how long', async () => {
  const m = workerMetrics();
  const sf = await startTestStandin();
  try {
    const acts = activitiesFor(sf);
    const b = booking();
    const sync = (attempt: number, scheduledTimestampMs = Date.now()) =>
      new MockActivityEnvironment({ attempt, scheduledTimestampMs, activityId: '2', workflowExecution: { workflowId: b.id, runId: 'r' } }).run(
        acts.syncActivityEvent,
        { bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) },
      );
    const value = (name: string, labels: Record<string, string>) => counterValue(m.registry, name, labels);
    const before = {
      retrying: await value('booking_engine_salesforce_writes_total', { outcome: 'retrying', code: 'UNABLE_TO_LOCK_ROW' }),
      config: await value('booking_engine_salesforce_writes_total', { outcome: 'config_error', code: 'INVALID_FIELD' }),
      created: await value('booking_engine_salesforce_writes_total', { outcome: 'created' }),
      timed: await value('booking_engine_salesforce_write_duration_seconds', { outcome: 'created', le: '+Inf' }),
    };

    // A retryable failure, its first attempt scheduled two hours ago: retrying for two hours.
    sf.switches.failNext(1, 'UNABLE_TO_LOCK_ROW', 400);
    await expect(sync(4, Date.now() - 2 * 3600_000)).rejects.toMatchObject({ type: 'UNABLE_TO_LOCK_ROW' });
    expect(await value('booking_engine_salesforce_writes_total', { outcome: 'retrying', code: 'UNABLE_TO_LOCK_ROW' })).toBe(before.retrying + 1);
    expect(m.salesforceRetrying.snapshot(Date.now()).longestSeconds).toBeGreaterThanOrEqual(7200);

    // A configuration error ends it: counted by code, no longer retrying.
    sf.switches.markFieldMissing('Event', 'Event_Status__c');
    await expect(sync(5)).rejects.toMatchObject({ type: 'INVALID_FIELD', nonRetryable: true });
    expect(await value('booking_engine_salesforce_writes_total', { outcome: 'config_error', code: 'INVALID_FIELD' })).toBe(before.config + 1);
    expect(m.salesforceRetrying.snapshot(Date.now()).count).toBe(0);

    // Fixed: the next sync creates the Event, timed.
    sf.switches.restoreField('Event', 'Event_Status__c');
    await expect(sync(1)).resolves.toMatchObject({ outcome: 'created' });
    expect(await value('booking_engine_salesforce_writes_total', { outcome: 'created' })).toBe(before.created + 1);
    // The histogram's +Inf bucket is its count.
    expect(await value('booking_engine_salesforce_write_duration_seconds', { outcome: 'created', le: '+Inf' })).toBe(before.timed + 1);
  } finally {
    await sf.stop();
  }
});
