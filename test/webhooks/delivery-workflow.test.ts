/**
 * The delivery workflow on the time-skipping test server with the real activities, a real store and a real
 * receiver on 127.0.0.1. Attempt times are recorded with the test server's clock (the activities' `now`),
 * so the store shows the skipped schedule: +0, +35 s, +3 min 35 s, +75 min 35 s, then every 6 h, none after 72 h.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, Worker } from '@temporalio/worker';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Dispatcher } from 'undici';
import { createWebhookActivities } from '../../activities/webhooks';
import { attemptOffsets, RETRY_WINDOW_MS } from '../../src/domain/retry-schedule';
import { openMemoryDb } from '../../src/store/open-db';
import type { Db } from '../../src/store/db';
import { createWebhooksRepository, type WebhookSubscription } from '../../src/store/webhooks-repository';
import type { RouteResult, WebhookEnvelope } from '../../src/shared/dispatch-contract';
import { createGuardedDispatcher } from '../../src/webhooks/ssrf';
import { deliveryIdFor } from '../../src/webhooks/ids';
import type { DeliveryResult } from '../../workflows/webhook-delivery';
import { timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { startReceiver, type Answer, type Receiver } from './receiver';
import { bookingEnvelope, createSubscription, testConfig } from './fixtures';

let env: TestWorkflowEnvironment;
let db: Db;
let receiver: Receiver;
let dispatcher: Dispatcher;
const repo = () => createWebhooksRepository(db);
const SECOND = 1000;

beforeAll(async () => {
  // One after the other: the test server's start-up has a fixed 5 s budget, best not shared with PGlite's.
  env = await timeSkippingEnv();
  db = await openMemoryDb();
  receiver = await startReceiver();
  dispatcher = createGuardedDispatcher({ allowPrivateTargets: ['127.0.0.1/32'], connectTimeoutMs: 2000 });
});

afterAll(async () => {
  await dispatcher?.close();
  await receiver?.close();
  await db?.close();
  await env?.teardown();
});

beforeEach(async () => {
  // Each test routes to its own subscriptions only.
  await db.query(`UPDATE webhook_subscriptions SET deleted_at = now() WHERE deleted_at IS NULL`);
  receiver.requests.length = 0;
  receiver.respond = () => ({ status: 200 });
});

type Route = (e: WebhookEnvelope) => Promise<string[]>;

/** Runs `fn` with a worker serving the delivery workflow and the real webhook activities (`overrides`: config env). */
async function withWorker<T>(
  fn: (ctx: { taskQueue: string; route: Route; routeResult: (e: WebhookEnvelope) => Promise<RouteResult> }) => Promise<T>,
  overrides: NodeJS.ProcessEnv = {},
): Promise<T> {
  const taskQueue = uniqueTaskQueue(expect.getState().currentTestName ?? 'webhooks');
  const config = testConfig({ TEMPORAL_TASK_QUEUE: taskQueue, ...overrides });
  const activities = createWebhookActivities({ db, config, temporal: env.client, dispatcher, now: () => env.currentTimeMs() });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(require.resolve('../../workflows/webhook-delivery')),
    activities,
  });
  const mock = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
  const routeResult = async (envelope: WebhookEnvelope) => (await mock.run(activities.routeEvent, { envelope, sourceWorkflowId: 'BKNG-test' })) as RouteResult;
  const route = async (envelope: WebhookEnvelope) => (await routeResult(envelope)).deliveryIds;
  return worker.runUntil(fn({ taskQueue, route, routeResult }));
}

function result(deliveryId: string): Promise<DeliveryResult> {
  return env.client.workflow.getHandle(deliveryId).result();
}

