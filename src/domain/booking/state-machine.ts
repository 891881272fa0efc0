/**
 * The booking state machine (lifecycle.md sections 2 and 8): pure functions from (state, action, now) to
 * the next state plus the effects the workflow must carry out. No I/O and no clock: time is an argument,
 * so the workflow, the API's pre-checks and the unit tests all run the exact same rules.
 */
import type {
  Actor,
  ActivityStatus,
  BookingAction,
  BookingEventType,
  BookingInput,
  BookingPageSnapshot,
  BookingStatus,
  CancelRescheduleInformation,
  UserSnapshot,
} from '../../shared/booking-contract';

/**
 * Where the booking is in its life. `requested`: waits for approval. `active`: scheduled or rescheduled,
 * waiting for its end. `awaiting_customer`: the user asked the customer to pick a new time. `completed`:
 * the no-show window is open. `closed`: nothing more can happen.
 */
export type Phase = 'requested' | 'active' | 'awaiting_customer' | 'completed' | 'closed';

/** A customer's reschedule that waits for the user's approval (approval mode only). */
export interface PendingReschedule {
  startTime: string;
  durationMinutes: number;
  reason: string | null;
  afterUserRequest: boolean;
}

export interface BookingState {
  input: BookingInput;
  phase: Phase;
  status: BookingStatus;
  activityStatus: ActivityStatus;
  owner: UserSnapshot;
  page: BookingPageSnapshot;
  startTime: string;
  durationMinutes: number;
  lastUpdatedTime: string;
  cancelInfo: CancelRescheduleInformation | null;
  pendingReschedule: PendingReschedule | null;
  /** When the current phase began, for the phase's own deadline (reschedule TTL, no-show window). */
  phaseSince: string;
}

/** Something the workflow must do after a transition. */
export type Effect =
  | { kind: 'emit'; type: BookingEventType; webhook: boolean; previousPage?: BookingPageSnapshot | null }
  /** Tell the booking that a rebook replaces that it is canceled. */
  | { kind: 'cancelReplacedBooking'; bookingId: string; reason: string | null; actionedBy: Actor };

export type Decision = { ok: true; state: BookingState; effects: Effect[] } | { ok: false; reason: string };

const MINUTE = 60_000;

export function endTime(state: Pick<BookingState, 'startTime' | 'durationMinutes'>): string {
  return new Date(Date.parse(state.startTime) + state.durationMinutes * MINUTE).toISOString();
}

function iso(now: number): string {
  return new Date(now).toISOString();
}

function rebookEffects(input: BookingInput): Effect[] {
  if (!input.rebookOf) return [{ kind: 'emit', type: 'booking.scheduled', webhook: true }];
  return [
    {
      kind: 'cancelReplacedBooking',
      bookingId: input.rebookOf.bookingId,
      reason: input.rebookOf.reason,
      actionedBy: input.rebookOf.actionedBy,
    },
    { kind: 'emit', type: 'booking.canceled_then_rescheduled', webhook: true },
  ];
}

/** The state a new booking starts in, and what it sends at once (nothing for a request awaiting approval). */
export function initialState(input: BookingInput, now: number): { state: BookingState; effects: Effect[] } {
  const approval = input.page.mode === 'approval';
  const rebook = Boolean(input.rebookOf);
  const state: BookingState = {
    input,
    phase: approval ? 'requested' : 'active',
    status: approval ? 'requested' : rebook ? 'rescheduled' : 'scheduled',
    activityStatus: approval ? 'Requested (By customer)' : rebook ? 'Rescheduled (By customer)' : 'Scheduled (By customer)',
    owner: input.owner,
    page: input.page,
    startTime: input.startTime,
    durationMinutes: input.durationMinutes,
    lastUpdatedTime: iso(now),
    cancelInfo: input.rebookOf ? { reason: input.rebookOf.reason, actioned_by: input.rebookOf.actionedBy, user_id: null } : null,
    pendingReschedule: null,
    phaseSince: iso(now),
  };
  return { state, effects: approval ? [] : rebookEffects(input) };
}

function next(state: BookingState, now: number, patch: Partial<BookingState>): BookingState {
  const phaseChanged = patch.phase !== undefined && patch.phase !== state.phase;
  return { ...state, ...patch, lastUpdatedTime: iso(now), phaseSince: phaseChanged ? iso(now) : state.phaseSince };
}

function reject(reason: string): Decision {
  return { ok: false, reason };
}

function accept(state: BookingState, effects: Effect[] = []): Decision {
  return { ok: true, state, effects };
}

const PHASE_WORDS: Record<Phase, string> = {
  requested: 'awaiting approval',
  active: 'scheduled',
  awaiting_customer: 'waiting for the customer to pick a new time',
  completed: 'completed',
  closed: 'closed',
};

function describe(state: BookingState): string {
  return state.phase === 'closed' ? `the booking is closed (${state.status})` : `the booking is ${PHASE_WORDS[state.phase]}`;
}

