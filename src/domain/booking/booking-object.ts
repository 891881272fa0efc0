/** Builds the public booking object (lifecycle.md section 5) and the UI summary from the state. */
import type { BookingObject, BookingView, IgnoredSignal, LifecycleEvent, SalesforceSyncState } from '../../shared/booking-contract';
import { endTime, type BookingState } from './state-machine';
import { completeFormSubmission, localSpan, localTime, subjectNamesOwner } from './presentation';

/** How the object is built; a workflow passes what its patches allow (see bookingWorkflow). */
export interface BookingObjectOptions {
  /** form_submission with every field the spec lists (null or [] when empty); default true. */
  completeForm?: boolean;
}

export function toBookingObject(state: BookingState, opts: BookingObjectOptions = {}): BookingObject {
  const i = state.input;
  return {
    object: 'booking',
    id: i.bookingId,
    tracking_id: i.trackingId,
    subject: i.subject,
    status: state.status,
    activity_status: state.activityStatus,
    creation_time: i.createdAt,
    starting_time: state.startTime,
    last_updated_time: state.lastUpdatedTime,
    duration_minutes: state.durationMinutes,
    customer_timezone: i.customerTimezone,
    owner: state.owner,
    booking_page: state.page.id,
    event_type: i.eventType ?? null,
    location_description: i.locationDescription ?? null,
    virtual_conferencing: i.joinUrl ? { join_url: i.joinUrl } : null,
    attendees: i.attendees ?? [i.form.email],
    form_submission: opts.completeForm === false ? i.form : completeFormSubmission(i.form),
    cancel_reschedule_information: state.cancelInfo,
    rescheduled_booking_id: i.rebookOf?.bookingId ?? null,
    cancel_reschedule_url: i.cancelRescheduleUrl ?? null,
    session_package: i.sessionPackage ?? null,
    conversation: i.conversationId ?? null,
  };
}

/**
 * One line for the Temporal UI's summary of the run: subject (and the owner, unless the subject names them), the
 * meeting's start in the owner's time zone and in UTC, and the detailed status.
 */
export function bookingSummary(state: BookingState): string {
  const { subject } = state.input;
  const who = subjectNamesOwner(subject, state.owner.name) ? subject : `${subject} with ${state.owner.name}`;
  return `${who} at ${localTime(state.startTime, state.owner.timezone)} (${state.startTime}) · ${state.activityStatus}`;
}

/** What the details show beyond the state; `localTimes` as the workflow's patch allows (default true). */
export interface BookingDetailsExtra {
  salesforce: string;
  ignored: number;
  /** Meeting times in the owner's time zone as well as UTC. */
  localTimes?: boolean;
}

/** Markdown shown as the run's current details in the Temporal UI. */
export function bookingDetails(state: BookingState, extra: BookingDetailsExtra): string {
  const local = extra.localTimes !== false;
  const tz = state.owner.timezone;
  const lines = [
    `**${state.input.bookingId}** · ${state.status} · ${state.activityStatus}`,
    `Owner: ${state.owner.name} <${state.owner.email}> · Page: ${state.page.name} (${state.page.id}, ${state.page.mode})`,
    local
      ? `Meeting: ${localSpan(state.startTime, endTime(state), tz)} · UTC ${state.startTime} → ${endTime(state)} · customer's zone ${state.input.customerTimezone}`
      : `Meeting: ${state.startTime} → ${endTime(state)} (${state.input.customerTimezone})`,
    `Customer: ${state.input.form.name} <${state.input.form.email}>`,
  ];
  if (state.pendingReschedule) {
    const at = state.pendingReschedule.startTime;
    lines.push(local ? `Awaiting approval of new time ${localTime(at, tz)} (${at})` : `Awaiting approval of new time ${at}`);
  }
  if (state.cancelInfo?.reason) lines.push(`Reason: ${state.cancelInfo.reason} (${state.cancelInfo.actioned_by})`);
  lines.push(`Salesforce: ${extra.salesforce}`);
  if (extra.ignored > 0) lines.push(`Ignored signals: ${extra.ignored}`);
  return lines.join('\n\n');
}

/** Whether this event concerns Salesforce at all (a page with no Activity Event writes nothing). */
export function wantsSalesforceSync(page: BookingState['page'], previousPage?: BookingState['page'] | null): boolean {
  const on = (p: BookingState['page']) => p.salesforce.connected && p.salesforce.create_activity_event;
  return on(page) || Boolean(previousPage && on(previousPage));
}

/** The booking query's answer, from the state and what the workflow keeps beside it. */
export function bookingView(
  state: BookingState,
  rest: { events: LifecycleEvent[]; salesforce: SalesforceSyncState; ignored: IgnoredSignal[] },
  opts: BookingObjectOptions = {},
): BookingView {
  return {
    booking: toBookingObject(state, opts),
    events: rest.events,
    pending_request:
      state.phase === 'requested'
        ? { kind: 'booking', starting_time: state.startTime, duration_minutes: state.durationMinutes }
        : state.pendingReschedule
          ? { kind: 'reschedule', starting_time: state.pendingReschedule.startTime, duration_minutes: state.pendingReschedule.durationMinutes }
          : null,
    salesforce: rest.salesforce,
    ignored_signals: rest.ignored,
    closed: state.phase === 'closed',
  };
}

/** The Salesforce sync state a booking starts with. */
export function initialSalesforceState(page: BookingState['page']): SalesforceSyncState {
  return { state: wantsSalesforceSync(page) ? 'pending' : 'disabled', activity_event_id: null, last_error: null, applied_seq: 0 };
}
