/** The booking state machine without a server: each action in each phase, and the deadlines. */
import { decide, initialState, nextDeadline, onDeadline, type BookingState } from '../../src/domain/booking/state-machine';
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
