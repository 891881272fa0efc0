import type { SalesforceStandin } from '../../src/salesforce/standin/server';
import type { SalesforceRecordRef } from '../../src/shared/booking-contract';
import { booking, lifecycleEvent, page } from './fixtures';
import { activitiesFor, ALICE_USER_ID, BOB_USER_ID, FALLBACK_USER_ID, INTEGRATION_USER_ID, startTestStandin } from './helpers';

let sf: SalesforceStandin;

beforeEach(async () => {
  sf = await startTestStandin();
});

afterEach(async () => {
  await sf.stop();
});

const ms = (v: unknown) => Date.parse(String(v));

describe('create and relate', () => {
  it('relates to an existing Lead found by email, owned by the booking owner', async () => {
    const leadId = sf.seed('Lead', { LastName: 'Customer', Company: 'Acme', Email: 'CAROL@example.com' });
    const b = booking();
    const result = await activitiesFor(sf).syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) });
    expect(result.outcome).toBe('created');
    const [ev] = sf.records('Event');
    expect(ev.Id).toBe(result.activityEventId);
    expect(ev.Id).toMatch(/^00U[A-Za-z0-9]{15}$/);
    expect(ev).toMatchObject({ WhoId: leadId, WhatId: null, OwnerId: ALICE_USER_ID, Subject: 'Intro call', Event_Status__c: 'Scheduled', Booking_Id__c: b.id, Location: 'https://meet.example.com/abc', DurationInMinutes: 45 });
    expect(ms(ev.StartDateTime)).toBe(ms('2026-12-01T10:00:00Z'));
    expect(ms(ev.EndDateTime)).toBe(ms('2026-12-01T10:45:00Z'));
    expect(ev.Description).toContain(`Booking ID: ${b.id}`);
    expect(sf.records('Lead')).toHaveLength(1);
  });

  it('creates the missing Lead when the page allows it', async () => {
    const b = booking();
    const result = await activitiesFor(sf).syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) });
    const [lead] = sf.records('Lead');
    expect(lead).toMatchObject({ FirstName: 'Carol Ann', LastName: 'Customer', Company: 'Acme', Email: 'carol@example.com', Phone: '+33 1 23 45 67 89' });
    expect(lead.Id).toMatch(/^00Q/);
    expect(sf.records('Event')[0].WhoId).toBe(lead.Id);
    expect(result.detail).toContain('created a Lead');
  });

  it('relates nothing and says so when the Lead is missing and creating one is off', async () => {
    const b = booking();
    const event = lifecycleEvent('booking.scheduled', b, { page: page({ create_missing_record: false }) });
    const result = await activitiesFor(sf).syncActivityEvent({ bookingId: b.id, event });
    expect(result.outcome).toBe('created');
    expect(result.detail).toMatch(/no Lead .* related to no record/);
    expect(sf.records('Lead')).toHaveLength(0);
    expect(sf.records('Event')[0]).toMatchObject({ WhoId: null, WhatId: null });
  });

  it('relates to a Contact found by email, or creates one (without Company)', async () => {
    const contactId = sf.seed('Contact', { LastName: 'Customer', Email: 'carol@example.com' });
    const b1 = booking();
    await activitiesFor(sf).syncActivityEvent({ bookingId: b1.id, event: lifecycleEvent('booking.scheduled', b1, { page: page({ relate_to: 'contact' }) }) });
    expect(sf.records('Event')[0]).toMatchObject({ WhoId: contactId, WhatId: null });

    const b2 = booking({ form_submission: { name: 'Dan', email: 'dan@example.com' } });
    await activitiesFor(sf).syncActivityEvent({ bookingId: b2.id, event: lifecycleEvent('booking.scheduled', b2, { page: page({ relate_to: 'contact' }) }) });
    const created = sf.records('Contact').find((c) => c.Email === 'dan@example.com');
    expect(created).toMatchObject({ LastName: 'Dan', FirstName: null });
    expect(sf.requests.find((r) => r.method === 'POST' && r.path.endsWith('/sobjects/Contact'))?.body).not.toHaveProperty('Company');
    expect(sf.records('Event')[1].WhoId).toBe(created!.Id);
  });

  it('relates to the customer Case (WhatId) and its Contact (WhoId)', async () => {
    const contactId = sf.seed('Contact', { LastName: 'Customer', Email: 'carol@example.com' });
    sf.seed('Case', { Subject: 'older', ContactId: contactId });
    const newest = sf.seed('Case', { Subject: 'newest', ContactId: contactId });
    const b = booking();
    await activitiesFor(sf).syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b, { page: page({ relate_to: 'case' }) }) });
    expect(sf.records('Event')[0]).toMatchObject({ WhatId: newest, WhoId: contactId });
  });

  it('finds a Case by supplied email when the customer has no Contact, and creates no Case when none exists', async () => {
    const caseId = sf.seed('Case', { Subject: 'web case', SuppliedEmail: 'carol@example.com' });
    const b = booking();
    await activitiesFor(sf).syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b, { page: page({ relate_to: 'case' }) }) });
    expect(sf.records('Event')[0]).toMatchObject({ WhatId: caseId, WhoId: null });

    const b2 = booking({ form_submission: { name: 'Eve', email: 'eve@example.com' } });
    const r = await activitiesFor(sf).syncActivityEvent({ bookingId: b2.id, event: lifecycleEvent('booking.scheduled', b2, { page: page({ relate_to: 'case' }) }) });
    expect(r.detail).toContain('no Case');
    expect(sf.records('Case')).toHaveLength(1);
  });

  const byRecord: [SalesforceRecordRef['type'], (sf: SalesforceStandin) => { ref: string; who: string; what: string | null }][] = [
    ['lead', (s) => { const id = s.seed('Lead', { LastName: 'L', Company: 'C', Email: 'other@example.com' }); return { ref: id, who: id, what: null }; }],
    ['contact', (s) => { const id = s.seed('Contact', { LastName: 'C', Email: 'other@example.com' }); return { ref: id, who: id, what: null }; }],
    ['case', (s) => { const c = s.seed('Contact', { LastName: 'C' }); const id = s.seed('Case', { Subject: 'S', ContactId: c }); return { ref: id, what: id, who: c }; }],
  ];
  it.each(byRecord)('relates by the %s id the booking carries, ignoring the email', async (type, make) => {
    sf.seed('Lead', { LastName: 'Customer', Company: 'Acme', Email: 'carol@example.com' });
    const { ref, who, what } = make(sf);
    const b = booking();
    await activitiesFor(sf).syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b, { salesforce_record: { type, id: ref } }) });
    expect(sf.records('Event')[0]).toMatchObject({ WhoId: who, WhatId: what });
  });

  it('falls back to the email when the record the booking names does not exist', async () => {
    const leadId = sf.seed('Lead', { LastName: 'Customer', Company: 'Acme', Email: 'carol@example.com' });
    const b = booking();
    const r = await activitiesFor(sf).syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b, { salesforce_record: { type: 'contact', id: '003000000000999AAA' } }) });
    expect(sf.records('Event')[0].WhoId).toBe(leadId);
    expect(r.detail).toContain('not found');
  });
});

