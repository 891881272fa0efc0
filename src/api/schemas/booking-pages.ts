/** TypeBox schemas of the booking pages API: the booking page object, bodies and per-route responses. */
import { Type, type Static } from '@sinclair/typebox';
import { BOOKING_PAGE_ID_PREFIX, USER_ID_PREFIX } from '../../shared/booking-contract';
import { CursorQuery, IdParam, ListOf, Text, errorResponses } from './common';

const Name = Text({ minLength: 1, maxLength: 200 });
const Mode = Type.Union([Type.Literal('automatic'), Type.Literal('approval')], {
  description: "'automatic' books at once; 'approval' waits for the owner to approve each request",
});
const OwnerUserId = Type.String({ pattern: `^${USER_ID_PREFIX}[A-Za-z0-9_-]{1,64}$`, description: 'USR-…' });
const RelateTo = Type.Union([Type.Literal('lead'), Type.Literal('contact'), Type.Literal('case')]);

/** Salesforce connector settings (lifecycle.md section 7). */
export const SalesforceSettings = Type.Object(
  {
    connected: Type.Boolean(),
    create_activity_event: Type.Boolean({ description: 'false: write nothing to Salesforce (calendar already synced by another tool)' }),
    relate_to: RelateTo,
    create_missing_record: Type.Boolean({ description: 'Create the Lead/Contact when no record matches the customer email' }),
  },
  { additionalProperties: false, title: 'SalesforceSettings' },
);

/** Any subset of the settings; what is left out keeps its current (or default) value. */
export const SalesforceSettingsPatch = Type.Partial(SalesforceSettings, { additionalProperties: false, title: 'SalesforceSettingsPatch' });

/** The booking page object. */
export const BookingPage = Type.Object(
  {
    object: Type.Literal('booking_page'),
    id: Type.String({ description: 'BP-…' }),
    name: Type.String(),
    owner_user_id: Type.String(),
    mode: Mode,
    salesforce: SalesforceSettings,
    creation_time: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false, title: 'BookingPage' },
);
export type BookingPage = Static<typeof BookingPage>;

export const CreateBookingPage = Type.Object(
  {
    name: Name,
    owner_user_id: OwnerUserId,
    mode: Type.Optional(Type.Union([Type.Literal('automatic'), Type.Literal('approval')], { default: 'automatic' })),
    salesforce: Type.Optional(SalesforceSettingsPatch),
  },
  { additionalProperties: false, title: 'CreateBookingPage' },
);
export type CreateBookingPage = Static<typeof CreateBookingPage>;

export const UpdateBookingPage = Type.Object(
  {
    name: Type.Optional(Name),
    owner_user_id: Type.Optional(OwnerUserId),
    mode: Type.Optional(Mode),
    salesforce: Type.Optional(SalesforceSettingsPatch),
  },
  { additionalProperties: false, title: 'UpdateBookingPage' },
);
export type UpdateBookingPage = Static<typeof UpdateBookingPage>;

export const BookingPageIdParam = IdParam(BOOKING_PAGE_ID_PREFIX);

export const DeletedBookingPage = Type.Object(
  { id: Type.String(), deleted: Type.Literal(true) },
  { additionalProperties: false, title: 'DeletedBookingPage' },
);

const e = errorResponses;

/** Route schemas, each declaring exactly the statuses its route can answer. */
export const bookingPageRoutes = {
  create: {
    tags: ['booking pages'],
    summary: 'Create a booking page',
    body: CreateBookingPage,
    response: { 201: BookingPage, 400: e[400], 401: e[401], 500: e[500] },
  },
  list: {
    tags: ['booking pages'],
    summary: 'List booking pages, newest first',
    querystring: CursorQuery,
    response: { 200: ListOf(BookingPage), 400: e[400], 401: e[401], 500: e[500] },
  },
  get: {
    tags: ['booking pages'],
    summary: 'Retrieve a booking page',
    params: BookingPageIdParam,
    response: { 200: BookingPage, 400: e[400], 401: e[401], 404: e[404], 500: e[500] },
  },
  update: {
    tags: ['booking pages'],
    summary: 'Update a booking page (running bookings keep the snapshot they started with)',
    params: BookingPageIdParam,
    body: UpdateBookingPage,
    response: { 200: BookingPage, 400: e[400], 401: e[401], 404: e[404], 500: e[500] },
  },
  delete: {
    tags: ['booking pages'],
    summary: 'Delete a booking page',
    params: BookingPageIdParam,
    response: { 200: DeletedBookingPage, 400: e[400], 401: e[401], 404: e[404], 500: e[500] },
  },
} as const;
