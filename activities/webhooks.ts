/**
 * Webhook activities: routing an event to its subscriptions, one delivery attempt, and closing a
 * delivery that stopped. Built by a factory over the store, a Temporal client and the SSRF-guarded
 * HTTP dispatcher. The secret is read from the store per attempt and never returned.
 */
import { performance } from 'node:perf_hooks';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { request, type Dispatcher } from 'undici';
import type { Config } from '../src/config';
import type { Db } from '../src/store/db';
import { createWebhooksRepository } from '../src/store/webhooks-repository';
import {
  DELIVERY_FAILURE,
  type DeliveryInput,
  type DispatchActivities,
  type RoutableEvent,
  type RouteResult,
  type WebhookDeliveryActivities,
} from '../src/shared/dispatch-contract';
import { retryDelayAfterAttempt } from '../src/domain/retry-schedule';
import { isWebhookEventType, triggersFor } from '../src/domain/webhooks/events';
import { honoursRetryAfter, parseRetryAfter } from '../src/domain/webhooks/retry-after';
import { signatureHeaders } from '../src/webhooks/signing';
import { createGuardedDispatcher, findForbiddenTarget } from '../src/webhooks/ssrf';
import { deliveryIdFor } from '../src/webhooks/ids';
import { startDeliveryWorkflow } from '../src/webhooks/start-delivery';
import { mapLimit } from '../src/util/map-limit';

/** Delivery workflows started at once by one routing (measured in BENCHMARKS.md, fan-out). */
const ROUTE_CONCURRENCY = 16;

/** The delivery workflow gives one attempt a minute; the request must end well inside it. */
const MAX_ATTEMPT_MS = 55_000;

export interface WebhookActivityDeps {
  db: Db;
  config: Pick<Config, 'temporal' | 'webhooks'>;
  /** Starts delivery workflows (routeEvent). */
  temporal: Client;
  /** HTTP dispatcher; by default an SSRF-guarded agent built from config.webhooks. */
  dispatcher?: Dispatcher;
  /**
   * Clock for signature timestamps and attempt times. Production uses Date.now; tests on the
   * time-skipping server pass the server's clock so recorded times show the skipped schedule.
   */
  now?: () => number | Promise<number>;
}

