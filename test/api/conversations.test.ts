/**
 * /v2/conversations against the real dev server (visibility, the ConversationStatus search attribute) with
 * a worker running the conversation workflow and a fake routeEvent recording every envelope.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { localEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { buildTestApp, TEST_API_KEY, type TestApp } from '../helpers/app';
import { getConversationQuery, type ConversationObject, type ConversationView } from '../../src/shared/conversation-contract';
import type { RoutableEvent, RouteResult } from '../../src/shared/dispatch-contract';
import { createUsersRepository } from '../../src/store/users-repository';

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let api: TestApp;
/** Same worker and server, but conversations are abandoned as soon as they start (0 minutes of silence allowed). */
let instantAbandonApi: TestApp;
const routed: RoutableEvent[] = [];

beforeAll(async () => {
  env = await localEnv();
  const taskQueue = uniqueTaskQueue('conversations-api');
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: {
      routeEvent: async (event: RoutableEvent): Promise<RouteResult> => {
        routed.push(event);
        return { deliveryIds: [] };
      },
    },
  });
  running = worker.run();
  api = await buildTestApp({ temporal: env.client, env: { TEMPORAL_TASK_QUEUE: taskQueue } });
  instantAbandonApi = await buildTestApp({ temporal: env.client, env: { TEMPORAL_TASK_QUEUE: taskQueue, CONVERSATION_ABANDON_MINUTES: '0' } });
});

afterAll(async () => {
  await api?.close();
  await instantAbandonApi?.close();
  if (worker) {
    worker.shutdown();
    await running;
  }
  await env?.teardown();
});

const headers = { 'api-key': TEST_API_KEY };

function startBody(over: Record<string, unknown> = {}) {
  return {
    bot: { id: 'BOT-sales', name: 'Sales bot' },
    website: { id: 'WEB-acme', name: 'Acme', url: 'https://acme.example' },
    initiated_by: 'contact',
    contact: { name: 'Ada Lovelace', email: 'ada@example.com' },
    ...over,
  };
}

async function startConversation(over: Record<string, unknown> = {}, app: TestApp = api): Promise<ConversationObject> {
  const res = await app.app.inject({ method: 'POST', url: '/v2/conversations', headers, payload: startBody(over) });
  expect(res.statusCode).toBe(201);
  return res.json();
}

async function get(url: string, app: TestApp = api) {
  return app.app.inject({ method: 'GET', url, headers });
}

function post(url: string, payload?: Record<string, unknown>) {
  return payload === undefined ? api.app.inject({ method: 'POST', url, headers }) : api.app.inject({ method: 'POST', url, headers, payload });
}

const workflowView = (id: string): Promise<ConversationView> => env.client.workflow.getHandle(id).query(getConversationQuery);

