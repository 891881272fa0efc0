/**
 * /v2/bookings: create (with Idempotency-Key), session packages, get, list through visibility, the
 * lifecycle events, and one endpoint per user or customer action.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { temporal } from '@temporalio/proto';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import {
  BookingOwnerSA,
  BookingPackageSA,
  BookingPageSA,
  BookingStatusSA,
  MeetingStartSA,
  type BookingAction,
  type BookingView,
} from '../../../shared/booking-contract';
import { createBookingService, type NewBooking } from '../../../bookings/booking-service';
import { completeFormSubmission } from '../../../domain/booking/presentation';
import { createIdempotency } from '../../idempotency';
import { ApiError } from '../../plugins/errors';
import { ActionBodies, bookingRoutes } from '../../schemas/bookings';

/** The API's booking object: the spec's shape plus what the workflow knows beyond it. */
export function bookingResponse(view: BookingView) {
  return {
    ...view.booking,
    // Runs recorded before the form carried every field (a closed one's result, an older run's answer) read the same.
    form_submission: completeFormSubmission(view.booking.form_submission),
    lifecycle: {
      closed: view.closed,
      pending_request: view.pending_request,
      salesforce: { ...view.salesforce },
      ignored_signals: view.ignored_signals,
    },
  };
}

/** Visibility query text for the list filters; values are validated by schema, quotes escaped anyway. */
export function visibilityQuery(q: {
  status?: string;
  owner_user_id?: string;
  booking_page_id?: string;
  package_id?: string;
  starting_after?: string;
  starting_before?: string;
}): string {
  const lit = (s: string) => `'${s.replace(/'/g, "\\'")}'`;
  const parts = [`WorkflowType = 'bookingWorkflow'`];
  if (q.status) parts.push(`${BookingStatusSA.name} = ${lit(q.status)}`);
  if (q.owner_user_id) parts.push(`${BookingOwnerSA.name} = ${lit(q.owner_user_id)}`);
  if (q.booking_page_id) parts.push(`${BookingPageSA.name} = ${lit(q.booking_page_id)}`);
  if (q.package_id) parts.push(`${BookingPackageSA.name} = ${lit(q.package_id)}`);
  if (q.starting_after) parts.push(`${MeetingStartSA.name} >= ${lit(new Date(q.starting_after).toISOString())}`);
  if (q.starting_before) parts.push(`${MeetingStartSA.name} < ${lit(new Date(q.starting_before).toISOString())}`);
  return parts.join(' AND ');
}

/**
 * Visibility page tokens (SQL and Elasticsearch stores alike) are JSON objects. Anything else is refused here:
 * the server answers an unreadable token with a masked UNKNOWN error that the client retries for ~20 s, then a 500.
 */
function isJsonObject(bytes: Uint8Array): boolean {
  try {
    const v: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    return typeof v === 'object' && v !== null;
  } catch {
    return false;
  }
}

type RawExecution = temporal.api.workflow.v1.IWorkflowExecutionInfo;

/**
 * A booking may start at most BOOKING_HORIZON_DAYS ahead: a start in year 9999 was accepted and became a
 * durable timer 8,000 years out.
 */
export function assertWithinHorizon(startingTime: string, param: string, horizonDays: number, now = Date.now()): void {
  const limit = now + horizonDays * 24 * 3600_000;
  if (Date.parse(startingTime) > limit) {
    throw ApiError.badRequest(`${param} must be at most ${horizonDays} days ahead (before ${new Date(limit).toISOString()})`, param);
  }
}

/** A list row from a raw visibility record: the search attributes say enough without a query per booking. */
function summary(w: RawExecution) {
  const sa = decodeTypedSearchAttributes(w.searchAttributes?.indexedFields);
  const start = sa.get(MeetingStartSA);
  return {
    object: 'booking_summary' as const,
    id: w.execution?.workflowId ?? '',
    status: sa.get(BookingStatusSA) ?? 'unknown',
    owner_user_id: sa.get(BookingOwnerSA) ?? null,
    booking_page: sa.get(BookingPageSA) ?? null,
    starting_time: start ? start.toISOString() : null,
    session_package: sa.get(BookingPackageSA) ?? null,
    workflow_status: temporal.api.enums.v1.WorkflowExecutionStatus[w.status ?? 0]?.replace('WORKFLOW_EXECUTION_STATUS_', '') ?? 'UNSPECIFIED',
  };
}