/** True when a delivery workflow was started for the delivery (routing hands over only what it did not finish). */
async function hasWorkflow(deliveryId: string): Promise<boolean> {
  try {
    await env.client.workflow.getHandle(deliveryId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** Polls the store (real time) until the delivery's first attempt is recorded. */
async function firstAttemptRecorded(deliveryId: string) {
  for (let i = 0; i < 200; i++) {
    const [first] = await repo().listAttempts(deliveryId);
    if (first) return first;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no attempt recorded for ${deliveryId} within 10 s`);
}

/** Offsets (ms) of the recorded attempts from the first one, on the test server's clock. */
async function attemptOffsetsOf(deliveryId: string): Promise<number[]> {
  const attempts = await repo().listAttempts(deliveryId);
  const t0 = attempts[0].startedAt.getTime();
  return attempts.map((a) => a.startedAt.getTime() - t0);
}

/** Each actual offset is no earlier than planned and late by at most the real time the run took. */
function expectOffsets(actual: number[], planned: number[]) {
  expect(actual).toHaveLength(planned.length);
  actual.forEach((a, i) => {
    expect(a).toBeGreaterThanOrEqual(planned[i]);
    expect(a - planned[i]).toBeLessThan(10 * SECOND);
  });
}

async function oneDelivery(route: (e: WebhookEnvelope) => Promise<string[]>, sub: WebhookSubscription) {
  const envelope = bookingEnvelope('booking.canceled');
  const ids = await route(envelope);
  expect(ids).toHaveLength(1);
  expect((await repo().getDelivery(ids[0]))?.subscriptionId).toBe(sub.id);
  return { envelope, deliveryId: ids[0] };
}

describe('webhook delivery schedule', () => {
  it.each([
    ['routing makes the first attempt (the default)', {}],
    ['WEBHOOK_ROUTING_WAIT_MS=0: the workflow makes every attempt', { WEBHOOK_ROUTING_WAIT_MS: '0' }],
  ])('retries an always-failing receiver at +0, +35 s, +3 min 35 s, +75 min 35 s, then every 6 h, stops inside 72 h and disables the subscription; %s', async (_mode, overrides) => {
    receiver.respond = () => ({ status: 500 });
    const sub = await createSubscription(repo(), receiver.url, ['booking']);
    await withWorker(async ({ route }) => {
      const { envelope, deliveryId } = await oneDelivery(route, sub);
      const r = await result(deliveryId);
      const planned = attemptOffsets();
      expect(planned.slice(0, 5)).toEqual([0, 35 * SECOND, 215 * SECOND, 4535 * SECOND, 4535 * SECOND + 6 * 3600 * SECOND]);
      expect(r).toEqual({ status: 'failed', attempts: planned.length, reason: 'retries_exhausted' });

      const offsets = await attemptOffsetsOf(deliveryId);
      expectOffsets(offsets, planned);
      expect(offsets[offsets.length - 1]).toBeLessThanOrEqual(RETRY_WINDOW_MS);

      // The same event, byte for byte, on every attempt: receivers de-duplicate on its id.
      expect(receiver.requests).toHaveLength(planned.length);
      expect(new Set(receiver.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([envelope.id]));
      expect(new Set(receiver.requests.map((q) => q.raw.toString()))).toEqual(new Set([JSON.stringify(envelope)]));

      expect(await repo().getDelivery(deliveryId)).toMatchObject({ status: 'failed', attempts: planned.length, failureReason: 'retries_exhausted', lastStatusCode: 500 });
      expect(await repo().getSubscription(sub.id)).toMatchObject({ enabled: false, disabledReason: 'retries_exhausted' });

      // Nothing more, however long we wait.
      await env.sleep('3 days');
      expect(receiver.requests).toHaveLength(planned.length);
    }, overrides);
  });

  it('stops retrying once the receiver recovers (attempt 3)', async () => {
    receiver.respond = (_req, i): Answer => (i < 2 ? { status: 503 } : { status: 204 });
    const sub = await createSubscription(repo(), receiver.url, ['booking.canceled']);
    await withWorker(async ({ route }) => {
      const { envelope, deliveryId } = await oneDelivery(route, sub);
      expect(await result(deliveryId)).toEqual({ status: 'succeeded', attempts: 3 });
      expectOffsets(await attemptOffsetsOf(deliveryId), [0, 35 * SECOND, 215 * SECOND]);
      await env.sleep('2 days');
      expect(receiver.requests).toHaveLength(3);
      expect(receiver.requests.every((q) => q.headers['webhook-id'] === envelope.id)).toBe(true);
      expect(await repo().getDelivery(deliveryId)).toMatchObject({ status: 'succeeded', attempts: 3, lastStatusCode: 204, lastError: null });
      expect(await repo().getSubscription(sub.id)).toMatchObject({ enabled: true });
    });
  });

  it('stops at once on 410 Gone and disables the subscription (routing stops it; no workflow is started)', async () => {
    receiver.respond = () => ({ status: 410 });
    const sub = await createSubscription(repo(), receiver.url);
    await withWorker(async ({ route }) => {
      const { deliveryId } = await oneDelivery(route, sub);
      expect(await repo().getDelivery(deliveryId)).toMatchObject({ status: 'failed', attempts: 1, failureReason: 'endpoint_gone', lastStatusCode: 410 });
      expect(await hasWorkflow(deliveryId)).toBe(false);
      expect(receiver.requests).toHaveLength(1);
      expect(await repo().getSubscription(sub.id)).toMatchObject({ enabled: false, disabledReason: 'endpoint_gone' });
    });
  });

  it('stops on 410 Gone in the workflow too (routing wait 0)', async () => {
    receiver.respond = () => ({ status: 410 });
    const sub = await createSubscription(repo(), receiver.url);
    await withWorker(
      async ({ route }) => {
        const { deliveryId } = await oneDelivery(route, sub);
        expect(await result(deliveryId)).toEqual({ status: 'failed', attempts: 1, reason: 'endpoint_gone' });
        expect(receiver.requests).toHaveLength(1);
        expect(await repo().getSubscription(sub.id)).toMatchObject({ enabled: false, disabledReason: 'endpoint_gone' });
      },
      { WEBHOOK_ROUTING_WAIT_MS: '0' },
    );
  });

  it('hands an attempt still in flight to the workflow, which waits for it and does not POST again once it succeeded', async () => {
    // The receiver answers after 1.5 s; routing waits 300 ms.
    receiver.respond = async (): Promise<Answer> => {
      await new Promise((r) => setTimeout(r, 1500));
      return { status: 200 };
    };
    await createSubscription(repo(), receiver.url);
    await withWorker(
      async ({ routeResult }) => {
        const envelope = bookingEnvelope('booking.canceled');
        const routed = await routeResult(envelope);
        expect(routed).toMatchObject({ delivered: 0, retrying: 1, stopped: 0 });
        const [deliveryId] = routed.deliveryIds;
        const desc = await env.client.workflow.getHandle(deliveryId).describe();
        expect(await desc.staticDetails()).toContain('**Continues after** 1 attempt(s)');
        // Real time: the attempt answers while the workflow's wait has not been skipped yet.
        const first = await firstAttemptRecorded(deliveryId);
        expect(first).toMatchObject({ attemptNumber: 1, statusCode: 200 });
        expect(await result(deliveryId)).toEqual({ status: 'succeeded', attempts: 1 });
        expect(receiver.requests).toHaveLength(1);
        expect(await repo().getDelivery(deliveryId)).toMatchObject({ status: 'succeeded', attempts: 1 });
      },
      { WEBHOOK_ROUTING_WAIT_MS: '300' },
    );
  });

  it('a 410 that answers after routing handed the attempt over stops the workflow without another POST', async () => {
    receiver.respond = async (): Promise<Answer> => {
      await new Promise((r) => setTimeout(r, 1500));
      return { status: 410 };
    };
    const sub = await createSubscription(repo(), receiver.url);
    await withWorker(
      async ({ route }) => {
        const { deliveryId } = await oneDelivery(route, sub);
        expect(await firstAttemptRecorded(deliveryId)).toMatchObject({ statusCode: 410 });
        expect(await result(deliveryId)).toEqual({ status: 'failed', attempts: 1, reason: 'endpoint_gone' });
        expect(receiver.requests).toHaveLength(1);
        expect(await repo().getSubscription(sub.id)).toMatchObject({ enabled: false, disabledReason: 'endpoint_gone' });
      },
      { WEBHOOK_ROUTING_WAIT_MS: '300' },
    );
  });

  it('waits as long as Retry-After asks, beyond the schedule', async () => {
    receiver.respond = (_req, i): Answer => (i === 0 ? { status: 429, headers: { 'retry-after': String(2 * 3600) } } : { status: 200 });
    const sub = await createSubscription(repo(), receiver.url);
    await withWorker(async ({ route }) => {
      const { deliveryId } = await oneDelivery(route, sub);
      expect(await result(deliveryId)).toEqual({ status: 'succeeded', attempts: 2 });
      expectOffsets(await attemptOffsetsOf(deliveryId), [0, 2 * 3600 * SECOND]);
    });
  });

  it('ends the delivery when Retry-After points past the 72 hours, disabling the subscription', async () => {
    receiver.respond = () => ({ status: 503, headers: { 'retry-after': String(80 * 3600) } });
    const sub = await createSubscription(repo(), receiver.url);
    await withWorker(async ({ route }) => {
      const { deliveryId } = await oneDelivery(route, sub);
      expect(await result(deliveryId)).toEqual({ status: 'failed', attempts: 1, reason: 'retries_exhausted' });
      await env.sleep('4 days');
      expect(receiver.requests).toHaveLength(1);
      expect(await repo().getSubscription(sub.id)).toMatchObject({ enabled: false, disabledReason: 'retries_exhausted' });
    });
  });

  it('makes no new attempt after the subscription is disabled mid-retries, and keeps it as the user left it', async () => {
    const sub = await createSubscription(repo(), receiver.url);
    receiver.respond = async (_req, i): Promise<Answer> => {
      if (i === 1) await repo().setEnabled(sub.id, false, 'disabled_by_request');
      return { status: 500 };
    };
    await withWorker(async ({ route }) => {
      const { deliveryId } = await oneDelivery(route, sub);
      expect(await result(deliveryId)).toEqual({ status: 'failed', attempts: 2, reason: 'subscription_inactive' });
      await env.sleep('3 days');
      expect(receiver.requests).toHaveLength(2);
      expect(await repo().getDelivery(deliveryId)).toMatchObject({ status: 'failed', attempts: 2, failureReason: 'subscription_inactive' });
      expect(await repo().getSubscription(sub.id)).toMatchObject({ enabled: false, disabledReason: 'disabled_by_request' });
    });
  });

  it('refuses a forbidden target without retrying and without disabling', async () => {
    // Allow-listed is 127.0.0.1/32 only; 127.0.0.2 is loopback too and stays forbidden.
    const sub = await createSubscription(repo(), `http://127.0.0.2:${receiver.port}/`);
    await withWorker(async ({ route }) => {
      const { deliveryId } = await oneDelivery(route, sub);
      expect(await repo().getDelivery(deliveryId)).toMatchObject({ status: 'failed', attempts: 1, failureReason: 'forbidden_target', lastStatusCode: null });
      expect(await hasWorkflow(deliveryId)).toBe(false);
      expect(receiver.requests).toHaveLength(0);
      expect(await repo().getSubscription(sub.id)).toMatchObject({ enabled: true });
    });
  });
});

describe('routeEvent', () => {
  it('picks live subscriptions by type or composite that existed at the event, and is idempotent on retry', async () => {
    const all = await createSubscription(repo(), `${receiver.url}/all`, ['conversation']);
    const specific = await createSubscription(repo(), `${receiver.url}/specific`, ['conversation.closed', 'booking.scheduled']);
    await createSubscription(repo(), `${receiver.url}/other`, ['conversation.started']);
    const disabled = await createSubscription(repo(), `${receiver.url}/disabled`, ['conversation']);
    await repo().setEnabled(disabled.id, false, 'disabled_by_request');
    const deleted = await createSubscription(repo(), `${receiver.url}/deleted`, ['conversation.closed']);
    await repo().deleteSubscription(deleted.id);
    const envelope: WebhookEnvelope = { ...bookingEnvelope(), type: 'conversation.closed', data: { object: 'conversation', id: 'CVR-1' } };
    // Created after the event (the store's clock has millisecond resolution, so step past the event's millisecond).
    await new Promise((r) => setTimeout(r, 5));
    await createSubscription(repo(), `${receiver.url}/late`, ['conversation']);

    await withWorker(async ({ routeResult }) => {
      const first = await routeResult(envelope);
      // An activity retry: nothing is inserted, attempted or started twice.
      const second = await routeResult(envelope);
      expect(first).toMatchObject({ delivered: 2, retrying: 0, stopped: 0 });
      expect(second).toEqual(first);
      expect(first.deliveryIds).toHaveLength(2);
      const deliveries = await Promise.all(first.deliveryIds.map((id) => repo().getDelivery(id)));
      expect(deliveries.map((d) => d?.subscriptionId).sort()).toEqual([all.id, specific.id].sort());
      expect(deliveries.map((d) => [d?.status, d?.attempts])).toEqual([
        ['succeeded', 1],
        ['succeeded', 1],
      ]);
      expect(receiver.requests.map((q) => q.path).sort()).toEqual(['/all', '/specific']);
      // Delivered on the first attempt: no workflow was needed.
      expect(await Promise.all(first.deliveryIds.map(hasWorkflow))).toEqual([false, false]);
    });
  });

  it('records the answered first attempts while it still waits for a slow receiver', async () => {
    // /slow answers after 3 s; routing waits for it up to 2.5 s. The other two answer at once.
    receiver.respond = async (req): Promise<Answer> => {
      if (req.path === '/slow') await new Promise((r) => setTimeout(r, 3000));
      return { status: 200 };
    };
    const fast = [await createSubscription(repo(), `${receiver.url}/a`, ['booking.canceled']), await createSubscription(repo(), `${receiver.url}/b`, ['booking.canceled'])];
    await createSubscription(repo(), `${receiver.url}/slow`, ['booking.canceled']);
    await withWorker(
      async ({ routeResult }) => {
        const envelope = bookingEnvelope('booking.canceled');
        const started = Date.now();
        let routed = false;
        const routing = routeResult(envelope).then((r) => ((routed = true), r));
        const fastIds = fast.map((sub) => deliveryIdFor(envelope.id, sub.id));
        let seenAfterMs: number | null = null;
        while (Date.now() - started < 4000) {
          const ds = await Promise.all(fastIds.map((id) => repo().getDelivery(id)));
          if (ds.every((d) => d?.status === 'succeeded' && d.attempts === 1)) {
            seenAfterMs = Date.now() - started;
            break;
          }
          await new Promise((r) => setTimeout(r, 25));
        }
        // On record long before routing stops waiting for /slow (2.5 s).
        expect(routed).toBe(false);
        expect(seenAfterMs).not.toBeNull();
        expect(seenAfterMs!).toBeLessThan(1500);
        expect(await routing).toMatchObject({ delivered: 2, retrying: 1, stopped: 0 });
        expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
      },
      { WEBHOOK_ROUTING_WAIT_MS: '2500' },
    );
  });

  it('hands failed first attempts to delivery workflows that start once, also when routing is retried', async () => {
    receiver.respond = (_req, i): Answer => (i === 0 ? { status: 503 } : { status: 200 });
    const sub = await createSubscription(repo(), receiver.url, ['booking.canceled']);
    await withWorker(async ({ routeResult }) => {
      const envelope = bookingEnvelope('booking.canceled');
      const first = await routeResult(envelope);
      expect(first).toMatchObject({ delivered: 0, retrying: 1, stopped: 0 });
      // A retry of the routing activity: attempt 1 is recorded, so it is not made again.
      expect(await routeResult(envelope)).toEqual(first);
      const [deliveryId] = first.deliveryIds;
      const desc = await env.client.workflow.getHandle(deliveryId).describe();
      expect(await desc.staticSummary()).toContain(envelope.id);
      expect(await result(deliveryId)).toEqual({ status: 'succeeded', attempts: 2 });
      expect(receiver.requests).toHaveLength(2);
      expectOffsets(await attemptOffsetsOf(deliveryId), [0, 35 * SECOND]);
      expect((await repo().getDelivery(deliveryId))?.subscriptionId).toBe(sub.id);
    });
  });
});