describe('owner', () => {
  it('uses the fallback owner when no active user has the owner email, else the integration user', async () => {
    const b = booking({ owner: { id: 'USR-x', name: 'X', email: 'nobody@example.com', timezone: 'UTC' } });
    const r = await activitiesFor(sf, { fallbackOwnerId: FALLBACK_USER_ID }).syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) });
    expect(sf.records('Event')[0].OwnerId).toBe(FALLBACK_USER_ID);
    expect(r.detail).toContain('fallback');

    const b2 = booking({ owner: { id: 'USR-x', name: 'X', email: 'nobody@example.com', timezone: 'UTC' } });
    await activitiesFor(sf).syncActivityEvent({ bookingId: b2.id, event: lifecycleEvent('booking.scheduled', b2) });
    expect(sf.records('Event')[1].OwnerId).toBe(INTEGRATION_USER_ID);
  });

  it('ignores an inactive user with the owner email', async () => {
    const s2 = await startTestStandin({ users: [{ Id: INTEGRATION_USER_ID, Email: 'integration@example.com' }, { Id: ALICE_USER_ID, Email: 'alice@example.com', IsActive: false }] });
    try {
      const b = booking();
      await activitiesFor(s2, { fallbackOwnerId: INTEGRATION_USER_ID }).syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) });
      expect(s2.records('Event')[0].OwnerId).toBe(INTEGRATION_USER_ID);
    } finally {
      await s2.stop();
    }
  });
});

