/**
 * Issue 14, validation gaps, on a real dev server (no worker: a create only starts its workflow): date-times are
 * read strictly, body fields are never type-coerced (query strings still are), text fields and URLs refuse control
 * characters, and a booking may start at most BOOKING_HORIZON_DAYS ahead. Each refusal is a 400 naming the field
 * and starts nothing.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { localEnv, uniqueTaskQueue } from '../helpers/temporal-env';
import { buildTestApp, TEST_API_KEY, type TestApp } from '../helpers/app';
import { isDateTime } from '../../src/api/schemas/common';
import { loadConfig } from '../../src/config';

const HORIZON_DAYS = 30;
let env: TestWorkflowEnvironment;
let t: TestApp;
let pageId: string;

async function call(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown, headers: Record<string, string> = {}) {
  const res = await t.app.inject({ method, url, headers: { 'api-key': TEST_API_KEY, ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: res.statusCode, body: res.json() };
}

const inDays = (d: number) => new Date(Date.now() + d * 24 * 3600_000).toISOString();

function booking(overrides: Record<string, unknown> = {}) {
  return {
    booking_page_id: pageId,
    starting_time: inDays(2),
    duration_minutes: 30,
    customer_timezone: 'Europe/Paris',
    form_submission: { name: 'Carol Customer', email: 'carol@example.com' },
    ...overrides,
  };
}

const workflowCount = async () => (await env.client.workflow.count()).count;

/** Expects a 400 naming `param`, and that nothing was started. */
async function expectRefused(res: Promise<{ status: number; body: { type?: string; param?: string; message?: string } }>, param: string, before?: number) {
  const r = await res;
  expect(r).toMatchObject({ status: 400, body: { type: 'invalid_request_error', param } });
  if (before !== undefined) expect(await workflowCount()).toBe(before);
  return r.body.message ?? '';
}

beforeAll(async () => {
  env = await localEnv();
  t = await buildTestApp({
    temporal: env.client,
    env: { API_KEYS: TEST_API_KEY, TEMPORAL_TASK_QUEUE: uniqueTaskQueue('validation'), BOOKING_HORIZON_DAYS: String(HORIZON_DAYS), LOG_LEVEL: 'warn' },
  });
  const user = await call('POST', '/v2/users', { name: 'Ada Owner', email: 'ada@example.com', timezone: 'Europe/London' });
  const page = await call('POST', '/v2/booking-pages', { name: 'Intro', owner_user_id: user.body.id });
  pageId = page.body.id;
});

afterAll(async () => {
  await t?.close();
  await env?.teardown();
});

