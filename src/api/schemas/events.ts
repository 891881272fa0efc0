/**
 * TypeBox schemas of webhook payloads: the envelope every POST carries and its `data`, the booking object (the API's
 * Booking schema without `lifecycle`) or the conversation object (the API's Conversation schema). The event catalog
 * (GET /v2/event-types) and the OpenAPI document's `webhooks` section are generated from these.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { BookingObject } from '../../shared/booking-contract';
import type { ConversationObject } from '../../shared/conversation-contract';
import { WEBHOOK_API_VERSION } from '../../shared/dispatch-contract';
import { Booking } from './bookings';
import { Conversation } from './conversations';
import { errorResponses } from './common';

/** `data` of booking.* events: the booking object of lifecycle.md section 5, exactly (no extra fields). */
export const BookingPayload = Type.Omit(Booking, ['lifecycle'], { additionalProperties: false, title: 'BookingPayload' });

/** `data` of conversation.* events. */
export const ConversationPayload = Type.Object(Conversation.properties, { additionalProperties: false, title: 'ConversationPayload' });

// The engine builds payloads from these types; the schemas must describe exactly them (a mismatch fails tsc).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const bookingMatches: Same<Static<typeof BookingPayload>['form_submission'], Required<BookingObject['form_submission']>> = true;
const bookingFieldsMatch: Same<keyof Static<typeof BookingPayload>, keyof BookingObject> = true;
const conversationMatches: Same<keyof Static<typeof ConversationPayload>, keyof ConversationObject> = true;
void [bookingMatches, bookingFieldsMatch, conversationMatches];

/** The envelope of one event type: `{ id, object, creation_time, type, api_version, data }`. */
export function eventEnvelopeSchema(type: string, data: TSchema, description?: string) {
  return Type.Object(
    {
      id: Type.String({ pattern: '^EVNT-[A-Za-z0-9_-]+$', description: 'EVNT-…: the same on every retry and redelivery (also the webhook-id header); de-duplicate on it' }),
      object: Type.Literal('event'),
      creation_time: Type.String({ format: 'date-time', description: 'When the event happened (not when it was sent)' }),
      type: Type.Literal(type),
      api_version: Type.Literal(WEBHOOK_API_VERSION),
      data,
    },
    { additionalProperties: false, title: type, ...(description ? { description } : {}) },
  );
}

/** One entry of the event catalog. */
export const EventType = Type.Object(
  {
    object: Type.Literal('event_type'),
    name: Type.String({ description: 'What a payload\'s `type` is, or a composite a subscription may name' }),
    kind: Type.Union([Type.Literal('event'), Type.Literal('composite')]),
    description: Type.String(),
    includes: Type.Array(Type.String(), { description: 'For a composite, the event types it names; for an event type, itself' }),
    schema: Type.Unknown({ description: 'JSON Schema (2020-12) of the POST body' }),
    example: Type.Unknown({ description: 'An example POST body, built by the engine\'s own payload code' }),
  },
  { additionalProperties: false, title: 'EventType' },
);
export type EventType = Static<typeof EventType>;

export const EventTypeList = Type.Object(
  { object: Type.Literal('list'), data: Type.Array(EventType), has_more: Type.Boolean() },
  { additionalProperties: false, title: 'EventTypeList' },
);

export const eventTypeRoutes = {
  list: {
    tags: ['webhooks'],
    summary: 'Every webhook event type and composite: description, JSON Schema of the POST body and an example',
    response: { 200: EventTypeList, 401: errorResponses[401], 500: errorResponses[500] },
  },
} as const;
