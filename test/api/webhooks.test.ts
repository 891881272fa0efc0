/**
 * /v2/webhooks through app.inject, on the real API over an in-memory PGlite store. Deliveries, redelivery
 * and recovery run for real: delivery workflows on the time-skipping test server with the real activities,
 * POSTing to a receiver on 127.0.0.1.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, Worker } from '@temporalio/worker';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createWebhookActivities } from '../../activities/webhooks';
import { loadConfig, type Config } from '../../src/config';
import { buildEnvelope } from '../../src/domain/webhooks';
import type { RouteResult, WebhookEnvelope } from '../../src/shared/dispatch-contract';
import { verifyOncehubSignature } from '../../src/webhooks/verify';
import { buildTestApp, TEST_API_KEY, type TestApp } from '../helpers/app';
import { timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { resetWebhookState, startReceiver, type Answer, type Receiver } from '../webhooks/receiver';

const auth = { 'api-key': TEST_API_KEY };
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let env: TestWorkflowEnvironment;
let t: TestApp;
let receiver: Receiver;
let config: Config;
let worker: Worker;
let workerRun: Promise<void>;
let routeEvent: (e: WebhookEnvelope) => Promise<string[]>;

beforeAll(async () => {
  env = await timeSkippingEnv();
  receiver = await startReceiver();
  const taskQueue = uniqueTaskQueue('api-webhooks');
  config = loadConfig({ API_KEYS: TEST_API_KEY, DATA_DIR: '/tmp/booking-engine-test-unused', LOG_LEVEL: 'warn', TEMPORAL_TASK_QUEUE: taskQueue });
  t = await buildTestApp({ config, temporal: env.client });
  const activities = createWebhookActivities({ db: t.db, config, temporal: env.client, now: () => env.currentTimeMs() });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(require.resolve('../../workflows/webhook-delivery')),
    activities,
  });
  workerRun = worker.run();
  const mock = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
  routeEvent = async (envelope) => ((await mock.run(activities.routeEvent, { envelope, sourceWorkflowId: 'BKNG-api-test' })) as RouteResult).deliveryIds;
});

afterAll(async () => {
  worker?.shutdown();
  await workerRun;
  await t?.close();
  await receiver?.close();
  await env?.teardown();
});

beforeEach(() => resetWebhookState(t.db, receiver));

const create = (body: object) => t.app.inject({ method: 'POST', url: '/v2/webhooks', headers: auth, payload: body });
const get = (url: string) => t.app.inject({ method: 'GET', url, headers: auth });
const post = (url: string, payload?: object) => t.app.inject({ method: 'POST', url, headers: auth, ...(payload ? { payload } : {}) });

let counter = 0;
function envelope(type = 'booking.scheduled'): WebhookEnvelope {
  counter += 1;
  return buildEnvelope({ eventId: `EVNT-api${process.pid}x${counter}`, type, creationTime: new Date().toISOString(), data: { object: 'booking', id: `BKNG-${counter}` } });
}

/**
 * How a delivery ended: its workflow's result, or for one routing finished itself (delivered on the first
 * attempt, or stopped by a 410), the same shape read from the delivery log.
 */
async function finished(deliveryId: string) {
  try {
    return await env.client.workflow.getHandle(deliveryId).result();
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    const d = (await t.db.query<{ status: string; attempts: number; failure_reason: string | null }>('SELECT * FROM webhook_deliveries WHERE id = $1', [deliveryId])).rows[0];
    return { status: d.status, attempts: d.attempts, ...(d.failure_reason ? { reason: d.failure_reason } : {}) };
  }
}

describe('authentication', () => {
  it('401 without an API key', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/v2/webhooks' });
    expect(r.statusCode).toBe(401);
    expect(r.json()).toMatchObject({ type: 'authentication_error' });
  });
});

