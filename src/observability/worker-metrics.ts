/**
 * The engine's own metrics in the worker process (prom-client), counted by the activities that see what happens:
 * lifecycle events, webhook deliveries and attempts, subscriptions disabled, Salesforce writes, ignored signals.
 * One registry per process, served on WORKER_METRICS_PORT (src/worker.ts); the SDK's own metrics have their own
 * exporter (src/observability/sdk-metrics.ts). Every label value is from a small fixed set: no ids, no URLs.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../store/db';
import { STOP_REASON } from '../domain/webhooks/reasons';
import { storeGauges } from './store-metrics';

/** How a webhook delivery went: the `outcome` label of booking_engine_webhook_deliveries_total. */
export const DELIVERY_OUTCOME = {
  /** Its first attempt was answered 2xx (when the event was routed, or a delivery workflow's first attempt). */
  deliveredAtOnce: 'delivered_at_once',
  /** Routing handed it to a delivery workflow (the first attempt failed or had not answered in time). Not an end. */
  handedOver: 'handed_over',
  /** Answered 2xx on a later attempt. */
  deliveredAfterRetries: 'delivered_after_retries',
  /** Stopped for good: `reason` is retries_exhausted (72 hours), subscription_inactive or delivery_error. */
  failed: 'failed',
  /** Stopped by a 410 Gone (the subscription is disabled). */
  gone: 'gone',
  /** Refused by the SSRF guard before connecting. */
  forbidden: 'forbidden',
} as const;
export type DeliveryOutcomeLabel = (typeof DELIVERY_OUTCOME)[keyof typeof DELIVERY_OUTCOME];

/** How a Salesforce write went: the `outcome` label of booking_engine_salesforce_writes_total. */
export type SalesforceOutcomeLabel = 'created' | 'updated' | 'skipped' | 'retrying' | 'config_error' | 'invalid_input';

/** What is tracked about the Salesforce writes whose latest attempt failed and will be retried. */
export interface RetryingWrites {
  /** The write `key` failed at an attempt; it has been retrying since `sinceMs`, and is forgotten at `expiresAtMs`. */
  failed(key: string, sinceMs: number, expiresAtMs: number): void;
  /** The write ended (written, skipped or failed for good). */
  ended(key: string): void;
  /** Writes still retrying and how long the longest has been (seconds). */
  snapshot(nowMs: number): { count: number; longestSeconds: number };
}

/** Past this many tracked writes, expired ones are dropped at once rather than at the next scrape. */
const RETRYING_PRUNE_AT = 10_000;

/**
 * Salesforce writes retrying, as this worker saw them. An entry lives until the write ends here or its next attempt
 * is overdue (that attempt ran on another worker, which tracks it from its own failure on), so a write retrying
 * across workers is never counted for long by one that no longer sees it.
 */
export function retryingWrites(): RetryingWrites {
  const open = new Map<string, { sinceMs: number; expiresAtMs: number }>();
  const prune = (nowMs: number) => {
    for (const [k, v] of open) if (v.expiresAtMs <= nowMs) open.delete(k);
  };
  return {
    failed(key, sinceMs, expiresAtMs) {
      open.set(key, { sinceMs, expiresAtMs });
      if (open.size > RETRYING_PRUNE_AT) prune(Date.now());
    },
    ended(key) {
      open.delete(key);
    },
    snapshot(nowMs) {
      prune(nowMs);
      let longest = 0;
      for (const v of open.values()) longest = Math.max(longest, nowMs - v.sinceMs);
      return { count: open.size, longestSeconds: Math.max(0, Math.round(longest / 1000)) };
    },
  };
}

export interface WorkerMetrics {
  registry: Registry;
  lifecycleEvents: Counter<'type'>;
  deliveries: Counter<'outcome' | 'reason'>;
  attemptDuration: Histogram<'result' | 'status_class'>;
  subscriptionsDisabled: Counter<'reason'>;
  salesforceWrites: Counter<'outcome' | 'code'>;
  salesforceWriteDuration: Histogram<'outcome'>;
  salesforceTokenRequests: Counter<'grant' | 'result'>;
  salesforceRetrying: RetryingWrites;
  ignoredSignals: Counter<'signal' | 'reason'>;
  /** What scrape-time gauges read: the worker's state and the store. */
  watch(sources: { worker?: { getState(): string }; db?: Db }): void;
}

