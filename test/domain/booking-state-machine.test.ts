/** The booking state machine without a server: each action in each phase, and the deadlines. */
import { changesNothing, decide, initialState, nextDeadline, onDeadline, type BookingState } from '../../src/domain/booking/state-machine';
import { toBookingObject, wantsSalesforceSync } from '../../src/domain/booking/booking-object';
import type { BookingAction } from '../../src/shared/booking-contract';
import { approvalPage, bob, bookingInput } from '../fixtures/bookings';

const T0 = Date.parse('2026-01-05T09:00:00Z');
const HOUR = 3600_000;

function active(): BookingState {
  return initialState(bookingInput({ now: T0, startInMs: 3 * HOUR }), T0).state;
}
function requested(): BookingState {
  return initialState(bookingInput({ now: T0, startInMs: 3 * HOUR, page: approvalPage }), T0).state;
}
function awaiting(): BookingState {
  const d = decide(active(), { kind: 'requestReschedule', reason: 'r' }, T0 + 1);
  if (!d.ok) throw new Error(d.reason);
  return d.state;
}
function completed(): BookingState {
  return onDeadline(active(), T0 + 4 * HOUR).state;
}
function closed(): BookingState {
  const d = decide(active(), { kind: 'cancel', actionedBy: 'customer' }, T0 + 1);
  if (!d.ok) throw new Error(d.reason);
  return d.state;
}

const later = new Date(T0 + 10 * HOUR).toISOString();
const actions: Record<string, BookingAction> = {
  approve: { kind: 'approve' },
  decline: { kind: 'decline' },
  reschedule: { kind: 'reschedule', startTime: later, actionedBy: 'customer' },
  requestReschedule: { kind: 'requestReschedule' },
  cancel: { kind: 'cancel', actionedBy: 'user' },
  noShow: { kind: 'noShow' },
  reassign: { kind: 'reassign', owner: bob },
};

// phase → actions it allows (everything else is refused with a reason)
const allowed: Record<string, string[]> = {
  requested: ['approve', 'decline', 'cancel'],
  active: ['reschedule', 'requestReschedule', 'cancel', 'reassign'],
  awaiting_customer: ['reschedule', 'cancel'],
  completed: ['noShow'],
  closed: [],
};
const states: Record<string, () => BookingState> = { requested, active, awaiting_customer: awaiting, completed, closed };

describe.each(Object.keys(states))('phase %s', (phase) => {
  test.each(Object.keys(actions))('%s', (name) => {
    const d = decide(states[phase](), actions[name], T0 + 2);
    expect(d.ok).toBe(allowed[phase].includes(name));
    if (!d.ok) expect(d.reason.length).toBeGreaterThan(10);
  });
});

describe('effects', () => {
  test('automatic booking emits scheduled at once; approval emits nothing until approved', () => {
    expect(initialState(bookingInput({ now: T0 }), T0).effects).toEqual([{ kind: 'emit', type: 'booking.scheduled', webhook: true }]);
    const r = initialState(bookingInput({ now: T0, page: approvalPage }), T0);
    expect(r.effects).toEqual([]);
    const d = decide(r.state, { kind: 'approve' }, T0 + 1);
    expect(d.ok && d.effects).toEqual([{ kind: 'emit', type: 'booking.scheduled', webhook: true }]);
  });

  test('a rebook cancels the replaced booking and sends canceled_then_rescheduled', () => {
    const input = bookingInput({ now: T0, rebookOf: { bookingId: 'BKNG-old', reason: 'x', actionedBy: 'customer', pageConnectedToSalesforce: false } });
    const r = initialState(input, T0);
    expect(r.effects).toEqual([
      { kind: 'cancelReplacedBooking', bookingId: 'BKNG-old', reason: 'x', actionedBy: 'customer' },
      { kind: 'emit', type: 'booking.canceled_then_rescheduled', webhook: true },
    ]);
    expect(toBookingObject(r.state).rescheduled_booking_id).toBe('BKNG-old');
  });

  test('the replaced booking only tells Salesforce', () => {
    const d = decide(active(), { kind: 'canceledForRebook', newBookingId: 'BKNG-new' }, T0 + 1);
    expect(d.ok && d.effects).toEqual([{ kind: 'emit', type: 'booking.canceled', webhook: false }]);
  });
});

