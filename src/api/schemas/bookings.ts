/** TypeBox schemas of the booking API: the booking object, create bodies, actions and list filters. */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { BOOKING_ID_PREFIX, BOOKING_PAGE_ID_PREFIX, USER_ID_PREFIX } from '../../shared/booking-contract';
import { DateTime as DateTimeField, errorResponses, IdempotencyHeaders, Paragraphs, Text } from './common';

const DateTime = DateTimeField();
const Duration = Type.Integer({ minimum: 1, maximum: 1440, description: 'minutes' });
const Email = Text({ format: 'email', maxLength: 254 });
const ShortText = (max = 255) => Text({ maxLength: max });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const UserId = Type.String({ pattern: `^${USER_ID_PREFIX}[A-Za-z0-9_-]{1,64}$`, description: 'USR-…' });
const PageId = Type.String({ pattern: `^${BOOKING_PAGE_ID_PREFIX}[A-Za-z0-9_-]{1,64}$`, description: 'BP-…' });
const Reason = Type.Optional(Nullable(Paragraphs({ maxLength: 1000 })));
const Actor = Type.Union([Type.Literal('user'), Type.Literal('customer')]);

export const BookingIdParam = Type.Object(
  { id: Type.String({ pattern: `^${BOOKING_ID_PREFIX}[A-Za-z0-9_-]{1,64}$`, description: 'BKNG-…' }) },
  { additionalProperties: false },
);

const User = Type.Object({ id: Type.String(), name: Type.String(), email: Type.String(), timezone: Type.String() }, { additionalProperties: false });

export const FormSubmission = Type.Object(
  {
    name: Text({ minLength: 1, maxLength: 200 }),
    email: Email,
    phone: Type.Optional(Nullable(ShortText(50))),
    mobile_phone: Type.Optional(Nullable(ShortText(50))),
    company: Type.Optional(Nullable(ShortText())),
    note: Type.Optional(Nullable(Paragraphs({ maxLength: 5000 }))),
    guests: Type.Optional(Type.Array(Email, { maxItems: 20 })),
    custom_fields: Type.Optional(
      Type.Array(Type.Object({ name: ShortText(), value: Paragraphs({ maxLength: 5000 }) }, { additionalProperties: false }), { maxItems: 50 }),
    ),
  },
  { additionalProperties: false, title: 'FormSubmission' },
);

/** form_submission as the booking object and webhooks carry it: every field, null (or [] for lists) when empty. */
export const FormSubmissionPayload = Type.Object(
  {
    name: Type.String(),
    email: Type.String(),
    phone: Type.Union([Type.String(), Type.Null()]),
    mobile_phone: Type.Union([Type.String(), Type.Null()]),
    company: Type.Union([Type.String(), Type.Null()]),
    note: Type.Union([Type.String(), Type.Null()]),
    guests: Type.Array(Type.String()),
    custom_fields: Type.Array(Type.Object({ name: Type.String(), value: Type.String() }, { additionalProperties: false })),
  },
  { additionalProperties: false, title: 'FormSubmissionPayload' },
);

const SalesforceRecord = Type.Object(
  {
    type: Type.Union([Type.Literal('lead'), Type.Literal('contact'), Type.Literal('case')]),
    id: Type.String({ pattern: '^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$', description: 'Salesforce record id (15 or 18 characters)' }),
  },
  { additionalProperties: false },
);

/** Fields every new booking takes, alone or inside a session package. */
const BookingFields = {
  booking_page_id: PageId,
  customer_timezone: Text({ format: 'iana-timezone', description: 'IANA time zone, e.g. Europe/Paris' }),
  subject: Type.Optional(ShortText()),
  event_type: Type.Optional(Nullable(ShortText())),
  location_description: Type.Optional(Nullable(ShortText())),
  join_url: Type.Optional(Nullable(Text({ format: 'uri', maxLength: 2000 }))),
  attendees: Type.Optional(Type.Array(Email, { maxItems: 50 })),
  form_submission: FormSubmission,
  salesforce_record: Type.Optional(Nullable(SalesforceRecord as never)),
  conversation_id: Type.Optional(Nullable(Type.String({ pattern: '^CVR-[A-Za-z0-9_-]{1,64}$' }))),
  cancel_reschedule_url: Type.Optional(Nullable(Text({ format: 'uri', maxLength: 2000 }))),
};

export const CreateBooking = Type.Object(
  { ...BookingFields, starting_time: DateTime, duration_minutes: Duration },
  { additionalProperties: false, title: 'CreateBooking' },
);
export type CreateBooking = Static<typeof CreateBooking>;

export const CreateSessionPackage = Type.Object(
  {
    ...BookingFields,
    sessions: Type.Array(Type.Object({ starting_time: DateTime, duration_minutes: Duration }, { additionalProperties: false }), {
      minItems: 1,
      maxItems: 20,
    }),
  },
  { additionalProperties: false, title: 'CreateSessionPackage' },
);
export type CreateSessionPackage = Static<typeof CreateSessionPackage>;

