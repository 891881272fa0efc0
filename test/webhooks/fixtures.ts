/** Shared pieces of the webhook tests: config, a store with one subscription, envelopes. */
import type { Client } from '@temporalio/client';
import { loadConfig, type Config } from '../../src/config';
import { buildEnvelope } from '../../src/domain/webhooks';
import type { WebhookEnvelope } from '../../src/shared/dispatch-contract';
import { newSecret, newSubscriptionId } from '../../src/webhooks/ids';
import type { WebhooksRepository } from '../../src/store/webhooks-repository';

/** Config as the tests want it: http allowed, only 127.0.0.1 allow-listed, short time-outs. */
export function testConfig(overrides: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    DATA_DIR: '/tmp/booking-engine-test-unused',
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
    WEBHOOK_CONNECT_TIMEOUT_MS: '2000',
    WEBHOOK_TIMEOUT_MS: '5000',
    WEBHOOK_USER_AGENT: 'TestAgent/1',
    ...overrides,
  });
}

/** A Temporal client that fails loudly: for activity tests that must not start workflows. */
export const noTemporal = new Proxy({} as Client, {
  get(_t, prop) {
    if (prop === 'then' || typeof prop === 'symbol') return undefined;
    throw new Error(`test touched temporal.${String(prop)}`);
  },
});

let n = 0;
/** A unique event id. */
export function eventId(): string {
  n += 1;
  return `EVNT-t${process.pid}x${n}x${Math.random().toString(36).slice(2, 8)}`;
}

/** An envelope of a booking event with non-ASCII data, created now (or at `at`). */
export function bookingEnvelope(type = 'booking.scheduled', at: Date = new Date()): WebhookEnvelope {
  return buildEnvelope({
    eventId: eventId(),
    type,
    creationTime: at.toISOString(),
    data: { object: 'booking', id: 'BKNG-1', subject: 'Café ☕ meeting', attendees: ['a@example.com'] },
  });
}

/** Creates a subscription and returns it (with its secret). */
export function createSubscription(repo: WebhooksRepository, url: string, events: string[] = ['booking'], name?: string) {
  return repo.createSubscription({ id: newSubscriptionId(), name: name ?? `sub-${Math.random().toString(36).slice(2)}`, url, events, secret: newSecret() });
}