describe('updates through the lifecycle', () => {
  it('each phase updates the same Event with its fields', async () => {
    const acts = activitiesFor(sf);
    const b = booking();
    const created = await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) });
    const id = created.activityEventId;

    const moved = { ...b, starting_time: '2026-12-02T15:30:00.000Z', duration_minutes: 60, cancel_reschedule_information: { reason: 'Conflict', actioned_by: 'customer' as const, user_id: null } };
    expect(await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.rescheduled', moved) })).toEqual({ outcome: 'updated', activityEventId: id });
    let ev = sf.records('Event')[0];
    expect(ev).toMatchObject({ Event_Status__c: 'Rescheduled', Cancel_Reschedule_Reason__c: 'Conflict', DurationInMinutes: 60 });
    expect(ms(ev.StartDateTime)).toBe(ms('2026-12-02T15:30:00Z'));
    expect(ms(ev.EndDateTime)).toBe(ms('2026-12-02T16:30:00Z'));

    await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.completed', { ...moved }) });
    ev = sf.records('Event')[0];
    expect(ev).toMatchObject({ Event_Status__c: 'Completed', Cancel_Reschedule_Reason__c: 'Conflict' });

    await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.no_show', { ...moved }) });
    expect(sf.records('Event')[0].Event_Status__c).toBe('No-show');
    expect(sf.records('Event')).toHaveLength(1);

    const patches = sf.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(3);
    expect(patches.every((p) => p.path.endsWith(`/sobjects/Event/${id}`))).toBe(true);
    expect(patches[0].body).not.toHaveProperty('OwnerId');
    expect(patches[0].body).not.toHaveProperty('WhoId');
  });

  it.each([
    ['booking.canceled', 'Canceled'],
    ['booking.canceled_reschedule_requested', 'Canceled'],
  ] as const)('%s sets %s with the reason', async (type, status) => {
    const acts = activitiesFor(sf);
    const b = booking();
    await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) });
    const canceled = { ...b, cancel_reschedule_information: { reason: 'Out sick', actioned_by: 'user' as const, user_id: 'USR-alice' } };
    const r = await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent(type, canceled) });
    expect(r.outcome).toBe('updated');
    expect(sf.records('Event')[0]).toMatchObject({ Event_Status__c: status, Cancel_Reschedule_Reason__c: 'Out sick' });
  });

  it('a rebook: the new booking gets its own Event as Rescheduled, the replaced one reads Canceled', async () => {
    const acts = activitiesFor(sf);
    const old = booking();
    await acts.syncActivityEvent({ bookingId: old.id, event: lifecycleEvent('booking.scheduled', old) });
    const info = { reason: 'Wanted Bob', actioned_by: 'customer' as const, user_id: null };
    const fresh = booking({ rescheduled_booking_id: old.id, cancel_reschedule_information: info, owner: { id: 'USR-bob', name: 'Bob', email: 'bob@example.com', timezone: 'UTC' } });
    const r = await acts.syncActivityEvent({ bookingId: fresh.id, event: lifecycleEvent('booking.canceled_then_rescheduled', fresh) });
    expect(r.outcome).toBe('created');
    await acts.syncActivityEvent({ bookingId: old.id, event: lifecycleEvent('booking.canceled', { ...old, cancel_reschedule_information: info }, { webhook: false }) });
    const events = sf.records('Event');
    expect(events).toHaveLength(2);
    expect(events.find((e) => e.Booking_Id__c === fresh.id)).toMatchObject({ Event_Status__c: 'Rescheduled', Cancel_Reschedule_Reason__c: 'Wanted Bob', OwnerId: BOB_USER_ID });
    expect(events.find((e) => e.Booking_Id__c === old.id)).toMatchObject({ Event_Status__c: 'Canceled', Cancel_Reschedule_Reason__c: 'Wanted Bob', OwnerId: ALICE_USER_ID });
  });
});