function validNewTime(startTime: string, durationMinutes: number, now: number): string | null {
  const t = Date.parse(startTime);
  if (Number.isNaN(t)) return `'${startTime}' is not a valid time`;
  if (t <= now) return 'the new starting time must be in the future';
  if (!Number.isInteger(durationMinutes) || durationMinutes < 1 || durationMinutes > 24 * 60) {
    return 'duration_minutes must be between 1 and 1440';
  }
  return null;
}

/**
 * Applies one action. A refusal carries the reason the API returns with its 409 and the workflow records
 * when the same action arrives as a signal.
 */
export function decide(state: BookingState, action: BookingAction, now: number): Decision {
  const approvalMode = state.page.mode === 'approval';
  switch (action.kind) {
    case 'approve': {
      if (state.phase === 'requested') {
        const s = next(state, now, {
          phase: 'active',
          status: state.input.rebookOf ? 'rescheduled' : 'scheduled',
          activityStatus: state.input.rebookOf ? 'Rescheduled (Approved by User)' : 'Scheduled (Approved by User)',
        });
        return accept(s, rebookEffects(state.input));
      }
      if ((state.phase === 'active' || state.phase === 'awaiting_customer') && state.pendingReschedule) {
        const p = state.pendingReschedule;
        if (Date.parse(p.startTime) <= now) return reject('the requested new time has already passed');
        const s = next(state, now, {
          phase: 'active',
          status: 'rescheduled',
          activityStatus: 'Rescheduled (Approved by User)',
          startTime: p.startTime,
          durationMinutes: p.durationMinutes,
          pendingReschedule: null,
          cancelInfo: { reason: p.reason, actioned_by: 'customer', user_id: null },
        });
        return accept(s, [{ kind: 'emit', type: 'booking.rescheduled', webhook: true }]);
      }
      return reject(`nothing awaits approval: ${describe(state)}`);
    }
    case 'decline': {
      if (state.phase === 'requested') {
        const s = next(state, now, {
          phase: 'closed',
          status: 'canceled',
          activityStatus: 'Declined (By user)',
          cancelInfo: { reason: action.reason ?? null, actioned_by: 'user', user_id: state.owner.id },
        });
        return accept(s);
      }
      if (state.pendingReschedule) return accept(next(state, now, { pendingReschedule: null }));
      return reject(`nothing awaits approval: ${describe(state)}`);
    }
    case 'reschedule': {
      if (state.phase !== 'active' && state.phase !== 'awaiting_customer') {
        return reject(`a booking can be rescheduled only while scheduled: ${describe(state)}`);
      }
      const duration = action.durationMinutes ?? state.durationMinutes;
      const invalid = validNewTime(action.startTime, duration, now);
      if (invalid) return reject(invalid);
      const by: Actor = action.actionedBy ?? 'customer';
      const afterUserRequest = state.phase === 'awaiting_customer';
      if (by === 'user' && afterUserRequest) return reject('the customer, not the user, picks the new time after a reschedule request');
      const reason = action.reason ?? null;
      if (by === 'customer' && approvalMode) {
        // Approval mode: nothing is sent until the user approves the new time.
        return accept(
          next(state, now, { pendingReschedule: { startTime: action.startTime, durationMinutes: duration, reason, afterUserRequest } }),
        );
      }
      const s = next(state, now, {
        phase: 'active',
        status: 'rescheduled',
        activityStatus: by === 'user' || afterUserRequest ? 'Rescheduled (Initiated by User)' : 'Rescheduled (By customer)',
        startTime: action.startTime,
        durationMinutes: duration,
        pendingReschedule: null,
        cancelInfo: { reason, actioned_by: by, user_id: by === 'user' ? state.owner.id : null },
      });
      return accept(s, [{ kind: 'emit', type: 'booking.rescheduled', webhook: true }]);
    }
    case 'requestReschedule': {
      if (state.phase !== 'active') return reject(`the user can ask for a new time only while the booking is scheduled: ${describe(state)}`);
      const s = next(state, now, {
        phase: 'awaiting_customer',
        status: 'canceled',
        activityStatus: 'Canceled (Reschedule requested by User)',
        pendingReschedule: null,
        cancelInfo: { reason: action.reason ?? null, actioned_by: 'user', user_id: action.userId ?? state.owner.id },
      });
      return accept(s, [{ kind: 'emit', type: 'booking.canceled_reschedule_requested', webhook: true }]);
    }
    case 'cancel': {
      const cancelInfo: CancelRescheduleInformation = {
        reason: action.reason ?? null,
        actioned_by: action.actionedBy,
        user_id: action.actionedBy === 'user' ? (action.userId ?? state.owner.id) : null,
      };
      const activityStatus: ActivityStatus = action.actionedBy === 'user' ? 'Canceled (By user)' : 'Canceled (By customer)';
      if (state.phase === 'requested') {
        // Nothing was ever sent for an unapproved request, so withdrawing it sends nothing either.
        return accept(next(state, now, { phase: 'closed', status: 'canceled', activityStatus, cancelInfo }));
      }
      if (state.phase !== 'active' && state.phase !== 'awaiting_customer') {
        return reject(`only a scheduled booking can be canceled: ${describe(state)}`);
      }
      const s = next(state, now, { phase: 'closed', status: 'canceled', activityStatus, cancelInfo, pendingReschedule: null });
      return accept(s, [{ kind: 'emit', type: 'booking.canceled', webhook: true }]);
    }
    case 'canceledForRebook': {
      if (state.phase !== 'active' && state.phase !== 'awaiting_customer') {
        return reject(`the booking cannot be replaced by ${action.newBookingId}: ${describe(state)}`);
      }
      const by = action.actionedBy ?? 'customer';
      const s = next(state, now, {
        phase: 'closed',
        status: 'canceled',
        activityStatus: by === 'user' ? 'Canceled (By user)' : 'Canceled (By customer)',
        pendingReschedule: null,
        cancelInfo: { reason: action.reason ?? null, actioned_by: by, user_id: null },
      });
      // The new booking sends booking.canceled_then_rescheduled; this one only updates Salesforce.
      return accept(s, [{ kind: 'emit', type: 'booking.canceled', webhook: false }]);
    }
    case 'noShow': {
      if (state.phase !== 'completed') return reject(`no-show can be set only on a completed meeting: ${describe(state)}`);
      const s = next(state, now, {
        phase: 'closed',
        status: 'no_show',
        activityStatus: 'No-show (Set by user)',
      });
      return accept(s, [{ kind: 'emit', type: 'booking.no_show', webhook: true }]);
    }
    case 'reassign': {
      if (state.phase !== 'active') return reject(`only a scheduled booking can be reassigned: ${describe(state)}`);
      const newPage = action.page ?? state.page;
      if (action.owner.id === state.owner.id && newPage.id === state.page.id) return reject('the booking already belongs to that user and page');
      const s = next(state, now, {
        owner: action.owner,
        page: newPage,
        activityStatus: state.status === 'rescheduled' ? 'Rescheduled (Reassigned by User)' : 'Scheduled (Reassigned by User)',
        cancelInfo: action.reason ? { reason: action.reason, actioned_by: 'user', user_id: state.owner.id } : state.cancelInfo,
      });
      return accept(s, [{ kind: 'emit', type: 'booking.reassigned', webhook: true, previousPage: state.page }]);
    }
  }
}