describe('POST /v2/webhooks', () => {
  it('201 with the webhook object and its secret, shown only here', async () => {
    const r = await create({ name: 'New Webhook', url: 'https://my.url.endpoint/', events: ['booking.scheduled', 'booking.rescheduled'] });
    expect(r.statusCode).toBe(201);
    const body = r.json();
    expect(body).toEqual({
      object: 'webhook',
      id: expect.stringMatching(/^WHK-[0-9a-f]{24}$/),
      api_version: 'v2',
      name: 'New Webhook',
      url: 'https://my.url.endpoint/',
      events: ['booking.scheduled', 'booking.rescheduled'],
      creation_time: expect.stringMatching(ISO),
      enabled: true,
      secret: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    const fetched = await get(`/v2/webhooks/${body.id}`);
    expect(fetched.statusCode).toBe(200);
    const { secret: _secret, ...withoutSecret } = body;
    expect(fetched.json()).toEqual(withoutSecret);
    expect(JSON.stringify((await get('/v2/webhooks')).json())).not.toContain(body.secret);
  });

  it('names an unknown event type and the valid ones', async () => {
    const r = await create({ name: 'x', url: 'https://hooks.example.com/', events: ['booking.scheduled', 'booking.created'] });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({ type: 'invalid_request_error', message: expect.stringContaining("Unknown event type 'booking.created'"), param: 'events' });
    expect(r.json().message).toContain('booking.canceled_reschedule_requested');
  });

  it('accepts the composite triggers', async () => {
    const r = await create({ name: 'all', url: 'https://hooks.example.com/in', events: ['booking', 'conversation'] });
    expect(r.statusCode).toBe(201);
    expect(r.json().events).toEqual(['booking', 'conversation']);
  });

  it.each([
    [{ name: 'x', url: 'https://hooks.example.com/', events: ['booking.created'] }, 'events'],
    [{ name: 'x', url: 'https://hooks.example.com/', events: [] }, 'events'],
    [{ name: 'x', url: 'not a url', events: ['booking'] }, 'url'],
    [{ name: 'x', url: 'https://169.254.169.254/latest', events: ['booking'] }, 'url'],
    [{ name: 'x', url: 'https://user:pw@hooks.example.com/', events: ['booking'] }, 'url'],
    [{ name: '', url: 'https://hooks.example.com/', events: ['booking'] }, 'name'],
    [{ url: 'https://hooks.example.com/', events: ['booking'] }, 'name'],
  ])('400 invalid_request_error for %j on %s', async (body, param) => {
    const r = await create(body);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ type: 'invalid_request_error', param });
  });

  it('only https in production (WEBHOOK_ALLOW_HTTP=false)', async () => {
    const prod = await buildTestApp({
      db: t.db,
      temporal: env.client,
      env: { TEMPORAL_ADDRESS: 'temporal.example:7233', WEBHOOK_ALLOW_HTTP: 'false', WEBHOOK_ALLOW_PRIVATE_TARGETS: '' },
    });
    try {
      const http = await prod.app.inject({ method: 'POST', url: '/v2/webhooks', headers: auth, payload: { name: 'h', url: 'http://hooks.example.com/', events: ['booking'] } });
      expect(http.statusCode).toBe(400);
      expect(http.json()).toEqual({ type: 'invalid_request_error', message: 'url must use https', param: 'url' });
      const local = await prod.app.inject({ method: 'POST', url: '/v2/webhooks', headers: auth, payload: { name: 'h', url: 'https://2130706433/', events: ['booking'] } });
      expect(local.statusCode).toBe(400);
      expect(local.json().param).toBe('url');
    } finally {
      await prod.close();
    }
  });

  it('409 on a name in use; the name is free again once that webhook is deleted', async () => {
    const first = (await create({ name: 'dup', url: 'https://a.example.com/', events: ['booking'] })).json();
    const r = await create({ name: 'dup', url: 'https://b.example.com/', events: ['booking'] });
    expect(r.statusCode).toBe(409);
    expect(r.json()).toEqual({ type: 'invalid_request_error', message: "A webhook named 'dup' already exists", param: 'name' });
    await t.app.inject({ method: 'DELETE', url: `/v2/webhooks/${first.id}`, headers: auth });
    expect((await create({ name: 'dup', url: 'https://b.example.com/', events: ['booking'] })).statusCode).toBe(201);
  });
});