describe('pages that write nothing', () => {
  it.each([
    ['not connected', page({ connected: false })],
    ['connected without Activity Event', page({ create_activity_event: false })],
  ])('a page %s makes no Salesforce call at all', async (_name, p) => {
    const b = booking();
    const acts = activitiesFor(sf);
    for (const type of ['booking.scheduled', 'booking.rescheduled', 'booking.canceled'] as const) {
      expect(await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent(type, b, { page: p }) })).toMatchObject({ outcome: 'skipped', activityEventId: null });
    }
    expect(sf.requests).toHaveLength(0);
    expect(sf.tokenRequests).toHaveLength(0);
  });
});

describe('reassignment', () => {
  const bobOwner = { id: 'USR-bob', name: 'Bob Other', email: 'bob@example.com', timezone: 'UTC' };

  it('both pages connected: the owner becomes the new user and the status says Reassigned', async () => {
    const acts = activitiesFor(sf);
    const b = booking();
    await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) });
    const r = await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.reassigned', { ...b, owner: bobOwner }, { previous_page: page(), page: page({}, 'BP-bob') }) });
    expect(r.outcome).toBe('updated');
    expect(sf.records('Event')[0]).toMatchObject({ OwnerId: BOB_USER_ID, Event_Status__c: 'Scheduled (Reassigned by User)' });

    const rescheduled = { ...b, status: 'rescheduled' as const, owner: { ...bobOwner, email: 'alice@example.com' } };
    await acts.syncActivityEvent({ bookingId: b.id, event: { ...lifecycleEvent('booking.reassigned', rescheduled, { previous_page: page(), page: page() }), booking: rescheduled } });
    expect(sf.records('Event')[0]).toMatchObject({ OwnerId: ALICE_USER_ID, Event_Status__c: 'Rescheduled (Reassigned by User)' });
  });

  it('new page not connected: nothing is written, the old Event keeps its owner', async () => {
    const acts = activitiesFor(sf);
    const b = booking();
    await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) });
    sf.clearLog();
    const r = await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.reassigned', { ...b, owner: bobOwner }, { previous_page: page(), page: page({ connected: false }, 'BP-bob') }) });
    expect(r.outcome).toBe('skipped');
    expect(sf.requests).toHaveLength(0);
    expect(sf.records('Event')[0]).toMatchObject({ OwnerId: ALICE_USER_ID, Event_Status__c: 'Scheduled' });
  });

  it('old page not connected: a fresh Event is created under the new owner with the plain status', async () => {
    const b = booking();
    const r = await activitiesFor(sf).syncActivityEvent({
      bookingId: b.id,
      event: lifecycleEvent('booking.reassigned', { ...b, owner: bobOwner }, { previous_page: page({ connected: false }), page: page({}, 'BP-bob') }),
    });
    expect(r.outcome).toBe('created');
    expect(sf.records('Event')[0]).toMatchObject({ OwnerId: BOB_USER_ID, Event_Status__c: 'Scheduled' });
  });
});

describe('idempotence', () => {
  it('a create run twice (a retried attempt) leaves exactly one Event', async () => {
    const b = booking();
    const event = lifecycleEvent('booking.scheduled', b);
    const first = await activitiesFor(sf).syncActivityEvent({ bookingId: b.id, event });
    // A second worker process (fresh connection) retries the same attempt.
    const second = await activitiesFor(sf).syncActivityEvent({ bookingId: b.id, event });
    expect(first.outcome).toBe('created');
    expect(second).toEqual({ outcome: 'updated', activityEventId: first.activityEventId });
    expect(sf.records('Event')).toHaveLength(1);
    expect(sf.records('Lead')).toHaveLength(1);
  });

  it('escapes quotes in the booking id lookup', async () => {
    const b = booking({ id: "BKNG-o'brien\\x" });
    await activitiesFor(sf).syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) });
    await activitiesFor(sf).syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.completed', b) });
    expect(sf.records('Event')).toHaveLength(1);
    expect(sf.records('Event')[0]).toMatchObject({ Booking_Id__c: "BKNG-o'brien\\x", Event_Status__c: 'Completed' });
  });
});