describe('date-times are read strictly', () => {
  /** Each date-time field of the API refuses `value` with a 400 naming it, and nothing starts. */
  async function refusedEverywhere(value: string) {
    const before = await workflowCount();
    const message = await expectRefused(call('POST', '/v2/bookings', booking({ starting_time: value })), 'starting_time', before);
    expect(message).toContain('RFC 3339');
    await expectRefused(
      call('POST', '/v2/bookings/packages', booking({ starting_time: undefined, duration_minutes: undefined, sessions: [{ starting_time: inDays(2), duration_minutes: 30 }, { starting_time: value, duration_minutes: 30 }] })),
      'sessions.1.starting_time',
      before,
    );
    await expectRefused(call('POST', '/v2/bookings/BKNG-unknown/reschedule', { starting_time: value }), 'starting_time');
    await expectRefused(call('GET', `/v2/bookings?starting_after=${encodeURIComponent(value)}`), 'starting_after');
    await expectRefused(call('GET', `/v2/bookings?starting_before=${encodeURIComponent(value)}`), 'starting_before');
    await expectRefused(call('POST', '/v2/webhooks/WHK-unknown/recover', { since: value }), 'since');
  }

  test('a leap second (2033-06-30T23:59:60Z, a RangeError in new Date) is a 400 on every date-time field', async () => {
    await refusedEverywhere('2033-06-30T23:59:60Z');
  });

  test('so is what Date would misread: no offset (server-local time), a space for the T, February 30, hour 24, offset +24:00, no seconds', async () => {
    for (const value of ['2033-06-30T10:00:00', '2033-06-30 10:00:00Z', '2033-02-30T10:00:00Z', '2033-06-30T24:00:00Z', '2033-06-30T10:00:00+24:00', '2033-06-30T10:00Z']) {
      await refusedEverywhere(value);
    }
  });

  test('well-formed date-times pass: fractions, offsets, lower-case t and z, the last second of a leap year', () => {
    for (const ok of ['2028-02-29T23:59:59Z', '2026-12-01T15:00:00.123456789+01:00', '2026-12-01t15:00:00z', '2026-12-01T15:00:00-23:59']) {
      expect([ok, isDateTime(ok)]).toEqual([ok, true]);
    }
    for (const bad of ['2027-02-29T10:00:00Z', '2026-13-01T10:00:00Z', '2026-12-01T15:00:00.Z', '2026-12-01T15:00:00+01', '+002026-12-01T15:00:00Z']) {
      expect([bad, isDateTime(bad)]).toEqual([bad, false]);
    }
  });

  test('a booking at a well-formed time with an offset is created', async () => {
    const start = new Date(Date.now() + 3 * 24 * 3600_000);
    start.setUTCMilliseconds(0);
    const withOffset = start.toISOString().replace('Z', '+00:00');
    const r = await call('POST', '/v2/bookings', booking({ starting_time: withOffset }));
    expect(r.status).toBe(201);
    expect(r.body.starting_time).toBe(start.toISOString());
  });
});

describe('bodies are not type-coerced; query strings are', () => {
  test.each([
    ['duration_minutes as a string', { duration_minutes: '30' }, 'duration_minutes'],
    ['duration_minutes as a boolean', { duration_minutes: true }, 'duration_minutes'],
    ['subject as a number', { subject: 42 }, 'subject'],
    ['subject as null', { subject: null }, 'subject'],
    ['attendees as one string instead of an array', { attendees: 'dave@example.com' }, 'attendees'],
  ])('%s is a 400 and starts nothing', async (_name, overrides, param) => {
    const before = await workflowCount();
    await expectRefused(call('POST', '/v2/bookings', booking(overrides)), param, before);
  });

  test('other bodies too: a numeric name, a string boolean', async () => {
    await expectRefused(call('POST', '/v2/users', { name: 1234, email: 'num@example.com', timezone: 'UTC' }), 'name');
    await expectRefused(call('POST', '/v2/booking-pages', { name: 'P', owner_user_id: 'USR-x', salesforce: { connected: 'true' } }), 'salesforce.connected');
  });

  test('query strings still parse numbers (limit) and refuse what is not one', async () => {
    await call('POST', '/v2/users', { name: 'Second', email: 'second@example.com', timezone: 'UTC' });
    const r = await call('GET', '/v2/users?limit=1');
    expect(r.status).toBe(200);
    expect(r.body.data).toHaveLength(1);
    expect(r.body.has_more).toBe(true);
    await expectRefused(call('GET', '/v2/users?limit=one'), 'limit');
  });
});

