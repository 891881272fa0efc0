import {
  eventDescription,
  eventStatusFor,
  LEAD_COMPANY_PLACEHOLDER,
  personFromForm,
  planActivityEventWrite,
  type SalesforceEventStatus,
} from '../../src/domain/salesforce/event-fields';
import type { BookingEventType, BookingStatus } from '../../src/shared/booking-contract';
import { booking, FIELD_NAMES, lifecycleEvent, page } from '../salesforce/fixtures';

const connected = page();
const off = page({ connected: false });
const noEvent = page({ create_activity_event: false });

describe('event status per lifecycle event', () => {
  const cases: [BookingEventType, BookingStatus, typeof connected | null, SalesforceEventStatus][] = [
    ['booking.scheduled', 'scheduled', null, 'Scheduled'],
    ['booking.rescheduled', 'rescheduled', null, 'Rescheduled'],
    ['booking.canceled_then_rescheduled', 'rescheduled', null, 'Rescheduled'],
    ['booking.canceled_then_rescheduled', 'canceled', null, 'Canceled'],
    ['booking.canceled_reschedule_requested', 'canceled', null, 'Canceled'],
    ['booking.canceled', 'canceled', null, 'Canceled'],
    ['booking.completed', 'completed', null, 'Completed'],
    ['booking.no_show', 'no_show', null, 'No-show'],
    ['booking.reassigned', 'scheduled', connected, 'Scheduled (Reassigned by User)'],
    ['booking.reassigned', 'rescheduled', connected, 'Rescheduled (Reassigned by User)'],
    ['booking.reassigned', 'scheduled', off, 'Scheduled'],
    ['booking.reassigned', 'rescheduled', noEvent, 'Rescheduled'],
    ['booking.reassigned', 'scheduled', null, 'Scheduled'],
  ];
  it.each(cases)('%s with booking status %s (previous page %p) → %s', (type, status, previous, expected) => {
    const e = lifecycleEvent(type, booking(), { previous_page: previous });
    e.booking.status = status;
    expect(eventStatusFor(e)).toBe(expected);
    const plan = planActivityEventWrite(e, FIELD_NAMES);
    expect(plan.write && plan.fields.Event_Status__c).toBe(expected);
  });
});

describe('whether anything is written', () => {
  const cases: [string, Parameters<typeof lifecycleEvent>[2], boolean][] = [
    ['connected page with Activity Event', { page: connected }, true],
    ['page not connected', { page: off }, false],
    ['connected page set to create no Activity Event', { page: noEvent }, false],
    ['no page settings on the event', { page: null }, false],
  ];
  it.each(cases)('%s', (_name, extra, writes) => {
    for (const type of ['booking.scheduled', 'booking.canceled', 'booking.completed'] as const) {
      expect(planActivityEventWrite(lifecycleEvent(type, booking(), extra), FIELD_NAMES).write).toBe(writes);
    }
  });

  const reassign: [string, typeof connected | null, typeof connected, boolean, boolean][] = [
    // name, previous page, new page, writes, owner set on update
    ['both pages connected', connected, connected, true, true],
    ['new page not connected', connected, off, false, false],
    ['new page without Activity Event', connected, noEvent, false, false],
    ['old page not connected, new one is', off, connected, true, true],
  ];
  it.each(reassign)('reassignment: %s', (_name, previous, next, writes, setOwner) => {
    const plan = planActivityEventWrite(lifecycleEvent('booking.reassigned', booking(), { previous_page: previous, page: next }), FIELD_NAMES);
    expect(plan.write).toBe(writes);
    if (plan.write) expect(plan.setOwnerOnUpdate).toBe(setOwner);
  });
});

