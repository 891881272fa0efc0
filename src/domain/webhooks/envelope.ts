/** Builds the webhook envelope (lifecycle.md section 5). Pure, so workflows build it themselves. */
import type { LifecycleEvent } from '../../shared/booking-contract';
import { WEBHOOK_API_VERSION, type WebhookEnvelope } from '../../shared/dispatch-contract';
import { isWebhookEventType } from './events';

export interface EnvelopeInput<T> {
  /** `EVNT-…`: stable across retries and redeliveries, receivers de-duplicate on it. */
  eventId: string;
  /** A specific event type; a composite name is rejected. */
  type: string;
  /** ISO-8601 time the event happened (workflow time, not the delivery time). */
  creationTime: string;
  data: T;
}

/** The envelope every POST carries; throws on a composite or unknown type or a malformed id/time. */
export function buildEnvelope<T>(input: EnvelopeInput<T>): WebhookEnvelope<T> {
  if (!isWebhookEventType(input.type)) throw new TypeError(`'${input.type}' is not a specific webhook event type`);
  if (!/^EVNT-[A-Za-z0-9_-]+$/.test(input.eventId)) throw new TypeError(`event id must look like EVNT-…, got '${input.eventId}'`);
  if (Number.isNaN(Date.parse(input.creationTime))) throw new TypeError(`creation time is not ISO-8601: '${input.creationTime}'`);
  return {
    id: input.eventId,
    object: 'event',
    creation_time: input.creationTime,
    type: input.type,
    api_version: WEBHOOK_API_VERSION,
    data: input.data,
  };
}

/** The envelope of a booking lifecycle event: `data` is the booking object as it was at that event. */
export function envelopeForLifecycleEvent(event: LifecycleEvent): WebhookEnvelope<LifecycleEvent['booking']> {
  return buildEnvelope({ eventId: event.id, type: event.type, creationTime: event.creation_time, data: event.booking });
}