/** The booking object of lifecycle.md section 5, plus `lifecycle`: what the workflow knows beyond it. */
export const Booking = Type.Object(
  {
    object: Type.Literal('booking'),
    id: Type.String(),
    tracking_id: Type.String(),
    subject: Type.String(),
    status: Type.Union(['requested', 'scheduled', 'rescheduled', 'completed', 'canceled', 'no_show'].map((s) => Type.Literal(s))),
    activity_status: Type.String(),
    creation_time: Type.String(),
    starting_time: Type.String(),
    last_updated_time: Type.String(),
    duration_minutes: Type.Integer(),
    customer_timezone: Type.String(),
    owner: User,
    booking_page: Type.String(),
    event_type: Type.Union([Type.String(), Type.Null()]),
    location_description: Type.Union([Type.String(), Type.Null()]),
    virtual_conferencing: Type.Union([Type.Object({ join_url: Type.String() }), Type.Null()]),
    attendees: Type.Array(Type.String()),
    form_submission: FormSubmissionPayload,
    cancel_reschedule_information: Type.Union([
      Type.Object({ reason: Type.Union([Type.String(), Type.Null()]), actioned_by: Actor, user_id: Type.Union([Type.String(), Type.Null()]) }),
      Type.Null(),
    ]),
    rescheduled_booking_id: Type.Union([Type.String(), Type.Null()]),
    cancel_reschedule_url: Type.Union([Type.String(), Type.Null()]),
    session_package: Type.Union([Type.Object({ id: Type.String(), index: Type.Integer(), size: Type.Integer() }), Type.Null()]),
    conversation: Type.Union([Type.String(), Type.Null()]),
    lifecycle: Type.Optional(
      Type.Object({
        closed: Type.Boolean(),
        pending_request: Type.Union([
          Type.Object({ kind: Type.String(), starting_time: Type.String(), duration_minutes: Type.Integer() }),
          Type.Null(),
        ]),
        salesforce: Type.Object({}, { additionalProperties: true }),
        ignored_signals: Type.Array(Type.Object({ signal: Type.String(), reason: Type.String(), at: Type.String() })),
      }),
    ),
  },
  { title: 'Booking' },
);

export const LifecycleEvent = Type.Object(
  {
    id: Type.String(),
    seq: Type.Integer(),
    type: Type.String(),
    creation_time: Type.String(),
    webhook: Type.Boolean(),
    booking: Type.Object({}, { additionalProperties: true }),
  },
  { title: 'LifecycleEvent' },
);

/** What a list row can say without opening each workflow: read from visibility (search attributes). */
export const BookingSummary = Type.Object(
  {
    object: Type.Literal('booking_summary'),
    id: Type.String(),
    status: Type.String(),
    owner_user_id: Type.Union([Type.String(), Type.Null()]),
    booking_page: Type.Union([Type.String(), Type.Null()]),
    starting_time: Type.Union([Type.String(), Type.Null()]),
    session_package: Type.Union([Type.String(), Type.Null()]),
    workflow_status: Type.String(),
  },
  { title: 'BookingSummary' },
);

export const ListBookingsQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(['requested', 'scheduled', 'rescheduled', 'completed', 'canceled', 'no_show'].map((s) => Type.Literal(s)))),
    owner_user_id: Type.Optional(UserId),
    booking_page_id: Type.Optional(PageId),
    package_id: Type.Optional(Type.String({ pattern: '^PKG-[A-Za-z0-9_-]{1,64}$' })),
    starting_after: Type.Optional(DateTime),
    starting_before: Type.Optional(DateTime),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 4000, pattern: '^[A-Za-z0-9_-]+$', description: 'next_cursor of the previous page' })),
  },
  { additionalProperties: false },
);

export const BookingList = Type.Object(
  {
    object: Type.Literal('list'),
    data: Type.Array(BookingSummary),
    has_more: Type.Boolean(),
    next_cursor: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

export const SessionPackage = Type.Object(
  { object: Type.Literal('session_package'), id: Type.String(), bookings: Type.Array(Booking) },
  { title: 'SessionPackage' },
);

const Empty = Type.Object({}, { additionalProperties: false });
export const ActionBodies = {
  approve: Empty,
  decline: Type.Object({ reason: Reason }, { additionalProperties: false }),
  reschedule: Type.Object(
    {
      starting_time: DateTime,
      duration_minutes: Type.Optional(Duration),
      reason: Reason,
      actioned_by: Type.Optional(Actor),
      owner_user_id: Type.Optional(UserId),
      booking_page_id: Type.Optional(PageId),
    },
    { additionalProperties: false },
  ),
  requestReschedule: Type.Object({ reason: Reason, user_id: Type.Optional(UserId) }, { additionalProperties: false }),
  cancel: Type.Object({ reason: Reason, actioned_by: Actor, user_id: Type.Optional(UserId) }, { additionalProperties: false }),
  noShow: Type.Object({ user_id: Type.Optional(UserId) }, { additionalProperties: false }),
  reassign: Type.Object({ owner_user_id: UserId, booking_page_id: Type.Optional(PageId), reason: Reason }, { additionalProperties: false }),
};


export const bookingRoutes = {
  create: {
    summary: 'Create a booking (or a booking request on an approval page)',
    headers: IdempotencyHeaders,
    body: CreateBooking,
    response: { 200: Booking, 201: Booking, ...errorResponses },
  },
  createPackage: {
    summary: 'Book a session package: 1 to 20 bookings on an automatic booking page',
    headers: IdempotencyHeaders,
    body: CreateSessionPackage,
    response: { 200: SessionPackage, 201: SessionPackage, ...errorResponses },
  },
  list: { summary: 'List bookings through Temporal visibility', querystring: ListBookingsQuery, response: { 200: BookingList, ...errorResponses } },
  get: { summary: 'Get one booking', params: BookingIdParam, response: { 200: Booking, ...errorResponses } },
  events: {
    summary: 'The lifecycle events of one booking, in order',
    params: BookingIdParam,
    response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(LifecycleEvent), has_more: Type.Boolean() }), ...errorResponses },
  },
  action: <B extends TSchema>(summary: string, body: B) => ({
    summary,
    params: BookingIdParam,
    headers: IdempotencyHeaders,
    body,
    response: { 200: Booking, 201: Booking, ...errorResponses },
  }),
};
