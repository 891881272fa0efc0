/**
 * The booking contract: every wire name (task queue, workflow ids, signals, queries, updates, search
 * attributes) and every payload type shared by the workflow, the activities, the API and the tests.
 * Deterministic on purpose: workflows import it, so it must stay free of Node built-ins and I/O.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Task queue served by every worker of the engine. */
export const TASK_QUEUE = 'booking-lifecycle';

/** Booking ids are prefixed so a wrong kind of id is rejected before it reaches Temporal. */
export const BOOKING_ID_PREFIX = 'BKNG-';
export const EVENT_ID_PREFIX = 'EVNT-';
export const BOOKING_PAGE_ID_PREFIX = 'BP-';
export const USER_ID_PREFIX = 'USR-';
export const PACKAGE_ID_PREFIX = 'PKG-';

/** The workflow id of a booking is the booking id itself, so Temporal's REJECT_DUPLICATE guards it. */
export function bookingWorkflowId(bookingId: string): string {
  return bookingId;
}

/** Inverse of bookingWorkflowId; undefined when the workflow is not a booking. */
export function bookingIdFromWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith(BOOKING_ID_PREFIX) ? workflowId : undefined;
}

/** Public booking status, as in lifecycle.md section 5. */
export type BookingStatus = 'requested' | 'scheduled' | 'rescheduled' | 'completed' | 'canceled' | 'no_show';
export const BOOKING_STATUSES: readonly BookingStatus[] = [
  'requested',
  'scheduled',
  'rescheduled',
  'completed',
  'canceled',
  'no_show',
];

/** Detailed activity status (lifecycle.md section 8), plus the two request outcomes the spec leaves unnamed. */
export type ActivityStatus =
  | 'Scheduled (By customer)'
  | 'Requested (By customer)'
  | 'Scheduled (Approved by User)'
  | 'Rescheduled (Approved by User)'
  | 'Rescheduled (By customer)'
  | 'Canceled (By customer)'
  | 'Canceled (By user)'
  | 'Canceled (Reschedule requested by User)'
  | 'Rescheduled (Initiated by User)'
  | 'No-show (Set by user)'
  | 'Completed (Set by System)'
  | 'Scheduled (Reassigned by User)'
  | 'Rescheduled (Reassigned by User)'
  | 'Declined (By user)'
  | 'Expired (Not approved)';

/** Specific booking event types (lifecycle.md section 1). */
export type BookingEventType =
  | 'booking.scheduled'
  | 'booking.rescheduled'
  | 'booking.reassigned'
  | 'booking.canceled_then_rescheduled'
  | 'booking.canceled_reschedule_requested'
  | 'booking.canceled'
  | 'booking.completed'
  | 'booking.no_show';

export const BOOKING_EVENT_TYPES: readonly BookingEventType[] = [
  'booking.scheduled',
  'booking.rescheduled',
  'booking.reassigned',
  'booking.canceled_then_rescheduled',
  'booking.canceled_reschedule_requested',
  'booking.canceled',
  'booking.completed',
  'booking.no_show',
];

export type BookingMode = 'automatic' | 'approval';
export type Actor = 'user' | 'customer';

/** What the workflow knows of a user: a snapshot taken when the booking or the action was made. */
export interface UserSnapshot {
  id: string;
  name: string;
  email: string;
  timezone: string;
}

/** Salesforce connector settings of a booking page (lifecycle.md section 7). */
export interface SalesforceSettings {
  connected: boolean;
  create_activity_event: boolean;
  relate_to: 'lead' | 'contact' | 'case';
  create_missing_record: boolean;
}

/** What the workflow knows of a booking page. */
export interface BookingPageSnapshot {
  id: string;
  name: string;
  mode: BookingMode;
  owner_user_id: string;
  salesforce: SalesforceSettings;
}

export interface CustomField {
  name: string;
  value: string;
}

