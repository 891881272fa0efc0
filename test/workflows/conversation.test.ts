/**
 * conversationWorkflow on the time-skipping test server, with a fake routeEvent recording each envelope.
 * That server rejects an upsert of the custom ConversationStatus attribute (the workflow task fails with
 * "search attribute ConversationStatus is not defined" and is retried forever), so these runs set
 * indexSearchAttributes: false; the API tests on the dev server cover the attribute.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import {
  answerSignal,
  bookingLinkedSignal,
  closeSignal,
  getConversationQuery,
  type ConversationInput,
  type ConversationObject,
  type ConversationView,
} from '../../src/shared/conversation-contract';
import type { RoutableEvent, RouteResult, WebhookEnvelope } from '../../src/shared/dispatch-contract';
import { conversationWorkflow } from '../../workflows/conversation';

const MIN = 60_000;

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await timeSkippingEnv();
  await workflowBundle();
});

afterAll(async () => {
  await env?.teardown();
});

let idCounter = 0;

async function makeInput(overrides: Partial<ConversationInput> = {}): Promise<ConversationInput> {
  idCounter += 1;
  return {
    conversationId: `CVR-wf${process.pid}x${idCounter}`,
    createdAt: new Date(await env.currentTimeMs()).toISOString(),
    initiatedBy: 'contact',
    bot: { id: 'BOT-sales', name: 'Sales bot' },
    website: { id: 'WEB-acme', name: 'Acme', url: 'https://acme.example' },
    contact: { name: 'Ada Lovelace', email: 'ada@example.com', phone: null },
    owner: { id: 'USR-1', name: 'Grace Hopper', email: 'grace@example.com', timezone: 'Europe/London' },
    settings: { abandonAfterMinutes: 10 },
    indexSearchAttributes: false,
    ...overrides,
  };
}

/** A routeEvent fake: records every call; `hold` makes it fail (retryably) until released. */
function fakeRouting() {
  const calls: RoutableEvent[] = [];
  let holding = false;
  const routeEvent = jest.fn(async (event: RoutableEvent): Promise<RouteResult> => {
    if (holding) throw new Error('routing held by the test');
    calls.push(event);
    return { deliveryIds: [] };
  });
  return {
    routeEvent,
    calls,
    envelopes: () => calls.map((c) => c.envelope as WebhookEnvelope<ConversationObject>),
    types: () => calls.map((c) => c.envelope.type),
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
    },
  };
}

async function withWorker<T>(
  routing: ReturnType<typeof fakeRouting>,
  fn: (taskQueue: string) => Promise<T>,
  beforeWorker?: (taskQueue: string) => Promise<void>,
): Promise<T> {
  const taskQueue = uniqueTaskQueue(expect.getState().currentTestName ?? 'conversation');
  // What runs here finds no worker polling: a start and signals sent now all come with the first workflow task.
  await beforeWorker?.(taskQueue);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: { routeEvent: routing.routeEvent },
  });
  return worker.runUntil(fn(taskQueue));
}

async function start(taskQueue: string, input: ConversationInput): Promise<WorkflowHandle<typeof conversationWorkflow>> {
  return env.client.workflow.start(conversationWorkflow, { taskQueue, workflowId: input.conversationId, args: [input] });
}

const view = (h: WorkflowHandle<typeof conversationWorkflow>): Promise<ConversationView> => h.query(getConversationQuery);

/** Waits (in skipped time) until the workflow has handed every queued event over. */
async function drained(h: WorkflowHandle<typeof conversationWorkflow>): Promise<ConversationView> {
  for (let i = 0; i < 100; i++) {
    const v = await view(h);
    if (v.pending_events === 0) return v;
    await env.sleep(1_000);
  }
  throw new Error('events still pending after 100 s');
}

