/**
 * Secrets never enter workflow history: bookings created and acted on through the API, with a webhook
 * subscription delivering every event (signed with its secret) and the secret rotated midway; then every
 * history on the dev server is exported and scanned for the API key and both webhook secrets. (The fault suite
 * scans its own server for Salesforce tokens and the client secret the same way.)
 */
import { request } from 'undici';
import { startReceiver, type Receiver } from '../webhooks/receiver';
import { startApiStack, STACK_API_KEY, type ApiStack } from '../fuzz/api-stack';
import { scanHistories } from './history-scan';

jest.setTimeout(120_000);

let stack: ApiStack;
let receiver: Receiver;

beforeAll(async () => {
  [stack, receiver] = await Promise.all([startApiStack(), startReceiver()]);
});

afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await request(`${stack.url}${path}`, {
    method,
    headers: { 'API-Key': STACK_API_KEY, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const json = (await res.body.json()) as T;
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${JSON.stringify(json)}`);
  return json;
}

test('no API key or webhook secret appears in any workflow history', async () => {
  // The first answer fails, so that delivery goes on in a delivery workflow (routing delivers the rest itself)
  // and its history is scanned too.
  receiver.respond = (_req, i) => (i === 0 ? { status: 503 } : { status: 200 });
  const hook = await api<{ id: string; secret: string }>('POST', '/v2/webhooks', { name: 'scan', url: `${receiver.url}/hook`, events: ['booking'] });
  const user = await api<{ id: string }>('POST', '/v2/users', { name: 'Ada Owner', email: 'ada@example.com', timezone: 'Europe/London' });
  const page = await api<{ id: string }>('POST', '/v2/booking-pages', { name: 'Intro', owner_user_id: user.id, mode: 'automatic' });
  const book = () =>
    api<{ id: string }>('POST', '/v2/bookings', {
      booking_page_id: page.id,
      starting_time: new Date(Date.now() + 48 * 3600_000).toISOString(),
      duration_minutes: 30,
      customer_timezone: 'Europe/Paris',
      form_submission: { name: 'Carol', email: 'carol@example.com' },
    });
  const a = await book();
  const b = await book();
  await api('POST', `/v2/bookings/${a.id}/cancel`, { actioned_by: 'customer', reason: 'scan' });
  const rotated = await api<{ secret: string }>('POST', `/v2/webhooks/${hook.id}/rotate-secret`);
  await api('POST', `/v2/bookings/${b.id}/reschedule`, { starting_time: new Date(Date.now() + 72 * 3600_000).toISOString() });
  // Four booking events, each attempted (signed with a secret) before the scan.
  for (let i = 0; i < 100 && receiver.requests.length < 4; i++) await new Promise((r) => setTimeout(r, 200));
  expect(receiver.requests.length).toBeGreaterThanOrEqual(4);

  const scan = await scanHistories(stack.env.client, { 'API key': STACK_API_KEY, 'webhook secret': hook.secret, 'rotated webhook secret': rotated.secret });
  console.log(`[security] API-stack history scan: ${scan.workflows} workflows, ${scan.events} events, ${scan.leaks.length} leaks`);
  // Two bookings and the delivery workflow of the failed first attempt.
  expect(scan.workflows).toBeGreaterThanOrEqual(3);
  expect(scan.leaks).toEqual([]);
  // Control: the scan does see payload text (a value known to be in the inputs is found).
  const control = await scanHistories(stack.env.client, { 'booking id': a.id, 'customer email': 'carol@example.com' });
  expect(new Set(control.leaks.map((l) => l.label))).toEqual(new Set(['booking id', 'customer email']));
});