describe('event fields', () => {
  it('writes subject, UTC start and end (no duration), location, description, status and booking id', () => {
    const b = booking({ starting_time: '2026-12-01T11:00:00+01:00', duration_minutes: 45, location_description: 'Room 4' });
    const plan = planActivityEventWrite(lifecycleEvent('booking.scheduled', b), FIELD_NAMES);
    if (!plan.write) throw new Error('expected a write');
    expect(plan.fields).toEqual({
      Subject: 'Intro call',
      StartDateTime: '2026-12-01T10:00:00.000Z',
      EndDateTime: '2026-12-01T10:45:00.000Z',
      Location: 'Room 4',
      Description: eventDescription(b),
      Event_Status__c: 'Scheduled',
      Booking_Id__c: b.id,
    });
    expect(plan.fields).not.toHaveProperty('DurationInMinutes');
    expect(plan.fields).not.toHaveProperty('Cancel_Reschedule_Reason__c');
    expect(plan.ownerEmail).toBe('alice@example.com');
  });

  it('uses the join url as location when there is no location description', () => {
    const plan = planActivityEventWrite(lifecycleEvent('booking.scheduled', booking()), FIELD_NAMES);
    expect(plan.write && plan.fields.Location).toBe('https://meet.example.com/abc');
    const none = planActivityEventWrite(lifecycleEvent('booking.scheduled', booking({ virtual_conferencing: null })), FIELD_NAMES);
    expect(none.write && none.fields.Location).toBeNull();
  });

  it('describes the form answers, join url, booking id and cancel/reschedule link', () => {
    const b = booking({ form_submission: { name: 'Carol', email: 'carol@example.com', note: 'Bring slides', guests: ['dan@example.com'], custom_fields: [{ name: 'Topic', value: 'Pricing' }] } });
    const d = eventDescription(b);
    for (const part of ['Name: Carol', 'Email: carol@example.com', 'Guests: dan@example.com', 'Topic: Pricing', 'Note: Bring slides', 'Join: https://meet.example.com/abc', `Booking ID: ${b.id}`, 'Cancel/reschedule: https://book.example.com/c/abc']) {
      expect(d).toContain(part);
    }
  });

  const reasons: [BookingEventType, boolean][] = [
    ['booking.scheduled', false],
    ['booking.rescheduled', true],
    ['booking.canceled_then_rescheduled', true],
    ['booking.canceled_reschedule_requested', true],
    ['booking.canceled', true],
    ['booking.completed', false],
    ['booking.no_show', false],
    ['booking.reassigned', false],
  ];
  it.each(reasons)('%s writes the reason field: %p', (type, writes) => {
    const b = booking({ cancel_reschedule_information: { reason: 'Conflict', actioned_by: 'customer', user_id: null } });
    const plan = planActivityEventWrite(lifecycleEvent(type, b, { previous_page: connected }), FIELD_NAMES);
    if (!plan.write) throw new Error('expected a write');
    if (writes) expect(plan.fields.Cancel_Reschedule_Reason__c).toBe('Conflict');
    else expect(plan.fields).not.toHaveProperty('Cancel_Reschedule_Reason__c');
  });

  it('clears the reason on a reschedule without one, and honours configured field names', () => {
    const names = { eventStatusField: 'Status__c', reasonField: 'Why__c', bookingIdField: 'Ext__c' };
    const plan = planActivityEventWrite(lifecycleEvent('booking.rescheduled', booking()), names);
    if (!plan.write) throw new Error('expected a write');
    expect(plan.fields).toMatchObject({ Status__c: 'Rescheduled', Why__c: null, Ext__c: expect.stringMatching(/^BKNG-/) });
  });

  it('truncates a long subject to 255 characters', () => {
    const plan = planActivityEventWrite(lifecycleEvent('booking.scheduled', booking({ subject: 'x'.repeat(400) })), FIELD_NAMES);
    expect(plan.write && (plan.fields.Subject as string).length).toBe(255);
  });
});

describe('relation plan', () => {
  it('relates by the record a personalised link named, with email as the fallback', () => {
    const plan = planActivityEventWrite(lifecycleEvent('booking.scheduled', booking(), { salesforce_record: { type: 'case', id: '500000000000001AAA' } }), FIELD_NAMES);
    expect(plan.write && plan.relation).toMatchObject({ by: 'record', record: { type: 'case' }, fallback: { by: 'email', relateTo: 'lead' } });
  });

  it.each(['lead', 'contact', 'case'] as const)('relates by customer email per relate_to=%s', (relateTo) => {
    const plan = planActivityEventWrite(lifecycleEvent('booking.scheduled', booking(), { page: page({ relate_to: relateTo, create_missing_record: false }) }), FIELD_NAMES);
    expect(plan.write && plan.relation).toMatchObject({ by: 'email', relateTo, email: 'carol@example.com', createMissing: false });
  });

  const people: [string, string, string | null | undefined, { FirstName: string | null; LastName: string; Company: string }][] = [
    ['Carol Ann Customer', 'carol@example.com', 'Acme', { FirstName: 'Carol Ann', LastName: 'Customer', Company: 'Acme' }],
    ['Carol', 'carol@example.com', null, { FirstName: null, LastName: 'Carol', Company: LEAD_COMPANY_PLACEHOLDER }],
    ['  ', 'dan.smith@example.com', '  ', { FirstName: null, LastName: 'dan.smith', Company: LEAD_COMPANY_PLACEHOLDER }],
  ];
  it.each(people)('a new Lead for "%s" <%s> (company %p)', (name, email, company, expected) => {
    expect(personFromForm(booking({ form_submission: { name, email, company } }))).toMatchObject({ ...expected, Email: email });
  });
});
