/**
 * Reading a booking or conversation never depends on replay: a closed run answers from its result with no worker
 * at all, or with a worker whose workflow code changed incompatibly (replaying the run would fail); a run that
 * ended without a result is a 410 and a running one whose query fails a 503, both naming the object.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import type { InjectOptions } from 'fastify';
import { localEnv, quietBookingActivities, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { buildTestApp, TEST_API_KEY, type TestApp } from '../helpers/app';

const CHANGED_WORKFLOWS = require.resolve('../fixtures/changed-workflows');

let env: TestWorkflowEnvironment;
let t: TestApp;
let taskQueue: string;
let page: { id: string };

async function call(opts: InjectOptions & { payload?: object }) {
  const res = await t.app.inject({ ...opts, headers: { 'api-key': TEST_API_KEY } });
  return { status: res.statusCode, body: res.json() };
}

/** Runs fn while one worker with the given workflow code polls the app's task queue; none polls it before or after. */
async function withWorker<T>(bundle: WorkflowBundle, fn: () => Promise<T>): Promise<T> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: quietBookingActivities({ changedFirstStep: async () => undefined }),
  });
  return worker.runUntil(fn);
}

async function createBooking(): Promise<string> {
  const res = await call({
    method: 'POST',
    url: '/v2/bookings',
    payload: {
      booking_page_id: page.id,
      starting_time: new Date(Date.now() + 48 * 3600_000).toISOString(),
      duration_minutes: 30,
      customer_timezone: 'Europe/Paris',
      form_submission: { name: 'Carol Customer', email: 'carol@example.com' },
    },
  });
  expect(res.status).toBe(201);
  return res.body.id;
}

/**
 * Waits until the run has nothing in flight (no pending activity or workflow task), so the next worker's only
 * contact with it is the query: a pending task would meet the changed code first and hold the query up.
 */
async function settled(id: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const raw = (await env.client.workflow.getHandle(id).describe()).raw;
    if (!raw.pendingWorkflowTask && (raw.pendingActivities ?? []).length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${id} still has work in flight`);
}

beforeAll(async () => {
  env = await localEnv();
  taskQueue = uniqueTaskQueue('closed-reads');
  t = await buildTestApp({ temporal: env.client, env: { TEMPORAL_TASK_QUEUE: taskQueue } });
  const user = (await call({ method: 'POST', url: '/v2/users', payload: { name: 'Alice', email: 'alice@example.com', timezone: 'Europe/London' } })).body;
  page = (await call({ method: 'POST', url: '/v2/booking-pages', payload: { name: 'Intro', owner_user_id: user.id, mode: 'automatic' } })).body;
  await Promise.all([workflowBundle(), workflowBundle(CHANGED_WORKFLOWS)]);
});

afterAll(async () => {
  await t?.close();
  await env?.teardown();
});

// Each test would wait for a query the server gives up on after 30 s if reads still replayed: fail well before that.
const FAST = 20_000;

describe('a closed booking', () => {
  test(
    'is read from its result with no worker polling, and with a worker whose workflow code changed',
    async () => {
      const id = await createBooking();
      await withWorker(await workflowBundle(), async () => {
        expect((await call({ method: 'POST', url: `/v2/bookings/${id}/cancel`, payload: { actioned_by: 'customer' } })).status).toBe(200);
        await env.client.workflow.getHandle(id).result();
      });

      const got = await call({ method: 'GET', url: `/v2/bookings/${id}` });
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ id, status: 'canceled', activity_status: 'Canceled (By customer)', lifecycle: { closed: true } });
      const events = await call({ method: 'GET', url: `/v2/bookings/${id}/events` });
      expect(events.body.data.map((e: { type: string }) => e.type)).toEqual(['booking.scheduled', 'booking.canceled']);

      // Replaying this run on the changed code fails; the read does not replay it.
      const afterChange = await withWorker(await workflowBundle(CHANGED_WORKFLOWS), () => call({ method: 'GET', url: `/v2/bookings/${id}` }));
      expect(afterChange).toEqual(got);
    },
    FAST,
  );

  test(
    'that was terminated has no final view: 410 naming it',
    async () => {
      const id = await createBooking();
      await env.client.workflow.getHandle(id).terminate('operator');
      const res = await call({ method: 'GET', url: `/v2/bookings/${id}` });
      expect(res.status).toBe(410);
      expect(res.body).toEqual({
        type: 'invalid_request_error',
        message: `Booking '${id}' cannot be read: its workflow run was terminated before it finished, so it has no final state`,
        param: 'id',
      });
    },
    FAST,
  );
});

describe('a running booking', () => {
  test(
    'whose query fails (replay on changed workflow code) answers 503 naming it, not a bare 500',
    async () => {
      const id = await createBooking();
      const before = await withWorker(await workflowBundle(), async () => {
        await settled(id);
        return call({ method: 'GET', url: `/v2/bookings/${id}` });
      });
      expect(before.body).toMatchObject({ id, status: 'scheduled', lifecycle: { closed: false } });

      const after = await withWorker(await workflowBundle(CHANGED_WORKFLOWS), async () => ({
        get: await call({ method: 'GET', url: `/v2/bookings/${id}` }),
        events: await call({ method: 'GET', url: `/v2/bookings/${id}/events` }),
      }));
      for (const res of [after.get, after.events]) {
        expect(res.status).toBe(503);
        expect(res.body).toMatchObject({ type: 'api_error', message: expect.stringMatching(new RegExp(`^Booking '${id}' could not be read right now: `)) });
      }
      expect(after.get.body.message).toMatch(/Nondeterminism/);
    },
    FAST,
  );
});

describe('conversations', () => {
  async function startConversation(visitor: string): Promise<string> {
    const res = await call({
      method: 'POST',
      url: '/v2/conversations',
      payload: {
        bot: { id: 'BOT-sales', name: 'Sales bot' },
        website: { id: 'WEB-acme', name: 'Acme', url: 'https://acme.example' },
        initiated_by: 'contact',
        visitor_id: visitor,
      },
    });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  test(
    'a closed one is read and listed from its result with no worker; a terminated one is a 410 and left out of lists',
    async () => {
      const closed = await startConversation('closed-reads-1');
      await withWorker(await workflowBundle(), async () => {
        expect((await call({ method: 'POST', url: `/v2/conversations/${closed}/close` })).status).toBe(200);
        await env.client.workflow.getHandle(closed).result();
      });
      const terminated = await startConversation('closed-reads-2');
      await env.client.workflow.getHandle(terminated).terminate('operator');

      const got = await call({ method: 'GET', url: `/v2/conversations/${closed}` });
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ id: closed, status: 'closed' });
      const gone = await call({ method: 'GET', url: `/v2/conversations/${terminated}` });
      expect(gone.status).toBe(410);
      expect(gone.body.message).toMatch(new RegExp(`^Conversation '${terminated}' cannot be read: its workflow run was terminated`));

      // Visibility is eventually consistent: poll until the closed one is listed.
      let list = await call({ method: 'GET', url: '/v2/conversations?limit=100' });
      for (let i = 0; i < 60 && !(list.status === 200 && list.body.data.some((c: { id: string }) => c.id === closed)); i++) {
        await new Promise((r) => setTimeout(r, 100));
        list = await call({ method: 'GET', url: '/v2/conversations?limit=100' });
      }
      expect(list.status).toBe(200);
      expect(list.body.data.map((c: { id: string }) => c.id)).toEqual([closed]);
      expect(list.body.data[0]).toEqual(got.body);
    },
    FAST,
  );
});
