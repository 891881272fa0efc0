/**
 * /v2/conversations: start a chatbot conversation (its workflow), record answers, close it, read it, list it.
 * The conversation lives in its workflow; the store only maps a visitor to their open conversations so
 * that starting one with another bot closes the earlier one. Lists come from Temporal visibility (the
 * ConversationStatus search attribute), in visibility's order: running conversations newest first, then
 * finished ones, most recently finished first. A finished conversation is read from its run's result, never
 * by replaying it; runs that ended without one (terminated, failed) are left out of lists.
 */
import { Type } from '@sinclair/typebox';
import { WorkflowIdReusePolicy, WorkflowNotFoundError } from '@temporalio/common';
import { WorkflowUpdateFailedError, type WorkflowExecutionInfo } from '@temporalio/client';
import type { FastifyTypebox } from '../../types';
import { ApiError } from '../../plugins/errors';
import { errorResponses, IdempotencyHeaders, IdParam, ListOf } from '../../schemas/common';
import { AnswerBody, CloseBody, Conversation, ConversationListQuery, StartConversationBody } from '../../schemas/conversations';
import {
  CONVERSATION_ID_PREFIX,
  closeSignal,
  conversationActionUpdate,
  conversationPhasesOf,
  conversationWorkflowId,
  getConversationQuery,
  type ConversationAction,
  type ConversationInput,
  type ConversationObject,
  type ConversationStatus,
} from '../../../shared/conversation-contract';
import { ConversationStatusSA } from '../../../shared/booking-contract';
import { initialConversationState } from '../../../domain/conversation';
import { createConversationsRepository } from '../../../store/conversations-repository';
import { createUsersRepository, toUserSnapshot } from '../../../store/users-repository';
import { newObjectId } from '../../../store/ids';
import { readWorkflowView } from '../../../temporal/read-view';
import { createIdempotency } from '../../idempotency';

const WORKFLOW_TYPE = 'conversationWorkflow';

const notFound = (id: string) => ApiError.notFound(`No such conversation: '${id}'`);

