/**
 * What one lifecycle event writes to the booking's Salesforce Activity Event: whether anything is written,
 * the Event fields, and how the owner and the related Lead/Contact/Case are to be found. Pure: no I/O and
 * no clock; the activity in activities/salesforce.ts resolves owner and relation and performs the write.
 *
 * Decisions (also in docs/lifecycle.md):
 * - A page that is not connected, or connected with create_activity_event=false, writes nothing.
 * - Every phase writes the full set of fields (subject, times, location, description, status, booking id),
 *   so an update also heals an Event created before a failed write; the reason field is written only on
 *   cancel and reschedule phases (cleared to null on a reschedule without a reason), and left untouched
 *   otherwise so a later Completed keeps the last reason.
 * - The sync always looks the Event up by booking id first: found → update; not found → create, whatever
 *   the phase (an update-phase event for a booking whose create failed permanently still gets its Event).
 * - booking.canceled_then_rescheduled is emitted by the NEW booking (the replaced one sends a
 *   Salesforce-only booking.canceled). Its Event is a create for the new booking, with status Rescheduled
 *   and the rebook reason: for the customer the meeting moved, and the old Event already reads Canceled.
 *   Should it ever arrive with booking.status 'canceled' (the replaced side), it is written as Canceled.
 * - booking.reassigned: the new page is event.page, the old one event.previous_page; "connected" means
 *   connected with create_activity_event on.
 *     new page off                 → nothing is written (the old Event, if any, stays with the old owner);
 *     both on                      → owner becomes the new booking owner, status "<Scheduled|Rescheduled>
 *                                    (Reassigned by User)" from booking.status;
 *     old page off (or unknown), new on → no Event exists yet, so it is written like a fresh create under
 *                                    the new owner with the plain Scheduled/Rescheduled status.
 * - Relation (on create only; updates never move an Event to another record): by the record a personalised
 *   link named when the event carries one, otherwise by customer email per the page's relate_to.
 */
import type {
  BookingObject,
  BookingPageSnapshot,
  LifecycleEvent,
  SalesforceRecordRef,
  SalesforceSettings,
} from '../../shared/booking-contract';

/** Names of the custom Event fields the connector writes (configurable per org). */
export interface SalesforceFieldNames {
  eventStatusField: string;
  reasonField: string;
  bookingIdField: string;
}

/** Values of the Event status custom field. */
export type SalesforceEventStatus =
  | 'Scheduled'
  | 'Rescheduled'
  | 'Completed'
  | 'Canceled'
  | 'No-show'
  | 'Scheduled (Reassigned by User)'
  | 'Rescheduled (Reassigned by User)';

/** Field values sent to Salesforce; null clears a field. */
export type EventFieldValues = Record<string, string | number | boolean | null>;

/** How the Event's Who/What is to be found when it is created. */
export type RelationPlan =
  | { by: 'record'; record: SalesforceRecordRef; fallback: EmailRelationPlan }
  | EmailRelationPlan;

/** Relation by customer email, per the page's relate_to and create_missing_record. */
export interface EmailRelationPlan {
  by: 'email';
  relateTo: SalesforceSettings['relate_to'];
  email: string;
  createMissing: boolean;
  /** Fields for a Lead or Contact created when none matches. */
  newPerson: { FirstName: string | null; LastName: string; Company: string; Email: string; Phone: string | null };
}

/** The outcome of planning: nothing to write, or the write to perform. */
export type EventWritePlan =
  | { write: false; reason: string }
  | {
      write: true;
      status: SalesforceEventStatus;
      /** Fields written on create and on update. */
      fields: EventFieldValues;
      /** Email of the booking owner whose Salesforce user owns the Event. */
      ownerEmail: string;
      /** Whether an update (not only a create) sets OwnerId: true for a reassignment. */
      setOwnerOnUpdate: boolean;
      relation: RelationPlan;
    };

const SUBJECT_MAX = 255;
const LOCATION_MAX = 255;
const DESCRIPTION_MAX = 32_000;
const MINUTE_MS = 60_000;

/** Placeholder Company for a Lead created from a form without one (Company is required on Lead). */
export const LEAD_COMPANY_PLACEHOLDER = '[not provided]';

