import {
  buildEnvelope,
  compositeOf,
  envelopeForLifecycleEvent,
  normaliseTriggers,
  parseRetryAfter,
  honoursRetryAfter,
  subscriptionMatches,
  triggersFor,
  WEBHOOK_TRIGGERS,
  parseOncehubSignature,
  formatOncehubSignature,
  oncehubSignedContent,
  standardWebhooksSignedContent,
} from '../../src/domain/webhooks';
import { BOOKING_EVENT_TYPES } from '../../src/shared/booking-contract';
import { CONVERSATION_EVENT_TYPES } from '../../src/shared/dispatch-contract';
import type { LifecycleEvent } from '../../src/shared/booking-contract';

describe('event triggers', () => {
  it.each(BOOKING_EVENT_TYPES.map((t) => [t]))('the booking composite selects %s', (type) => {
    expect(compositeOf(type)).toBe('booking');
    expect(subscriptionMatches(['booking'], type)).toBe(true);
    expect(subscriptionMatches(['conversation'], type)).toBe(false);
  });

  it.each(CONVERSATION_EVENT_TYPES.map((t) => [t]))('the conversation composite selects %s', (type) => {
    expect(subscriptionMatches(['conversation'], type)).toBe(true);
    expect(subscriptionMatches(['booking'], type)).toBe(false);
  });

  it('a specific trigger selects only its own type', () => {
    expect(subscriptionMatches(['booking.scheduled', 'booking.rescheduled'], 'booking.rescheduled')).toBe(true);
    expect(subscriptionMatches(['booking.scheduled', 'booking.rescheduled'], 'booking.canceled')).toBe(false);
    expect(subscriptionMatches(['conversation.closed'], 'conversation.started')).toBe(false);
  });

  it('a composite name is never itself an event type that matches', () => {
    expect(subscriptionMatches(['booking'], 'booking')).toBe(false);
    expect(subscriptionMatches(['booking.scheduled'], 'booking.unknown')).toBe(false);
  });

  it('triggersFor gives the type and its composite (the routing query)', () => {
    expect(triggersFor('booking.no_show')).toEqual(['booking.no_show', 'booking']);
    expect(triggersFor('conversation.abandoned')).toEqual(['conversation.abandoned', 'conversation']);
  });

  it('accepts every documented trigger, de-duplicated in order, and rejects others', () => {
    expect(WEBHOOK_TRIGGERS).toHaveLength(8 + 3 + 2);
    expect(normaliseTriggers(['booking', 'booking.scheduled', 'booking'])).toEqual({ ok: true, events: ['booking', 'booking.scheduled'] });
    expect(normaliseTriggers([])).toMatchObject({ ok: false });
    expect(normaliseTriggers(['booking.created'])).toMatchObject({ ok: false, message: expect.stringContaining("'booking.created'") });
  });
});

describe('envelope', () => {
  it('has exactly the documented fields, in order', () => {
    const e = buildEnvelope({ eventId: 'EVNT-abc', type: 'booking.scheduled', creationTime: '2025-01-02T03:04:05.000Z', data: { object: 'booking' } });
    expect(Object.keys(e)).toEqual(['id', 'object', 'creation_time', 'type', 'api_version', 'data']);
    expect(e).toEqual({ id: 'EVNT-abc', object: 'event', creation_time: '2025-01-02T03:04:05.000Z', type: 'booking.scheduled', api_version: 'v2', data: { object: 'booking' } });
  });

  it('refuses a composite as the type, a malformed id or time', () => {
    expect(() => buildEnvelope({ eventId: 'EVNT-1', type: 'booking', creationTime: '2025-01-01T00:00:00Z', data: {} })).toThrow(/specific/);
    expect(() => buildEnvelope({ eventId: 'evt_1', type: 'booking.canceled', creationTime: '2025-01-01T00:00:00Z', data: {} })).toThrow(/EVNT-/);
    expect(() => buildEnvelope({ eventId: 'EVNT-1', type: 'booking.canceled', creationTime: 'yesterday', data: {} })).toThrow(/ISO/);
  });

  it('carries a lifecycle event with its booking as data', () => {
    const booking = { object: 'booking', id: 'BKNG-1' } as unknown as LifecycleEvent['booking'];
    const ev = { id: 'EVNT-9', seq: 1, type: 'booking.completed', creation_time: '2025-05-05T10:00:00.000Z', webhook: true, booking } as LifecycleEvent;
    expect(envelopeForLifecycleEvent(ev)).toEqual({ id: 'EVNT-9', object: 'event', creation_time: '2025-05-05T10:00:00.000Z', type: 'booking.completed', api_version: 'v2', data: booking });
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');
  it.each([
    ['120', 120_000],
    [' 0 ', 0],
    ['Sat, 01 Mar 2025 12:05:00 GMT', 300_000],
    ['Saturday, 01-Mar-25 12:00:30 GMT', 30_000],
    ['Sat Mar  1 12:01:00 2025', 60_000],
    ['Sat, 01 Mar 2025 11:00:00 GMT', 0],
  ])('reads %j as %d ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });

  it.each([[undefined], [''], ['-5'], ['1.5'], ['soon'], ['2025-03-01T12:05:00Z']])('ignores %j', (value) => {
    expect(parseRetryAfter(value as string | undefined, now)).toBeNull();
  });

  it('takes the first of repeated headers', () => {
    expect(parseRetryAfter(['10', '20'], now)).toBe(10_000);
  });

  it('is honoured for 429 and 503 only', () => {
    expect([429, 503].every(honoursRetryAfter)).toBe(true);
    expect([500, 502, 410, 301].some(honoursRetryAfter)).toBe(false);
  });
});

describe('signature formats', () => {
  it('signs "<t>.<body>" and "<id>.<t>.<body>"', () => {
    expect(oncehubSignedContent(1700000000, '{"a":1}')).toBe('1700000000.{"a":1}');
    expect(standardWebhooksSignedContent('EVNT-1', 1700000000, '{}')).toBe('EVNT-1.1700000000.{}');
  });

  it('parses what it formats, splitting on "," then "="', () => {
    const hex = 'ab'.repeat(32);
    expect(parseOncehubSignature(formatOncehubSignature(1700000000, hex))).toEqual({ timestamp: 1700000000, signatures: [hex] });
    expect(parseOncehubSignature(`s=${hex}, t=12,s=${'cd'.repeat(32)}`)).toEqual({ timestamp: 12, signatures: [hex, 'cd'.repeat(32)] });
  });

  it.each([['t=1'], [`s=${'ab'.repeat(32)}`], [`t=abc,s=${'ab'.repeat(32)}`], ['t=1,s=XYZ'], ['']])('rejects %j', (h) => {
    expect(parseOncehubSignature(h)).toBeNull();
  });
});
