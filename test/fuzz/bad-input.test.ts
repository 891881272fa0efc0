/**
 * Hostile input over real HTTP: malformed JSON, bodies over API_BODY_LIMIT_BYTES, wrong content types, invalid
 * unicode (lone surrogates, invalid UTF-8 bytes) and ids of the wrong kind. Each must get a clear 4xx with the
 * API's error body {type, message} and leave nothing behind: no workflow started, no store row written.
 * Then every workflow history on the server replays against the current workflow code.
 */
import { request } from 'undici';
import { replayEveryHistory } from '../helpers/replay-gate';
import { startApiStack, STACK_API_KEY, type ApiStack } from './api-stack';

jest.setTimeout(120_000);

const BODY_LIMIT = 4096;
let stack: ApiStack;
let userId: string;
let pageId: string;

beforeAll(async () => {
  stack = await startApiStack({ API_BODY_LIMIT_BYTES: String(BODY_LIMIT) });
  // One user and page so a valid-looking booking body would otherwise be accepted.
  const user = await call('POST', '/v2/users', JSON.stringify({ name: 'Ada Owner', email: 'ada@example.com', timezone: 'Europe/London' }));
  expect(user.status).toBe(201);
  userId = (user.json as { id: string }).id;
  const page = await call('POST', '/v2/booking-pages', JSON.stringify({ name: 'Intro', owner_user_id: userId, mode: 'automatic' }));
  expect(page.status).toBe(201);
  pageId = (page.json as { id: string }).id;
});

afterAll(async () => {
  await stack?.stop();
});

async function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: string | Buffer, contentType = 'application/json') {
  const res = await request(`${stack.url}${path}`, {
    method,
    headers: { 'API-Key': STACK_API_KEY, ...(body !== undefined ? { 'content-type': contentType } : {}) },
    body,
  });
  const text = await res.body.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // left null: asserted below
  }
  return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), json, text };
}

