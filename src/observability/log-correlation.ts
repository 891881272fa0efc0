/**
 * Log lines that correlate: every line about a booking carries its ids under the same names, wherever it is logged.
 *
 *   bookingId, conversationId   the booking (BKNG-…) or conversation (CVR-…)
 *   runId                       the workflow run (Temporal's `workflowRunId` on activity lines)
 *   eventId                     the lifecycle event (webhook envelope id)
 *   deliveryId, subscriptionId  one event to one subscription (DLVR-…), and the subscription (WHK-…)
 *   trace_id, span_id           the active span, with tracing on (the names Temporal's OpenTelemetry interceptors use)
 *
 * Three places add them: correlateMeta (the worker's runtime logger: workflow and activity lines, from the workflow
 * id), the activity interceptor below (from the activity's input), and registerRequestLogIds (the API's request
 * lines, from the route's `:id` and the id a POST created).
 */
import type { Context as ActivityContext } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BOOKING_ID_PREFIX } from '../shared/booking-contract';
import { CONVERSATION_ID_PREFIX } from '../shared/conversation-contract';

const DELIVERY_ID_PREFIX = 'DLVR-';
const SUBSCRIPTION_ID_PREFIX = 'WHK-';

type Ids = Partial<Record<'bookingId' | 'conversationId' | 'runId' | 'eventId' | 'deliveryId' | 'subscriptionId', string>>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** The booking, conversation or delivery a workflow (or an entity) id names, by its prefix. */
export function idsFromEntityId(id: string | undefined): Ids {
  if (!id) return {};
  if (id.startsWith(BOOKING_ID_PREFIX)) return { bookingId: id };
  if (id.startsWith(CONVERSATION_ID_PREFIX)) return { conversationId: id };
  if (id.startsWith(DELIVERY_ID_PREFIX)) return { deliveryId: id };
  if (id.startsWith(SUBSCRIPTION_ID_PREFIX)) return { subscriptionId: id };
  return {};
}

/** Fills in what is missing of `into` from `from`, keeping what `into` has. */
function fill(into: Record<string, unknown>, from: Ids): void {
  for (const [k, v] of Object.entries(from)) if (into[k] === undefined && v !== undefined) into[k] = v;
}

/**
 * The worker's runtime logger's metadata with the correlation ids added: the booking, conversation or delivery its
 * workflow id names, and `runId` for an activity's `workflowRunId`. What the line itself says wins.
 */
export function correlateMeta(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...meta };
  fill(out, idsFromEntityId(str(out.workflowId)));
  if (out.runId === undefined && str(out.workflowRunId)) out.runId = out.workflowRunId;
  return out;
}

/**
 * The ids an activity's input names: deliveryId and subscriptionId (delivery activities), bookingId (the Salesforce
 * sync), the event's id (an envelope's or a lifecycle event's), and the booking or conversation the event is about.
 */
export function idsFromActivityInput(args: readonly unknown[]): Ids {
  const input = args[0];
  if (!input || typeof input !== 'object') return {};
  const o = input as Record<string, unknown>;
  const envelope = (o.envelope ?? undefined) as Record<string, unknown> | undefined;
  const event = (o.event ?? undefined) as Record<string, unknown> | undefined;
  const data = (envelope?.data ?? undefined) as Record<string, unknown> | undefined;
  const ids: Ids = {
    bookingId: str(o.bookingId),
    deliveryId: str(o.deliveryId),
    subscriptionId: str(o.subscriptionId),
    eventId: str(o.eventId) ?? str(envelope?.id) ?? str(event?.id),
  };
  fill(ids as Record<string, unknown>, idsFromEntityId(str(o.sourceWorkflowId)));
  fill(ids as Record<string, unknown>, idsFromEntityId(str(data?.id)));
  for (const k of Object.keys(ids) as (keyof Ids)[]) if (ids[k] === undefined) delete ids[k];
  return ids;
}

/**
 * Activity interceptors that add the ids of the activity's input (idsFromActivityInput) and of its workflow to every
 * line the activity logs (`log` of @temporalio/activity, Context.log).
 */
export const correlationActivityInterceptors: ActivityInterceptorsFactory = (ctx: ActivityContext) => {
  const wf = ctx.info.workflowExecution;
  let ids: Ids = { ...idsFromEntityId(wf?.workflowId), runId: wf?.runId };
  return {
    inbound: {
      async execute(input, next) {
        ids = { ...ids, ...idsFromActivityInput(input.args) };
        return next(input);
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        const out: Record<string, unknown> = { ...input };
        fill(out, ids);
        return next(out);
      },
    },
  };
};

/** Routes whose `:id` names an entity of the log's ids, and POST routes whose answer's `id` is the entity created. */
const ID_ROUTES: [prefix: string, key: keyof Ids][] = [
  ['/v2/bookings/:id', 'bookingId'],
  ['/v2/conversations/:id', 'conversationId'],
  ['/v2/webhooks/:id', 'subscriptionId'],
];
const CREATE_ROUTES: Record<string, keyof Ids> = {
  '/v2/bookings': 'bookingId',
  '/v2/conversations': 'conversationId',
  '/v2/webhooks': 'subscriptionId',
};

function withIds(request: FastifyRequest, reply: FastifyReply, ids: Ids): void {
  const child = request.log.child(ids);
  request.log = child;
  reply.log = child;
}

/**
 * Adds the id a request is about to its log lines ("incoming request" excepted: it is logged before routing): the
 * route's `:id` (bookingId for /v2/bookings/:id/…, conversationId, subscriptionId), and for a POST that creates one,
 * the created id on "request completed".
 */
export function registerRequestLogIds(app: FastifyInstance): void {
  app.addHook('preHandler', async (request, reply) => {
    const route = request.routeOptions.url ?? '';
    const id = str((request.params as Record<string, unknown> | undefined)?.id);
    if (!id) return;
    const match = ID_ROUTES.find(([prefix]) => route === prefix || route.startsWith(`${prefix}/`));
    if (match) withIds(request, reply, { [match[1]]: id });
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const key = request.method === 'POST' ? CREATE_ROUTES[request.routeOptions.url ?? ''] : undefined;
    if (!key || reply.statusCode >= 300 || typeof payload !== 'string') return payload;
    try {
      const id = str((JSON.parse(payload) as Record<string, unknown>).id);
      if (id) withIds(request, reply, { [key]: id });
    } catch {
      // not JSON: nothing to add
    }
    return payload;
  });
}
