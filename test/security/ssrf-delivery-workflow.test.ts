/**
 * The SSRF guard end to end: the webhook delivery workflow on the time-skipping server, running the real
 * deliverWebhook activity behind the guarded dispatcher, against a subscription whose target is private. Each
 * private range (reached through a DNS answer), IPv6 forms, decimal/octal/hex host literals, and a DNS answer
 * that changes between two connects: the delivery stops as forbidden_target and nothing is sent.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Dispatcher } from 'undici';
import { createWebhookActivities } from '../../activities/webhooks';
import { openMemoryDb } from '../../src/store/open-db';
import type { Db } from '../../src/store/db';
import { createWebhooksRepository } from '../../src/store/webhooks-repository';
import { createGuardedDispatcher, type Resolver } from '../../src/webhooks/ssrf';
import { deliveryIdFor } from '../../src/webhooks/ids';
import { STOP_REASON } from '../../src/domain/webhooks/reasons';
import type { DeliveryResult } from '../../workflows/webhook-delivery';
import { timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { startReceiver, type Receiver } from '../webhooks/receiver';
import { bookingEnvelope, createSubscription, noTemporal, testConfig } from '../webhooks/fixtures';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;
let db: Db;
let receiver: Receiver;
const dispatchers: Dispatcher[] = [];

beforeAll(async () => {
  [env, db, receiver] = await Promise.all([timeSkippingEnv(), openMemoryDb(), startReceiver()]);
});

afterAll(async () => {
  await Promise.all(dispatchers.map((d) => d.close()));
  await receiver?.close();
  await db?.close();
  await env?.teardown();
});

beforeEach(() => {
  receiver.requests.length = 0;
  receiver.respond = () => ({ status: 200 });
});

/** Runs one delivery of a fresh event to `url` through the workflow; resolver answers as the test says. */
async function deliver(url: string, resolve: Resolver, allow: string[] = []): Promise<{ result: DeliveryResult; attempts: number }> {
  const repo = createWebhooksRepository(db);
  const sub = await createSubscription(repo, url);
  const envelope = bookingEnvelope();
  const deliveryId = deliveryIdFor(envelope.id, sub.id);
  await repo.insertDelivery({ id: deliveryId, subscriptionId: sub.id, envelope });
  const dispatcher = createGuardedDispatcher({ allowPrivateTargets: allow, connectTimeoutMs: 2000, resolve });
  dispatchers.push(dispatcher);
  const taskQueue = uniqueTaskQueue('ssrf');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createWebhookActivities({ db, config: testConfig(), temporal: noTemporal, dispatcher }),
  });
  const result = await worker.runUntil(
    env.client.workflow.execute('webhookDeliveryWorkflow', { taskQueue, workflowId: deliveryId, args: [{ deliveryId, subscriptionId: sub.id, envelope }] }),
  );
  return { result: result as DeliveryResult, attempts: (await repo.listAttempts(deliveryId)).length };
}

const answer = (address: string): Resolver => async () => [{ address, family: address.includes(':') ? 6 : 4 }];

test.each([
  ['10.0.0.0/8', '10.20.30.40'],
  ['172.16.0.0/12', '172.20.1.1'],
  ['192.168.0.0/16', '192.168.1.20'],
  ['127.0.0.0/8 (not allow-listed)', '127.0.0.2'],
  ['169.254.0.0/16 (cloud metadata)', '169.254.169.254'],
  ['100.64.0.0/10 (carrier-grade NAT)', '100.64.0.1'],
  ['0.0.0.0/8', '0.0.0.0'],
  ['224.0.0.0/4 (multicast)', '224.0.0.1'],
  ['255.255.255.255 (broadcast)', '255.255.255.255'],
  ['::1 (IPv6 loopback)', '::1'],
  ['fe80::/10 (IPv6 link-local)', 'fe80::1'],
  ['fc00::/7 (IPv6 unique local)', 'fd12:3456::1'],
  ['::ffff:0:0/96 (IPv4-mapped private)', '::ffff:10.0.0.1'],
  ['64:ff9b::/96 (NAT64 of loopback)', '64:ff9b::7f00:1'],
])('a host name answered with %s stops the delivery as forbidden_target, nothing sent', async (_range, address) => {
  const { result, attempts } = await deliver(`http://hooks.attacker.example:${receiver.port}/`, answer(address), ['127.0.0.1/32']);
  expect(result).toMatchObject({ status: 'failed', reason: STOP_REASON.forbiddenTarget, attempts: 1 });
  expect(attempts).toBe(1);
  expect(receiver.requests).toHaveLength(0);
});

test.each([
  ['decimal', '2130706433'],
  ['octal', '0177.0.0.1'],
  ['hex', '0x7f.0.0.1'],
  ['short dotted', '127.1'],
  ['IPv6 literal', '[::1]'],
  ['IPv4-mapped IPv6 literal', '[::ffff:127.0.0.1]'],
  ['expanded IPv4-mapped literal', '[0:0:0:0:0:ffff:7f00:1]'],
])('a %s loopback host literal is refused without connecting', async (_form, host) => {
  const neverAsked: Resolver = async () => {
    throw new Error('a literal must be judged without a DNS lookup');
  };
  const { result } = await deliver(`http://${host}:${receiver.port}/`, neverAsked);
  expect(result).toMatchObject({ status: 'failed', reason: STOP_REASON.forbiddenTarget });
  expect(receiver.requests).toHaveLength(0);
});

test('a DNS answer that changes between connects (rebinding) is judged again and refused on the retry', async () => {
  // First connect: the allow-listed receiver, which fails the attempt; the retry (35 s later) resolves again.
  const answers: string[] = [];
  const resolve: Resolver = async () => {
    const address = answers.length === 0 ? '127.0.0.1' : '10.0.0.9';
    answers.push(address);
    return [{ address, family: 4 }];
  };
  receiver.respond = () => ({ status: 503, headers: { connection: 'close' } });
  const { result, attempts } = await deliver(`http://rebind.attacker.example:${receiver.port}/`, resolve, ['127.0.0.1/32']);
  expect(answers).toEqual(['127.0.0.1', '10.0.0.9']);
  expect(receiver.requests).toHaveLength(1);
  expect(result).toMatchObject({ status: 'failed', reason: STOP_REASON.forbiddenTarget, attempts: 2 });
  expect(attempts).toBe(2);
});
