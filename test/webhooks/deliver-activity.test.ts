/**
 * deliverWebhook and finishDelivery against a real HTTP receiver on 127.0.0.1 and a real (in-memory
 * PGlite) store, run in MockActivityEnvironment with the attempt number set per test.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { Webhook } from 'standardwebhooks';
import type { Dispatcher } from 'undici';
import { createWebhookActivities } from '../../activities/webhooks';
import { openMemoryDb } from '../../src/store/open-db';
import type { Db } from '../../src/store/db';
import { createWebhooksRepository, type WebhookSubscription } from '../../src/store/webhooks-repository';
import { DELIVERY_FAILURE, type DeliveryInput } from '../../src/shared/dispatch-contract';
import { createGuardedDispatcher, type Resolver } from '../../src/webhooks/ssrf';
import { verifyOncehubSignature } from '../../src/webhooks/verify';
import { deliveryIdFor } from '../../src/webhooks/ids';
import { startReceiver, type Receiver } from './receiver';
import { bookingEnvelope, createSubscription, noTemporal, testConfig } from './fixtures';

let db: Db;
let receiver: Receiver;
const dispatchers: Dispatcher[] = [];
const config = testConfig();
const repo = () => createWebhooksRepository(db);
const quiet = { logger: new DefaultLogger('ERROR') };

beforeAll(async () => {
  db = await openMemoryDb();
  receiver = await startReceiver();
});

afterAll(async () => {
  await Promise.all(dispatchers.map((d) => d.close()));
  await receiver.close();
  await db.close();
});

beforeEach(() => {
  receiver.requests.length = 0;
  receiver.respond = () => ({ status: 200 });
});

function activities(opts: { allow?: string[]; resolve?: Resolver; totalTimeoutMs?: number } = {}) {
  const dispatcher = createGuardedDispatcher({
    allowPrivateTargets: opts.allow ?? config.webhooks.allowPrivateTargets,
    connectTimeoutMs: 2000,
    resolve: opts.resolve,
  });
  dispatchers.push(dispatcher);
  const cfg = opts.totalTimeoutMs ? testConfig({ WEBHOOK_TIMEOUT_MS: String(opts.totalTimeoutMs) }) : config;
  return createWebhookActivities({ db, config: cfg, temporal: noTemporal, dispatcher });
}

async function pendingDelivery(url: string, sub?: WebhookSubscription): Promise<{ input: DeliveryInput; sub: WebhookSubscription }> {
  const s = sub ?? (await createSubscription(repo(), url));
  const envelope = bookingEnvelope();
  const deliveryId = deliveryIdFor(envelope.id, s.id);
  await repo().insertDelivery({ id: deliveryId, subscriptionId: s.id, envelope });
  return { input: { deliveryId, subscriptionId: s.id, envelope }, sub: s };
}

/** Runs deliverWebhook as attempt `attempt`; returns the result or the ApplicationFailure it threw. */
async function attemptDelivery(acts: ReturnType<typeof activities>, input: DeliveryInput, attempt = 1) {
  const env = new MockActivityEnvironment({ attempt }, quiet);
  try {
    return { ok: await env.run(acts.deliverWebhook, input) };
  } catch (err) {
    if (err instanceof ApplicationFailure) return { failure: err };
    throw err;
  }
}