const bookingsPlugin: FastifyPluginAsyncTypebox = async (app) => {
  const service = createBookingService(app.deps);
  const idempotency = createIdempotency(app.deps.db);
  const horizonDays = app.deps.config.booking.horizonDays;

  app.post('', { schema: bookingRoutes.create }, async (request, reply) => {
    assertWithinHorizon(request.body.starting_time, 'starting_time', horizonDays);
    const { result, replayed } = await idempotency.create(
      'booking.create',
      request.headers['idempotency-key'],
      request.body,
      service.newBookingId,
      (id) => service.create(request.body as NewBooking, id),
      (id) => service.get(id),
    );
    return reply.code(replayed ? 200 : 201).send(bookingResponse(result));
  });

  app.post('/packages', { schema: bookingRoutes.createPackage }, async (request, reply) => {
    request.body.sessions.forEach((s, i) => assertWithinHorizon(s.starting_time, `sessions.${i}.starting_time`, horizonDays));
    const { result, replayed } = await idempotency.create(
      'booking.package',
      request.headers['idempotency-key'],
      request.body,
      () => `PKG-${service.newBookingId().slice(5)}`,
      (id) => service.createPackage(request.body as never, id),
      (id) => service.createPackage(request.body as never, id),
    );
    return reply
      .code(replayed ? 200 : 201)
      .send({ object: 'session_package' as const, id: result.id, bookings: result.views.map(bookingResponse) });
  });

  app.get('', { schema: bookingRoutes.list }, async (request) => {
    const { limit = 10, cursor, ...filters } = request.query;
    if (filters.starting_after && filters.starting_before && Date.parse(filters.starting_after) >= Date.parse(filters.starting_before)) {
      throw ApiError.badRequest('starting_after must be before starting_before', 'starting_after');
    }
    let nextPageToken: Uint8Array | undefined;
    if (cursor) {
      nextPageToken = Buffer.from(cursor, 'base64url');
      if (nextPageToken.length === 0 || !isJsonObject(nextPageToken)) throw ApiError.badRequest('Invalid cursor', 'cursor');
    }
    const svc = app.deps.temporal.workflowService;
    let res;
    try {
      res = await svc.listWorkflowExecutions({
        namespace: app.deps.config.temporal.namespace,
        query: visibilityQuery(filters),
        pageSize: limit,
        nextPageToken,
      });
    } catch (err) {
      // A cursor the server cannot read comes back as INVALID_ARGUMENT (gRPC 3) whatever its message says.
      const invalid = (err as { code?: unknown }).code === 3 || /token|cursor|invalid/i.test(String((err as Error).message));
      if (cursor && invalid) throw ApiError.badRequest('Invalid cursor', 'cursor');
      throw err;
    }
    const rows = res.executions ?? [];
    const token = res.nextPageToken && res.nextPageToken.length > 0 ? Buffer.from(res.nextPageToken).toString('base64url') : null;
    return { object: 'list' as const, data: rows.map(summary), has_more: token !== null, next_cursor: token };
  });

  app.get('/:id', { schema: bookingRoutes.get }, async (request) => bookingResponse(await service.get(request.params.id)));

  app.get('/:id/events', { schema: bookingRoutes.events }, async (request) => {
    const view = await service.get(request.params.id);
    const data = view.events.map((e) => ({ ...e, booking: { ...e.booking, form_submission: completeFormSubmission(e.booking.form_submission) } }));
    return { object: 'list' as const, data, has_more: false };
  });

  type ActionRequest = { params: { id: string }; headers: { 'idempotency-key'?: string }; body?: unknown };
  /**
   * Answers an action under the request's Idempotency-Key: the workflow update carries an id the key fixes, so a
   * retry is deduplicated by the server, and once answered the retry gets the first answer (status and body).
   */
  async function keyed(r: ActionRequest, reply: FastifyReply, name: string, run: (updateId?: string) => Promise<{ status: number; body: unknown }>) {
    const request = { booking: r.params.id, action: name, body: r.body ?? null };
    const { result } = await idempotency.action('booking.action', r.headers['idempotency-key'], request, run);
    return reply.code(result.status).send(result.body);
  }
  const act = (id: string, action: BookingAction) => async (updateId?: string) => ({ status: 200, body: bookingResponse(await service.act(id, action, updateId)) });

  app.post('/:id/approve', { schema: bookingRoutes.action('Approve a booking request or a pending reschedule', ActionBodies.approve) }, async (r, reply) =>
    keyed(r, reply, 'approve', act(r.params.id, { kind: 'approve' })),
  );
  app.post('/:id/decline', { schema: bookingRoutes.action('Decline a booking request or a pending reschedule', ActionBodies.decline) }, async (r, reply) =>
    keyed(r, reply, 'decline', act(r.params.id, { kind: 'decline', reason: r.body?.reason ?? null })),
  );
  app.post(
    '/:id/reschedule',
    {
      schema: bookingRoutes.action(
        'Reschedule; with another owner_user_id or booking_page_id the customer rebooks: a new booking replaces this one (201)',
        ActionBodies.reschedule,
      ),
    },
    async (r, reply) => {
      const b = r.body;
      assertWithinHorizon(b.starting_time, 'starting_time', horizonDays);
      return keyed(r, reply, 'reschedule', async (updateId) => {
        // Only a body naming an owner or a page can mean a rebook, and only then is the booking read first (a
        // query) to compare; a plain reschedule goes straight to the update, whose result is the answer.
        if (b.owner_user_id !== undefined || b.booking_page_id !== undefined) {
          const current = await service.get(r.params.id);
          const otherOwner = b.owner_user_id !== undefined && b.owner_user_id !== current.booking.owner.id;
          const otherPage = b.booking_page_id !== undefined && b.booking_page_id !== current.booking.booking_page;
          if (otherOwner || otherPage) return { status: 201, body: bookingResponse(await service.rebook(r.params.id, b)) };
        }
        const action: BookingAction = {
          kind: 'reschedule',
          startTime: new Date(b.starting_time).toISOString(),
          durationMinutes: b.duration_minutes,
          reason: b.reason ?? null,
          actionedBy: b.actioned_by ?? 'customer',
        };
        return act(r.params.id, action)(updateId);
      });
    },
  );
  app.post(
    '/:id/request-reschedule',
    { schema: bookingRoutes.action('The user asks the customer to pick a new time', ActionBodies.requestReschedule) },
    async (r, reply) => keyed(r, reply, 'request-reschedule', act(r.params.id, { kind: 'requestReschedule', reason: r.body?.reason ?? null, userId: r.body?.user_id ?? null })),
  );
  app.post('/:id/cancel', { schema: bookingRoutes.action('Cancel, by the customer or the user', ActionBodies.cancel) }, async (r, reply) =>
    keyed(r, reply, 'cancel', act(r.params.id, { kind: 'cancel', reason: r.body.reason ?? null, actionedBy: r.body.actioned_by, userId: r.body.user_id ?? null })),
  );
  app.post('/:id/no-show', { schema: bookingRoutes.action('Mark a completed meeting as no-show', ActionBodies.noShow) }, async (r, reply) =>
    keyed(r, reply, 'no-show', act(r.params.id, { kind: 'noShow', userId: r.body?.user_id ?? null })),
  );
  app.post('/:id/reassign', { schema: bookingRoutes.action('Reassign to another user (and booking page)', ActionBodies.reassign) }, async (r, reply) =>
    keyed(r, reply, 'reassign', async (updateId) => {
      const owner = await service.resolveUser(r.body.owner_user_id, 'owner_user_id');
      const page = r.body.booking_page_id ? await service.resolvePage(r.body.booking_page_id, 'booking_page_id') : null;
      return act(r.params.id, { kind: 'reassign', owner, page, reason: r.body.reason ?? null })(updateId);
    }),
  );
};

export default bookingsPlugin;