function describe(err: unknown, totalTimeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `Timed out after ${totalTimeoutMs} ms`;
  if (e?.code === 'UND_ERR_CONNECT_TIMEOUT') return 'Connect timed out';
  if (e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') return `Timed out after ${totalTimeoutMs} ms`;
  const code = e?.code ?? e?.cause?.code;
  const message = e?.message ?? String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Creates routeEvent, deliverWebhook and finishDelivery over the given dependencies. */
export function createWebhookActivities(deps: WebhookActivityDeps): DispatchActivities & WebhookDeliveryActivities {
  const repo = createWebhooksRepository(deps.db);
  const cfg = deps.config.webhooks;
  const dispatcher =
    deps.dispatcher ?? createGuardedDispatcher({ allowPrivateTargets: cfg.allowPrivateTargets, connectTimeoutMs: cfg.connectTimeoutMs });
  const now = deps.now ?? (() => Date.now());
  const totalTimeoutMs = Math.min(cfg.totalTimeoutMs, MAX_ATTEMPT_MS);

  return {
    /** Records one pending delivery per matching subscription and starts its workflow; safe to retry. */
    async routeEvent(event: RoutableEvent): Promise<RouteResult> {
      const envelope = event.envelope;
      if (!isWebhookEventType(envelope.type)) {
        throw ApplicationFailure.nonRetryable(`'${envelope.type}' is not a specific webhook event type`, 'InvalidWebhookEvent');
      }
      const subs = await repo.subscriptionsForEvent(triggersFor(envelope.type), new Date(envelope.creation_time));
      // Starts overlap (a large fan-out is bound by round trips to the server, not by work here); each
      // delivery is recorded before its workflow starts, so a retry finds and completes what is missing.
      const deliveryIds = await mapLimit(subs, ROUTE_CONCURRENCY, async (sub) => {
        const deliveryId = deliveryIdFor(envelope.id, sub.id);
        await repo.insertDelivery({ id: deliveryId, subscriptionId: sub.id, envelope });
        await startDeliveryWorkflow(deps.temporal, deps.config.temporal.taskQueue, { deliveryId, subscription: sub, envelope });
        return deliveryId;
      });
      log.info('event routed to webhooks', { eventId: envelope.id, type: envelope.type, source: event.sourceWorkflowId, deliveries: deliveryIds.length });
      return { deliveryIds };
    },

    /** One POST of the envelope, signed; records the attempt and throws the failure that drives the schedule. */
    async deliverWebhook(input: DeliveryInput): Promise<{ status: number; attempts: number }> {
      const attempt = Context.current().info.attempt;
      const delivery = await repo.getDelivery(input.deliveryId);
      // A worker that died after recording success but before reporting it: do not POST again.
      if (delivery?.status === 'succeeded') return { status: delivery.lastStatusCode ?? 200, attempts: delivery.attempts };
      const sub = await repo.getSubscription(input.subscriptionId, { includeDeleted: true });
      if (!delivery || !sub || sub.deletedAt || !sub.enabled) {
        const why = !delivery ? 'delivery is not recorded' : !sub || sub.deletedAt ? 'subscription was deleted' : 'subscription is disabled';
        throw ApplicationFailure.create({ type: DELIVERY_FAILURE.inactive, nonRetryable: true, message: `Not delivered: ${why}` });
      }

      // Serialised once: these exact bytes are signed and sent.
      const body = JSON.stringify(input.envelope);
      const startedMs = await now();
      const headers = {
        'content-type': 'application/json',
        'user-agent': cfg.userAgent,
        ...signatureHeaders({ secret: sub.secret, eventId: input.envelope.id, timestampSeconds: Math.floor(startedMs / 1000), body }),
      };

      let status: number | null = null;
      let retryAfter: string | string[] | undefined;
      let error: string | null = null;
      let forbidden: string | null = null;
      const t0 = performance.now();
      try {
        // undici's request never follows redirects, so a 3xx arrives here as itself and counts as a failure.
        const res = await request(sub.url, {
          method: 'POST',
          headers,
          body,
          dispatcher,
          headersTimeout: totalTimeoutMs,
          bodyTimeout: totalTimeoutMs,
          signal: AbortSignal.timeout(totalTimeoutMs),
        });
        status = res.statusCode;
        retryAfter = res.headers['retry-after'];
        // The answer's body is not used; read (at most 64 KiB) and drop it so the connection can be reused.
        await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      } catch (err) {
        const f = findForbiddenTarget(err);
        forbidden = f ? f.message : null;
        error = forbidden ?? describe(err, totalTimeoutMs);
      }
      const latencyMs = Math.round(performance.now() - t0);
      const succeeded = status !== null && status >= 200 && status < 300;
      if (status !== null && !succeeded) {
        error = status >= 300 && status < 400 ? `HTTP ${status}: redirects are not followed; only 2xx counts as delivered` : `HTTP ${status}`;
      }
      const recorded = await repo.recordAttempt({
        deliveryId: input.deliveryId,
        attemptNumber: attempt,
        startedAt: new Date(startedMs),
        statusCode: status,
        latencyMs,
        error,
        succeeded,
        completedAt: new Date(startedMs + latencyMs),
      });
      const attempts = recorded?.attempts ?? attempt;
      const logAttrs = { deliveryId: input.deliveryId, eventId: input.envelope.id, attempt, status, latencyMs };

      if (succeeded) {
        log.info('webhook attempt succeeded', logAttrs);
        return { status: status as number, attempts };
      }
      log.warn('webhook attempt failed', { ...logAttrs, error });
      if (forbidden) {
        throw ApplicationFailure.create({ type: DELIVERY_FAILURE.forbiddenTarget, nonRetryable: true, message: forbidden });
      }
      if (status === 410) {
        throw ApplicationFailure.create({ type: DELIVERY_FAILURE.gone, nonRetryable: true, message: 'Endpoint answered 410 Gone' });
      }
      const retryAfterMs = status !== null && honoursRetryAfter(status) ? parseRetryAfter(retryAfter, await now()) : null;
      throw ApplicationFailure.create({
        type: DELIVERY_FAILURE.attemptFailed,
        message: error ?? 'Delivery failed',
        nextRetryDelay: retryDelayAfterAttempt(attempt, retryAfterMs),
        details: [{ attempt, status }],
      });
    },

    /** Marks the delivery failed and, for 410 and an exhausted schedule, disables the subscription. */
    async finishDelivery(input): Promise<{ attempts: number }> {
      const at = new Date(await now());
      const d = await repo.failDelivery(input.deliveryId, input.reason, at);
      if (input.disableSubscription) await repo.disableSubscription(input.subscriptionId, input.reason);
      log.warn('webhook delivery stopped', { ...input, attempts: d?.attempts ?? 0 });
      return { attempts: d?.attempts ?? 0 };
    },
  };
}
