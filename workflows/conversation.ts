/**
 * conversationWorkflow: one chatbot conversation from creation to its end. It keeps the state through the
 * pure machine in src/domain/conversation, runs the silence timer (reset by every answer) and hands each
 * event, in order, to webhook routing from a background queue so signals are never held up by delivery.
 */
import {
  allHandlersFinished,
  condition,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setDefaultSignalHandler,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { ConversationStatusSA, EVENT_ID_PREFIX, type IgnoredSignal } from '../src/shared/booking-contract';
import { ROUTE_EVENT_OPTIONS, WEBHOOK_API_VERSION, type DispatchActivities, type WebhookEnvelope } from '../src/shared/dispatch-contract';
import {
  answerSignal,
  bookingLinkedSignal,
  closeSignal,
  conversationActionUpdate,
  getConversationQuery,
  type ConversationEventRecord,
  type ConversationInput,
  type ConversationObject,
  type ConversationView,
} from '../src/shared/conversation-contract';
import {
  abandonDeadlineMs,
  initialConversationState,
  isEnded,
  transition,
  type ConversationState,
  type ConversationTransitionAction,
} from '../src/domain/conversation';
import { DeadlineTimer, DispatchLane, Wakeup } from './ordered-loop';

const { routeEvent } = proxyActivities<DispatchActivities>(ROUTE_EVENT_OPTIONS);

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Patch: one ordered loop commands the silence timer and every dispatch once the activation has settled (see
 * ./ordered-loop). Runs recorded before it used a timer loop and a dispatch loop woken concurrently.
 */
export const CONVERSATION_ORDERED_LOOP = 'conversation-one-ordered-loop';
/** Patch: signals applied in the order they arrived, also those that came with the first workflow task. */
export const CONVERSATION_SIGNALS_IN_ARRIVAL_ORDER = 'conversation-signals-in-arrival-order';
const CONVERSATION_SIGNAL_KINDS = new Map<string, 'answer' | 'close' | 'bookingLinked'>([
  [answerSignal.name, 'answer'],
  [closeSignal.name, 'close'],
  [bookingLinkedSignal.name, 'bookingLinked'],
]);

/** Runs one conversation; returns its final view once it has ended and every event was handed over. */
export async function conversationWorkflow(input: ConversationInput): Promise<ConversationView> {
  // Decided once, first: a run keeps the loop structure it started with for its whole life.
  const ordered = patched(CONVERSATION_ORDERED_LOOP);
  const conversationId = input.conversationId;
  const workflowId = workflowInfo().workflowId;
  const indexSearchAttributes = input.indexSearchAttributes !== false;

  let state: ConversationState = initialConversationState(input);
  const events: ConversationEventRecord[] = [];
  const wakeup = new Wakeup(ordered);
  const wake = (): void => wakeup.wake();
  const lane = new DispatchLane<WebhookEnvelope<ConversationObject>>(async (envelope) => {
    try {
      await routeEvent({ envelope, sourceWorkflowId: workflowId });
    } catch (err) {
      // 72 hours of failures: logged, and the conversation goes on with the next event.
      log.error('webhook routing gave up after 72 hours', { conversationId, eventId: envelope.id, error: String(err) });
    } finally {
      publish();
    }
  }, wake);
  // The legacy loops read the lane's queue directly.
  const outbox = lane.queue;
  const ignored: IgnoredSignal[] = [];
  let dispatching = 0;
  // Bumped by every applied action, so the timer loop re-reads the deadline.
  let version = 0;

  function view(): ConversationView {
    const deadline = abandonDeadlineMs(state);
    return {
      conversation: state.conversation,
      phase: state.phase,
      close_reason: state.closeReason,
      abandon_at: deadline === null ? null : iso(deadline),
      events: [...events],
      pending_events: outbox.length,
      ignored_signals: [...ignored],
      ended: isEnded(state),
    };
  }

  function publish(): void {
    const c = state.conversation;
    const deadline = abandonDeadlineMs(state);
    setCurrentDetails(
      [
        `**${state.phase}**${state.closeReason ? ` (${state.closeReason})` : ''} · ${c.bot.name} on ${c.website.name}`,
        `answers: ${c.answers.length} · last answer: ${c.last_interacted_time ?? 'none'}`,
        deadline === null ? 'ended' : `abandons at ${iso(deadline)} without an answer`,
        `bookings: ${c.bookings.length ? c.bookings.join(', ') : 'none'} · events: ${events.map((e) => e.type).join(', ') || 'none'}`,
        ignored.length ? `ignored signals: ${ignored.length}` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }

  function indexPhase(): void {
    if (indexSearchAttributes) upsertSearchAttributes([{ key: ConversationStatusSA, value: state.phase }]);
  }

  /** Applies one action through the domain: emits its events in order, or records why it was ignored. */
  function apply(action: ConversationTransitionAction, signal: string): void {
    const now = Date.now();
    const before = state.phase;
    const r = transition(state, action, iso(now));
    if (r.ignored) {
      ignored.push({ signal, reason: r.ignored, at: iso(now) });
      log.warn('conversation signal ignored', { conversationId, signal, reason: r.ignored });
      publish();
      return;
    }
    state = r.state;
    version++;
    for (const type of r.events) {
      const envelope: WebhookEnvelope<ConversationObject> = {
        id: `${EVENT_ID_PREFIX}${uuid4()}`,
        object: 'event',
        creation_time: iso(now),
        type,
        api_version: WEBHOOK_API_VERSION,
        data: state.conversation,
      };
      events.push({ id: envelope.id, type, creation_time: envelope.creation_time });
      outbox.push(envelope);
      log.info('conversation event', { conversationId, type, eventId: envelope.id });
    }
    if (state.phase !== before) indexPhase();
    publish();
    wake();
  }

  // As in the booking workflow: signals that came with the first task are taken in arrival order only by one
  // default handler set before any named one (setHandler takes its own name's buffered signals at once).
  if (patched(CONVERSATION_SIGNALS_IN_ARRIVAL_ORDER)) {
    setDefaultSignalHandler((name, payload) => {
      const kind = CONVERSATION_SIGNAL_KINDS.get(name);
      if (kind === undefined) {
        ignored.push({ signal: name, reason: 'unknown signal', at: iso(Date.now()) });
        publish();
        return;
      }
      apply({ kind, ...(payload as object | undefined) } as ConversationTransitionAction, name);
    });
  } else {
    setHandler(answerSignal, (p) => apply({ kind: 'answer', ...p }, 'answer'));
    setHandler(closeSignal, (p) => apply({ kind: 'close', ...p }, 'close'));
    setHandler(bookingLinkedSignal, (p) => apply({ kind: 'bookingLinked', ...p }, 'bookingLinked'));
  }
  setHandler(getConversationQuery, view);
  setHandler(
    conversationActionUpdate,
    (action) => {
      apply(action, action.kind);
      return view();
    },
    {
      // Rejected before it reaches history: the API answers 409 with the reason.
      validator: (action) => {
        const r = transition(state, action, iso(Date.now()));
        if (r.ignored) throw new Error(`Cannot ${action.kind === 'bookingLinked' ? 'link booking to' : action.kind} conversation ${conversationId}: ${r.ignored}`);
      },
    },
  );

  if (ordered) {
    indexPhase();
    publish();
    return orderedLoop();
  }
  return legacyLoops();

  /** The silence timer and the dispatch of events, commanded in that order from each settled activation. */
  async function orderedLoop(): Promise<ConversationView> {
    const timer = new DeadlineTimer(wake);
    wake();
    for (;;) {
      await wakeup.next();
      const due = isEnded(state) ? null : abandonDeadlineMs(state);
      if (due !== null && timer.reached(due)) apply({ kind: 'abandon' }, 'abandonTimer');
      timer.set(isEnded(state) ? null : abandonDeadlineMs(state));
      lane.pump();
      if (isEnded(state) && lane.idle && allHandlersFinished()) return view();
    }
  }

  /**
   * Runs started before CONVERSATION_ORDERED_LOOP: kept as they were so their histories replay (their command
   * order depends on how the SDK groups jobs into activations; see ./ordered-loop).
   */
  async function legacyLoops(): Promise<ConversationView> {
    async function drainOutbox(): Promise<void> {
      for (;;) {
        await condition(() => outbox.length > 0);
        const envelope = outbox[0];
        dispatching++;
        try {
          await routeEvent({ envelope, sourceWorkflowId: workflowId });
        } catch (err) {
          // 72 hours of failures: logged, and the conversation goes on with the next event.
          log.error('webhook routing gave up after 72 hours', { conversationId, eventId: envelope.id, error: String(err) });
        } finally {
          outbox.shift();
          dispatching--;
          publish();
        }
      }
    }
    // The loop lives as long as the workflow; the end waits for an empty outbox instead of this promise.
    void drainOutbox();

    indexPhase();
    publish();

    while (!isEnded(state)) {
      const deadline = abandonDeadlineMs(state) as number;
      const seen = version;
      const wait = deadline - Date.now();
      const changed = wait > 0 ? await condition(() => version !== seen, wait) : false;
      if (!changed) apply({ kind: 'abandon' }, 'abandonTimer');
    }

    await condition(() => outbox.length === 0 && dispatching === 0 && allHandlersFinished());
    return view();
  }
}