describe('GET /v2/webhooks', () => {
  it('lists newest first with limit, after and before cursors', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await create({ name: `w${i}`, url: 'https://hooks.example.com/', events: ['booking'] })).json().id);
    const newest = [...ids].reverse();
    const all = (await get('/v2/webhooks')).json();
    expect(all).toMatchObject({ object: 'list', has_more: false });
    expect(all.data.map((w: { id: string }) => w.id)).toEqual(newest);

    const p1 = (await get('/v2/webhooks?limit=2')).json();
    expect(p1.data.map((w: { id: string }) => w.id)).toEqual(newest.slice(0, 2));
    expect(p1.has_more).toBe(true);
    const p2 = (await get(`/v2/webhooks?limit=2&after=${newest[1]}`)).json();
    expect(p2.data.map((w: { id: string }) => w.id)).toEqual(newest.slice(2, 4));
    expect(p2.has_more).toBe(true);
    const p3 = (await get(`/v2/webhooks?limit=2&after=${newest[3]}`)).json();
    expect(p3).toMatchObject({ has_more: false });
    expect(p3.data.map((w: { id: string }) => w.id)).toEqual(newest.slice(4));
    const back = (await get(`/v2/webhooks?limit=2&before=${newest[3]}`)).json();
    expect(back.data.map((w: { id: string }) => w.id)).toEqual(newest.slice(1, 3));
    expect(back.has_more).toBe(true);
  });

  it.each([
    ['?before=WHK-a&after=WHK-b', 'before'],
    ['?limit=0', 'limit'],
    ['?limit=101', 'limit'],
    ['?after=WHK-000000000000000000000000', 'after'],
  ])('400 for %s', async (qs, param) => {
    const r = await get(`/v2/webhooks${qs}`);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ type: 'invalid_request_error', param });
  });
});

describe('GET and DELETE /v2/webhooks/{id}', () => {
  it("404 No such webhook: '<id>' for an unknown id", async () => {
    const r = await get('/v2/webhooks/WHK-nope');
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ type: 'invalid_request_error', message: "No such webhook: 'WHK-nope'", param: 'id' });
  });

  it('DELETE answers {id, deleted: true}; the webhook is then gone from reads and lists', async () => {
    const w = (await create({ name: 'del', url: 'https://hooks.example.com/', events: ['booking'] })).json();
    const r = await t.app.inject({ method: 'DELETE', url: `/v2/webhooks/${w.id}`, headers: auth });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ id: w.id, deleted: true });
    expect((await get(`/v2/webhooks/${w.id}`)).statusCode).toBe(404);
    expect((await get('/v2/webhooks')).json().data).toEqual([]);
    expect((await t.app.inject({ method: 'DELETE', url: `/v2/webhooks/${w.id}`, headers: auth })).statusCode).toBe(404);
  });
});

