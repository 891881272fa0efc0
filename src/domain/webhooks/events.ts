/** Webhook event triggers: the specific event types and the composites a subscription may name. */
import { BOOKING_EVENT_TYPES, type BookingEventType } from '../../shared/booking-contract';
import { CONVERSATION_EVENT_TYPES, type ConversationEventType } from '../../shared/dispatch-contract';

/** A specific event type: what a payload's `type` always is. */
export type WebhookEventType = BookingEventType | ConversationEventType;

/** Composite triggers: `booking` names every booking event, `conversation` every conversation event. */
export type CompositeTrigger = 'booking' | 'conversation';
export const COMPOSITE_TRIGGERS: readonly CompositeTrigger[] = ['booking', 'conversation'];

/** Anything a subscription's `events` may hold. */
export type WebhookTrigger = WebhookEventType | CompositeTrigger;

export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = [...BOOKING_EVENT_TYPES, ...CONVERSATION_EVENT_TYPES];

/** Every accepted trigger, specific ones first; the API's enum. */
export const WEBHOOK_TRIGGERS: readonly WebhookTrigger[] = [...WEBHOOK_EVENT_TYPES, ...COMPOSITE_TRIGGERS];

/** True for a specific event type (never a composite). */
export function isWebhookEventType(s: string): s is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(s);
}

/** True for anything a subscription may list. */
export function isWebhookTrigger(s: string): s is WebhookTrigger {
  return (WEBHOOK_TRIGGERS as readonly string[]).includes(s);
}

/** The composite that includes a specific event type. */
export function compositeOf(type: WebhookEventType): CompositeTrigger {
  return type.startsWith('booking.') ? 'booking' : 'conversation';
}

/** The triggers that select an event of this type: itself and its composite. */
export function triggersFor(type: WebhookEventType): [WebhookEventType, CompositeTrigger] {
  return [type, compositeOf(type)];
}

/** Whether a subscription listing `events` receives an event of `type`. */
export function subscriptionMatches(events: readonly string[], type: string): boolean {
  if (!isWebhookEventType(type)) return false;
  return events.includes(type) || events.includes(compositeOf(type));
}

/** Validates a subscription's event list: non-empty, known triggers only; returns it de-duplicated, in order. */
export function normaliseTriggers(events: readonly string[]): { ok: true; events: WebhookTrigger[] } | { ok: false; message: string } {
  if (events.length === 0) return { ok: false, message: 'events must list at least one event type' };
  const unknown = events.filter((e) => !isWebhookTrigger(e));
  if (unknown.length > 0) {
    return { ok: false, message: `Unknown event type '${unknown[0]}'; expected one of ${WEBHOOK_TRIGGERS.join(', ')}` };
  }
  return { ok: true, events: [...new Set(events)] as WebhookTrigger[] };
}