describe('conversationWorkflow', () => {
  test('an answer at 9 min 59 s keeps it open; silence past 10 min abandons it exactly once', async () => {
    const routing = fakeRouting();
    await withWorker(routing, async (tq) => {
      const h = await start(tq, await makeInput());
      await h.signal(answerSignal, { question: 'What brings you here?', value: 'Pricing' });
      await env.sleep(9 * MIN + 59_000);
      expect((await view(h)).phase).toBe('started');
      await h.signal(answerSignal, { question: 'Team size?', value: '12' });
      await env.sleep(9 * MIN + 59_000);
      const open = await drained(h);
      expect(open.phase).toBe('started');
      expect(open.conversation.answers).toHaveLength(2);
      expect(routing.types()).toEqual(['conversation.started']);

      await env.sleep(2_000);
      const final = await h.result();
      expect(final.phase).toBe('abandoned');
      expect(final.conversation.status).toBe('abandoned');
      expect(final.events.map((e) => e.type)).toEqual(['conversation.started', 'conversation.abandoned']);
      expect(routing.types()).toEqual(['conversation.started', 'conversation.abandoned']);
      // Abandoned by the timer set at the last answer: 10 minutes later (plus the workflow task's own latency).
      const silence = Date.parse(final.events[1].creation_time) - Date.parse(final.conversation.last_interacted_time as string);
      expect(silence).toBeGreaterThanOrEqual(10 * MIN);
      expect(silence).toBeLessThan(10 * MIN + 2_000);
    });
  });

  test('close after abandon changes nothing: ignored, recorded, event list unchanged', async () => {
    const routing = fakeRouting();
    await withWorker(routing, async (tq) => {
      const h = await start(tq, await makeInput());
      await h.signal(answerSignal, { question: 'q', value: 'v' });
      await drained(h);
      // Keep the abandoned event queued so the workflow is still running when the late signals come.
      routing.hold();
      await env.sleep(10 * MIN + 1_000);
      const abandoned = await view(h);
      expect(abandoned.phase).toBe('abandoned');
      expect(abandoned.pending_events).toBe(1);

      await h.signal(closeSignal, { reason: 'flow_completed' });
      await h.signal(answerSignal, { question: 'late', value: 'answer' });
      const after = await view(h);
      expect(after.phase).toBe('abandoned');
      expect(after.events.map((e) => e.type)).toEqual(['conversation.started', 'conversation.abandoned']);
      expect(after.ignored_signals.map((s) => [s.signal, s.reason])).toEqual([
        ['close', 'conversation is already abandoned'],
        ['answer', 'conversation is abandoned'],
      ]);
      expect(after.conversation.answers).toHaveLength(1);

      routing.release();
      const final = await h.result();
      expect(final.events.map((e) => e.type)).toEqual(['conversation.started', 'conversation.abandoned']);
      expect(routing.types()).toEqual(['conversation.started', 'conversation.abandoned']);
    });
  });

  test('abandon after close does nothing: silence after the close sends no abandoned event', async () => {
    const routing = fakeRouting();
    await withWorker(routing, async (tq) => {
      const h = await start(tq, await makeInput());
      await h.signal(answerSignal, { question: 'q', value: 'v' });
      routing.hold();
      await h.signal(closeSignal, { reason: 'flow_completed' });
      // The close event is held, so the workflow is still running through 30 minutes of silence.
      await env.sleep(30 * MIN);
      const closed = await view(h);
      expect(closed.phase).toBe('closed');
      expect(closed.abandon_at).toBeNull();
      expect(closed.events.map((e) => e.type)).toEqual(['conversation.started', 'conversation.closed']);
      await h.signal(closeSignal, { reason: 'new_conversation' });
      expect((await view(h)).ignored_signals.map((s) => s.reason)).toEqual(['conversation is already closed']);

      routing.release();
      const final = await h.result();
      expect(final.close_reason).toBe('flow_completed');
      expect(routing.types()).toEqual(['conversation.started', 'conversation.closed']);
    });
  });

  test('signals that came with the first workflow task are applied in the order they were sent', async () => {
    const routing = fakeRouting();
    let h: WorkflowHandle<typeof conversationWorkflow> | null = null;
    const final = await withWorker(
      routing,
      () => h!.result(),
      async (tq) => {
        h = await start(tq, await makeInput());
        // Both reach the run in its first task: the close first, so the answer comes too late.
        await h.signal(closeSignal, { reason: 'flow_completed' });
        await h.signal(answerSignal, { question: 'q', value: 'v' });
      },
    );
    // Applied grouped by handler (answer's first), the answer was taken before the close.
    expect(final.conversation.answers).toEqual([]);
    expect(final.ignored_signals.map((s) => s.signal)).toEqual(['answer']);
    // Closed before any answer: no webhook at all (the grouped order sent started and closed).
    expect(routing.types()).toEqual([]);
  });

  test('a new conversation with another bot closes the earlier one (close reason new_conversation)', async () => {
    const routing = fakeRouting();
    await withWorker(routing, async (tq) => {
      const h = await start(tq, await makeInput());
      await h.signal(answerSignal, { question: 'q', value: 'v' });
      await h.signal(closeSignal, { reason: 'new_conversation' });
      const final = await h.result();
      expect(final.phase).toBe('closed');
      expect(final.close_reason).toBe('new_conversation');
      expect(routing.types()).toEqual(['conversation.started', 'conversation.closed']);
      expect(routing.envelopes()[1].data.status).toBe('closed');
    });
  });

  test('webhook payloads carry the envelope and the conversation object field by field', async () => {
    const routing = fakeRouting();
    await withWorker(routing, async (tq) => {
      const input = await makeInput({ initiatedBy: 'bot' });
      const h = await start(tq, input);
      await env.sleep(30_000);
      const answeredAt = new Date(await env.currentTimeMs()).toISOString();
      await h.signal(answerSignal, { question: 'Your email?', value: 'ada@example.com', at: answeredAt });
      await env.sleep(5_000);
      await h.signal(bookingLinkedSignal, { bookingId: 'BKNG-abc123' });
      await h.signal(closeSignal, { reason: 'flow_completed' });
      const final = await h.result();

      expect(routing.calls).toHaveLength(2);
      for (const call of routing.calls) expect(call.sourceWorkflowId).toBe(input.conversationId);
      const [started, closed] = routing.envelopes();
      const base: Omit<ConversationObject, 'status' | 'last_updated_time' | 'bookings'> = {
        object: 'conversation',
        id: input.conversationId,
        creation_time: input.createdAt,
        initiated_by: 'bot',
        last_interacted_time: answeredAt,
        contact: { name: 'Ada Lovelace', email: 'ada@example.com', phone: null },
        owner: { id: 'USR-1', name: 'Grace Hopper', email: 'grace@example.com', timezone: 'Europe/London' },
        bot: { id: 'BOT-sales', name: 'Sales bot' },
        website: { id: 'WEB-acme', name: 'Acme', url: 'https://acme.example' },
        answers: [{ question: 'Your email?', value: 'ada@example.com' }],
      };

      expect(Object.keys(started).sort()).toEqual(['api_version', 'creation_time', 'data', 'id', 'object', 'type']);
      expect(started.id).toMatch(/^EVNT-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(started.object).toBe('event');
      expect(started.type).toBe('conversation.started');
      expect(started.api_version).toBe('v2');
      expect(Date.parse(started.creation_time)).toBeGreaterThanOrEqual(Date.parse(answeredAt));
      expect(started.data).toEqual({ ...base, status: 'started', last_updated_time: started.creation_time, bookings: [] });

      expect(closed.id).toMatch(/^EVNT-/);
      expect(closed.id).not.toBe(started.id);
      expect(closed.object).toBe('event');
      expect(closed.type).toBe('conversation.closed');
      expect(closed.api_version).toBe('v2');
      expect(Date.parse(closed.creation_time)).toBeGreaterThanOrEqual(Date.parse(started.creation_time) + 5_000);
      expect(closed.data).toEqual({ ...base, status: 'closed', last_updated_time: closed.creation_time, bookings: ['BKNG-abc123'] });

      // The query's event records are the envelopes that were routed.
      expect(final.events).toEqual([started, closed].map((e) => ({ id: e.id, type: e.type, creation_time: e.creation_time })));
    });
  });

  test('bookings made during the conversation are kept from bookingLinked signals, once each', async () => {
    const routing = fakeRouting();
    await withWorker(routing, async (tq) => {
      const h = await start(tq, await makeInput());
      await h.signal(answerSignal, { question: 'q', value: 'v' });
      await h.signal(bookingLinkedSignal, { bookingId: 'BKNG-one' });
      await h.signal(bookingLinkedSignal, { bookingId: 'BKNG-two' });
      await h.signal(bookingLinkedSignal, { bookingId: 'BKNG-one' });
      const v = await view(h);
      expect(v.conversation.bookings).toEqual(['BKNG-one', 'BKNG-two']);
      expect(v.ignored_signals.map((s) => [s.signal, s.reason])).toEqual([['bookingLinked', 'booking BKNG-one is already linked']]);
      // Linking sends no event of its own.
      expect(v.events.map((e) => e.type)).toEqual(['conversation.started']);
      await h.signal(closeSignal, { reason: 'flow_completed' });
      await h.result();
      expect(routing.envelopes()[1].data.bookings).toEqual(['BKNG-one', 'BKNG-two']);
    });
  });

  test('a conversation nobody answers ends as abandoned after 10 minutes and sends no webhook', async () => {
    const routing = fakeRouting();
    await withWorker(routing, async (tq) => {
      const input = await makeInput({ initiatedBy: 'bot' });
      const h = await start(tq, input);
      const open = await view(h);
      expect(open.phase).toBe('open');
      expect(open.conversation.status).toBe('started');
      expect(open.conversation.last_interacted_time).toBeNull();
      expect(open.abandon_at).toBe(new Date(Date.parse(input.createdAt) + 10 * MIN).toISOString());
      await env.sleep(10 * MIN + 1_000);
      const final = await h.result();
      expect(final.phase).toBe('abandoned');
      expect(final.events).toEqual([]);
      expect(routing.routeEvent).not.toHaveBeenCalled();
    });
  });
});