describe('deliverWebhook', () => {
  it('POSTs the exact bytes of JSON.stringify(envelope) with signed headers that verify', async () => {
    const { input, sub } = await pendingDelivery(`${receiver.url}/hooks/in`);
    const r = await attemptDelivery(activities(), input);
    expect(r).toEqual({ ok: { status: 200, attempts: 1 } });
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0];
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/hooks/in');
    expect(req.raw.equals(Buffer.from(JSON.stringify(input.envelope), 'utf8'))).toBe(true);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['user-agent']).toBe('TestAgent/1');
    expect(req.headers['webhook-id']).toBe(input.envelope.id);
    expect(req.headers['oncehub-signature']).toMatch(/^t=\d+,s=[0-9a-f]{64}$/);
    expect(req.headers['oncehub-signature']).toContain(`t=${req.headers['webhook-timestamp']},`);
    expect(verifyOncehubSignature({ header: req.headers['oncehub-signature'], rawBody: req.raw, secret: sub.secret })).toBe(true);
    const wh = new Webhook(sub.secret, { format: 'raw' });
    expect(wh.verify(req.raw.toString('utf8'), req.headers as Record<string, string>)).toEqual(input.envelope);
    // The secret travels only as a key: never in a header or the body.
    expect(JSON.stringify(req.headers) + req.raw.toString()).not.toContain(sub.secret);

    const d = await repo().getDelivery(input.deliveryId);
    expect(d).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 200, lastError: null });
    expect(d?.completedAt).toBeInstanceOf(Date);
    const attempts = await repo().listAttempts(input.deliveryId);
    expect(attempts).toEqual([{ attemptNumber: 1, startedAt: expect.any(Date), statusCode: 200, latencyMs: expect.any(Number), error: null }]);
  });

  it('counts a redirect as a failure and does not follow it', async () => {
    receiver.respond = (req) => (req.path === '/moved' ? { status: 302, headers: { location: `${receiver.url}/target` } } : { status: 200 });
    const { input } = await pendingDelivery(`${receiver.url}/moved`);
    const r = await attemptDelivery(activities(), input, 1);
    expect(r.failure).toMatchObject({ type: DELIVERY_FAILURE.attemptFailed, nonRetryable: false, nextRetryDelay: 35_000 });
    expect(receiver.requests.map((q) => q.path)).toEqual(['/moved']);
    expect(await repo().getDelivery(input.deliveryId)).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 302 });
    expect((await repo().listAttempts(input.deliveryId))[0].error).toMatch(/redirects are not followed/);
  });

  it.each([
    [1, 35_000],
    [2, 180_000],
    [3, 72 * 60_000],
    [4, 6 * 3600_000],
    [9, 6 * 3600_000],
  ])('after a 500 on attempt %d the next attempt waits %d ms', async (attempt, delay) => {
    receiver.respond = () => ({ status: 500 });
    const { input } = await pendingDelivery(receiver.url);
    const r = await attemptDelivery(activities(), input, attempt);
    expect(r.failure).toMatchObject({ type: DELIVERY_FAILURE.attemptFailed, nonRetryable: false, nextRetryDelay: delay });
    expect(await repo().getDelivery(input.deliveryId)).toMatchObject({ attempts: attempt, lastStatusCode: 500, lastError: 'HTTP 500' });
  });

  it('stops at once on 410 Gone', async () => {
    receiver.respond = () => ({ status: 410 });
    const { input } = await pendingDelivery(receiver.url);
    const r = await attemptDelivery(activities(), input, 2);
    expect(r.failure).toMatchObject({ type: DELIVERY_FAILURE.gone, nonRetryable: true });
    expect(await repo().getDelivery(input.deliveryId)).toMatchObject({ status: 'pending', attempts: 2, lastStatusCode: 410 });
  });

  it('waits for Retry-After on 429/503 when it is longer than the schedule, and never less than the schedule', async () => {
    const acts = activities();
    receiver.respond = () => ({ status: 429, headers: { 'retry-after': '600' } });
    let { input } = await pendingDelivery(receiver.url);
    expect((await attemptDelivery(acts, input, 1)).failure?.nextRetryDelay).toBe(600_000);

    receiver.respond = () => ({ status: 503, headers: { 'retry-after': '10' } });
    ({ input } = await pendingDelivery(receiver.url));
    expect((await attemptDelivery(acts, input, 1)).failure?.nextRetryDelay).toBe(35_000);

    const inTwoHours = new Date(Date.now() + 2 * 3600_000).toUTCString();
    receiver.respond = () => ({ status: 503, headers: { 'retry-after': inTwoHours } });
    ({ input } = await pendingDelivery(receiver.url));
    const delay = (await attemptDelivery(acts, input, 3)).failure?.nextRetryDelay as number;
    // An HTTP date has one-second resolution: between 2 h - 2 s and 2 h.
    expect(delay).toBeGreaterThan(2 * 3600_000 - 2000);
    expect(delay).toBeLessThanOrEqual(2 * 3600_000);

    receiver.respond = () => ({ status: 500, headers: { 'retry-after': '7200' } });
    ({ input } = await pendingDelivery(receiver.url));
    expect((await attemptDelivery(acts, input, 1)).failure?.nextRetryDelay).toBe(35_000);
  });

  it('records a refused connection as a failed attempt without status', async () => {
    const closed = await startReceiver();
    const url = closed.url;
    await closed.close();
    const { input } = await pendingDelivery(url);
    const r = await attemptDelivery(activities(), input, 1);
    expect(r.failure).toMatchObject({ type: DELIVERY_FAILURE.attemptFailed, nextRetryDelay: 35_000 });
    const [a] = await repo().listAttempts(input.deliveryId);
    expect(a).toMatchObject({ statusCode: null, error: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('gives up an attempt that gets no answer within the total time-out', async () => {
    receiver.respond = () => ({ status: 200, hang: true });
    const { input } = await pendingDelivery(receiver.url);
    const r = await attemptDelivery(activities({ totalTimeoutMs: 300 }), input, 1);
    expect(r.failure).toMatchObject({ type: DELIVERY_FAILURE.attemptFailed, nextRetryDelay: 35_000 });
    expect((await repo().listAttempts(input.deliveryId))[0]).toMatchObject({ statusCode: null, error: 'Timed out after 300 ms' });
  });

  it('does not POST for a disabled or deleted subscription', async () => {
    const { input, sub } = await pendingDelivery(receiver.url);
    await repo().setEnabled(sub.id, false, 'disabled_by_request');
    expect((await attemptDelivery(activities(), input, 3)).failure).toMatchObject({ type: DELIVERY_FAILURE.inactive, nonRetryable: true });
    const other = await pendingDelivery(receiver.url);
    await repo().deleteSubscription(other.sub.id);
    expect((await attemptDelivery(activities(), other.input, 1)).failure).toMatchObject({ type: DELIVERY_FAILURE.inactive, nonRetryable: true });
    expect(receiver.requests).toHaveLength(0);
  });

  it('does not POST again once the delivery succeeded (a worker that died before reporting success)', async () => {
    const acts = activities();
    const { input } = await pendingDelivery(receiver.url);
    await attemptDelivery(acts, input, 1);
    const again = await attemptDelivery(acts, input, 2);
    expect(again).toEqual({ ok: { status: 200, attempts: 1 } });
    expect(receiver.requests).toHaveLength(1);
  });

  it('re-running the same attempt number keeps one attempt row', async () => {
    receiver.respond = () => ({ status: 502 });
    const acts = activities();
    const { input } = await pendingDelivery(receiver.url);
    await attemptDelivery(acts, input, 4);
    await attemptDelivery(acts, input, 4);
    expect((await repo().listAttempts(input.deliveryId)).map((a) => a.attemptNumber)).toEqual([4]);
    expect((await repo().getDelivery(input.deliveryId))?.attempts).toBe(4);
  });
});

describe('deliverWebhook behind the SSRF guard', () => {
  it.each([
    ['loopback literal', (port: number) => `http://127.0.0.1:${port}/`],
    ['decimal loopback', (port: number) => `http://2130706433:${port}/`],
    ['octal loopback', (port: number) => `http://0177.0.0.1:${port}/`],
    ['IPv6 loopback', (port: number) => `http://[::1]:${port}/`],
    ['IPv4-mapped loopback', (port: number) => `http://[::ffff:127.0.0.1]:${port}/`],
  ])('refuses a %s target when nothing is allow-listed, without connecting', async (_name, url) => {
    const { input } = await pendingDelivery(url(receiver.port));
    const r = await attemptDelivery(activities({ allow: [] }), input, 1);
    expect(r.failure).toMatchObject({ type: DELIVERY_FAILURE.forbiddenTarget, nonRetryable: true });
    expect(receiver.requests).toHaveLength(0);
    expect((await repo().listAttempts(input.deliveryId))[0]).toMatchObject({ statusCode: null, error: expect.stringContaining('loopback') });
  });

  it('refuses a host name that resolves to the metadata address', async () => {
    const resolve: Resolver = async () => [{ address: '169.254.169.254', family: 4 }];
    const { input } = await pendingDelivery(`http://metadata.attacker.example:${receiver.port}/`);
    const r = await attemptDelivery(activities({ resolve }), input, 1);
    expect(r.failure).toMatchObject({ type: DELIVERY_FAILURE.forbiddenTarget, nonRetryable: true });
    expect(r.failure?.message).toContain('169.254.169.254 (linkLocal)');
  });

  it('refuses an answer that mixes an allowed and a private address', async () => {
    const resolve: Resolver = async () => [
      { address: '127.0.0.1', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    const { input } = await pendingDelivery(`http://mixed.example:${receiver.port}/`);
    expect((await attemptDelivery(activities({ resolve }), input, 1)).failure).toMatchObject({ type: DELIVERY_FAILURE.forbiddenTarget });
    expect(receiver.requests).toHaveLength(0);
  });

  it('judges the address actually connected to, so a DNS answer that changes (rebinding) is caught', async () => {
    // First resolution: the allow-listed receiver. Every later one: a private address.
    const answers: string[] = [];
    const resolve: Resolver = async () => {
      const address = answers.length === 0 ? '127.0.0.1' : '192.168.1.20';
      answers.push(address);
      return [{ address, family: 4 }];
    };
    // A new connection per request, so the second delivery resolves again.
    receiver.respond = () => ({ status: 200, headers: { connection: 'close' } });
    const acts = activities({ resolve });
    const first = await pendingDelivery(`http://rebind.example:${receiver.port}/`);
    expect(await attemptDelivery(acts, first.input, 1)).toEqual({ ok: { status: 200, attempts: 1 } });
    const second = await pendingDelivery(first.sub.url, first.sub);
    const r = await attemptDelivery(acts, second.input, 1);
    expect(r.failure).toMatchObject({ type: DELIVERY_FAILURE.forbiddenTarget, nonRetryable: true });
    expect(r.failure?.message).toContain('192.168.1.20 (private)');
    expect(answers).toEqual(['127.0.0.1', '192.168.1.20']);
    expect(receiver.requests).toHaveLength(1);
  });

  it('admits an allow-listed host name whatever it resolves to', async () => {
    const resolve: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    const { input } = await pendingDelivery(`http://receiver.internal:${receiver.port}/`);
    const r = await attemptDelivery(activities({ allow: ['receiver.internal'], resolve }), input, 1);
    expect(r).toEqual({ ok: { status: 200, attempts: 1 } });
    expect(receiver.requests[0].headers.host).toBe(`receiver.internal:${receiver.port}`);
  });
});

describe('finishDelivery', () => {
  it('marks the delivery failed with its reason and disables the subscription when asked', async () => {
    const acts = activities();
    const { input, sub } = await pendingDelivery(receiver.url);
    const r = await new MockActivityEnvironment({}, quiet).run(acts.finishDelivery, {
      deliveryId: input.deliveryId,
      subscriptionId: sub.id,
      outcome: 'failed' as const,
      reason: 'retries_exhausted',
      disableSubscription: true,
    });
    expect(r).toEqual({ attempts: 0 });
    expect(await repo().getDelivery(input.deliveryId)).toMatchObject({ status: 'failed', failureReason: 'retries_exhausted', completedAt: expect.any(Date) });
    expect(await repo().getSubscription(sub.id)).toMatchObject({ enabled: false, disabledReason: 'retries_exhausted' });
  });

  it('leaves the subscription alone when not asked', async () => {
    const acts = activities();
    const { input, sub } = await pendingDelivery(receiver.url);
    await new MockActivityEnvironment({}, quiet).run(acts.finishDelivery, {
      deliveryId: input.deliveryId,
      subscriptionId: sub.id,
      outcome: 'failed' as const,
      reason: 'subscription_inactive',
      disableSubscription: false,
    });
    expect(await repo().getSubscription(sub.id)).toMatchObject({ enabled: true, disabledReason: null });
  });
});
