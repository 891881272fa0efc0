/**
 * docs/examples/receiver.ts against real deliveries: the engine's routing activity (the first attempt of a real
 * event's delivery) and the API's test send POST to it; it verifies both signature schemes, handles each event once
 * (a repeat of the same webhook-id is acknowledged, not handled again) and refuses what is not signed with the secret.
 */
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createWebhookActivities } from '../../activities/webhooks';
import { loadConfig } from '../../src/config';
import { exampleEnvelope } from '../../src/webhooks/catalog';
import { buildEnvelope } from '../../src/domain/webhooks/envelope';
import type { RouteResult } from '../../src/shared/dispatch-contract';
import { startReceiver, type RunningReceiver, type WebhookEvent } from '../../docs/examples/receiver';
import { buildTestApp, TEST_API_KEY, type TestApp } from '../helpers/app';

const auth = { 'api-key': TEST_API_KEY };
let t: TestApp;
let receiver: RunningReceiver;
let secret: string;
let webhookId: string;
const handled: WebhookEvent[] = [];

/** Nothing here may start a delivery workflow: every first attempt is accepted. */
const noTemporal = new Proxy({} as Client, {
  get(_t, prop) {
    if (prop === 'then' || typeof prop === 'symbol') return undefined;
    throw new Error(`a delivery was handed to a workflow (temporal.${String(prop)}): the receiver did not accept it`);
  },
});

beforeAll(async () => {
  t = await buildTestApp();
  // The subscription first (its secret is what the receiver verifies with), then the receiver at a free port.
  receiver = await startReceiver({ secret: '0'.repeat(32), onEvent: () => undefined });
  const url = receiver.url;
  await receiver.close();
  const created = await t.app.inject({ method: 'POST', url: '/v2/webhooks', headers: auth, payload: { name: 'example receiver', url: `${url}/hook`, events: ['booking', 'conversation'] } });
  expect(created.statusCode).toBe(201);
  ({ secret, id: webhookId } = created.json());
  const port = Number(new URL(url).port);
  receiver = await startReceiver({ secret, port, onEvent: (e) => void handled.push(e) });
});

afterAll(async () => {
  await receiver?.close();
  await t?.close();
});

test('a real delivery is verified with both schemes and handled once; a repeat of its webhook-id is acknowledged only', async () => {
  const config = loadConfig({ API_KEYS: TEST_API_KEY, DATA_DIR: '/tmp/booking-engine-test-unused', LOG_LEVEL: 'warn' });
  const activities = createWebhookActivities({ db: t.db, config, temporal: noTemporal });
  const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
  // An event that happens now (routing sends it to subscriptions that existed when it happened).
  const sample = exampleEnvelope('booking.completed', `EVNT-receiver${Date.now()}`);
  const envelope = buildEnvelope({ eventId: sample.id, type: sample.type, creationTime: new Date().toISOString(), data: sample.data });
  const routed = (await env.run(activities.routeEvent, { envelope, sourceWorkflowId: 'BKNG-receiver-example' })) as RouteResult;
  expect(routed).toMatchObject({ delivered: 1, retrying: 0, stopped: 0 });
  expect(handled.map((e) => e.id)).toEqual([envelope.id]);
  expect(handled[0]).toEqual(envelope);

  // The engine sends an event again on a retry or a redelivery, with the same id: the receiver handles it once.
  const again = await env.run(activities.routeEvent, { envelope, sourceWorkflowId: 'BKNG-receiver-example' });
  expect(again).toMatchObject({ delivered: 1 });
  const [id] = routed.deliveryIds;
  // A retried routing does not post again; a fresh delivery of the same event (as a redelivery is) does.
  await t.db.query('DELETE FROM webhook_delivery_attempts WHERE delivery_id = $1', [id]);
  await t.db.query('DELETE FROM webhook_deliveries WHERE id = $1', [id]);
  const redelivered = (await env.run(activities.routeEvent, { envelope, sourceWorkflowId: 'BKNG-receiver-example' })) as RouteResult;
  expect(redelivered).toMatchObject({ delivered: 1 });
  const attempts = await t.app.inject({ method: 'GET', url: `/v2/webhooks/${webhookId}/deliveries/${id}`, headers: auth });
  expect(attempts.json().attempts).toHaveLength(1);
  expect(handled.map((e) => e.id)).toEqual([envelope.id]);
});

test("the API's test send reaches it, verified; a request not signed with the secret is refused and not handled", async () => {
  const before = handled.length;
  const r = await t.app.inject({ method: 'POST', url: `/v2/webhooks/${webhookId}/test`, headers: auth, payload: { event_type: 'conversation.closed' } });
  expect(r.json()).toMatchObject({ succeeded: true, status_code: 200, error: null });
  expect(handled.slice(before).map((e) => [e.id, e.type])).toEqual([[r.json().event_id, 'conversation.closed']]);

  // Signed with another secret: refused with 400, as a forged or misdirected request should be.
  const rotated = await t.app.inject({ method: 'POST', url: `/v2/webhooks/${webhookId}/rotate-secret`, headers: auth });
  expect(rotated.statusCode).toBe(200);
  const forged = await t.app.inject({ method: 'POST', url: `/v2/webhooks/${webhookId}/test`, headers: auth, payload: { event_type: 'booking.canceled' } });
  expect(forged.json()).toMatchObject({ succeeded: false, status_code: 400, error: 'HTTP 400' });
  expect(handled.length).toBe(before + 1);

  // A body changed after signing is refused too.
  const body = JSON.stringify(exampleEnvelope('booking.scheduled', 'EVNT-tampered'));
  const res = await fetch(`${receiver.url}/hook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': 'EVNT-tampered', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA', 'oncehub-signature': `t=${Math.floor(Date.now() / 1000)},s=${'0'.repeat(64)}` },
    body,
  });
  expect(res.status).toBe(400);
  expect(handled.length).toBe(before + 1);
});
