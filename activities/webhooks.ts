/**
 * Webhook activities: routing an event to its subscriptions (with each delivery's first attempt), one
 * delivery attempt of a delivery workflow, and closing a delivery that stopped. Built by a factory over the store, a Temporal client and the SSRF-guarded
 * HTTP dispatcher. The secret is read from the store per attempt and never returned.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Dispatcher } from 'undici';
import type { Config } from '../src/config';
import type { Db } from '../src/store/db';
import { createWebhooksRepository, type WebhookSubscription } from '../src/store/webhooks-repository';
import {
  DELIVERY_FAILURE,
  type DeliveryHandoff,
  type DeliveryInput,
  type DispatchActivities,
  type RoutableEvent,
  type RouteResult,
  type WebhookDeliveryActivities,
  type WebhookEnvelope,
} from '../src/shared/dispatch-contract';
import { retryDelayAfterAttempt } from '../src/domain/retry-schedule';
import { isWebhookEventType, triggersFor } from '../src/domain/webhooks/events';
import { handoffWaitMs } from '../src/domain/webhooks/handoff';
import { STOP_REASON } from '../src/domain/webhooks/reasons';
import { createGuardedDispatcher } from '../src/webhooks/ssrf';
import { attemptRow, createWebhookPoster, type PostResult } from '../src/webhooks/post';
import { deliveryIdFor } from '../src/webhooks/ids';
import { startDeliveryWorkflow } from '../src/webhooks/start-delivery';
import { mapLimit } from '../src/util/map-limit';
import { DELIVERY_OUTCOME, eventTypeLabel, statusClass, workerMetrics, type DeliveryOutcomeLabel, type WorkerMetrics } from '../src/observability/worker-metrics';

/**
 * Deliveries routing works on at once. Loopback receivers answer in milliseconds, so a 500-subscriber fan-out
 * is bound by this and the store's round trips (measured in BENCHMARKS.md, fan-out).
 */
const ROUTE_CONCURRENCY = 64;
/** Once every first attempt is out, answers that stop coming for this long are recorded (see routeEvent). */
const ANSWER_LULL_MS = 50;

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
  /** Where deliveries and attempts are counted; the process's worker metrics by default. */
  metrics?: WorkerMetrics;
}

/** The current activity's attempt number; 1 outside an activity (direct calls in tests). */
function activityAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

/** One recorded attempt. */
interface AttemptOutcome extends PostResult {
  /** Attempts recorded for the delivery so far. */
  attempts: number;
}

type RoutedAs = 'delivered' | 'retrying' | 'stopped';