describe('text fields and URLs refuse control characters', () => {
  const controls = [
    ['NUL', '\u0000'],
    ['CR LF', '\r\n'],
    ['LF', '\n'],
    ['TAB', '\t'],
    ['ESC', '\u001b'],
    ['DEL', '\u007f'],
    ['C1 NEL', '\u0085'],
  ];

  test.each(controls)('%s in a user, page, form or webhook name is a 400 naming the field', async (_name, c) => {
    const before = await workflowCount();
    const users = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0].n;
    await expectRefused(call('POST', '/v2/users', { name: `Ada${c}Owner`, email: 'ctl@example.com', timezone: 'UTC' }), 'name');
    expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(users);
    await expectRefused(call('PATCH', `/v2/booking-pages/${pageId}`, { name: `Intro${c}` }), 'name');
    await expectRefused(call('POST', '/v2/bookings', booking({ form_submission: { name: `Carol${c}`, email: 'carol@example.com' } })), 'form_submission.name', before);
    // A note may run over several lines (TAB, CR, LF); any other control is refused there too.
    if (!['\r\n', '\n', '\t'].includes(c)) {
      await expectRefused(call('POST', '/v2/bookings', booking({ form_submission: { name: 'Carol', email: 'carol@example.com', note: `line${c}` } })), 'form_submission.note', before);
    }
    await expectRefused(call('POST', '/v2/webhooks', { name: `hook${c}`, url: 'https://example.com/hook', events: ['booking.scheduled'] }), 'name');
    await expectRefused(call('POST', '/v2/conversations', { bot: { id: 'b', name: `Bot${c}` }, website: { id: 'w', name: 'Site', url: 'https://example.com' }, initiated_by: 'bot' }), 'bot.name');
  });

  test('a TAB in the Idempotency-Key header (the one control character HTTP lets through) is a 400', async () => {
    const before = await workflowCount();
    await expectRefused(call('POST', '/v2/bookings', booking(), { 'idempotency-key': 'key\tone' }), 'idempotency-key', before);
  });

  test('CR/LF or TAB inside a webhook URL is a 400 on url, not a different path', async () => {
    for (const url of ['https://example.com/ho\r\nok', 'https://example.com/hook\r\nX-Injected: 1', 'https://exa\tmple.com/hook', 'https://example.com/\u0000']) {
      const message = await expectRefused(call('POST', '/v2/webhooks', { name: 'ctl-url', url, events: ['booking.scheduled'] }), 'url');
      expect(message).toContain('control characters');
    }
    expect((await call('GET', '/v2/webhooks')).body.data).toEqual([]);
    await expectRefused(call('POST', '/v2/bookings', booking({ join_url: 'https://meet.example.com/a\nb' })), 'join_url');
  });

  test('a note, a reason or an answer may run over several lines', async () => {
    const r = await call('POST', '/v2/bookings', booking({ form_submission: { name: 'Carol', email: 'carol@example.com', note: 'first line\r\nsecond line\n\tindented' } }));
    expect(r.status).toBe(201);
    expect(r.body.form_submission.note).toBe('first line\r\nsecond line\n\tindented');
  });

  test('other Unicode is text: accents, CJK, emoji', async () => {
    const r = await call('POST', '/v2/users', { name: 'Zoë 李 🎉', email: 'zoe@example.com', timezone: 'Asia/Tokyo' });
    expect(r.status).toBe(201);
    expect(r.body.name).toBe('Zoë 李 🎉');
  });
});

describe('the booking horizon (BOOKING_HORIZON_DAYS)', () => {
  test('a start past the horizon is a 400 naming the field, on create, package and reschedule; year 9999 too', async () => {
    const before = await workflowCount();
    for (const late of [inDays(HORIZON_DAYS + 1), '9999-12-31T00:00:00Z']) {
      const message = await expectRefused(call('POST', '/v2/bookings', booking({ starting_time: late })), 'starting_time', before);
      expect(message).toContain(`at most ${HORIZON_DAYS} days ahead`);
      await expectRefused(
        call('POST', '/v2/bookings/packages', booking({ starting_time: undefined, duration_minutes: undefined, sessions: [{ starting_time: inDays(2), duration_minutes: 30 }, { starting_time: late, duration_minutes: 30 }] })),
        'sessions.1.starting_time',
        before,
      );
      await expectRefused(call('POST', '/v2/bookings/BKNG-unknown/reschedule', { starting_time: late }), 'starting_time', before);
    }
  });

  test('a start just inside the horizon is booked', async () => {
    const r = await call('POST', '/v2/bookings', booking({ starting_time: inDays(HORIZON_DAYS - 1) }));
    expect(r.status).toBe(201);
  });

  test('the default horizon is two years, and it must be at least a day', () => {
    expect(loadConfig({}).booking.horizonDays).toBe(730);
    expect(loadConfig({ BOOKING_HORIZON_DAYS: '90' }).booking.horizonDays).toBe(90);
    expect(() => loadConfig({ BOOKING_HORIZON_DAYS: '0' })).toThrow('BOOKING_HORIZON_DAYS');
  });
});