/** Polls until check passes (visibility and background routing are eventually consistent). */
async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, what: string): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 100; i++) {
    last = await read();
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: still ${JSON.stringify(last)}`);
}

const routedFor = (id: string) => routed.filter((e) => (e.envelope.data as ConversationObject).id === id).map((e) => e.envelope.type);

// Runs first: the listing assertions count every conversation on this file's fresh server.
describe('GET /v2/conversations', () => {
  test('lists by status with cursor pagination, in visibility order', async () => {
    const c1 = await startConversation({ visitor_id: 'list-1' });
    const c2 = await startConversation({ visitor_id: 'list-2' });
    const c3 = await startConversation({ visitor_id: 'list-3' });
    const c4 = await startConversation({ visitor_id: 'list-4' });
    expect((await post(`/v2/conversations/${c4.id}/answers`, { question: 'q', value: 'v' })).statusCode).toBe(200);
    expect((await post(`/v2/conversations/${c4.id}/close`)).statusCode).toBe(200);
    await env.client.workflow.getHandle(c4.id).result();
    const c5 = await startConversation({ visitor_id: 'list-5' }, instantAbandonApi);
    await env.client.workflow.getHandle(c5.id).result();

    const ids = (res: { json(): { data: ConversationObject[] } }) => res.json().data.map((c) => c.id);
    // Running conversations newest first, then finished ones, most recently finished first.
    const all = [c3.id, c2.id, c1.id, c5.id, c4.id];
    await eventually(() => get('/v2/conversations?limit=100'), (r) => JSON.stringify(ids(r)) === JSON.stringify(all), 'full list');
    await eventually(() => get('/v2/conversations?status=closed'), (r) => ids(r).length === 1, 'closed list');
    await eventually(() => get('/v2/conversations?status=abandoned'), (r) => ids(r).length === 1, 'abandoned list');

    const started1 = await get('/v2/conversations?status=started&limit=2');
    expect(started1.statusCode).toBe(200);
    expect(started1.json()).toMatchObject({ object: 'list', has_more: true });
    expect(ids(started1)).toEqual([c3.id, c2.id]);
    expect(started1.json().data[0]).toEqual(c3);
    const started2 = await get(`/v2/conversations?status=started&limit=2&after=${c2.id}`);
    expect(ids(started2)).toEqual([c1.id]);
    expect(started2.json().has_more).toBe(false);
    const back = await get(`/v2/conversations?status=started&limit=1&before=${c1.id}`);
    expect(ids(back)).toEqual([c2.id]);
    expect(back.json().has_more).toBe(true);

    const closed = (await get('/v2/conversations?status=closed')).json();
    expect(closed.data.map((c: ConversationObject) => [c.id, c.status])).toEqual([[c4.id, 'closed']]);
    const abandoned = (await get('/v2/conversations?status=abandoned')).json();
    expect(abandoned.data.map((c: ConversationObject) => [c.id, c.status])).toEqual([[c5.id, 'abandoned']]);

    // Paging through everything with `after` visits each conversation once, in order.
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = (await get(`/v2/conversations?limit=2${cursor ? `&after=${cursor}` : ''}`)).json();
      seen.push(...page.data.map((c: ConversationObject) => c.id));
      if (!page.has_more) break;
      cursor = seen[seen.length - 1];
    }
    expect(seen).toEqual(all);

    const both = await get(`/v2/conversations?before=${c1.id}&after=${c2.id}`);
    expect(both.statusCode).toBe(400);
    expect(both.json()).toMatchObject({ type: 'invalid_request_error', param: 'before' });
    const unknown = await get('/v2/conversations?after=CVR-doesnotexist');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toEqual({ type: 'invalid_request_error', message: "No such conversation: 'CVR-doesnotexist'", param: 'after' });
  });
});

describe('conversations API', () => {
  test('POST starts a conversation; GET reads it; unknown ids are 404', async () => {
    const owner = await createUsersRepository(api.db).create({ name: 'Grace Hopper', email: `grace-${process.pid}@example.com`, timezone: 'Europe/London' });
    const res = await api.app.inject({
      method: 'POST',
      url: '/v2/conversations',
      headers,
      payload: startBody({ initiated_by: 'bot', owner_user_id: owner.id, contact: { name: 'Ada', email: 'ada-get@example.com', phone: '+44 20 0000' } }),
    });
    expect(res.statusCode).toBe(201);
    const c = res.json() as ConversationObject;
    expect(c.id).toMatch(/^CVR-[A-Z2-7]{20}$/);
    expect(c).toEqual({
      object: 'conversation',
      id: c.id,
      creation_time: c.creation_time,
      initiated_by: 'bot',
      last_updated_time: c.creation_time,
      last_interacted_time: null,
      status: 'started',
      contact: { name: 'Ada', email: 'ada-get@example.com', phone: '+44 20 0000' },
      owner: { id: owner.id, name: 'Grace Hopper', email: owner.email, timezone: 'Europe/London' },
      bot: { id: 'BOT-sales', name: 'Sales bot' },
      website: { id: 'WEB-acme', name: 'Acme', url: 'https://acme.example' },
      answers: [],
      bookings: [],
    });
    const read = await get(`/v2/conversations/${c.id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(c);
    // The workflow shows in the UI with its summary and current details.
    const described = await env.client.workflow.getHandle(c.id).describe();
    expect(await described.staticSummary()).toBe('Conversation with Sales bot on Acme');

    const missing = await get('/v2/conversations/CVR-nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ type: 'invalid_request_error', message: "No such conversation: 'CVR-nope'", param: 'id' });

    const badOwner = await api.app.inject({ method: 'POST', url: '/v2/conversations', headers, payload: startBody({ owner_user_id: 'USR-missing' }) });
    expect(badOwner.statusCode).toBe(400);
    expect(badOwner.json()).toMatchObject({ type: 'invalid_request_error', param: 'owner_user_id' });
  });

  test('answers start it and send conversation.started once; close sends conversation.closed; later actions are 409', async () => {
    const c = await startConversation({ visitor_id: 'answers-visitor' });
    const a1 = await post(`/v2/conversations/${c.id}/answers`, { question: 'What brings you here?', value: 'Pricing' });
    expect(a1.statusCode).toBe(200);
    expect(a1.json()).toMatchObject({ id: c.id, status: 'started', answers: [{ question: 'What brings you here?', value: 'Pricing' }] });
    expect(a1.json().last_interacted_time).not.toBeNull();
    const a2 = await post(`/v2/conversations/${c.id}/answers`, { question: 'Team size?', value: '12' });
    expect(a2.json().answers).toHaveLength(2);

    const closed = await post(`/v2/conversations/${c.id}/close`, { reason: 'flow_completed' });
    expect(closed.statusCode).toBe(200);
    expect(closed.json().status).toBe('closed');

    const lateAnswer = await post(`/v2/conversations/${c.id}/answers`, { question: 'late', value: 'x' });
    expect(lateAnswer.statusCode).toBe(409);
    expect(lateAnswer.json().type).toBe('invalid_request_error');
    expect(lateAnswer.json().message).toMatch(/closed/);
    // Once its workflow has finished, the conversation still reads, and actions still answer 409.
    const final = await env.client.workflow.getHandle(c.id).result();
    expect(final.events.map((e: { type: string }) => e.type)).toEqual(['conversation.started', 'conversation.closed']);
    expect(routedFor(c.id)).toEqual(['conversation.started', 'conversation.closed']);
    expect((await get(`/v2/conversations/${c.id}`)).json().status).toBe('closed');
    const closeAgain = await post(`/v2/conversations/${c.id}/close`);
    expect(closeAgain.statusCode).toBe(409);
    expect(closeAgain.json()).toEqual({ type: 'invalid_request_error', message: `Conversation ${c.id} is closed` });

    const started = routed.find((e) => (e.envelope.data as ConversationObject).id === c.id && e.envelope.type === 'conversation.started')!;
    expect(started.sourceWorkflowId).toBe(c.id);
    expect(started.envelope).toMatchObject({ object: 'event', api_version: 'v2' });
    expect((started.envelope.data as ConversationObject).answers).toEqual([{ question: 'What brings you here?', value: 'Pricing' }]);
  });

  test('an answer retried under its Idempotency-Key is recorded once; the same key for another answer is a 409', async () => {
    const c = await startConversation({ visitor_id: 'idempotent-visitor' });
    const keyed = (payload: Record<string, unknown>) =>
      api.app.inject({ method: 'POST', url: `/v2/conversations/${c.id}/answers`, headers: { ...headers, 'idempotency-key': 'answer-once' }, payload });
    const first = await keyed({ question: 'Team size?', value: '12' });
    const retry = await keyed({ value: '12', question: 'Team size?' });
    expect([first.statusCode, retry.statusCode]).toEqual([200, 200]);
    expect(retry.json()).toEqual(first.json());
    expect(retry.json().answers).toHaveLength(1);
    const other = await keyed({ question: 'Budget?', value: 'yes' });
    expect(other.statusCode).toBe(409);
    expect(other.json().param).toBe('Idempotency-Key');
  });

  test('the status search attribute follows the conversation', async () => {
    const c = await startConversation({ visitor_id: 'sa-visitor' });
    const sa = async () => (await env.client.workflow.getHandle(c.id).describe()).typedSearchAttributes.getAll().find((p) => p.key.name === 'ConversationStatus')?.value;
    await eventually(sa, (v) => v === 'open', 'status attribute before any answer');
    await post(`/v2/conversations/${c.id}/answers`, { question: 'q', value: 'v' });
    await eventually(sa, (v) => v === 'started', 'status attribute after the first answer');
    await post(`/v2/conversations/${c.id}/close`);
    await eventually(sa, (v) => v === 'closed', 'status attribute after close');
  });

  test("starting a conversation with another bot closes the visitor's earlier one", async () => {
    const first = await startConversation({ contact: { email: 'Switcher@Example.com' } });
    await post(`/v2/conversations/${first.id}/answers`, { question: 'q', value: 'v' });
    // Same bot again: the earlier conversation stays open.
    const sameBot = await startConversation({ contact: { email: 'switcher@example.com' } });
    expect((await workflowView(first.id)).phase).toBe('started');

    const other = await startConversation({ bot: { id: 'BOT-support', name: 'Support bot' }, contact: { email: 'switcher@example.com' } });
    const firstView = await eventually(() => workflowView(first.id), (v) => v.ended, 'earlier conversation');
    expect(firstView.phase).toBe('closed');
    expect(firstView.close_reason).toBe('new_conversation');
    // The unanswered same-bot conversation is closed too, silently (it never started).
    const sameBotView = await eventually(() => workflowView(sameBot.id), (v) => v.ended, 'same-bot conversation');
    expect(sameBotView.phase).toBe('closed');
    expect(sameBotView.events).toEqual([]);
    await eventually(async () => routedFor(first.id), (t) => t.length === 2, 'routed events');
    expect(routedFor(first.id)).toEqual(['conversation.started', 'conversation.closed']);
    expect((await get(`/v2/conversations/${other.id}`)).json().status).toBe('started');

    // visitor_id takes precedence over the email.
    const v1 = await startConversation({ visitor_id: 'visitor-42', contact: { email: 'a@example.com' } });
    await startConversation({ visitor_id: 'visitor-42', bot: { id: 'BOT-support', name: 'Support bot' }, contact: { email: 'b@example.com' } });
    expect((await eventually(() => workflowView(v1.id), (v) => v.ended, 'visitor-42 conversation')).close_reason).toBe('new_conversation');
  });

  test('a booking linked by signal shows in the conversation', async () => {
    const c = await startConversation({ visitor_id: 'booking-visitor' });
    await env.client.workflow.getHandle(c.id).signal('bookingLinked', { bookingId: 'BKNG-linked1' });
    const read = await eventually(() => get(`/v2/conversations/${c.id}`), (r) => r.json().bookings.length === 1, 'linked booking');
    expect(read.json().bookings).toEqual(['BKNG-linked1']);
  });

  test('bad requests are 400 with the field at fault', async () => {
    const noBot = await api.app.inject({ method: 'POST', url: '/v2/conversations', headers, payload: { website: startBody().website, initiated_by: 'bot' } });
    expect(noBot.statusCode).toBe(400);
    expect(noBot.json()).toMatchObject({ type: 'invalid_request_error', param: 'bot' });
    const badStatus = await get('/v2/conversations?status=open');
    expect(badStatus.statusCode).toBe(400);
    const badId = await get('/v2/conversations/BKNG-x');
    expect(badId.statusCode).toBe(400);
  });
});
