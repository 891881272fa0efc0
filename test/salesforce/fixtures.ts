/** Lifecycle events, pages and config for the Salesforce tests. */
import type { Config } from '../../src/config';
import type {
  BookingEventType,
  BookingObject,
  BookingPageSnapshot,
  BookingStatus,
  LifecycleEvent,
  SalesforceSettings,
} from '../../src/shared/booking-contract';

export const FIELD_NAMES = { eventStatusField: 'Event_Status__c', reasonField: 'Cancel_Reschedule_Reason__c', bookingIdField: 'Booking_Id__c' };

/** A booking page with the given Salesforce settings (connected with an Activity Event by default). */
export function page(salesforce: Partial<SalesforceSettings> = {}, id = 'BP-sales'): BookingPageSnapshot {
  return {
    id,
    name: 'Sales call',
    mode: 'automatic',
    owner_user_id: 'USR-alice',
    salesforce: { connected: true, create_activity_event: true, relate_to: 'lead', create_missing_record: true, ...salesforce },
  };
}

let n = 0;

/** A booking object with sensible defaults. */
export function booking(overrides: Partial<BookingObject> = {}): BookingObject {
  n++;
  return {
    object: 'booking',
    id: `BKNG-sf${Date.now().toString(36)}${n}`,
    tracking_id: `T${n}`,
    subject: 'Intro call',
    status: 'scheduled',
    activity_status: 'Scheduled (By customer)',
    creation_time: '2026-11-27T09:00:00.000Z',
    starting_time: '2026-12-01T10:00:00.000Z',
    last_updated_time: '2026-11-27T09:00:00.000Z',
    duration_minutes: 45,
    customer_timezone: 'Europe/Paris',
    owner: { id: 'USR-alice', name: 'Alice Owner', email: 'alice@example.com', timezone: 'Europe/London' },
    booking_page: 'BP-sales',
    event_type: 'Intro',
    location_description: null,
    virtual_conferencing: { join_url: 'https://meet.example.com/abc' },
    attendees: ['carol@example.com'],
    form_submission: { name: 'Carol Ann Customer', email: 'carol@example.com', company: 'Acme', phone: '+33 1 23 45 67 89', custom_fields: [{ name: 'Topic', value: 'Pricing' }] },
    cancel_reschedule_information: null,
    rescheduled_booking_id: null,
    cancel_reschedule_url: 'https://book.example.com/c/abc',
    session_package: null,
    conversation: null,
    ...overrides,
  };
}

/** A lifecycle event of a type for a booking (status follows the type unless given). */
export function lifecycleEvent(
  type: BookingEventType,
  b: BookingObject,
  extra: Partial<LifecycleEvent> = {},
): LifecycleEvent {
  const statusByType: Partial<Record<BookingEventType, BookingStatus>> = {
    'booking.rescheduled': 'rescheduled',
    'booking.canceled_then_rescheduled': 'rescheduled',
    'booking.canceled': 'canceled',
    'booking.canceled_reschedule_requested': 'canceled',
    'booking.completed': 'completed',
    'booking.no_show': 'no_show',
  };
  n++;
  return {
    id: `EVNT-${n}`,
    seq: n,
    type,
    creation_time: '2026-11-27T09:00:00.000Z',
    webhook: true,
    booking: { ...b, status: statusByType[type] ?? b.status },
    previous_page: null,
    salesforce_record: null,
    page: page(),
    ...extra,
  };
}

/** Salesforce config pointing at a stand-in. */
export function salesforceConfig(url: string, overrides: Partial<Config['salesforce']> = {}): Config['salesforce'] {
  return {
    mode: 'standin',
    loginUrl: url,
    instanceUrl: null,
    clientId: 'test-client',
    clientSecret: 'test-secret-0123456789',
    refreshToken: null,
    grant: 'client_credentials',
    apiVersion: '62.0',
    ...FIELD_NAMES,
    fallbackOwnerId: null,
    standinPort: 0,
    ...overrides,
  };
}
