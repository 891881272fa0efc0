/**
 * POST /v2/webhooks/{id}/test: a signed sample event sent at once through the delivery path and SSRF guard of real
 * deliveries, recorded in the delivery log as a test, answering with the attempt. On the real API over an in-memory
 * store, POSTing to a real receiver on 127.0.0.1; no Temporal is involved (a test send starts no workflow).
 */
import { Webhook } from 'standardwebhooks';
import { createWebhooksRepository } from '../../src/store/webhooks-repository';
import { verifyOncehubSignature } from '../../src/webhooks/verify';
import { WEBHOOK_EVENT_TYPES } from '../../src/domain/webhooks/events';
import { buildTestApp, TEST_API_KEY, type TestApp } from '../helpers/app';
import { resetWebhookState, startReceiver, type Receiver } from '../webhooks/receiver';

const auth = { 'api-key': TEST_API_KEY };
let t: TestApp;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  t = await buildTestApp();
});

afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

beforeEach(() => resetWebhookState(t.db, receiver));

let n = 0;
async function subscribe(events: string[] = ['booking']): Promise<{ id: string; secret: string }> {
  n += 1;
  const r = await t.app.inject({ method: 'POST', url: '/v2/webhooks', headers: auth, payload: { name: `test-send-${n}`, url: `${receiver.url}/hook`, events } });
  expect(r.statusCode).toBe(201);
  return r.json();
}
const sendTest = (id: string, payload: object = {}) => t.app.inject({ method: 'POST', url: `/v2/webhooks/${id}/test`, headers: auth, payload });
const get = (url: string) => t.app.inject({ method: 'GET', url, headers: auth });

test('sends a signed sample event of the chosen type and answers with the attempt', async () => {
  const w = await subscribe();
  const r = await sendTest(w.id, { event_type: 'booking.rescheduled' });
  expect(r.statusCode).toBe(200);
  const body = r.json();
  expect(body).toEqual({
    object: 'webhook_test',
    webhook_id: w.id,
    delivery_id: expect.stringMatching(/^DLVR-/),
    event_id: expect.stringMatching(/^EVNT-test_/),
    event_type: 'booking.rescheduled',
    succeeded: true,
    status_code: 200,
    latency_ms: expect.any(Number),
    error: null,
  });

  expect(receiver.requests).toHaveLength(1);
  const req = receiver.requests[0];
  expect(req.path).toBe('/hook');
  const sent = JSON.parse(req.raw.toString('utf8'));
  expect(sent).toMatchObject({ id: body.event_id, object: 'event', type: 'booking.rescheduled', api_version: 'v2', data: { object: 'booking', status: 'rescheduled' } });
  // Signed like every delivery: both schemes verify with the subscription's secret.
  expect(verifyOncehubSignature({ header: req.headers['oncehub-signature'], rawBody: req.raw, secret: w.secret })).toBe(true);
  const standard = new Webhook(w.secret, { format: 'raw' }).verify(req.raw.toString('utf8'), {
    'webhook-id': String(req.headers['webhook-id']),
    'webhook-timestamp': String(req.headers['webhook-timestamp']),
    'webhook-signature': String(req.headers['webhook-signature']),
  });
  expect(standard).toEqual(sent);
  expect(req.headers['webhook-id']).toBe(body.event_id);

  // Recorded in the delivery log like any attempt, marked as a test.
  const list = (await get(`/v2/webhooks/${w.id}/deliveries`)).json();
  expect(list.data).toEqual([
    expect.objectContaining({ id: body.delivery_id, event_id: body.event_id, event_type: 'booking.rescheduled', status: 'succeeded', attempt_count: 1, test: true }),
  ]);
  const detail = (await get(`/v2/webhooks/${w.id}/deliveries/${body.delivery_id}`)).json();
  expect(detail.event).toEqual(sent);
  expect(detail.attempts).toEqual([{ attempt_number: 1, started_at: expect.any(String), status_code: 200, latency_ms: body.latency_ms, error: null }]);
});

test('without a type, sends the first type the subscription receives; every event type can be sent', async () => {
  const w = await subscribe(['conversation']);
  const first = await sendTest(w.id);
  expect(first.statusCode).toBe(200);
  expect(first.json().event_type).toBe('conversation.started');
  for (const type of WEBHOOK_EVENT_TYPES) {
    const r = await sendTest(w.id, { event_type: type });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ event_type: type, succeeded: true, status_code: 200 });
  }
  expect(receiver.requests.map((q) => JSON.parse(q.raw.toString('utf8')).type)).toEqual(['conversation.started', ...WEBHOOK_EVENT_TYPES]);
});