function activityEventOn(page: BookingPageSnapshot | null | undefined): boolean {
  return Boolean(page && page.salesforce.connected && page.salesforce.create_activity_event);
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Event status custom-field value for a lifecycle event. */
export function eventStatusFor(event: Pick<LifecycleEvent, 'type' | 'booking' | 'previous_page'>): SalesforceEventStatus {
  const rescheduled = event.booking.status === 'rescheduled';
  switch (event.type) {
    case 'booking.scheduled':
      return 'Scheduled';
    case 'booking.rescheduled':
      return 'Rescheduled';
    case 'booking.canceled_then_rescheduled':
      return event.booking.status === 'canceled' ? 'Canceled' : 'Rescheduled';
    case 'booking.canceled_reschedule_requested':
    case 'booking.canceled':
      return 'Canceled';
    case 'booking.completed':
      return 'Completed';
    case 'booking.no_show':
      return 'No-show';
    case 'booking.reassigned':
      if (!activityEventOn(event.previous_page)) return rescheduled ? 'Rescheduled' : 'Scheduled';
      return rescheduled ? 'Rescheduled (Reassigned by User)' : 'Scheduled (Reassigned by User)';
  }
}

/** Whether the phase carries the cancel/reschedule reason. */
function writesReason(status: SalesforceEventStatus, type: LifecycleEvent['type']): boolean {
  return status === 'Canceled' || (status === 'Rescheduled' && type !== 'booking.reassigned');
}

/** Event Description: the form answers, the join link, the booking id and the cancel/reschedule link. */
export function eventDescription(b: BookingObject): string {
  const f = b.form_submission;
  const lines: string[] = [];
  lines.push(`Name: ${f.name}`, `Email: ${f.email}`);
  if (f.phone) lines.push(`Phone: ${f.phone}`);
  if (f.mobile_phone) lines.push(`Mobile phone: ${f.mobile_phone}`);
  if (f.company) lines.push(`Company: ${f.company}`);
  if (f.guests && f.guests.length > 0) lines.push(`Guests: ${f.guests.join(', ')}`);
  for (const c of f.custom_fields ?? []) lines.push(`${c.name}: ${c.value}`);
  if (f.note) lines.push(`Note: ${f.note}`);
  lines.push('');
  if (b.virtual_conferencing?.join_url) lines.push(`Join: ${b.virtual_conferencing.join_url}`);
  lines.push(`Booking ID: ${b.id}`);
  if (b.cancel_reschedule_url) lines.push(`Cancel/reschedule: ${b.cancel_reschedule_url}`);
  return truncate(lines.join('\n'), DESCRIPTION_MAX);
}

/** ISO-8601 UTC start and end of the meeting. Throws on an unparseable starting_time. */
export function eventTimes(b: BookingObject): { StartDateTime: string; EndDateTime: string } {
  const start = Date.parse(b.starting_time);
  if (Number.isNaN(start)) throw new RangeError(`booking ${b.id} has an invalid starting_time '${b.starting_time}'`);
  return {
    StartDateTime: new Date(start).toISOString(),
    EndDateTime: new Date(start + b.duration_minutes * MINUTE_MS).toISOString(),
  };
}

/** Names for a Lead or Contact created from the form: last word of the name, else the email's local part. */
export function personFromForm(b: BookingObject): EmailRelationPlan['newPerson'] {
  const f = b.form_submission;
  const words = (f.name ?? '').trim().split(/\s+/).filter(Boolean);
  const local = f.email.split('@')[0] || f.email;
  const company = f.company?.trim();
  return {
    FirstName: words.length > 1 ? words.slice(0, -1).join(' ') : null,
    LastName: words.length > 0 ? words[words.length - 1] : local,
    Company: company ? company : LEAD_COMPANY_PLACEHOLDER,
    Email: f.email,
    Phone: f.phone ?? f.mobile_phone ?? null,
  };
}

/** The Event fields this event writes (no OwnerId, WhoId or WhatId: the activity resolves those). */
export function eventFields(event: LifecycleEvent, names: SalesforceFieldNames, status: SalesforceEventStatus): EventFieldValues {
  const b = event.booking;
  const location = b.location_description || b.virtual_conferencing?.join_url || null;
  // Start and end only: DurationInMinutes is derived by Salesforce, and sending both risks a mismatch error.
  const fields: EventFieldValues = {
    Subject: truncate(b.subject, SUBJECT_MAX),
    ...eventTimes(b),
    Location: location ? truncate(location, LOCATION_MAX) : null,
    Description: eventDescription(b),
    [names.eventStatusField]: status,
    [names.bookingIdField]: b.id,
  };
  if (writesReason(status, event.type)) fields[names.reasonField] = b.cancel_reschedule_information?.reason ?? null;
  return fields;
}

/** Plans the write for one lifecycle event; see the module comment for the rules. */
export function planActivityEventWrite(event: LifecycleEvent, names: SalesforceFieldNames): EventWritePlan {
  const page = event.page;
  if (!page) return { write: false, reason: 'the event carries no booking page settings' };
  if (!page.salesforce.connected) return { write: false, reason: `booking page ${page.id} is not connected to Salesforce` };
  if (!page.salesforce.create_activity_event) {
    return { write: false, reason: `booking page ${page.id} is set to create no Salesforce Activity Event` };
  }
  const status = eventStatusFor(event);
  const b = event.booking;
  const byEmail: EmailRelationPlan = {
    by: 'email',
    relateTo: page.salesforce.relate_to,
    email: b.form_submission.email,
    createMissing: page.salesforce.create_missing_record,
    newPerson: personFromForm(b),
  };
  const record = event.salesforce_record;
  return {
    write: true,
    status,
    fields: eventFields(event, names, status),
    ownerEmail: b.owner.email,
    setOwnerOnUpdate: event.type === 'booking.reassigned',
    relation: record ? { by: 'record', record, fallback: byEmail } : byEmail,
  };
}