/** Creates routeEvent, deliverWebhook and finishDelivery over the given dependencies. */
export function createWebhookActivities(deps: WebhookActivityDeps): DispatchActivities & WebhookDeliveryActivities {
  const repo = createWebhooksRepository(deps.db);
  const cfg = deps.config.webhooks;
  const dispatcher =
    deps.dispatcher ?? createGuardedDispatcher({ allowPrivateTargets: cfg.allowPrivateTargets, connectTimeoutMs: cfg.connectTimeoutMs });
  const now = deps.now ?? (() => Date.now());
  const totalTimeoutMs = Math.min(cfg.totalTimeoutMs, MAX_ATTEMPT_MS);
  const metrics = deps.metrics ?? workerMetrics();
  const countDelivery = (outcome: DeliveryOutcomeLabel, reason?: string) =>
    metrics.deliveries.inc(reason ? { outcome, reason } : { outcome });

  // The delivery code path every attempt takes (src/webhooks/post.ts), the API's test sends included.
  const postTo = createWebhookPoster({
    dispatcher,
    userAgent: cfg.userAgent,
    totalTimeoutMs,
    now,
    observe: (r) => metrics.attemptDuration.observe({ result: r.succeeded ? 'succeeded' : 'failed', status_class: statusClass(r.status) }, r.latencyMs / 1000),
  });
  const post = (d: { sub: WebhookSubscription; envelope: WebhookEnvelope; startedMs: number }): Promise<PostResult> =>
    postTo({ url: d.sub.url, secret: d.sub.secret, envelope: d.envelope, startedMs: d.startedMs });

  /** One POST recorded as attempt `attemptNumber` on its own (delivery workflows, and first attempts routing handed over). */
  async function attemptDelivery(d: { deliveryId: string; sub: WebhookSubscription; envelope: WebhookEnvelope; attemptNumber: number; startedMs: number }): Promise<AttemptOutcome> {
    const r = await post(d);
    const recorded = await repo.recordAttempt(attemptRow(d.deliveryId, d.attemptNumber, r));
    return { ...r, attempts: recorded?.attempts ?? d.attemptNumber };
  }

  /** Marks a delivery failed for good and, for 410 and an exhausted schedule, disables its subscription; returns its attempts. */
  async function stopDelivery(d: { deliveryId: string; subscriptionId: string; reason: string; disableSubscription: boolean }): Promise<number> {
    const at = new Date(await now());
    const failed = await repo.failDelivery(d.deliveryId, d.reason, at);
    // Counted once: only the call that moved the delivery out of pending stamped it with its own time (a retry does not).
    const stoppedHere = failed?.status === 'failed' && failed.completedAt?.getTime() === at.getTime();
    if (stoppedHere) {
      if (d.reason === STOP_REASON.endpointGone) countDelivery(DELIVERY_OUTCOME.gone);
      else if (d.reason === STOP_REASON.forbiddenTarget) countDelivery(DELIVERY_OUTCOME.forbidden);
      else countDelivery(DELIVERY_OUTCOME.failed, d.reason);
    }
    if (d.disableSubscription) {
      const before = stoppedHere ? await repo.getSubscription(d.subscriptionId) : null;
      await repo.disableSubscription(d.subscriptionId, d.reason);
      if (before?.enabled) metrics.subscriptionsDisabled.inc({ reason: d.reason });
    }
    return failed?.attempts ?? 0;
  }

  /** Hands a delivery to its workflow (counted when this call started it). */
  const startWorkflow = async (sub: WebhookSubscription, deliveryId: string, envelope: WebhookEnvelope, handoff?: DeliveryHandoff) => {
    const started = await startDeliveryWorkflow(deps.temporal, deps.config.temporal.taskQueue, { deliveryId, subscription: sub, envelope, handoff });
    if (started) countDelivery(DELIVERY_OUTCOME.handedOver);
    return started;
  };

  return {
    /**
     * Records one delivery per matching subscription and makes its first attempt, waiting for the answers at
     * most `routingWaitMs` in all. Delivered ones are done; 410 and forbidden targets stop as a workflow would;
     * every other delivery (failed, still in flight, or not attempted in time) continues in its delivery
     * workflow. Safe to retry: recorded attempts are not made again and workflows start once.
     */
    async routeEvent(event: RoutableEvent): Promise<RouteResult> {
      const envelope = event.envelope;
      if (!isWebhookEventType(envelope.type)) {
        throw ApplicationFailure.nonRetryable(`'${envelope.type}' is not a specific webhook event type`, 'InvalidWebhookEvent');
      }
      const activityLog = Context.current().log;
      // Once per event: a retried routing sees the same event again.
      if (activityAttempt() === 1) metrics.lifecycleEvents.inc({ type: eventTypeLabel(envelope.type) });
      const subs = await repo.subscriptionsForEvent(triggersFor(envelope.type), new Date(envelope.creation_time));
      const deliveryIds = subs.map((sub) => deliveryIdFor(envelope.id, sub.id));
      const fresh = new Set(await repo.insertDeliveries(subs.map((sub, i) => ({ id: deliveryIds[i], subscriptionId: sub.id })), envelope));
      // A retried routing: what an earlier try already did is kept.
      const earlier = new Map((await repo.getDeliveries(deliveryIds.filter((id) => !fresh.has(id)))).map((d) => [d.id, d]));

      const routed: RoutedAs[] = new Array(subs.length);
      const firstAttempts: number[] = [];
      await mapLimit(subs, ROUTE_CONCURRENCY, async (sub, i) => {
        const deliveryId = deliveryIds[i];
        const before = earlier.get(deliveryId);
        if (before && before.status !== 'pending') {
          routed[i] = before.status === 'succeeded' ? 'delivered' : 'stopped';
        } else if (before && before.attempts > 0) {
          const [first] = await repo.listAttempts(deliveryId);
          await startWorkflow(sub, deliveryId, envelope, {
            attemptsMade: before.attempts,
            firstAttemptAt: (first?.startedAt ?? before.createdAt).toISOString(),
            waitMs: handoffWaitMs({ attemptsMade: before.attempts }),
          });
          routed[i] = 'retrying';
        } else {
          firstAttempts.push(i);
        }
      });

      // The first attempts: ROUTE_CONCURRENCY POSTs in flight, for at most routingWaitMs in all.
      const answered = new Map<number, PostResult>();
      const inFlight = new Map<number, Promise<PostResult>>();
      const startedAt = new Map<number, number>();
      // Answers are recorded in batches, one transaction each (a fan-out is bound by the store's round trips):
      // once every POST is out and the answers pause, then what is left at the end. So when one receiver hangs,
      // the others' attempts are on record at once, not when routing stops waiting for it.
      const attemptsOf = new Map<string, number>();
      const recorded = new Set<number>();
      let recording: Promise<void> = Promise.resolve();
      /** Records the answers not yet recorded, after any batch still being written; rejects if this batch fails. */
      const recordAnswered = (): Promise<void> => {
        const batch = [...answered].filter(([i]) => !recorded.has(i));
        if (!batch.length) return recording;
        for (const [i] of batch) recorded.add(i);
        const written = recording.then(async () => {
          try {
            const counts = await repo.recordAttempts(batch.map(([i, r]) => attemptRow(deliveryIds[i], 1, r)));
            for (const [id, n] of counts) attemptsOf.set(id, n);
          } catch (err) {
            // Not written (one transaction): the next call writes these rows again.
            for (const [i] of batch) recorded.delete(i);
            throw err;
          }
        });
        recording = written.catch(() => undefined);
        return written;
      };
      let next = 0;
      await new Promise<void>((resolve) => {
        let active = 0;
        let over = false;
        let lull: NodeJS.Timeout | undefined;
        const end = () => {
          if (over) return;
          over = true;
          clearTimeout(timer);
          clearTimeout(lull);
          resolve();
        };
        const timer = setTimeout(end, cfg.routingWaitMs);
        const pump = () => {
          while (!over && active < ROUTE_CONCURRENCY && next < firstAttempts.length) {
            const i = firstAttempts[next++];
            active++;
            const p = (async () => {
              const startedMs = await now();
              startedAt.set(i, startedMs);
              return post({ sub: subs[i], envelope, startedMs });
            })().catch((err: unknown): PostResult => {
              // Not an answer (e.g. the clock failed): counts as a failed attempt, retried by the workflow.
              const startedMs = startedAt.get(i) ?? Date.now();
              return { succeeded: false, status: null, error: String(err), forbidden: null, retryAfterMs: null, latencyMs: 0, startedMs };
            });
            inFlight.set(i, p);
            void p.then((r) => {
              // An answer after the wait stays in flight: it is handed over below and records itself. (Taking it
              // as answered could mark it delivered after its batch was written, leaving it pending for good.)
              if (over) return;
              answered.set(i, r);
              inFlight.delete(i);
              active--;
              pump();
              if (!over && next >= firstAttempts.length && active > 0) {
                clearTimeout(lull);
                // A batch that fails here is written again below, where a second failure fails the activity.
                lull = setTimeout(() => void recordAnswered().catch(() => undefined), ANSWER_LULL_MS);
              }
            });
          }
          if (next >= firstAttempts.length && active === 0) end();
        };
        // A wait of 0 makes no first attempt here at all.
        if (cfg.routingWaitMs > 0) pump();
        else end();
      });

      await recording;
      await recordAnswered();
      await mapLimit(firstAttempts, ROUTE_CONCURRENCY, async (i) => {
        const sub = subs[i];
        const deliveryId = deliveryIds[i];
        const r = answered.get(i);
        const pending = inFlight.get(i);
        if (r) {
          if (r.succeeded) {
            countDelivery(DELIVERY_OUTCOME.deliveredAtOnce);
            routed[i] = 'delivered';
            return;
          }
          activityLog.warn('webhook attempt failed', { deliveryId, eventId: envelope.id, attempt: 1, status: r.status, error: r.error });
          if (r.forbidden || r.status === 410) {
            const reason = r.forbidden ? STOP_REASON.forbiddenTarget : STOP_REASON.endpointGone;
            const attempts = await stopDelivery({ deliveryId, subscriptionId: sub.id, reason, disableSubscription: !r.forbidden });
            activityLog.warn('webhook delivery stopped', { deliveryId, reason, attempts, disabledSubscription: !r.forbidden });
            routed[i] = 'stopped';
            return;
          }
          const attemptsMade = attemptsOf.get(deliveryId) ?? 1;
          await startWorkflow(sub, deliveryId, envelope, {
            attemptsMade,
            firstAttemptAt: new Date(r.startedMs).toISOString(),
            waitMs: handoffWaitMs({ attemptsMade, retryAfterMs: r.retryAfterMs }),
          });
        } else if (pending) {
          // Still waiting for an answer: the attempt runs to its own time-out here and records itself; the
          // workflow's first attempt comes only after that (it sees a success or a 410 recorded meanwhile).
          const startedMs = startedAt.get(i) ?? (await now());
          pending
            .then((late) => repo.recordAttempt(attemptRow(deliveryId, 1, late)).then(() => late))
            .then(
              (late) => {
                if (late.succeeded) countDelivery(DELIVERY_OUTCOME.deliveredAtOnce);
                activityLog.info('first webhook attempt ended after routing handed it over', { deliveryId, status: late.status, succeeded: late.succeeded, latencyMs: late.latencyMs });
              },
              (err: unknown) => activityLog.warn('first webhook attempt could not be recorded', { deliveryId, error: String(err) }),
            );
          await startWorkflow(sub, deliveryId, envelope, {
            attemptsMade: 1,
            firstAttemptAt: new Date(startedMs).toISOString(),
            waitMs: handoffWaitMs({ attemptsMade: 1, inFlightRemainingMs: startedMs + totalTimeoutMs - (await now()) }),
          });
        } else {
          // Routing's wait ended before this one's turn (or WEBHOOK_ROUTING_WAIT_MS=0): the workflow makes every attempt.
          await startWorkflow(sub, deliveryId, envelope);
        }
        routed[i] = 'retrying';
      });
      const count = (as: RoutedAs) => routed.filter((r) => r === as).length;
      const result = { deliveryIds, delivered: count('delivered'), retrying: count('retrying'), stopped: count('stopped') };
      activityLog.info('event routed to webhooks', { eventId: envelope.id, type: envelope.type, source: event.sourceWorkflowId, ...result, deliveryIds: undefined, deliveries: deliveryIds.length });
      return result;
    },

    /** One POST of the envelope, signed; records the attempt and throws the failure that drives the schedule. */
    async deliverWebhook(input: DeliveryInput): Promise<{ status: number; attempts: number }> {
      const activityAttempt = Context.current().info.attempt;
      // Attempts routing made come first; this workflow continues their numbering and schedule.
      const attempt = (input.handoff?.attemptsMade ?? 0) + activityAttempt;
      const delivery = await repo.getDelivery(input.deliveryId);
      // A worker that died after recording success but before reporting it, or a handed-over first attempt
      // that succeeded late: do not POST again.
      if (delivery?.status === 'succeeded') return { status: delivery.lastStatusCode ?? 200, attempts: delivery.attempts };
      if (input.handoff && activityAttempt === 1 && delivery?.lastStatusCode === 410) {
        throw ApplicationFailure.create({ type: DELIVERY_FAILURE.gone, nonRetryable: true, message: 'Endpoint answered 410 Gone' });
      }
      const sub = await repo.getSubscription(input.subscriptionId, { includeDeleted: true });
      if (!delivery || !sub || sub.deletedAt || !sub.enabled) {
        const why = !delivery ? 'delivery is not recorded' : !sub || sub.deletedAt ? 'subscription was deleted' : 'subscription is disabled';
        throw ApplicationFailure.create({ type: DELIVERY_FAILURE.inactive, nonRetryable: true, message: `Not delivered: ${why}` });
      }

      const o = await attemptDelivery({ deliveryId: input.deliveryId, sub, envelope: input.envelope, attemptNumber: attempt, startedMs: await now() });
      const logAttrs = { deliveryId: input.deliveryId, eventId: input.envelope.id, attempt, status: o.status, latencyMs: o.latencyMs };
      if (o.succeeded) {
        countDelivery(attempt === 1 ? DELIVERY_OUTCOME.deliveredAtOnce : DELIVERY_OUTCOME.deliveredAfterRetries);
        log.info('webhook attempt succeeded', logAttrs);
        return { status: o.status as number, attempts: o.attempts };
      }
      log.warn('webhook attempt failed', { ...logAttrs, error: o.error });
      if (o.forbidden) {
        throw ApplicationFailure.create({ type: DELIVERY_FAILURE.forbiddenTarget, nonRetryable: true, message: o.forbidden });
      }
      if (o.status === 410) {
        throw ApplicationFailure.create({ type: DELIVERY_FAILURE.gone, nonRetryable: true, message: 'Endpoint answered 410 Gone' });
      }
      throw ApplicationFailure.create({
        type: DELIVERY_FAILURE.attemptFailed,
        message: o.error ?? 'Delivery failed',
        nextRetryDelay: retryDelayAfterAttempt(attempt, o.retryAfterMs),
        details: [{ attempt, status: o.status }],
      });
    },

    /** Marks the delivery failed and, for 410 and an exhausted schedule, disables the subscription. */
    async finishDelivery(input): Promise<{ attempts: number }> {
      const attempts = await stopDelivery(input);
      log.warn('webhook delivery stopped', { ...input, attempts });
      return { attempts };
    },
  };
}