function createWorkerMetrics(): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const store = storeGauges(registry, { openDeliveries: true });
  let worker: { getState(): string } | null = null;
  const salesforceRetrying = retryingWrites();

  new Gauge({
    name: 'booking_engine_worker_running',
    help: 'Whether this process\'s worker is running, i.e. polling its task queue (1) or not (0: starting, draining, stopped, failed).',
    registers,
    collect() {
      this.set(worker?.getState() === 'RUNNING' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'booking_engine_salesforce_writes_retrying',
    help: 'Salesforce writes whose latest attempt on this worker failed and is to be retried (and is not overdue).',
    registers,
    collect() {
      this.set(salesforceRetrying.snapshot(Date.now()).count);
    },
  });
  new Gauge({
    name: 'booking_engine_salesforce_retrying_for_seconds',
    help: 'How long the longest-retrying of those writes has been retrying, since its first attempt was scheduled (0: none).',
    registers,
    collect() {
      this.set(salesforceRetrying.snapshot(Date.now()).longestSeconds);
    },
  });

  const metrics: WorkerMetrics = {
    registry,
    lifecycleEvents: new Counter({
      name: 'booking_engine_lifecycle_events_total',
      help: 'Lifecycle events (booking.*, conversation.*) by type, counted once by the activity that first sees each: webhook routing, or the Salesforce sync for the events that post no webhook.',
      labelNames: ['type'] as const,
      registers,
    }),
    deliveries: new Counter({
      name: 'booking_engine_webhook_deliveries_total',
      help: 'Webhook deliveries by outcome: delivered_at_once, handed_over (to a delivery workflow; not an end), delivered_after_retries, failed (reason: retries_exhausted, subscription_inactive, delivery_error), gone (410) or forbidden (SSRF guard).',
      labelNames: ['outcome', 'reason'] as const,
      registers,
    }),
    attemptDuration: new Histogram({
      name: 'booking_engine_webhook_attempt_duration_seconds',
      help: 'Each webhook delivery attempt (one POST), by result (succeeded: 2xx) and status_class (2xx-5xx, none: no answer).',
      labelNames: ['result', 'status_class'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 55],
      registers,
    }),
    subscriptionsDisabled: new Counter({
      name: 'booking_engine_webhook_subscriptions_disabled_total',
      help: 'Subscriptions the engine disabled by itself, by reason: endpoint_gone (410) or retries_exhausted (72 hours).',
      labelNames: ['reason'] as const,
      registers,
    }),
    salesforceWrites: new Counter({
      name: 'booking_engine_salesforce_writes_total',
      help: 'Salesforce Activity Event syncs by outcome (created, updated, skipped, retrying, config_error, invalid_input) and code (the Salesforce errorCode of a failure).',
      labelNames: ['outcome', 'code'] as const,
      registers,
    }),
    salesforceWriteDuration: new Histogram({
      name: 'booking_engine_salesforce_write_duration_seconds',
      help: 'Each Salesforce sync attempt that talked to Salesforce (look-ups and write), by outcome.',
      labelNames: ['outcome'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    salesforceTokenRequests: new Counter({
      name: 'booking_engine_salesforce_token_requests_total',
      help: 'OAuth token requests to Salesforce (first authorization and every re-authorization), by grant and result (ok, error).',
      labelNames: ['grant', 'result'] as const,
      registers,
    }),
    salesforceRetrying,
    ignoredSignals: new Counter({
      name: 'booking_engine_ignored_signals_total',
      help: 'Signals a booking ignored, by signal and reason (wrong_state, invalid_input, unchanged, other).',
      labelNames: ['signal', 'reason'] as const,
      registers,
    }),
    watch(sources) {
      if (sources.worker) worker = sources.worker;
      if (sources.db) store.watch(sources.db);
    },
  };
  // The series of known label values exist from the start, at 0: a counter's first step is then visible to increase(),
  // which cannot see a series appear (deploy/prometheus/alerts.yml).
  for (const outcome of Object.values(DELIVERY_OUTCOME)) if (outcome !== DELIVERY_OUTCOME.failed) metrics.deliveries.inc({ outcome }, 0);
  for (const reason of [STOP_REASON.retriesExhausted, STOP_REASON.subscriptionInactive, STOP_REASON.deliveryError]) {
    metrics.deliveries.inc({ outcome: DELIVERY_OUTCOME.failed, reason }, 0);
  }
  for (const reason of [STOP_REASON.endpointGone, STOP_REASON.retriesExhausted]) metrics.subscriptionsDisabled.inc({ reason }, 0);
  for (const outcome of ['created', 'updated', 'skipped']) metrics.salesforceWrites.inc({ outcome }, 0);
  return metrics;
}

let instance: WorkerMetrics | null = null;

/** The process's worker metrics (created on first use). */
export function workerMetrics(): WorkerMetrics {
  instance ??= createWorkerMetrics();
  return instance;
}

/** `2xx`…`5xx` for an HTTP status, `none` when no answer came. */
export function statusClass(status: number | null): string {
  if (status === null) return 'none';
  const c = Math.floor(status / 100);
  return c >= 1 && c <= 5 ? `${c}xx` : 'other';
}

/** A code as a label value: an identifier-like code as it is, anything else `other` (labels stay a small set). */
export function codeLabel(code: string | null | undefined): string {
  return code && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(code) ? code : 'other';
}

/** An event type as a label value (`booking.canceled`), anything unexpected `other`. */
export function eventTypeLabel(type: string): string {
  return /^[a-z_]{1,32}\.[a-z_]{1,48}$/.test(type) ? type : 'other';
}

const SIGNALS = new Set(['approve', 'decline', 'reschedule', 'requestReschedule', 'cancel', 'noShow', 'reassign', 'canceledForRebook']);

/**
 * The labels of an ignored signal. The workflow's reason is a sentence that may name the booking's state or another
 * booking (src/domain/booking/state-machine.ts): it is reduced to a category here.
 */
export function ignoredSignalLabels(signal: string, reason: string): { signal: string; reason: string } {
  const r = reason.toLowerCase();
  const category = /already (at that time|waiting for approval|belongs to)/.test(r)
    ? 'unchanged'
    : /not a valid time|must be in the future|duration_minutes|already passed/.test(r)
      ? 'invalid_input'
      : /: the booking is |nothing awaits approval|only (a|while|on)|can be (set|rescheduled|canceled) only|cannot be replaced/.test(r)
        ? 'wrong_state'
        : 'other';
  return { signal: SIGNALS.has(signal) ? signal : 'other', reason: category };
}