/** Protobuf timestamp → RFC 3339 with nanoseconds, so visibility cursors never skip a neighbour in the same ms. */
function rfc3339Nano(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): string | null {
  if (!ts || ts.seconds === undefined || ts.seconds === null) return null;
  const seconds = Number(ts.seconds);
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${base}.${String(ts.nanos ?? 0).padStart(9, '0')}Z`;
}

const conversationsPlugin = async (app: FastifyTypebox) => {
  const { temporal, config, db } = app.deps;
  const conversations = createConversationsRepository(db);
  const users = createUsersRepository(db);
  const idParam = IdParam(CONVERSATION_ID_PREFIX);
  const idempotency = createIdempotency(app.deps.db);
  app.addSchema(Conversation);

  /** A finished run answers from its result, a running one through the query; see readWorkflowView. */
  async function readConversation(id: string, known?: Pick<WorkflowExecutionInfo, 'status' | 'runId'>): Promise<ConversationObject> {
    try {
      // Only a closed status is final: a listing's "running" may be stale, so that run is described again.
      const run = known?.status.name === 'COMPLETED' ? { status: known.status.name, runId: known.runId } : undefined;
      const view = await readWorkflowView(temporal, conversationWorkflowId(id), getConversationQuery, `Conversation '${id}'`, run);
      return view.conversation;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound(id);
      throw err;
    }
  }

  /** Runs an action through the workflow's update; a finished or forbidding conversation answers 409. */
  async function act(id: string, action: ConversationAction, updateId?: string): Promise<ConversationObject> {
    const handle = temporal.workflow.getHandle(conversationWorkflowId(id));
    try {
      // An update id (from an Idempotency-Key) makes the server apply a retried action once.
      return (await handle.executeUpdate(conversationActionUpdate, { args: [action], ...(updateId ? { updateId } : {}) })).conversation;
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw ApiError.conflict((err.cause as Error | undefined)?.message ?? err.message);
      if (err instanceof WorkflowNotFoundError) {
        // Either it never existed, or its workflow has finished (the conversation ended and its events went out).
        const ended = await readConversation(id);
        throw ApiError.conflict(`Conversation ${id} is ${ended.status}`);
      }
      throw err;
    }
  }

  // The collection is documented as /v2/conversations, like every other; /v2/conversations/ (how the document named
  // it before) still answers, undocumented, for clients that kept that form.
  for (const url of ['', '/'] as const) {
    app.post(
      url,
      { prefixTrailingSlash: 'slash', schema: { hide: url === '/', body: StartConversationBody, response: { 201: Type.Ref(Conversation), ...errorResponses } } },
      async (request, reply) => {
        const body = request.body;
        let owner = null;
        if (body.owner_user_id !== undefined) {
          const user = await users.find(body.owner_user_id);
          if (!user) throw ApiError.badRequest(`No such user: '${body.owner_user_id}'`, 'owner_user_id');
          owner = toUserSnapshot(user);
        }
        const input: ConversationInput = {
          conversationId: newObjectId(CONVERSATION_ID_PREFIX),
          createdAt: new Date().toISOString(),
          initiatedBy: body.initiated_by,
          bot: body.bot,
          website: body.website,
          contact: body.contact ?? {},
          owner,
          settings: { abandonAfterMinutes: config.conversation.abandonAfterMinutes },
          indexSearchAttributes: true,
        };
        await temporal.workflow.start(WORKFLOW_TYPE, {
          taskQueue: config.temporal.taskQueue,
          workflowId: conversationWorkflowId(input.conversationId),
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          args: [input],
          typedSearchAttributes: [{ key: ConversationStatusSA, value: 'open' }],
          staticSummary: `Conversation with ${input.bot.name} on ${input.website.name}`,
        });
        const visitorId = body.visitor_id ?? body.contact?.email?.toLowerCase() ?? null;
        const { supersededIds } = await conversations.open({
          id: input.conversationId,
          visitorId,
          botId: input.bot.id,
          createdAt: input.createdAt,
        });
        for (const earlier of supersededIds) {
          try {
            await temporal.workflow.getHandle(conversationWorkflowId(earlier)).signal(closeSignal, { reason: 'new_conversation' });
          } catch (err) {
            // Already finished (abandoned): nothing left to close.
            if (!(err instanceof WorkflowNotFoundError)) throw err;
            request.log.info({ conversationId: earlier }, 'earlier conversation already finished');
          }
        }
        return reply.code(201).send(initialConversationState(input).conversation);
      },
    );
  }

  // The list likewise, with and without the trailing slash.
  for (const url of ['', '/'] as const) {
    app.get(
      url,
      { prefixTrailingSlash: 'slash', schema: { hide: url === '/', querystring: ConversationListQuery, response: { 200: ListOf(Type.Ref(Conversation)), ...errorResponses } } },
      async (request) => {
        const { status, limit = 10, before, after } = request.query;
        if (before !== undefined && after !== undefined) throw ApiError.badRequest("Pass either 'before' or 'after', not both", 'before');
        // A run that ended without a result (terminated, failed) has no final view to read without replay: not listed.
        const clauses = [`WorkflowType = '${WORKFLOW_TYPE}'`, `ExecutionStatus IN ('Running', 'Completed')`];
        if (status) clauses.push(`ConversationStatus IN (${conversationPhasesOf(status as ConversationStatus).map((p) => `'${p}'`).join(', ')})`);
        const cursorId = after ?? before;
        if (cursorId !== undefined) {
          let raw;
          try {
            raw = (await temporal.workflow.getHandle(conversationWorkflowId(cursorId)).describe()).raw.workflowExecutionInfo;
          } catch (err) {
            if (err instanceof WorkflowNotFoundError) throw ApiError.badRequest(`No such conversation: '${cursorId}'`, after ? 'after' : 'before');
            throw err;
          }
          const start = rfc3339Nano(raw?.startTime);
          const close = rfc3339Nano(raw?.closeTime);
          const running = close === null;
          // Visibility order: running (start time desc), then finished (close time desc).
          if (after !== undefined) {
            clauses.push(
              running ? `((ExecutionStatus = 'Running' AND StartTime < '${start}') OR ExecutionStatus != 'Running')` : `(ExecutionStatus != 'Running' AND CloseTime < '${close}')`,
            );
          } else {
            clauses.push(running ? `(ExecutionStatus = 'Running' AND StartTime > '${start}')` : `(ExecutionStatus = 'Running' OR CloseTime > '${close}')`);
          }
        }
        const query = clauses.join(' AND ');
        const infos: WorkflowExecutionInfo[] = [];
        for await (const info of temporal.workflow.list({ query, pageSize: limit + 1 })) {
          infos.push(info);
          // Paging backwards needs the items right before the cursor, i.e. the last ones of this listing.
          if (before === undefined && infos.length > limit) break;
        }
        const hasMore = infos.length > limit;
        const page = before === undefined ? infos.slice(0, limit) : infos.slice(-limit);
        const data = await Promise.all(page.map((info) => readConversation(info.workflowId, info)));
        return { object: 'list' as const, data, has_more: hasMore };
      },
    );
  }

  app.get('/:id', { schema: { params: idParam, response: { 200: Type.Ref(Conversation), ...errorResponses } } }, async (request) =>
    readConversation(request.params.id),
  );

  /** An action under the request's Idempotency-Key: a retry gets the first answer and never acts twice. */
  const keyed = (id: string, key: string | undefined, name: string, body: unknown, run: (updateId?: string) => Promise<ConversationObject>) =>
    idempotency.action('conversation.action', key, { conversation: id, action: name, body: body ?? null }, run).then((r) => r.result);

  app.post(
    '/:id/answers',
    { schema: { params: idParam, headers: IdempotencyHeaders, body: AnswerBody, response: { 200: Type.Ref(Conversation), ...errorResponses } } },
    async (request) => {
      const { question, value } = request.body;
      return keyed(request.params.id, request.headers['idempotency-key'], 'answer', request.body, (updateId) =>
        act(request.params.id, { kind: 'answer', question, value, at: new Date().toISOString() }, updateId),
      );
    },
  );

  app.post(
    '/:id/close',
    {
      schema: { params: idParam, headers: IdempotencyHeaders, body: CloseBody, response: { 200: Type.Ref(Conversation), ...errorResponses } },
      // The body is optional: a bare POST closes with reason flow_completed.
      preValidation: async (request) => {
        if (request.body === undefined || request.body === null) (request as { body: unknown }).body = {};
      },
    },
    async (request) => {
      const reason = request.body?.reason ?? 'flow_completed';
      return keyed(request.params.id, request.headers['idempotency-key'], 'close', request.body, async (updateId) => {
        const conversation = await act(request.params.id, { kind: 'close', reason }, updateId);
        await conversations.markClosed(request.params.id);
        return conversation;
      });
    },
  );
};

export default conversationsPlugin;