export interface FormSubmission {
  name: string;
  email: string;
  phone?: string | null;
  mobile_phone?: string | null;
  company?: string | null;
  note?: string | null;
  guests?: string[];
  custom_fields?: CustomField[];
}

/**
 * form_submission as payloads carry it: every field lifecycle.md section 5 lists, `null` (or `[]` for lists) when
 * the customer left it empty, so receivers can rely on the shape.
 */
export interface CompleteFormSubmission {
  name: string;
  email: string;
  phone: string | null;
  mobile_phone: string | null;
  company: string | null;
  note: string | null;
  guests: string[];
  custom_fields: CustomField[];
}

/** A personalised link may carry the Salesforce record the booking relates to. */
export interface SalesforceRecordRef {
  type: 'lead' | 'contact' | 'case';
  id: string;
}

export interface SessionPackageRef {
  id: string;
  index: number;
  size: number;
}

export interface CancelRescheduleInformation {
  reason: string | null;
  actioned_by: Actor;
  user_id: string | null;
}

/** The booking object, exactly the shape webhooks carry in `data` (lifecycle.md section 5). */
export interface BookingObject {
  object: 'booking';
  id: string;
  tracking_id: string;
  subject: string;
  status: BookingStatus;
  activity_status: ActivityStatus;
  creation_time: string;
  starting_time: string;
  last_updated_time: string;
  duration_minutes: number;
  customer_timezone: string;
  owner: UserSnapshot;
  booking_page: string;
  event_type: string | null;
  location_description: string | null;
  virtual_conferencing: { join_url: string } | null;
  attendees: string[];
  form_submission: FormSubmission;
  cancel_reschedule_information: CancelRescheduleInformation | null;
  rescheduled_booking_id: string | null;
  cancel_reschedule_url: string | null;
  session_package: SessionPackageRef | null;
  conversation: string | null;
}

/** Workflow input: everything the booking needs, resolved by the API. Never a secret. */
export interface BookingInput {
  bookingId: string;
  trackingId: string;
  createdAt: string;
  page: BookingPageSnapshot;
  owner: UserSnapshot;
  startTime: string;
  durationMinutes: number;
  customerTimezone: string;
  subject: string;
  eventType?: string | null;
  locationDescription?: string | null;
  joinUrl?: string | null;
  attendees?: string[];
  form: FormSubmission;
  salesforceRecord?: SalesforceRecordRef | null;
  sessionPackage?: SessionPackageRef | null;
  conversationId?: string | null;
  cancelRescheduleUrl?: string | null;
  /** Set when this booking replaces another one rebooked with a different user. */
  rebookOf?: { bookingId: string; reason: string | null; actionedBy: Actor; pageConnectedToSalesforce: boolean } | null;
  settings: BookingSettings;
}

/** Per-booking durations, taken from configuration when the booking starts so replays never read env. */
export interface BookingSettings {
  /** How long after completion a no-show can still be set. */
  noShowWindowMinutes: number;
  /** How long a reschedule requested by the user waits for the customer's new time. */
  rescheduleRequestTtlMinutes: number;
  /**
   * Keep the custom search attributes current. The API always sets it; the time-skipping test server,
   * which knows only preset attributes, runs with it off.
   */
  indexSearchAttributes: boolean;
}

/** One lifecycle event, kept in order by the workflow and handed to the dispatch seam. */
export interface LifecycleEvent {
  id: string;
  seq: number;
  type: BookingEventType;
  creation_time: string;
  /** False for events that only Salesforce hears (the old booking of a rebook). */
  webhook: boolean;
  booking: BookingObject;
  /** For reassignment: the page the booking left, so Salesforce can tell whether both are connected. */
  previous_page?: BookingPageSnapshot | null;
  /** The Lead, Contact or Case a personalised link named, if any. */
  salesforce_record?: SalesforceRecordRef | null;
  /** The booking page when the event happened (its Salesforce settings decide what the sync writes). */
  page?: BookingPageSnapshot | null;
}