test("a receiver's failure is the answer: recorded as a failed test, never retried, the subscription unchanged", async () => {
  const w = await subscribe();
  receiver.respond = () => ({ status: 500 });
  const failed = (await sendTest(w.id, { event_type: 'booking.canceled' })).json();
  expect(failed).toMatchObject({ succeeded: false, status_code: 500, error: 'HTTP 500' });
  const d = (await get(`/v2/webhooks/${w.id}/deliveries/${failed.delivery_id}`)).json();
  expect(d).toMatchObject({ status: 'failed', attempt_count: 1, failure_reason: 'test_not_retried', test: true, last_status_code: 500 });

  // 410 Gone from a test does not disable the subscription (a real delivery's 410 would).
  receiver.respond = () => ({ status: 410 });
  expect((await sendTest(w.id)).json()).toMatchObject({ succeeded: false, status_code: 410, error: 'HTTP 410' });
  expect((await get(`/v2/webhooks/${w.id}`)).json()).toMatchObject({ enabled: true });

  // A test delivery is not redelivered, and recovery leaves test deliveries out.
  const redeliver = await t.app.inject({ method: 'POST', url: `/v2/webhooks/${w.id}/deliveries/${failed.delivery_id}/redeliver`, headers: auth });
  expect(redeliver.statusCode).toBe(409);
  expect(redeliver.json()).toMatchObject({ type: 'invalid_request_error', param: 'deliveryId', message: expect.stringContaining('test send') });
  const recover = await t.app.inject({ method: 'POST', url: `/v2/webhooks/${w.id}/recover`, headers: auth, payload: { since: '2000-01-01T00:00:00Z' } });
  expect(recover.statusCode).toBe(200);
  expect(recover.json().delivery_ids).toEqual([]);
});

test('a receiver that does not answer in time is reported with the time-out', async () => {
  const slow = await buildTestApp({ db: t.db, env: { WEBHOOK_TIMEOUT_MS: '300' } });
  try {
    const w = await subscribe();
    receiver.respond = () => ({ status: 200, hang: true });
    const r = await slow.app.inject({ method: 'POST', url: `/v2/webhooks/${w.id}/test`, headers: auth, payload: {} });
    expect(r.json()).toMatchObject({ succeeded: false, status_code: null, error: 'Timed out after 300 ms' });
    expect(r.json().latency_ms).toBeGreaterThanOrEqual(250);
  } finally {
    await slow.close();
  }
});

test('the SSRF guard of real deliveries refuses a private target: nothing is sent, the refusal is the answer', async () => {
  // Deliveries to 127.0.0.1 are allowed only where WEBHOOK_ALLOW_PRIVATE_TARGETS says so; this API allows none.
  const guarded = await buildTestApp({ db: t.db, env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: '', WEBHOOK_ALLOW_HTTP: 'true' } });
  try {
    // Stored directly: the create route refuses this URL here, as it should; a host name can still resolve to it later.
    const sub = await createWebhooksRepository(t.db).createSubscription({ id: 'WHK-ssrfprobe', name: 'ssrf', url: `${receiver.url}/hook`, events: ['booking'], secret: 'a'.repeat(32) });
    const r = await guarded.app.inject({ method: 'POST', url: `/v2/webhooks/${sub.id}/test`, headers: auth, payload: { event_type: 'booking.scheduled' } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ succeeded: false, status_code: null, error: expect.stringMatching(/127\.0\.0\.1/) });
    expect(receiver.requests).toHaveLength(0);
    const d = (await get(`/v2/webhooks/${sub.id}/deliveries/${r.json().delivery_id}`)).json();
    expect(d).toMatchObject({ status: 'failed', failure_reason: 'forbidden_target', test: true });
  } finally {
    await guarded.close();
  }
});

describe('bad input answers the JSON error shape', () => {
  test('an unknown subscription is a 404', async () => {
    const r = await sendTest('WHK-doesnotexist', { event_type: 'booking.scheduled' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ type: 'invalid_request_error', message: "No such webhook: 'WHK-doesnotexist'", param: 'id' });
  });

  test.each([['booking.created'], ['booking'], ['conversation']])('event type %s is a 400 naming event_type', async (type) => {
    const w = await subscribe();
    const r = await sendTest(w.id, { event_type: type });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({ type: 'invalid_request_error', message: expect.stringContaining(`Unknown event type '${type}'`), param: 'event_type' });
    expect(receiver.requests).toHaveLength(0);
  });

  test('an unknown field, a malformed id and no API key', async () => {
    const w = await subscribe();
    const extra = await sendTest(w.id, { event_type: 'booking.scheduled', url: 'https://elsewhere.example.com/' });
    expect(extra.statusCode).toBe(400);
    expect(extra.json()).toMatchObject({ type: 'invalid_request_error' });
    expect((await sendTest('not-an-id')).statusCode).toBe(400);
    const anonymous = await t.app.inject({ method: 'POST', url: `/v2/webhooks/${w.id}/test`, payload: {} });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ type: 'authentication_error' });
    expect(receiver.requests).toHaveLength(0);
  });
});
