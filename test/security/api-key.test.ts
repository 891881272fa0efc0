/**
 * Every operation in the OpenAPI document refuses a request without an API-Key, or with a wrong one, before
 * any handler runs (401, authentication_error); only the document itself is public. Iterates the document,
 * so a route added later is covered without touching this file.
 */
import { buildTestApp, TEST_API_KEY, type TestApp } from '../helpers/app';

let t: TestApp;
let operations: { method: string; url: string }[];

beforeAll(async () => {
  t = await buildTestApp();
  const doc = t.app.swagger() as { paths: Record<string, Record<string, unknown>> };
  operations = Object.entries(doc.paths).flatMap(([p, ops]) =>
    Object.keys(ops).map((method) => ({
      method: method.toUpperCase(),
      // Well-formed ids so the request would pass validation if authentication let it through.
      url: p.replace('{deliveryId}', 'DLVR-0123456789abcdef').replace('{id}', 'USR-ABCDEFGHIJKLMNOPQRST'),
    })),
  );
});

afterAll(async () => {
  await t?.close();
});

const wrongKeys: [string, Record<string, string>][] = [
  ['missing', {}],
  ['empty', { 'api-key': '' }],
  ['wrong', { 'api-key': 'not-the-key' }],
  ['same length, one character off', { 'api-key': TEST_API_KEY.slice(0, -1) + (TEST_API_KEY.endsWith('y') ? 'z' : 'y') }],
  ['different case', { 'api-key': TEST_API_KEY.toUpperCase() }],
  ['with surrounding space', { 'api-key': ` ${TEST_API_KEY} ` }],
  ['as a bearer token instead', { authorization: `Bearer ${TEST_API_KEY}` }],
  ['with a prefix', { 'api-key': `x${TEST_API_KEY}` }],
];

test('the document lists every route group', () => {
  expect(operations.length).toBeGreaterThanOrEqual(35);
  for (const group of ['/v2/users', '/v2/booking-pages', '/v2/bookings', '/v2/conversations', '/v2/webhooks', '/v2/event-types']) {
    expect(operations.some((o) => o.url.startsWith(group))).toBe(true);
  }
});

test.each(wrongKeys)('every operation refuses an API-Key that is %s', async (_name, headers) => {
  const allowed: string[] = [];
  for (const op of operations) {
    const res = await t.app.inject({ method: op.method as 'GET', url: op.url, headers: { ...headers, 'content-type': 'application/json' }, payload: op.method === 'GET' || op.method === 'DELETE' ? undefined : '{}' });
    const body = res.json() as { type?: string; message?: string };
    if (res.statusCode !== 401 || body.type !== 'authentication_error' || !body.message) allowed.push(`${op.method} ${op.url} → ${res.statusCode}`);
  }
  expect(allowed).toEqual([]);
});

test('unknown routes are refused the same way (no route map for the unauthenticated)', async () => {
  const res = await t.app.inject({ method: 'GET', url: '/v2/no-such-thing' });
  expect(res.statusCode).toBe(401);
});

test('only the OpenAPI document is public; the right key passes authentication everywhere', async () => {
  expect((await t.app.inject({ method: 'GET', url: '/v2/openapi.json' })).statusCode).toBe(200);
  const res = await t.app.inject({ method: 'GET', url: '/v2/users', headers: { 'api-key': TEST_API_KEY } });
  expect(res.statusCode).toBe(200);
});