describe('disable, enable, rotate-secret', () => {
  it('disables with a reason, enables again, and routes events only while enabled', async () => {
    const w = (await create({ name: 'toggle', url: `${receiver.url}/t`, events: ['booking'] })).json();
    const off = await post(`/v2/webhooks/${w.id}/disable`);
    expect(off.statusCode).toBe(200);
    expect(off.json()).toMatchObject({ enabled: false, disabled_reason: 'disabled_by_request' });
    expect(await routeEvent(envelope())).toEqual([]);
    const on = await post(`/v2/webhooks/${w.id}/enable`);
    expect(on.json()).toMatchObject({ enabled: true });
    expect(on.json()).not.toHaveProperty('disabled_reason');
    expect(await routeEvent(envelope())).toHaveLength(1);
    expect((await post('/v2/webhooks/WHK-nope/enable')).statusCode).toBe(404);
  });

  it('rotate-secret returns a new secret once, and deliveries are signed with it', async () => {
    const w = (await create({ name: 'rot', url: `${receiver.url}/r`, events: ['booking'] })).json();
    const r = await post(`/v2/webhooks/${w.id}/rotate-secret`);
    expect(r.statusCode).toBe(200);
    const secret = r.json().secret;
    expect(secret).toMatch(/^[0-9a-f]{32}$/);
    expect(secret).not.toBe(w.secret);
    expect((await get(`/v2/webhooks/${w.id}`)).json()).not.toHaveProperty('secret');
    const [id] = await routeEvent(envelope());
    await finished(id);
    const req = receiver.requests[0];
    // Signed at the test server's (skipped) time, which keeps moving while other runs of this file wait on
    // their retries: verify at the moment the attempt was signed (webhook-timestamp carries it).
    const now = Number(req.headers['webhook-timestamp']) * 1000;
    expect(verifyOncehubSignature({ header: req.headers['oncehub-signature'], rawBody: req.raw, secret, now })).toBe(true);
    expect(() => verifyOncehubSignature({ header: req.headers['oncehub-signature'], rawBody: req.raw, secret: w.secret, now })).toThrow();
  });
});