/** User and customer actions. Each arrives as a signal of its own and through the action update. */
export type BookingAction =
  | { kind: 'approve' }
  | { kind: 'decline'; reason?: string | null }
  | { kind: 'reschedule'; startTime: string; durationMinutes?: number; reason?: string | null; actionedBy?: Actor }
  | { kind: 'requestReschedule'; reason?: string | null; userId?: string | null }
  | { kind: 'cancel'; reason?: string | null; actionedBy: Actor; userId?: string | null }
  | { kind: 'noShow'; userId?: string | null }
  | { kind: 'reassign'; owner: UserSnapshot; page?: BookingPageSnapshot | null; reason?: string | null }
  | { kind: 'canceledForRebook'; newBookingId: string; reason?: string | null; actionedBy?: Actor };

export type BookingActionKind = BookingAction['kind'];

type Payload<K extends BookingActionKind> = Omit<Extract<BookingAction, { kind: K }>, 'kind'>;

export const approveSignal = defineSignal<[Payload<'approve'>?]>('approve');
export const declineSignal = defineSignal<[Payload<'decline'>?]>('decline');
export const rescheduleSignal = defineSignal<[Payload<'reschedule'>]>('reschedule');
export const requestRescheduleSignal = defineSignal<[Payload<'requestReschedule'>?]>('requestReschedule');
export const cancelSignal = defineSignal<[Payload<'cancel'>]>('cancel');
export const noShowSignal = defineSignal<[Payload<'noShow'>?]>('noShow');
export const reassignSignal = defineSignal<[Payload<'reassign'>]>('reassign');
/** Sent by a new booking to the one it replaces when a customer rebooks with a different user. */
export const canceledForRebookSignal = defineSignal<[Payload<'canceledForRebook'>]>('canceledForRebook');
/** The API's path for actions: rejected (409) before anything is written when the state forbids it. */
export const applyActionUpdate = defineUpdate<BookingView, [BookingAction]>('applyAction');

/** Salesforce sync state of a booking, as its query shows it. */
export interface SalesforceSyncState {
  state: 'disabled' | 'pending' | 'synced' | 'error';
  activity_event_id: string | null;
  last_error: { code: string; message: string; event_id: string; at: string } | null;
  applied_seq: number;
}

export interface IgnoredSignal {
  signal: string;
  reason: string;
  at: string;
}

/** What the booking query returns. */
export interface BookingView {
  booking: BookingObject;
  events: LifecycleEvent[];
  pending_request: { kind: 'booking' | 'reschedule'; starting_time: string; duration_minutes: number } | null;
  salesforce: SalesforceSyncState;
  ignored_signals: IgnoredSignal[];
  closed: boolean;
}

export const getBookingQuery = defineQuery<BookingView>('getBooking');

/** Custom search attributes registered on the namespace (also by the embedded dev server). */
export const BookingStatusSA = defineSearchAttributeKey('BookingStatus', SearchAttributeType.KEYWORD);
export const BookingOwnerSA = defineSearchAttributeKey('BookingOwner', SearchAttributeType.KEYWORD);
export const BookingPageSA = defineSearchAttributeKey('BookingPage', SearchAttributeType.KEYWORD);
export const MeetingStartSA = defineSearchAttributeKey('MeetingStart', SearchAttributeType.DATETIME);
export const BookingPackageSA = defineSearchAttributeKey('BookingPackage', SearchAttributeType.KEYWORD);
export const ConversationStatusSA = defineSearchAttributeKey('ConversationStatus', SearchAttributeType.KEYWORD);

/** Name → type of every custom search attribute, for the dev server's flags and the operator service. */
export const CUSTOM_SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'Datetime'> = {
  BookingStatus: 'Keyword',
  BookingOwner: 'Keyword',
  BookingPage: 'Keyword',
  MeetingStart: 'Datetime',
  BookingPackage: 'Keyword',
  ConversationStatus: 'Keyword',
};
