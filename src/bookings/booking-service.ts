/**
 * What the booking API does beyond validation: resolve pages and users into the snapshots a workflow
 * carries, start booking workflows (REJECT_DUPLICATE, search attributes and UI summary set at start),
 * send actions through the validated update, and read bookings without depending on replay: a closed run
 * answers from its result, only a running one through the query.
 */
import { randomBytes } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Config } from '../config';
import {
  applyActionUpdate,
  BOOKING_ID_PREFIX,
  BookingOwnerSA,
  BookingPackageSA,
  BookingPageSA,
  BookingStatusSA,
  getBookingQuery,
  MeetingStartSA,
  PACKAGE_ID_PREFIX,
  type Actor,
  type BookingAction,
  type BookingInput,
  type BookingPageSnapshot,
  type BookingView,
  type FormSubmission,
  type SalesforceRecordRef,
  type SessionPackageRef,
  type UserSnapshot,
} from '../shared/booking-contract';
import { bookingLinkedSignal, conversationWorkflowId } from '../shared/conversation-contract';
import { initialState } from '../domain/booking/state-machine';
import { bookingSummary, bookingView, initialSalesforceState } from '../domain/booking/booking-object';
import type { Db } from '../store/db';
import { createBookingPagesRepository, toSnapshot } from '../store/booking-pages-repository';
import { createUsersRepository, toUserSnapshot } from '../store/users-repository';
import { NotFoundError } from '../store/repository-errors';
import { ApiError } from '../api/plugins/errors';
import { readWorkflowView } from '../temporal/read-view';
import type { bookingWorkflow } from '../../workflows/booking';

/** Fields of a new booking as the API received them. */
export interface NewBooking {
  booking_page_id: string;
  starting_time: string;
  duration_minutes: number;
  customer_timezone: string;
  subject?: string;
  event_type?: string | null;
  location_description?: string | null;
  join_url?: string | null;
  attendees?: string[];
  form_submission: FormSubmission;
  salesforce_record?: SalesforceRecordRef | null;
  conversation_id?: string | null;
  cancel_reschedule_url?: string | null;
}

/** Crockford-style random id body; ids are opaque, prefixes say their kind. */
function randomId(prefix: string): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  const bytes = randomBytes(16);
  let s = '';
  for (const b of bytes) s += alphabet[b % 32];
  return prefix + s;
}

export function newBookingId(): string {
  return randomId(BOOKING_ID_PREFIX);
}