describe('deadlines', () => {
  test('active: the meeting end; moves when the meeting moves', () => {
    const s = active();
    expect(nextDeadline(s)).toBe(T0 + 3 * HOUR + 30 * 60_000);
    const d = decide(s, actions.reschedule, T0 + 1);
    expect(d.ok && nextDeadline(d.state)).toBe(T0 + 10 * HOUR + 30 * 60_000);
  });
  test('requested: its start time, then it expires with no event', () => {
    const s = requested();
    expect(nextDeadline(s)).toBe(T0 + 3 * HOUR);
    const r = onDeadline(s, T0 + 3 * HOUR);
    expect(r.effects).toEqual([]);
    expect(r.state).toMatchObject({ phase: 'closed', status: 'canceled', activityStatus: 'Expired (Not approved)' });
  });
  test('completed: the no-show window, then closed', () => {
    const s = completed();
    expect(s.status).toBe('completed');
    expect(nextDeadline(s)).toBe(T0 + 4 * HOUR + 60 * 60_000);
    expect(onDeadline(s, T0 + 6 * HOUR).state.phase).toBe('closed');
    expect(nextDeadline(closed())).toBeNull();
  });
});

test('salesforce sync is wanted when the page (or the page a reassignment left) creates Activity Events', () => {
  const off = approvalPage;
  const on = { ...approvalPage, salesforce: { connected: true, create_activity_event: true, relate_to: 'lead' as const, create_missing_record: true } };
  const noEvents = { ...on, salesforce: { ...on.salesforce, create_activity_event: false } };
  expect(wantsSalesforceSync(off)).toBe(false);
  expect(wantsSalesforceSync(noEvents)).toBe(false);
  expect(wantsSalesforceSync(on)).toBe(true);
  expect(wantsSalesforceSync(off, on)).toBe(true);
});

describe('actions that change nothing', () => {
  const sameTime = (s: BookingState, o: Partial<Extract<BookingAction, { kind: 'reschedule' }>> = {}): BookingAction => ({
    kind: 'reschedule',
    startTime: new Date(Date.parse(s.startTime)).toISOString().replace('.000Z', 'Z'),
    actionedBy: 'customer',
    ...o,
  });

  test('a reschedule to the time and length the booking has changes nothing, in any spelling of that instant', () => {
    const s = active();
    expect(decide(s, sameTime(s), T0 + 1).ok).toBe(true); // allowed by the state machine...
    expect(changesNothing(s, sameTime(s))).toBe('the booking is already at that time'); // ...but changes nothing
    expect(changesNothing(s, sameTime(s, { durationMinutes: s.durationMinutes }))).not.toBeNull();
  });

  test('another length, another time, or the customer answering a reschedule request does change it', () => {
    const s = active();
    expect(changesNothing(s, sameTime(s, { durationMinutes: s.durationMinutes + 15 }))).toBeNull();
    expect(changesNothing(s, { kind: 'reschedule', startTime: later, actionedBy: 'customer' })).toBeNull();
    const a = awaiting();
    expect(changesNothing(a, sameTime(a))).toBeNull();
    for (const [name, action] of Object.entries(actions)) if (name !== 'reschedule') expect(changesNothing(s, action)).toBeNull();
  });

  test('in approval mode, the new time already waiting for approval changes nothing', () => {
    const approved = decide(requested(), { kind: 'approve' }, T0 + 1);
    if (!approved.ok) throw new Error(approved.reason);
    const asked = decide(approved.state, { kind: 'reschedule', startTime: later, actionedBy: 'customer' }, T0 + 2);
    if (!asked.ok) throw new Error(asked.reason);
    expect(changesNothing(asked.state, { kind: 'reschedule', startTime: later, actionedBy: 'customer' })).toBe('that new time is already waiting for approval');
    expect(changesNothing(asked.state, { kind: 'reschedule', startTime: new Date(T0 + 11 * HOUR).toISOString(), actionedBy: 'customer' })).toBeNull();
  });
});