/** Everything a request could have left behind. */
async function sideEffects() {
  const rows: Record<string, number> = {};
  for (const table of ['users', 'booking_pages', 'idempotency_keys', 'webhook_subscriptions', 'webhook_deliveries', 'conversations']) {
    rows[table] = (await stack.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
  }
  const { count } = await stack.env.client.workflow.count();
  return { rows, workflows: count };
}

function futureBooking(extra: Record<string, unknown> = {}) {
  return {
    booking_page_id: pageId,
    starting_time: new Date(Date.now() + 48 * 3600_000).toISOString(),
    duration_minutes: 30,
    customer_timezone: 'Europe/Paris',
    form_submission: { name: 'Carol', email: 'carol@example.com' },
    ...extra,
  };
}

const big = (n: number) => JSON.stringify(futureBooking({ subject: 'x'.repeat(n) }));
const loneSurrogate = (s: string) => s.replace('"Carol"', '"Carol \\ud800"');

const cases: [string, 'POST' | 'PATCH' | 'GET', () => string, () => string | Buffer | undefined, string | undefined, number[]][] = [
  ['malformed JSON (truncated)', 'POST', () => '/v2/bookings', () => '{"booking_page_id": "BP-', 'application/json', [400]],
  ['malformed JSON (trailing garbage)', 'POST', () => '/v2/users', () => '{"name":"a"} x', 'application/json', [400]],
  ['JSON that is not an object', 'POST', () => '/v2/bookings', () => '[1,2,3]', 'application/json', [400]],
  ['empty JSON body', 'POST', () => '/v2/webhooks', () => '', 'application/json', [400]],
  ['body over the size limit', 'POST', () => '/v2/bookings', () => big(BODY_LIMIT + 100), 'application/json', [413]],
  ['body over the size limit on an action', 'POST', () => `/v2/bookings/BKNG-${'0'.repeat(20)}/cancel`, () => JSON.stringify({ actioned_by: 'user', reason: 'x'.repeat(BODY_LIMIT) }), 'application/json', [413]],
  ['text/plain body', 'POST', () => '/v2/bookings', () => JSON.stringify(futureBooking()), 'text/plain', [400, 415]],
  ['form-encoded body', 'POST', () => '/v2/users', () => 'name=a&email=b%40c.de', 'application/x-www-form-urlencoded', [415]],
  ['XML body', 'POST', () => '/v2/webhooks', () => '<webhook/>', 'application/xml', [415]],
  ['lone surrogate in a JSON string (booking)', 'POST', () => '/v2/bookings', () => loneSurrogate(JSON.stringify(futureBooking())), 'application/json', [400]],
  ['lone surrogate in a JSON string (user)', 'POST', () => '/v2/users', () => '{"name":"A \\udc00","email":"a@example.com","timezone":"UTC"}', 'application/json', [400]],
  ['invalid UTF-8 bytes', 'POST', () => '/v2/users', () => Buffer.concat([Buffer.from('{"name":"A '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('","email":"a@example.com","timezone":"UTC"}')]), 'application/json', [400]],
  ['invalid UTF-8 bytes (overlong encoding)', 'POST', () => '/v2/bookings', () => Buffer.concat([Buffer.from(JSON.stringify(futureBooking()).slice(0, -1)), Buffer.from(',"subject":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), 'application/json', [400]],
  ['a user id where a booking id belongs (get)', 'GET', () => `/v2/bookings/${userId}`, () => undefined, undefined, [400, 404]],
  ['a booking page id where a booking id belongs (cancel)', 'POST', () => `/v2/bookings/${pageId}/cancel`, () => JSON.stringify({ actioned_by: 'user' }), 'application/json', [400, 404]],
  ['a booking id where a user id belongs', 'GET', () => `/v2/users/BKNG-${'1'.repeat(20)}`, () => undefined, undefined, [400, 404]],
  ['a user id as booking page of a booking', 'POST', () => '/v2/bookings', () => JSON.stringify(futureBooking({ booking_page_id: userId })), 'application/json', [400]],
  ['a page id as owner of a page', 'POST', () => '/v2/booking-pages', () => JSON.stringify({ name: 'P', owner_user_id: pageId, mode: 'automatic' }), 'application/json', [400]],
  ['a conversation id of the wrong kind', 'GET', () => `/v2/conversations/${userId}`, () => undefined, undefined, [400, 404]],
  ['a webhook id of the wrong kind', 'GET', () => `/v2/webhooks/${pageId}`, () => undefined, undefined, [400, 404]],
  ['a path id with percent-encoded control characters', 'GET', () => '/v2/bookings/BKNG-%00%0a%27', () => undefined, undefined, [400, 404]],
  ['a NUL byte in a user id', 'GET', () => '/v2/users/USR-%00', () => undefined, undefined, [400, 404]],
  ['a NUL byte in a booking page id', 'PATCH', () => '/v2/booking-pages/BP-%00', () => JSON.stringify({ name: 'x' }), 'application/json', [400, 404]],
  ['a NUL byte in a webhook id', 'GET', () => '/v2/webhooks/WHK-%00/deliveries', () => undefined, undefined, [400, 404]],
  ['a NUL byte and invalid UTF-8 in a list cursor', 'GET', () => '/v2/booking-pages?before=%C3%9Bz%F3%9A%B3%BDy%C2%95F%1C%17%003', () => undefined, undefined, [400]],
  ['a booking list cursor that is not one', 'GET', () => '/v2/bookings?cursor=%3E%F0%AF%96%85%F1%A9%A9%99%C2%91%C2%90&status=canceled', () => undefined, undefined, [400]],
  ['a booking list cursor of valid characters the server cannot read', 'GET', () => '/v2/bookings?cursor=AAAAbm90LWEtdG9rZW4', () => undefined, undefined, [400]],
  ['a NUL byte in a users list cursor', 'GET', () => '/v2/users?after=USR-%00', () => undefined, undefined, [400]],
];

test.each(cases)('%s: a clear 4xx error body and no side effect', async (_name, method, path, body, contentType, statuses) => {
  const before = await sideEffects();
  const res = await call(method, path(), body(), contentType);
  expect(statuses).toContain(res.status);
  expect(res.contentType).toContain('application/json');
  expect(res.json).toEqual(expect.objectContaining({ type: expect.stringMatching(/_error$/), message: expect.any(String) }));
  expect((res.json as { message: string }).message.length).toBeGreaterThan(0);
  // Visibility is eventually consistent: give a wrongly started workflow time to show up before comparing.
  await new Promise((r) => setTimeout(r, 300));
  expect(await sideEffects()).toEqual(before);
});

test('the same request, well-formed, does start a booking (so the cases above fail for the reason they name)', async () => {
  const before = await sideEffects();
  const res = await call('POST', '/v2/bookings', JSON.stringify(futureBooking()));
  expect(res.status).toBe(201);
  await new Promise((r) => setTimeout(r, 1500));
  expect((await sideEffects()).workflows).toBeGreaterThan(before.workflows);
});

test('every history on the server replays against the current workflow code', async () => {
  const gate = await replayEveryHistory(stack.env.client, { label: 'bad input' });
  expect(gate.failures).toEqual([]);
  expect(gate.replayed).toBeGreaterThan(0);
});
