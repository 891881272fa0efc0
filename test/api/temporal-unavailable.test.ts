/**
 * When Temporal cannot be reached or does not answer in time, the API answers 503 with Retry-After (not a 500), and
 * a create under an Idempotency-Key never becomes two bookings: a start whose answer was lost keeps its id, and the
 * retry finds that booking (or starts it under that id when the first start never got there).
 */
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, ServiceError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { InjectOptions } from 'fastify';
import { localEnv, quietBookingActivities, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { buildTestApp, TEST_API_KEY, type TestApp } from '../helpers/app';
import { freePort } from '../../src/temporal/dev-server';
import { isTemporalUnavailable } from '../../src/temporal/unavailable';

jest.setTimeout(120_000);

type Call = (opts: InjectOptions & { payload?: object; headers?: Record<string, string> }) => Promise<{
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
}>;

function caller(t: TestApp): Call {
  return async (opts) => {
    const res = await t.app.inject({ ...opts, headers: { 'api-key': TEST_API_KEY, ...(opts.headers ?? {}) } });
    return { status: res.statusCode, body: res.json(), headers: res.headers };
  };
}

async function bookingPage(call: Call): Promise<{ id: string }> {
  const owner = (await call({ method: 'POST', url: '/v2/users', payload: { name: 'Dana', email: 'dana@example.com', timezone: 'Europe/Berlin' } })).body;
  return (await call({ method: 'POST', url: '/v2/booking-pages', payload: { name: 'Intro', owner_user_id: owner.id, mode: 'automatic' } }))
    .body as { id: string };
}

function newBooking(page: { id: string }) {
  return {
    booking_page_id: page.id,
    starting_time: new Date(Date.now() + 48 * 3600_000).toISOString(),
    duration_minutes: 30,
    customer_timezone: 'Europe/Paris',
    form_submission: { name: 'Carol Customer', email: 'carol@example.com' },
  };
}

/** What the client gives when the connection drops mid-call: a ServiceError over a gRPC UNAVAILABLE. */
function connectionLost(): Error {
  const grpc = Object.assign(new Error('14 UNAVAILABLE: Connection dropped'), { code: 14, details: 'Connection dropped', metadata: {} });
  return new ServiceError('Failed to start Workflow', { cause: grpc });
}

describe('Temporal unreachable', () => {
  let t: TestApp;
  let call: Call;
  let connection: Connection;

  beforeAll(async () => {
    // Nothing listens on this port; two attempts instead of the SDK's ten keep the test short.
    const port = await freePort();
    connection = Connection.lazy({
      address: `127.0.0.1:${port}`,
      interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 2 }))],
    });
    t = await buildTestApp({ temporal: new Client({ connection }) });
    call = caller(t);
  });

  afterAll(async () => {
    await t?.close();
    await connection?.close();
  });

  test('create, list and read answer 503 with Retry-After and the API error shape', async () => {
    const page = await bookingPage(call);
    const created = await call({ method: 'POST', url: '/v2/bookings', payload: newBooking(page), headers: { 'idempotency-key': 'down-1' } });
    expect(created.status).toBe(503);
    expect(created.headers['retry-after']).toBe('5');
    expect(created.body).toEqual({ type: 'api_error', message: expect.stringMatching(/^Temporal could not be reached/) });
    const listed = await call({ method: 'GET', url: '/v2/bookings' });
    expect([listed.status, listed.body.type]).toEqual([503, 'api_error']);
    const read = await call({ method: 'GET', url: '/v2/bookings/BKNG-NOTHERE' });
    expect([read.status, read.body.type]).toEqual([503, 'api_error']);
  });

  test('the classifier reads the code through the causes and ignores answers', () => {
    expect(isTemporalUnavailable(connectionLost())).toBe(true);
    const deadline = Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4, details: 'deadline', metadata: {} });
    expect(isTemporalUnavailable(new ServiceError('x', { cause: deadline }))).toBe(true);
    const notFound = Object.assign(new Error('5 NOT_FOUND'), { code: 5, details: 'not found', metadata: {} });
    expect(isTemporalUnavailable(new ServiceError('x', { cause: notFound }))).toBe(false);
    expect(isTemporalUnavailable(Object.assign(new Error('ECONNREFUSED'), { code: 14 }))).toBe(false);
  });
});

describe('a create whose start lost its answer', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let taskQueue: string;

  beforeAll(async () => {
    env = await localEnv();
    taskQueue = uniqueTaskQueue('unavailable-api');
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: quietBookingActivities(),
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  /**
   * The real client, except that its first workflow start fails with a dropped connection: `reached` says whether
   * that start got to the server first (its answer lost) or not. `started` lists the ids the server started.
   */
  function droppingFirstStart(reached: boolean): { client: Client; started: string[] } {
    const real = env.client;
    const started: string[] = [];
    let dropped = false;
    const workflow = new Proxy(real.workflow, {
      get(target, prop) {
        if (prop !== 'start') {
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === 'function' ? v.bind(target) : v;
        }
        return async (...args: Parameters<Client['workflow']['start']>) => {
          if (!dropped) {
            dropped = true;
            if (reached) started.push((await target.start(...args)).workflowId);
            throw connectionLost();
          }
          const handle = await target.start(...args);
          started.push(handle.workflowId);
          return handle;
        };
      },
    });
    const client = new Proxy(real, {
      get(target, prop) {
        if (prop === 'workflow') return workflow;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    return { client, started };
  }

  async function appWith(client: Client): Promise<{ t: TestApp; call: Call }> {
    const t = await buildTestApp({ temporal: client, env: { API_KEYS: TEST_API_KEY, TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'fatal' } });
    return { t, call: caller(t) };
  }

  test('it reached the server: the retry under the same key gets that booking, and no second one starts', async () => {
    const { client, started } = droppingFirstStart(true);
    const { t, call } = await appWith(client);
    try {
      const body = newBooking(await bookingPage(call));
      const first = await call({ method: 'POST', url: '/v2/bookings', payload: body, headers: { 'idempotency-key': 'lost-answer' } });
      expect(first.status).toBe(503);
      expect(started).toHaveLength(1);
      const retry = await call({ method: 'POST', url: '/v2/bookings', payload: body, headers: { 'idempotency-key': 'lost-answer' } });
      expect([retry.status, retry.body.id]).toEqual([200, started[0]]);
      const again = await call({ method: 'POST', url: '/v2/bookings', payload: body, headers: { 'idempotency-key': 'lost-answer' } });
      expect([again.status, again.body.id]).toEqual([200, started[0]]);
      expect(started).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  test('it never got there: the retry starts it under the kept id, once', async () => {
    const { client, started } = droppingFirstStart(false);
    const { t, call } = await appWith(client);
    try {
      const body = newBooking(await bookingPage(call));
      const first = await call({ method: 'POST', url: '/v2/bookings', payload: body, headers: { 'idempotency-key': 'never-sent' } });
      expect(first.status).toBe(503);
      expect(started).toHaveLength(0);
      const retry = await call({ method: 'POST', url: '/v2/bookings', payload: body, headers: { 'idempotency-key': 'never-sent' } });
      expect(retry.status).toBe(201);
      expect(started).toEqual([retry.body.id]);
      const again = await call({ method: 'POST', url: '/v2/bookings', payload: body, headers: { 'idempotency-key': 'never-sent' } });
      expect([again.status, again.body.id]).toEqual([200, retry.body.id]);
      expect(started).toHaveLength(1);
    } finally {
      await t.close();
    }
  });
});