/**
 * Why an action that decide() accepts would change nothing a customer can see, or null: a reschedule to the
 * time (and length) the booking already has, or to the time already waiting for approval. Such an action is
 * refused (API: 409) or ignored (signal), so a double click or a retried request sends no second webhook and
 * makes no second Salesforce write. After a user's reschedule request the customer may pick the old time again:
 * that does change the booking (it is scheduled again).
 */
export function changesNothing(state: BookingState, action: BookingAction): string | null {
  if (action.kind !== 'reschedule' || state.phase !== 'active') return null;
  const at = Date.parse(action.startTime);
  const duration = action.durationMinutes ?? state.durationMinutes;
  const pending = state.pendingReschedule;
  if (pending) {
    const same = at === Date.parse(pending.startTime) && duration === pending.durationMinutes;
    return same ? 'that new time is already waiting for approval' : null;
  }
  const same = at === Date.parse(state.startTime) && duration === state.durationMinutes;
  return same ? 'the booking is already at that time' : null;
}

/** The next moment the booking moves by itself, or null when only a signal can move it. */
export function nextDeadline(state: BookingState): number | null {
  const s = state.input.settings;
  switch (state.phase) {
    case 'requested':
      return Date.parse(state.startTime);
    case 'active': {
      const end = Date.parse(endTime(state));
      return state.pendingReschedule ? Math.min(end, Date.parse(state.pendingReschedule.startTime)) : end;
    }
    case 'awaiting_customer': {
      const ttl = Date.parse(state.phaseSince) + s.rescheduleRequestTtlMinutes * MINUTE;
      return state.pendingReschedule ? Math.min(ttl, Date.parse(state.pendingReschedule.startTime)) : ttl;
    }
    case 'completed':
      return Date.parse(state.phaseSince) + s.noShowWindowMinutes * MINUTE;
    case 'closed':
      return null;
  }
}

/** What happens when the deadline passes: expiry of a request, the meeting's completion, a window closing. */
export function onDeadline(state: BookingState, now: number): { state: BookingState; effects: Effect[] } {
  const p = state.pendingReschedule;
  if (p && Date.parse(p.startTime) <= now) {
    // A reschedule never approved before its new time lapses silently; the booking keeps its old time.
    return { state: next(state, now, { pendingReschedule: null }), effects: [] };
  }
  switch (state.phase) {
    case 'requested':
      return { state: next(state, now, { phase: 'closed', status: 'canceled', activityStatus: 'Expired (Not approved)' }), effects: [] };
    case 'active':
      return {
        state: next(state, now, { phase: 'completed', status: 'completed', activityStatus: 'Completed (Set by System)' }),
        effects: [{ kind: 'emit', type: 'booking.completed', webhook: true }],
      };
    case 'awaiting_customer':
    case 'completed':
      return { state: next(state, now, { phase: 'closed' }), effects: [] };
    case 'closed':
      return { state, effects: [] };
  }
}
