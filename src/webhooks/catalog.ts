/**
 * The webhook event catalog: every event type and composite with a description, the JSON Schema of its POST body
 * and an example body. Examples are built by the engine's own payload code: the booking state machine and
 * toBookingObject, the conversation transition, and buildEnvelope, exactly as workflows build what they send.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { BookingEventType, BookingInput, BookingObject, UserSnapshot } from '../shared/booking-contract';
import type { ConversationEventType, WebhookEnvelope } from '../shared/dispatch-contract';
import type { ConversationInput, ConversationObject } from '../shared/conversation-contract';
import { decide, endTime, initialState, onDeadline, type BookingState, type Effect } from '../domain/booking/state-machine';
import { toBookingObject } from '../domain/booking/booking-object';
import { initialConversationState, transition, type ConversationState } from '../domain/conversation';
import { buildEnvelope } from '../domain/webhooks/envelope';
import { COMPOSITE_TRIGGERS, WEBHOOK_EVENT_TYPES, compositeOf, type CompositeTrigger, type WebhookEventType } from '../domain/webhooks/events';
import { BookingPayload, ConversationPayload, eventEnvelopeSchema, type EventType } from '../api/schemas/events';

/** What each event type means (lifecycle.md sections 2 and 5). */
export const EVENT_DESCRIPTIONS: Record<WebhookEventType | CompositeTrigger, string> = {
  'booking.scheduled': 'A booking was made (automatic page), or a booking request was approved (approval page).',
  'booking.rescheduled': 'The booking moved to a new time with the same user: by the customer, by the user, or approved.',
  'booking.reassigned': 'The user reassigned the booking to another user (and maybe booking page).',
  'booking.canceled_then_rescheduled':
    'The customer canceled and rebooked with a different user or page: a new booking whose rescheduled_booking_id names the old one.',
  'booking.canceled_reschedule_requested': 'The user asked the customer to pick a new time; the booking is canceled until they do.',
  'booking.canceled': 'The customer or the user canceled the booking.',
  'booking.completed': "The meeting's end time passed.",
  'booking.no_show': 'The user marked a completed meeting as no-show.',
  'conversation.started': 'The visitor answered the chatbot for the first time.',
  'conversation.closed': 'The visitor reached the end of the flow, or started a conversation with another bot.',
  'conversation.abandoned': 'No answer from the visitor for longer than the abandon timeout (10 minutes by default).',
  booking: 'Composite: every booking.* event type.',
  conversation: 'Composite: every conversation.* event type.',
};

