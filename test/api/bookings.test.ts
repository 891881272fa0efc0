/**
 * The booking API on a real dev server (visibility, search attributes) with a real worker: every endpoint
 * and its error cases, idempotent creates, session packages and the rebook flow.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { InjectOptions } from 'fastify';
import { localEnv, quietBookingActivities, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { buildTestApp, TEST_API_KEY, type TestApp } from '../helpers/app';
import type { RoutableEvent } from '../../src/shared/dispatch-contract';

let env: TestWorkflowEnvironment;
let t: TestApp;
let worker: Worker;
let running: Promise<void>;
const routed: RoutableEvent[] = [];
let alice: { id: string };
let bob: { id: string };
let autoPage: { id: string };
let approvalPage: { id: string };
let bobPage: { id: string };

async function call(opts: InjectOptions & { payload?: object; headers?: Record<string, string> }) {
  const res = await t.app.inject({ ...opts, headers: { 'api-key': TEST_API_KEY, ...(opts.headers ?? {}) } });
  return { status: res.statusCode, body: res.json() };
}

const inHours = (h: number) => new Date(Date.now() + h * 3600_000).toISOString();

function newBooking(page: { id: string }, overrides: Record<string, unknown> = {}) {
  return {
    booking_page_id: page.id,
    starting_time: inHours(48),
    duration_minutes: 30,
    customer_timezone: 'Europe/Paris',
    form_submission: { name: 'Carol Customer', email: 'carol@example.com', company: 'Acme' },
    ...overrides,
  };
}

beforeAll(async () => {
  env = await localEnv();
  const taskQueue = uniqueTaskQueue('bookings-api');
  t = await buildTestApp({ temporal: env.client, env: { API_KEYS: TEST_API_KEY, TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'warn' } });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: quietBookingActivities({
      routeEvent: async (e: RoutableEvent) => {
        routed.push(e);
        return { deliveryIds: [] };
      },
    }),
  });
  running = worker.run();
  alice = (await call({ method: 'POST', url: '/v2/users', payload: { name: 'Alice', email: 'alice@example.com', timezone: 'Europe/London' } })).body;
  bob = (await call({ method: 'POST', url: '/v2/users', payload: { name: 'Bob', email: 'bob@example.com', timezone: 'America/New_York' } })).body;
  autoPage = (await call({ method: 'POST', url: '/v2/booking-pages', payload: { name: 'Intro', owner_user_id: alice.id, mode: 'automatic' } })).body;
  approvalPage = (await call({ method: 'POST', url: '/v2/booking-pages', payload: { name: 'Demo', owner_user_id: alice.id, mode: 'approval' } })).body;
  bobPage = (await call({ method: 'POST', url: '/v2/booking-pages', payload: { name: 'Bob call', owner_user_id: bob.id } })).body;
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await t?.close();
  await env?.teardown();
});

describe('create and read', () => {
  test('an automatic booking is scheduled at once and readable', async () => {
    const res = await call({ method: 'POST', url: '/v2/bookings', payload: newBooking(autoPage, { subject: 'Intro call' }) });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      object: 'booking',
      status: 'scheduled',
      activity_status: 'Scheduled (By customer)',
      subject: 'Intro call',
      booking_page: autoPage.id,
      owner: { id: alice.id, email: 'alice@example.com' },
      customer_timezone: 'Europe/Paris',
      lifecycle: { closed: false, pending_request: null },
    });
    expect(res.body.id).toMatch(/^BKNG-/);
    const got = await call({ method: 'GET', url: `/v2/bookings/${res.body.id}` });
    expect(got.status).toBe(200);
    expect(got.body.id).toBe(res.body.id);
    const events = await call({ method: 'GET', url: `/v2/bookings/${res.body.id}/events` });
    expect(events.body.data.map((e: { type: string }) => e.type)).toEqual(['booking.scheduled']);
  });

  test('an approval page makes a request; approve schedules it', async () => {
    const res = await call({ method: 'POST', url: '/v2/bookings', payload: newBooking(approvalPage) });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('requested');
    expect(res.body.lifecycle.pending_request).toMatchObject({ kind: 'booking' });
    const approved = await call({ method: 'POST', url: `/v2/bookings/${res.body.id}/approve`, payload: {} });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'scheduled', activity_status: 'Scheduled (Approved by User)' });
    // approving twice: the state forbids it
    const again = await call({ method: 'POST', url: `/v2/bookings/${res.body.id}/approve`, payload: {} });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ type: 'invalid_request_error', message: expect.stringMatching(/nothing awaits approval/) });
  });

  test('Idempotency-Key returns the same booking and never starts a second workflow', async () => {
    const payload = newBooking(autoPage);
    const key = `key-${Date.now()}`;
    const first = await call({ method: 'POST', url: '/v2/bookings', payload, headers: { 'idempotency-key': key } });
    const second = await call({ method: 'POST', url: '/v2/bookings', payload, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    const other = await call({ method: 'POST', url: '/v2/bookings', payload: { ...payload, duration_minutes: 45 }, headers: { 'idempotency-key': key } });
    expect(other.status).toBe(409);
    expect(other.body.param).toBe('Idempotency-Key');
  });

  test('the create key compares the body in a canonical form: the same JSON with keys in another order is the same request', async () => {
    const payload = newBooking(autoPage);
    const key = `canon-${Date.now()}`;
    const first = await call({ method: 'POST', url: '/v2/bookings', payload, headers: { 'idempotency-key': key } });
    const reordered = Object.fromEntries(Object.entries({ ...payload, form_submission: { company: 'Acme', email: 'carol@example.com', name: 'Carol Customer' } }).reverse());
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(payload));
    const second = await call({ method: 'POST', url: '/v2/bookings', payload: reordered, headers: { 'idempotency-key': key } });
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body.id).toBe(first.body.id);
  });

  test('session package: one booking per session, each its own workflow; an approval page is a 400', async () => {
    const sessions = [1, 2, 3].map((i) => ({ starting_time: inHours(24 * i), duration_minutes: 60 }));
    const { booking_page_id, customer_timezone, form_submission } = newBooking(autoPage);
    const res = await call({ method: 'POST', url: '/v2/bookings/packages', payload: { booking_page_id, customer_timezone, form_submission, sessions } });
    expect(res.status).toBe(201);
    expect(res.body.id).toMatch(/^PKG-/);
    expect(res.body.bookings).toHaveLength(3);
    res.body.bookings.forEach((b: { session_package: unknown; status: string }, i: number) => {
      expect(b.session_package).toEqual({ id: res.body.id, index: i + 1, size: 3 });
      expect(b.status).toBe('scheduled');
    });
    // one session is canceled on its own
    const canceled = await call({ method: 'POST', url: `/v2/bookings/${res.body.bookings[1].id}/cancel`, payload: { actioned_by: 'customer' } });
    expect(canceled.body.status).toBe('canceled');
    expect((await call({ method: 'GET', url: `/v2/bookings/${res.body.bookings[0].id}` })).body.status).toBe('scheduled');

    const approval = await call({
      method: 'POST',
      url: '/v2/bookings/packages',
      payload: { booking_page_id: approvalPage.id, customer_timezone, form_submission, sessions },
    });
    expect(approval.status).toBe(400);
    expect(approval.body.param).toBe('booking_page_id');
    const tooMany = await call({
      method: 'POST',
      url: '/v2/bookings/packages',
      payload: { booking_page_id, customer_timezone, form_submission, sessions: Array.from({ length: 21 }, () => sessions[0]) },
    });
    expect(tooMany.status).toBe(400);
  });
});

describe('actions', () => {
  test('reschedule, reassign, request-reschedule, cancel; forbidden ones answer 409 with the reason', async () => {
    const b = (await call({ method: 'POST', url: '/v2/bookings', payload: newBooking(autoPage) })).body;
    const noShow = await call({ method: 'POST', url: `/v2/bookings/${b.id}/no-show`, payload: {} });
    expect(noShow.status).toBe(409);
    expect(noShow.body.message).toMatch(/only on a completed meeting/);

    const newStart = inHours(72);
    const r = await call({ method: 'POST', url: `/v2/bookings/${b.id}/reschedule`, payload: { starting_time: newStart, reason: 'clash' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'rescheduled', starting_time: newStart });

    const re = await call({ method: 'POST', url: `/v2/bookings/${b.id}/reassign`, payload: { owner_user_id: bob.id } });
    expect(re.body).toMatchObject({ owner: { id: bob.id }, activity_status: 'Rescheduled (Reassigned by User)' });

    const rr = await call({ method: 'POST', url: `/v2/bookings/${b.id}/request-reschedule`, payload: { reason: 'travel' } });
    expect(rr.body).toMatchObject({ status: 'canceled', activity_status: 'Canceled (Reschedule requested by User)' });

    const c = await call({ method: 'POST', url: `/v2/bookings/${b.id}/cancel`, payload: { actioned_by: 'user', reason: 'sorry' } });
    expect(c.body).toMatchObject({ status: 'canceled', activity_status: 'Canceled (By user)', cancel_reschedule_information: { reason: 'sorry', actioned_by: 'user' } });
    const events = await call({ method: 'GET', url: `/v2/bookings/${b.id}/events` });
    expect(events.body.data.map((e: { type: string }) => e.type)).toEqual([
      'booking.scheduled',
      'booking.rescheduled',
      'booking.reassigned',
      'booking.canceled_reschedule_requested',
      'booking.canceled',
    ]);
  });

  test('reschedule with another user rebooks: a new booking replaces the old one', async () => {
    const old = (await call({ method: 'POST', url: '/v2/bookings', payload: newBooking(autoPage) })).body;
    const res = await call({
      method: 'POST',
      url: `/v2/bookings/${old.id}/reschedule`,
      payload: { starting_time: inHours(50), owner_user_id: bob.id, booking_page_id: bobPage.id, reason: 'prefer Bob' },
    });
    expect(res.status).toBe(201);
    expect(res.body.id).not.toBe(old.id);
    expect(res.body).toMatchObject({ rescheduled_booking_id: old.id, owner: { id: bob.id }, booking_page: bobPage.id });
    const events = await call({ method: 'GET', url: `/v2/bookings/${res.body.id}/events` });
    expect(events.body.data.map((e: { type: string }) => e.type)).toEqual(['booking.canceled_then_rescheduled']);
    // the old booking ends canceled (the signal is asynchronous)
    for (let i = 0; i < 50; i++) {
      const o = await call({ method: 'GET', url: `/v2/bookings/${old.id}` });
      if (o.body.status === 'canceled') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const o = await call({ method: 'GET', url: `/v2/bookings/${old.id}` });
    expect(o.body.status).toBe('canceled');
    const again = await call({ method: 'POST', url: `/v2/bookings/${old.id}/reschedule`, payload: { starting_time: inHours(60), owner_user_id: alice.id } });
    expect(again.status).toBe(409);
  });

  test('a plain reschedule answers from the update alone: no query; one naming its own owner and page reads first and reschedules', async () => {
    const b = (await call({ method: 'POST', url: '/v2/bookings', payload: newBooking(autoPage) })).body;
    const queries = jest.spyOn(env.client.workflowService, 'queryWorkflow');
    try {
      const newStart = inHours(70);
      const plain = await call({ method: 'POST', url: `/v2/bookings/${b.id}/reschedule`, payload: { starting_time: newStart } });
      expect(plain.status).toBe(200);
      expect(plain.body).toMatchObject({ id: b.id, status: 'rescheduled', starting_time: newStart });
      expect(queries).not.toHaveBeenCalled();
      // The same owner and page named: still a reschedule, decided by reading the booking first.
      const later = inHours(71);
      const same = await call({ method: 'POST', url: `/v2/bookings/${b.id}/reschedule`, payload: { starting_time: later, owner_user_id: alice.id, booking_page_id: autoPage.id } });
      expect(same.status).toBe(200);
      expect(same.body).toMatchObject({ id: b.id, status: 'rescheduled', starting_time: later });
      expect(queries).toHaveBeenCalledTimes(1);
    } finally {
      queries.mockRestore();
    }
    const unknown = await call({ method: 'POST', url: '/v2/bookings/BKNG-NOPE/reschedule', payload: { starting_time: inHours(70) } });
    expect(unknown.status).toBe(404);
  });
});

describe('list through visibility', () => {
  test('filters by status, owner, page and time range, with cursor pagination', async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      made.push((await call({ method: 'POST', url: '/v2/bookings', payload: newBooking(bobPage, { starting_time: inHours(200 + i) }) })).body.id);
    }
    await call({ method: 'POST', url: `/v2/bookings/${made[2]}/cancel`, payload: { actioned_by: 'customer' } });
    // Visibility is eventually consistent: poll until the index has caught up.
    let listed: { id: string; status: string }[] = [];
    for (let i = 0; i < 60; i++) {
      const res = await call({ method: 'GET', url: `/v2/bookings?booking_page_id=${bobPage.id}&status=scheduled&starting_after=${encodeURIComponent(inHours(199))}` });
      listed = res.body.data;
      if (listed.length === 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(listed.map((b) => b.id).sort()).toEqual([made[0], made[1]].sort());
    expect(listed[0]).toMatchObject({ object: 'booking_summary', status: 'scheduled', owner_user_id: bob.id, booking_page: bobPage.id });

    // The cancellation's status upsert may still be on its way to the index: wait until all three show.
    for (let i = 0; i < 60; i++) {
      const all = await call({ method: 'GET', url: `/v2/bookings?owner_user_id=${bob.id}&starting_after=${encodeURIComponent(inHours(199))}&limit=10` });
      if (all.body.data.length === 3) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const page1 = await call({ method: 'GET', url: `/v2/bookings?owner_user_id=${bob.id}&starting_after=${encodeURIComponent(inHours(199))}&limit=2` });
    expect(page1.body.data).toHaveLength(2);
    expect(page1.body.has_more).toBe(true);
    const page2 = await call({ method: 'GET', url: `/v2/bookings?owner_user_id=${bob.id}&starting_after=${encodeURIComponent(inHours(199))}&limit=2&cursor=${page1.body.next_cursor}` });
    expect(page2.body.data).toHaveLength(1);
    const all = [...page1.body.data, ...page2.body.data].map((b: { id: string }) => b.id).sort();
    expect(all).toEqual([...made].sort());
  });
});

describe('errors', () => {
  test.each([
    ['missing API-Key', { method: 'GET', url: '/v2/bookings/BKNG-X', headers: { 'api-key': '' } }, 401, 'authentication_error'],
    ['wrong API-Key', { method: 'GET', url: '/v2/bookings/BKNG-X', headers: { 'api-key': 'nope' } }, 401, 'authentication_error'],
    ['unknown booking', { method: 'GET', url: '/v2/bookings/BKNG-DOESNOTEXIST' }, 404, 'invalid_request_error'],
    ['id of the wrong kind', { method: 'GET', url: '/v2/bookings/USR-123' }, 400, 'invalid_request_error'],
    ['action on an unknown booking', { method: 'POST', url: '/v2/bookings/BKNG-NOPE/cancel', payload: { actioned_by: 'user' } }, 404, 'invalid_request_error'],
  ] as const)('%s', async (_name, req, status, type) => {
    const res = await call(req as never);
    expect(res.status).toBe(status);
    expect(res.body.type).toBe(type);
  });

  test.each([
    ['a time in the past', { starting_time: '2001-01-01T00:00:00Z' }, 'starting_time'],
    ['a bad time', { starting_time: 'tomorrow' }, 'starting_time'],
    ['a bad duration', { duration_minutes: 0 }, 'duration_minutes'],
    ['a bad time zone', { customer_timezone: 'Mars/Olympus' }, 'customer_timezone'],
    ['a bad email', { form_submission: { name: 'x', email: 'not-an-email' } }, 'form_submission.email'],
    ['an unknown field', { colour: 'blue' }, 'colour'],
    ['an unknown page', { booking_page_id: 'BP-DOESNOTEXIST' }, 'booking_page_id'],
  ])('create with %s → 400 naming the field', async (_n, override, param) => {
    const res = await call({ method: 'POST', url: '/v2/bookings', payload: newBooking(autoPage, override) });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ type: 'invalid_request_error', param });
  });

  test('the OpenAPI document is served and lists every booking route', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v2/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    for (const p of ['/v2/bookings', '/v2/bookings/{id}', '/v2/bookings/{id}/approve', '/v2/bookings/{id}/reassign', '/v2/bookings/packages']) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
  });
});

describe('actions are idempotent', () => {
  const bookingEvents = (id: string) => routed.filter((e) => (e.envelope.data as { id: string }).id === id).map((e) => e.envelope.type);

  test('a reschedule sent twice under one Idempotency-Key is applied once and answers the first answer twice', async () => {
    const b = (await call({ method: 'POST', url: '/v2/bookings', payload: newBooking(autoPage) })).body;
    const key = `resched-${Date.now()}`;
    const payload = { starting_time: inHours(72), reason: 'double click' };
    const [first, second] = await Promise.all([
      call({ method: 'POST', url: `/v2/bookings/${b.id}/reschedule`, payload, headers: { 'idempotency-key': key } }),
      call({ method: 'POST', url: `/v2/bookings/${b.id}/reschedule`, payload, headers: { 'idempotency-key': key } }),
    ]);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.body).toEqual(first.body);
    const later = await call({ method: 'POST', url: `/v2/bookings/${b.id}/reschedule`, payload: { reason: 'double click', starting_time: payload.starting_time }, headers: { 'idempotency-key': key } });
    expect(later).toEqual(first);
    const events = await call({ method: 'GET', url: `/v2/bookings/${b.id}/events` });
    expect(events.body.data.map((e: { type: string }) => e.type)).toEqual(['booking.scheduled', 'booking.rescheduled']);
    // The same key for another body, or for another action on the booking, is a 409 that changes nothing.
    const other = await call({ method: 'POST', url: `/v2/bookings/${b.id}/reschedule`, payload: { starting_time: inHours(96) }, headers: { 'idempotency-key': key } });
    expect(other.status).toBe(409);
    expect(other.body.param).toBe('Idempotency-Key');
    const cancel = await call({ method: 'POST', url: `/v2/bookings/${b.id}/cancel`, payload: { actioned_by: 'user' }, headers: { 'idempotency-key': key } });
    expect(cancel.status).toBe(409);
    expect((await call({ method: 'GET', url: `/v2/bookings/${b.id}` })).body.status).toBe('rescheduled');
  });

  test('a cancel retried under its key after the run closed still gets the first answer, not a 409', async () => {
    const b = (await call({ method: 'POST', url: '/v2/bookings', payload: newBooking(autoPage) })).body;
    const key = `cancel-${Date.now()}`;
    const first = await call({ method: 'POST', url: `/v2/bookings/${b.id}/cancel`, payload: { actioned_by: 'customer', reason: 'x' }, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(200);
    const h = env.client.workflow.getHandle(b.id);
    await h.result();
    const retry = await call({ method: 'POST', url: `/v2/bookings/${b.id}/cancel`, payload: { actioned_by: 'customer', reason: 'x' }, headers: { 'idempotency-key': key } });
    expect(retry).toEqual(first);
    const unkeyed = await call({ method: 'POST', url: `/v2/bookings/${b.id}/cancel`, payload: { actioned_by: 'customer', reason: 'x' } });
    expect(unkeyed.status).toBe(409);
  });

  test('a refused action frees its key for a corrected retry', async () => {
    const b = (await call({ method: 'POST', url: '/v2/bookings', payload: newBooking(autoPage) })).body;
    const key = `refused-${Date.now()}`;
    const refused = await call({ method: 'POST', url: `/v2/bookings/${b.id}/no-show`, payload: {}, headers: { 'idempotency-key': key } });
    expect(refused.status).toBe(409);
    const again = await call({ method: 'POST', url: `/v2/bookings/${b.id}/cancel`, payload: { actioned_by: 'user' }, headers: { 'idempotency-key': key } });
    expect(again.status).toBe(200);
  });

  test('without a key, a reschedule to the time the booking already has is refused: 409, no second webhook', async () => {
    const b = (await call({ method: 'POST', url: '/v2/bookings', payload: newBooking(autoPage) })).body;
    const to = { starting_time: inHours(80) };
    const first = await call({ method: 'POST', url: `/v2/bookings/${b.id}/reschedule`, payload: to });
    const second = await call({ method: 'POST', url: `/v2/bookings/${b.id}/reschedule`, payload: to });
    expect(first.status).toBe(200);
    expect(second.status).toBe(409);
    expect(second.body.message).toMatch(/already at that time/);
    const events = await call({ method: 'GET', url: `/v2/bookings/${b.id}/events` });
    expect(events.body.data.map((e: { type: string }) => e.type)).toEqual(['booking.scheduled', 'booking.rescheduled']);
    await new Promise((r) => setTimeout(r, 500));
    expect(bookingEvents(b.id)).toEqual(['booking.scheduled', 'booking.rescheduled']);
  });
});