describe('deliveries', () => {
  it('lists deliveries with a status filter and shows one with the event and every attempt', async () => {
    receiver.respond = (_req, i): Answer => (i === 0 ? { status: 500 } : { status: 200 });
    const w = (await create({ name: 'log', url: `${receiver.url}/log`, events: ['booking.scheduled'] })).json();
    const ev = envelope();
    const [id] = await routeEvent(ev);
    expect(await finished(id)).toEqual({ status: 'succeeded', attempts: 2 });

    const list = (await get(`/v2/webhooks/${w.id}/deliveries`)).json();
    expect(list).toEqual({
      object: 'list',
      has_more: false,
      data: [
        {
          object: 'webhook_delivery',
          id,
          webhook_id: w.id,
          event_id: ev.id,
          event_type: 'booking.scheduled',
          status: 'succeeded',
          attempt_count: 2,
          last_status_code: 200,
          last_error: null,
          failure_reason: null,
          creation_time: expect.stringMatching(ISO),
          last_updated_time: expect.stringMatching(ISO),
          completion_time: expect.stringMatching(ISO),
          redelivery_of: null,
          test: false,
        },
      ],
    });
    expect((await get(`/v2/webhooks/${w.id}/deliveries?status=failed`)).json().data).toEqual([]);
    expect((await get(`/v2/webhooks/${w.id}/deliveries?status=succeeded`)).json().data).toHaveLength(1);
    expect((await get(`/v2/webhooks/${w.id}/deliveries?status=nope`)).statusCode).toBe(400);

    const detail = await get(`/v2/webhooks/${w.id}/deliveries/${id}`);
    expect(detail.statusCode).toBe(200);
    expect(detail.json().event).toEqual(ev);
    expect(detail.json().attempts).toEqual([
      { attempt_number: 1, started_at: expect.stringMatching(ISO), status_code: 500, latency_ms: expect.any(Number), error: 'HTTP 500' },
      { attempt_number: 2, started_at: expect.stringMatching(ISO), status_code: 200, latency_ms: expect.any(Number), error: null },
    ]);
    const gap = Date.parse(detail.json().attempts[1].started_at) - Date.parse(detail.json().attempts[0].started_at);
    expect(gap).toBeGreaterThanOrEqual(35_000);

    const other = (await create({ name: 'other', url: 'https://hooks.example.com/', events: ['booking'] })).json();
    const wrong = await get(`/v2/webhooks/${other.id}/deliveries/${id}`);
    expect(wrong.statusCode).toBe(404);
    expect(wrong.json()).toEqual({ type: 'invalid_request_error', message: `No such delivery: '${id}'`, param: 'deliveryId' });
  });

  it('redelivers a failed delivery as a new delivery of the same event, once the webhook is enabled again', async () => {
    receiver.respond = () => ({ status: 410 });
    const w = (await create({ name: 'gone', url: `${receiver.url}/gone`, events: ['booking'] })).json();
    const ev = envelope('booking.canceled');
    const [id] = await routeEvent(ev);
    expect(await finished(id)).toEqual({ status: 'failed', attempts: 1, reason: 'endpoint_gone' });
    expect((await get(`/v2/webhooks/${w.id}`)).json()).toMatchObject({ enabled: false, disabled_reason: 'endpoint_gone' });
    expect((await get(`/v2/webhooks/${w.id}/deliveries/${id}`)).json()).toMatchObject({ status: 'failed', failure_reason: 'endpoint_gone' });

    const refused = await post(`/v2/webhooks/${w.id}/deliveries/${id}/redeliver`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ type: 'invalid_request_error', param: 'id' });

    await post(`/v2/webhooks/${w.id}/enable`);
    receiver.respond = () => ({ status: 200 });
    const r = await post(`/v2/webhooks/${w.id}/deliveries/${id}/redeliver`);
    expect(r.statusCode).toBe(201);
    const again = r.json();
    expect(again).toMatchObject({ object: 'webhook_delivery', event_id: ev.id, status: 'pending', attempt_count: 0, redelivery_of: id });
    expect(again.id).not.toBe(id);
    expect(await finished(again.id)).toEqual({ status: 'succeeded', attempts: 1 });
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests.map((q) => q.headers['webhook-id'])).toEqual([ev.id, ev.id]);
    expect(receiver.requests[1].raw.equals(receiver.requests[0].raw)).toBe(true);
  });

  it('recover redelivers each failed delivery since a time, once', async () => {
    receiver.respond = () => ({ status: 410 });
    const w = (await create({ name: 'rec', url: `${receiver.url}/rec`, events: ['booking'] })).json();
    const before = new Date().toISOString();
    const [a] = await routeEvent(envelope());
    await finished(a);
    await post(`/v2/webhooks/${w.id}/enable`);
    await new Promise((r) => setTimeout(r, 5));
    const between = new Date().toISOString();
    const [b] = await routeEvent(envelope());
    await finished(b);

    expect((await post(`/v2/webhooks/${w.id}/recover`, { since: before })).statusCode).toBe(409);
    await post(`/v2/webhooks/${w.id}/enable`);
    receiver.respond = () => ({ status: 200 });

    const onlyB = await post(`/v2/webhooks/${w.id}/recover`, { since: between });
    expect(onlyB.statusCode).toBe(200);
    expect(onlyB.json()).toEqual({ object: 'webhook_recovery', webhook_id: w.id, since: between, delivery_ids: [expect.stringMatching(/^DLVR-/)] });
    const rest = (await post(`/v2/webhooks/${w.id}/recover`, { since: before })).json().delivery_ids;
    expect(rest).toHaveLength(1);
    expect((await post(`/v2/webhooks/${w.id}/recover`, { since: before })).json().delivery_ids).toEqual([]);

    const redelivered = [onlyB.json().delivery_ids[0], rest[0]];
    // Read the outcome from the delivery log in real time rather than awaiting the workflows' results: awaiting
    // a result lets the time-skipping server jump to other runs' 6-hour retries while a real POST is in flight,
    // which times the attempt out. A first attempt needs no timer, so nothing here depends on skipped time.
    const settled = async (id: string) => {
      for (let i = 0; i < 300; i++) {
        const d = (await get(`/v2/webhooks/${w.id}/deliveries/${id}`)).json();
        if (d.status !== 'pending') return { status: d.status, attempts: d.attempt_count };
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`delivery ${id} still pending`);
    };
    expect(await Promise.all(redelivered.map(settled))).toEqual([
      { status: 'succeeded', attempts: 1 },
      { status: 'succeeded', attempts: 1 },
    ]);
    const origin = await Promise.all(redelivered.map(async (id) => (await get(`/v2/webhooks/${w.id}/deliveries/${id}`)).json().redelivery_of));
    expect(origin).toEqual([b, a]);
    expect((await post(`/v2/webhooks/${w.id}/recover`, { since: 'yesterday' })).statusCode).toBe(400);
  });
});