const T0 = Date.parse('2026-12-01T09:00:00.000Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

const alice: UserSnapshot = { id: 'USR-3b1f0c2a9d7e4c51', name: 'Alice Martin', email: 'alice@example.com', timezone: 'Europe/London' };
const bob: UserSnapshot = { id: 'USR-8c2d4e6f0a1b3c5d', name: 'Bob Chen', email: 'bob@example.com', timezone: 'America/New_York' };
const salesforce = { connected: false, create_activity_event: true, relate_to: 'lead' as const, create_missing_record: true };

function sampleInput(over: Partial<BookingInput> = {}): BookingInput {
  const bookingId = 'BKNG-5f2e9a41c7d04b8e9a3f';
  return {
    bookingId,
    trackingId: bookingId.slice(5, 15),
    createdAt: iso(T0),
    page: { id: 'BP-1a2b3c4d5e6f7a8b', name: 'Intro call', mode: 'automatic', owner_user_id: alice.id, salesforce },
    owner: alice,
    startTime: iso(T0 + 2 * 24 * 60 * MIN),
    durationMinutes: 30,
    customerTimezone: 'Europe/Paris',
    subject: 'Intro call with Alice Martin',
    eventType: null,
    locationDescription: null,
    joinUrl: 'https://meet.example.com/intro-5f2e9a41',
    attendees: ['carol@example.com'],
    form: { name: 'Carol Dupont', email: 'carol@example.com', company: 'Acme', note: 'Looking forward to it.' },
    salesforceRecord: null,
    sessionPackage: null,
    conversationId: null,
    cancelRescheduleUrl: 'https://book.example.com/manage/5f2e9a41',
    rebookOf: null,
    settings: { noShowWindowMinutes: 1440, rescheduleRequestTtlMinutes: 1440, indexSearchAttributes: true },
    ...over,
  };
}

function emitted(effects: Effect[], type: BookingEventType): boolean {
  return effects.some((e) => e.kind === 'emit' && e.type === type);
}

/** Drives the state machine to the event and returns the booking object as that event carries it. */
function exampleBooking(type: BookingEventType): BookingObject {
  const start = initialState(sampleInput(), T0);
  let at = T0 + 5 * MIN;
  const act = (s: BookingState, action: Parameters<typeof decide>[1]) => {
    const d = decide(s, action, at);
    if (!d.ok) throw new Error(`catalog example for ${type}: ${d.reason}`);
    return d;
  };
  let result: { state: BookingState; effects: Effect[] };
  switch (type) {
    case 'booking.scheduled':
      result = start;
      break;
    case 'booking.rescheduled':
      result = act(start.state, { kind: 'reschedule', startTime: iso(T0 + 3 * 24 * 60 * MIN), reason: 'A conflict came up', actionedBy: 'customer' });
      break;
    case 'booking.reassigned':
      result = act(start.state, { kind: 'reassign', owner: bob, reason: 'Bob covers this account' });
      break;
    case 'booking.canceled_then_rescheduled':
      result = initialState(
        sampleInput({
          bookingId: 'BKNG-9d8c7b6a5f4e3d2c1b0a',
          trackingId: '9d8c7b6a5f',
          owner: bob,
          subject: 'Intro call with Bob Chen',
          page: { id: 'BP-9f8e7d6c5b4a3f2e', name: 'Intro call (US)', mode: 'automatic', owner_user_id: bob.id, salesforce },
          rebookOf: { bookingId: 'BKNG-5f2e9a41c7d04b8e9a3f', reason: 'Better time zone for me', actionedBy: 'customer', pageConnectedToSalesforce: false },
        }),
        T0,
      );
      break;
    case 'booking.canceled_reschedule_requested':
      result = act(start.state, { kind: 'requestReschedule', reason: 'I am travelling that day', userId: alice.id });
      break;
    case 'booking.canceled':
      result = act(start.state, { kind: 'cancel', reason: 'No longer needed', actionedBy: 'customer' });
      break;
    case 'booking.completed':
    case 'booking.no_show': {
      at = Date.parse(endTime(start.state));
      result = onDeadline(start.state, at);
      if (type === 'booking.no_show') {
        at += 10 * MIN;
        result = act(result.state, { kind: 'noShow', userId: alice.id });
      }
      break;
    }
  }
  if (!emitted(result.effects, type)) throw new Error(`catalog example for ${type}: the state machine did not emit it`);
  return toBookingObject(result.state);
}

/** Drives the conversation transition to the event and returns the conversation as that event carries it. */
function exampleConversation(type: ConversationEventType): ConversationObject {
  const input: ConversationInput = {
    conversationId: 'CVR-7e6d5c4b3a2f1e0d9c8b',
    createdAt: iso(T0),
    initiatedBy: 'contact',
    bot: { id: 'bot-sales', name: 'Sales bot' },
    website: { id: 'site-acme', name: 'Acme', url: 'https://www.example.com' },
    contact: { name: 'Carol Dupont', email: 'carol@example.com', phone: null, company: 'Acme' },
    owner: alice,
    settings: { abandonAfterMinutes: 10 },
  };
  let s: ConversationState = initialConversationState(input);
  const step = (action: Parameters<typeof transition>[1], at: number) => {
    const t = transition(s, action, iso(at));
    s = t.state;
    return t.events;
  };
  let events = step({ kind: 'answer', question: 'What brings you here?', value: 'A demo for my team' }, T0 + MIN);
  if (type === 'conversation.closed') {
    step({ kind: 'answer', question: 'How large is your team?', value: '25' }, T0 + 2 * MIN);
    events = step({ kind: 'close', reason: 'flow_completed' }, T0 + 3 * MIN);
  } else if (type === 'conversation.abandoned') {
    events = step({ kind: 'abandon' }, T0 + 12 * MIN);
  }
  if (!events.includes(type)) throw new Error(`catalog example for ${type}: the transition did not emit it`);
  return s.conversation;
}

/** An example POST body of one event type, with the given event id (examples use a fixed one). */
export function exampleEnvelope(type: WebhookEventType, eventId = `EVNT-example${type.replace(/[^a-z]/g, '')}`): WebhookEnvelope {
  const data = type.startsWith('booking.') ? exampleBooking(type as BookingEventType) : exampleConversation(type as ConversationEventType);
  const creationTime = type.startsWith('booking.') ? (data as BookingObject).last_updated_time : (data as ConversationObject).last_updated_time;
  return buildEnvelope({ eventId, type, creationTime, data });
}

/** The JSON Schema of one event type's POST body. */
export function eventSchema(type: WebhookEventType): TSchema {
  return eventEnvelopeSchema(type, compositeOf(type) === 'booking' ? BookingPayload : ConversationPayload, EVENT_DESCRIPTIONS[type]);
}

/** Plain JSON (TypeBox's symbol keys dropped). */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Every event type, then every composite, as GET /v2/event-types lists them. */
export function eventCatalog(): EventType[] {
  const types: EventType[] = WEBHOOK_EVENT_TYPES.map((type) => ({
    object: 'event_type',
    name: type,
    kind: 'event',
    description: EVENT_DESCRIPTIONS[type],
    includes: [type],
    schema: plain(eventSchema(type)),
    example: plain(exampleEnvelope(type)),
  }));
  const composites: EventType[] = COMPOSITE_TRIGGERS.map((c) => {
    const members = WEBHOOK_EVENT_TYPES.filter((t) => compositeOf(t) === c);
    return {
      object: 'event_type',
      name: c,
      kind: 'composite',
      description: EVENT_DESCRIPTIONS[c],
      includes: [...members],
      schema: plain({ title: c, description: EVENT_DESCRIPTIONS[c], oneOf: members.map((t) => eventSchema(t)) }),
      example: plain(exampleEnvelope(members[0])),
    };
  });
  return [...types, ...composites];
}

/** Where the OpenAPI document keeps the payload schemas the `webhooks` section refers to. */
export const PAYLOAD_COMPONENTS = { BookingPayload, ConversationPayload };

/**
 * The OpenAPI 3.1 `webhooks` section: one POST per event type, its body's schema (the envelope, its `data` a reference
 * to PAYLOAD_COMPONENTS under components.schemas) and example, the signature headers and what answers mean.
 */
export function openApiWebhooks(): Record<string, unknown> {
  const header = (description: string, example: string) => ({ required: true, schema: { type: 'string' }, description, example });
  const ref = (name: keyof typeof PAYLOAD_COMPONENTS) => Type.Unsafe({ $ref: `#/components/schemas/${name}` });
  const out: Record<string, unknown> = {};
  for (const type of WEBHOOK_EVENT_TYPES) {
    const body = eventEnvelopeSchema(type, ref(compositeOf(type) === 'booking' ? 'BookingPayload' : 'ConversationPayload'), EVENT_DESCRIPTIONS[type]);
    out[type] = {
      post: {
        summary: EVENT_DESCRIPTIONS[type],
        description:
          'Sent to every enabled subscription naming this type or its composite. Verify the signature over the raw body, answer 2xx ' +
          'quickly, and de-duplicate on the event id: it is the same on every retry and redelivery.',
        tags: ['webhooks'],
        parameters: [
          { in: 'header', name: 'Oncehub-Signature', ...header('t=<unix seconds>,s=<hex HMAC-SHA256 of "<t>.<raw body>", keyed with the secret>', 't=1796547600,s=5f…') },
          { in: 'header', name: 'webhook-id', ...header('Standard Webhooks: the event id', 'EVNT-…') },
          { in: 'header', name: 'webhook-timestamp', ...header('Standard Webhooks: unix seconds', '1796547600') },
          { in: 'header', name: 'webhook-signature', ...header('Standard Webhooks: v1,<base64 HMAC-SHA256 of "<id>.<t>.<raw body>">', 'v1,…') },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: plain(body), example: plain(exampleEnvelope(type)) } } },
        responses: {
          '2XX': { description: 'Delivered. Anything else is retried for 72 hours (35 s, 3 min, 72 min, then every 6 h).' },
          '410': { description: 'Gone: delivery stops and the subscription is disabled.' },
          '429': { description: 'Retried no sooner than Retry-After (also for 503).' },
        },
      },
    };
  }
  return out;
}