export function createBookingService(deps: { config: Config; db: Db; temporal: Client; eagerWorkflowStart?: boolean }) {
  const { config, temporal } = deps;
  const pages = createBookingPagesRepository(deps.db);
  const users = createUsersRepository(deps.db);

  async function pageSnapshot(id: string, param: string): Promise<BookingPageSnapshot> {
    const page = await pages.find(id);
    if (!page) throw ApiError.badRequest(`No such booking page: '${id}'`, param);
    return toSnapshot(page);
  }

  async function userSnapshot(id: string, param: string): Promise<UserSnapshot> {
    try {
      return toUserSnapshot(await users.get(id));
    } catch (err) {
      if (err instanceof NotFoundError) throw ApiError.badRequest(`No such user: '${id}'`, param);
      throw err;
    }
  }

  function handle(id: string): WorkflowHandle<typeof bookingWorkflow> {
    return temporal.workflow.getHandle<typeof bookingWorkflow>(id);
  }

  function notFound(id: string): ApiError {
    return ApiError.notFound(`No such booking: '${id}'`);
  }

  async function read(id: string): Promise<BookingView> {
    try {
      return await readWorkflowView(temporal, id, getBookingQuery, `Booking '${id}'`);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound(id);
      throw err;
    }
  }

  /** Builds the workflow input; rejects a start time in the past before anything is started. */
  async function buildInput(
    body: NewBooking,
    extra: { bookingId: string; sessionPackage?: SessionPackageRef | null; rebookOf?: BookingInput['rebookOf']; owner?: UserSnapshot; page?: BookingPageSnapshot },
  ): Promise<BookingInput> {
    const page = extra.page ?? (await pageSnapshot(body.booking_page_id, 'booking_page_id'));
    const owner = extra.owner ?? (await userSnapshot(page.owner_user_id, 'booking_page_id'));
    if (Date.parse(body.starting_time) <= Date.now()) throw ApiError.badRequest('starting_time must be in the future', 'starting_time');
    return {
      bookingId: extra.bookingId,
      trackingId: extra.bookingId.slice(BOOKING_ID_PREFIX.length, BOOKING_ID_PREFIX.length + 10),
      createdAt: new Date().toISOString(),
      page,
      owner,
      startTime: new Date(body.starting_time).toISOString(),
      durationMinutes: body.duration_minutes,
      customerTimezone: body.customer_timezone,
      subject: body.subject ?? `${page.name} with ${owner.name}`,
      eventType: body.event_type ?? null,
      locationDescription: body.location_description ?? null,
      joinUrl: body.join_url ?? null,
      attendees: body.attendees ?? [body.form_submission.email],
      form: body.form_submission,
      salesforceRecord: body.salesforce_record ?? null,
      sessionPackage: extra.sessionPackage ?? null,
      conversationId: body.conversation_id ?? null,
      cancelRescheduleUrl: body.cancel_reschedule_url ?? null,
      rebookOf: extra.rebookOf ?? null,
      settings: {
        noShowWindowMinutes: config.booking.noShowWindowMinutes,
        rescheduleRequestTtlMinutes: config.booking.rescheduleRequestTtlMinutes,
        indexSearchAttributes: true,
      },
    };
  }

  /**
   * Starts the booking's workflow; the search attributes are set at start so lists see it at once. With
   * eagerWorkflowStart (npm start), the server hands the first workflow task back with the start's answer, to the
   * worker of this process, when that worker has a free slot; else it goes through matching as without.
   */
  async function start(input: BookingInput): Promise<BookingView> {
    const first = initialState(input, Date.now()).state;
    await temporal.workflow.start<typeof bookingWorkflow>('bookingWorkflow', {
      workflowId: input.bookingId,
      taskQueue: config.temporal.taskQueue,
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      requestEagerStart: deps.eagerWorkflowStart === true,
      staticSummary: bookingSummary(first),
      typedSearchAttributes: new TypedSearchAttributes([
        { key: BookingStatusSA, value: first.status },
        { key: BookingOwnerSA, value: input.owner.id },
        { key: BookingPageSA, value: input.page.id },
        { key: MeetingStartSA, value: new Date(input.startTime) },
        ...(input.sessionPackage ? [{ key: BookingPackageSA, value: input.sessionPackage.id }] : []),
      ]),
    });
    if (input.conversationId) {
      // The conversation lists the bookings made during it; a conversation that has ended ignores this.
      await temporal.workflow
        .getHandle(conversationWorkflowId(input.conversationId))
        .signal(bookingLinkedSignal, { bookingId: input.bookingId })
        .catch(() => undefined);
    }
    // The answer is the state the workflow starts in, computed by the same pure function from the same input:
    // no query, so a create never fails (or waits) after its booking exists because the worker is busy.
    return bookingView(first, { events: [], salesforce: initialSalesforceState(input.page), ignored: [] });
  }

  return {
    newBookingId,
    buildInput,
    start,

    /** Creates one booking, or (approval page) one request. */
    async create(body: NewBooking, bookingId: string = newBookingId()): Promise<BookingView> {
      return start(await buildInput(body, { bookingId }));
    },

    /** Books every session of a package on an automatic page; each is an ordinary booking of its own. */
    async createPackage(body: NewBooking & { sessions: { starting_time: string; duration_minutes: number }[] }, packageId = randomId(PACKAGE_ID_PREFIX)) {
      const page = await pageSnapshot(body.booking_page_id, 'booking_page_id');
      if (page.mode !== 'automatic') throw ApiError.badRequest('Session packages can be booked only on an automatic booking page', 'booking_page_id');
      const owner = await userSnapshot(page.owner_user_id, 'booking_page_id');
      const inputs: BookingInput[] = [];
      for (const [index, s] of body.sessions.entries()) {
        inputs.push(
          await buildInput(
            { ...body, starting_time: s.starting_time, duration_minutes: s.duration_minutes },
            { bookingId: `${packageId.replace(PACKAGE_ID_PREFIX, BOOKING_ID_PREFIX)}-${index + 1}`, sessionPackage: { id: packageId, index: index + 1, size: body.sessions.length }, owner, page },
          ),
        );
      }
      const views: BookingView[] = [];
      for (const input of inputs) {
        try {
          views.push(await start(input));
        } catch (err) {
          // A retried package request finds the sessions it already started.
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          views.push(await read(input.bookingId));
        }
      }
      return { id: packageId, views };
    },

    /** The booking's view: a closed run's result, a running one's query; 404, 410 or 503 naming it otherwise. */
    async get(id: string): Promise<BookingView> {
      return read(id);
    },

    /** Sends one action through the validated update: a refusal is a 409 with the workflow's reason. */
    async act(id: string, action: BookingAction, updateId?: string): Promise<BookingView> {
      const h = handle(id);
      try {
        // An update id (from an Idempotency-Key) makes the server apply a retried action once.
        return await h.executeUpdate(applyActionUpdate, { args: [action], ...(updateId ? { updateId } : {}) });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          // Either unknown, or its run has ended: tell the two apart.
          const closed = await h.describe().then(
            (d) => d.status.name !== 'RUNNING',
            () => false,
          );
          if (closed) throw ApiError.conflict(`Booking '${id}' is closed; no further action is possible`);
          throw notFound(id);
        }
        throw err;
      }
    },

    /** Customer rebooks with a different user or page: the new booking replaces (and cancels) the old one. */
    async rebook(
      oldId: string,
      change: { starting_time: string; duration_minutes?: number; reason?: string | null; actioned_by?: Actor; owner_user_id?: string; booking_page_id?: string },
    ): Promise<BookingView> {
      const old = await this.get(oldId);
      const allowed = !old.closed && (old.booking.status === 'scheduled' || old.booking.status === 'rescheduled' || old.booking.status === 'canceled');
      if (!allowed) throw ApiError.conflict(`Booking '${oldId}' cannot be rescheduled: it is ${old.closed ? 'closed' : old.booking.status}`);
      const page = await pageSnapshot(change.booking_page_id ?? old.booking.booking_page, 'booking_page_id');
      const owner = await userSnapshot(change.owner_user_id ?? page.owner_user_id, 'owner_user_id');
      const b = old.booking;
      const input = await buildInput(
        {
          booking_page_id: page.id,
          starting_time: change.starting_time,
          duration_minutes: change.duration_minutes ?? b.duration_minutes,
          customer_timezone: b.customer_timezone,
          subject: b.subject,
          event_type: b.event_type,
          location_description: b.location_description,
          join_url: b.virtual_conferencing?.join_url ?? null,
          attendees: b.attendees,
          form_submission: b.form_submission,
          conversation_id: b.conversation,
          cancel_reschedule_url: b.cancel_reschedule_url,
          salesforce_record: old.events.find((e) => e.salesforce_record)?.salesforce_record ?? null,
        },
        {
          bookingId: newBookingId(),
          owner,
          page,
          rebookOf: {
            bookingId: oldId,
            reason: change.reason ?? null,
            actionedBy: change.actioned_by ?? 'customer',
            pageConnectedToSalesforce: old.salesforce.state !== 'disabled',
          },
        },
      );
      return start(input);
    },

    async resolveUser(id: string, param: string) {
      return userSnapshot(id, param);
    },
    async resolvePage(id: string, param: string) {
      return pageSnapshot(id, param);
    },
  };
}

export type BookingService = ReturnType<typeof createBookingService>;
