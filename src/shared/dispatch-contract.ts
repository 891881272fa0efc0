/**
 * The dispatch seam: the activity interfaces that booking and conversation workflows call, and the
 * payload types of webhook delivery. Workflows import these as types only.
 */
import type { ActivityOptions } from '@temporalio/common';
import type { LifecycleEvent } from './booking-contract';
import type { DeliveryHandoff } from '../domain/webhooks/handoff';

export type { DeliveryHandoff };

/**
 * Proxy options of routeEvent, shared by every workflow that hands events to webhooks. Routing reads the
 * store, makes each delivery's first attempt (waiting at most WEBHOOK_ROUTING_WAIT_MS) and starts delivery
 * workflows for the rest: short attempts, retried for as long as a delivery itself would be (72 hours), so
 * an event is never dropped while the store or server is briefly away.
 */
export const ROUTE_EVENT_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: 72 * 60 * 60 * 1000,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
};

export const WEBHOOK_API_VERSION = 'v2';

/** Specific conversation event types (lifecycle.md section 1). */
export type ConversationEventType = 'conversation.started' | 'conversation.closed' | 'conversation.abandoned';
export const CONVERSATION_EVENT_TYPES: readonly ConversationEventType[] = [
  'conversation.started',
  'conversation.closed',
  'conversation.abandoned',
];

/** The envelope every webhook POST carries (lifecycle.md section 5). `id` is stable across retries. */
export interface WebhookEnvelope<T = unknown> {
  id: string;
  object: 'event';
  creation_time: string;
  type: string;
  api_version: typeof WEBHOOK_API_VERSION;
  data: T;
}

/** A lifecycle event handed to webhook routing, from a booking or a conversation. */
export interface RoutableEvent {
  envelope: WebhookEnvelope;
  /** The workflow that produced it, for logs and the delivery's UI summary. */
  sourceWorkflowId: string;
}

export interface RouteResult {
  deliveryIds: string[];
  /** How routing left them: delivered on the first attempt, handed to a delivery workflow, or stopped (410, forbidden target). */
  delivered?: number;
  retrying?: number;
  stopped?: number;
}

/** Activities the booking and conversation workflows use to hand events to webhooks. */
export interface DispatchActivities {
  /**
   * Finds the subscriptions active at the event's time that name its type or composite, records one
   * delivery each and makes its first attempt; a delivery not delivered by then continues in its own
   * delivery workflow. Idempotent: a retry attempts nothing that was recorded and starts nothing twice.
   */
  routeEvent(event: RoutableEvent): Promise<RouteResult>;
}

export interface SalesforceSyncInput {
  bookingId: string;
  event: LifecycleEvent;
}

export interface SalesforceSyncResult {
  outcome: 'created' | 'updated' | 'skipped';
  activityEventId: string | null;
  detail?: string;
}

/** Activities the booking workflow uses to keep the Salesforce Activity Event in step. */
export interface SalesforceActivities {
  /**
   * Creates or updates the booking's Event for this lifecycle event. Never creates a second Event for a
   * booking (it looks the Event up by booking id first). Configuration errors fail non-retryably with the
   * Salesforce errorCode as the failure type; transient ones retry on the 72-hour schedule.
   */
  syncActivityEvent(input: SalesforceSyncInput): Promise<SalesforceSyncResult>;
}

/** Local activity that makes an ignored signal visible in history (as a marker) and in the worker log. */
export interface NoteActivities {
  noteIgnoredSignal(input: { workflowId: string; signal: string; reason: string }): Promise<void>;
}

/** Input of the webhook delivery workflow: one event to one subscription. No secret travels here. */
export interface DeliveryInput {
  deliveryId: string;
  subscriptionId: string;
  envelope: WebhookEnvelope;
  /** Set when routing made the first attempt: the workflow waits, then continues the schedule from there. */
  handoff?: DeliveryHandoff;
}

export type DeliveryOutcome = 'succeeded' | 'failed';

/** Failure types that webhook delivery activities throw, read by the delivery workflow. */
export const DELIVERY_FAILURE = {
  /** 410 Gone: stop at once and disable the subscription. */
  gone: 'WebhookGone',
  /** The subscription was disabled or deleted: stop, keep it as it is. */
  inactive: 'SubscriptionInactive',
  /** Refused by the SSRF guard or an invalid URL: stop. */
  forbiddenTarget: 'ForbiddenTarget',
  /** Ordinary failed attempt (retried on the schedule). */
  attemptFailed: 'WebhookAttemptFailed',
} as const;

export interface WebhookDeliveryActivities {
  /** One attempt: records it, succeeds on 2xx only, throws with nextRetryDelay from the schedule otherwise. */
  deliverWebhook(input: DeliveryInput): Promise<{ status: number; attempts: number }>;
  /** Marks a delivery failed once its schedule ran out or it was stopped; may disable the subscription. Returns the attempts made. */
  finishDelivery(input: {
    deliveryId: string;
    subscriptionId: string;
    outcome: DeliveryOutcome;
    reason: string;
    disableSubscription: boolean;
  }): Promise<{ attempts: number }>;
}
