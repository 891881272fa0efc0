/**
 * One webhook delivery: one event to one subscription, retried on the 72-hour schedule. Routing makes the
 * first attempt itself and starts this workflow only for a delivery that is not done by then (its input's
 * `handoff`); redeliveries start it without one and make every attempt here. The schedule
 * itself comes from each failed attempt's nextRetryDelay (35 s, 3 min, 72 min, then 6 h, or longer when
 * the receiver's Retry-After asks); the retry policy below is only the envelope around it. The workflow
 * id is the delivery id, and no secret ever enters this history: the activity reads it from the store.
 */
import { ActivityFailure, ApplicationFailure, log, proxyActivities, setCurrentDetails, sleep, type ActivityOptions } from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import { DELIVERY_FAILURE, type DeliveryInput, type DeliveryOutcome, type WebhookDeliveryActivities } from '../src/shared/dispatch-contract';
import { STOP_REASON, type StopReason } from '../src/domain/webhooks/reasons';
import { windowRemainingMs } from '../src/domain/webhooks/handoff';

const DELIVER_OPTIONS: ActivityOptions = {
  // One attempt: connect + request time-outs (at most 55 s, enforced by the activity) plus margin.
  startToCloseTimeout: '1 minute',
  // The whole schedule; the server refuses a retry that would start after it, which ends the delivery.
  scheduleToCloseTimeout: '72 hours',
  retry: {
    // Fallbacks only: every retryable failure carries its own nextRetryDelay.
    initialInterval: '35 seconds',
    backoffCoefficient: 1,
    maximumInterval: '6 hours',
    nonRetryableErrorTypes: [DELIVERY_FAILURE.gone, DELIVERY_FAILURE.inactive, DELIVERY_FAILURE.forbiddenTarget],
  },
};
const { deliverWebhook } = proxyActivities<WebhookDeliveryActivities>(DELIVER_OPTIONS);

const { finishDelivery } = proxyActivities<WebhookDeliveryActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/** How the delivery ended. */
export interface DeliveryResult {
  status: DeliveryOutcome;
  attempts: number;
  reason?: StopReason;
}

/** Maps the final activity failure to the reason the delivery stopped and whether the subscription is disabled. */
function stopReason(err: ActivityFailure): { reason: StopReason; disable: boolean } {
  const type = err.cause instanceof ApplicationFailure ? err.cause.type : undefined;
  if (type === DELIVERY_FAILURE.gone) return { reason: STOP_REASON.endpointGone, disable: true };
  if (type === DELIVERY_FAILURE.inactive) return { reason: STOP_REASON.subscriptionInactive, disable: false };
  if (type === DELIVERY_FAILURE.forbiddenTarget) return { reason: STOP_REASON.forbiddenTarget, disable: false };
  if (err.retryState === RetryState.NON_RETRYABLE_FAILURE) return { reason: STOP_REASON.deliveryError, disable: false };
  // TIMEOUT (72 h ran out) or, defensively, any other end of retrying.
  return { reason: STOP_REASON.retriesExhausted, disable: true };
}

/** Delivers `input.envelope` to the subscription; returns once it succeeded or stopped for good. */
export async function webhookDeliveryWorkflow(input: DeliveryInput): Promise<DeliveryResult> {
  const who = { deliveryId: input.deliveryId, subscriptionId: input.subscriptionId, eventId: input.envelope.id, eventType: input.envelope.type };
  const stop = async (reason: StopReason, disable: boolean, cause?: string): Promise<DeliveryResult> => {
    const { attempts } = await finishDelivery({
      deliveryId: input.deliveryId,
      subscriptionId: input.subscriptionId,
      outcome: 'failed',
      reason,
      disableSubscription: disable,
    });
    setCurrentDetails(`Failed (${reason}) after ${attempts} attempt(s)${disable ? '; subscription disabled' : ''}`);
    log.warn('webhook delivery failed', { ...who, attempts, reason, disabledSubscription: disable, cause });
    return { status: 'failed', attempts, reason };
  };

  let deliver = deliverWebhook;
  const handoff = input.handoff;
  if (handoff) {
    // Only inputs with a handoff take this branch, so histories of deliveries started without one replay unchanged.
    if (windowRemainingMs(handoff.firstAttemptAt, Date.now()) <= handoff.waitMs) {
      // The next attempt would fall after the 72 hours (e.g. a Retry-After past them): stop, as the retry policy would.
      return stop(STOP_REASON.retriesExhausted, true, 'next attempt would fall outside the 72-hour window');
    }
    setCurrentDetails(`Attempt ${handoff.attemptsMade} was made when the event was routed; next attempt in ${Math.round(handoff.waitMs / 1000)} s`);
    await sleep(handoff.waitMs);
    // The 72 hours count from the first attempt, not from this workflow's start.
    deliver = proxyActivities<WebhookDeliveryActivities>({
      ...DELIVER_OPTIONS,
      scheduleToCloseTimeout: Math.max(1000, windowRemainingMs(handoff.firstAttemptAt, Date.now())),
    }).deliverWebhook;
  }
  setCurrentDetails(`Delivering ${input.envelope.type} ${input.envelope.id} to ${input.subscriptionId} (retries: 35 s, 3 min, 72 min, then every 6 h for 72 h)`);
  try {
    const r = await deliver(input);
    setCurrentDetails(`Succeeded with HTTP ${r.status} on attempt ${r.attempts}`);
    log.info('webhook delivered', { ...who, attempts: r.attempts, status: r.status });
    return { status: 'succeeded', attempts: r.attempts };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const { reason, disable } = stopReason(err);
    return stop(reason, disable, err.cause?.message);
  }
}
