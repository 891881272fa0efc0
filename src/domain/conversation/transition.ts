/**
 * The conversation state machine, pure: time is an argument, nothing is read or written outside.
 *
 *   open ──answer──▶ started ──answer──▶ started (abandon deadline moves)
 *   open|started ──close──▶ closed        open|started ──silence ≥ abandonAfterMinutes──▶ abandoned
 *
 * Events: `conversation.started` on the visitor's first answer; `conversation.closed` on close and
 * `conversation.abandoned` on silence, but only for a conversation that has started. A conversation nobody
 * answered still ends (the silence timer runs from its creation, so its workflow never lingers), yet sends
 * no webhook: receivers never hear of a close or abandon for a conversation they never saw start.
 * Anything after the end (answer, close, a late timer) changes nothing and is reported as ignored.
 */
import type { ConversationEventType } from '../../shared/dispatch-contract';
import {
  publicConversationStatus,
  type ConversationAction,
  type ConversationCloseReason,
  type ConversationInput,
  type ConversationObject,
  type ConversationPhase,
} from '../../shared/conversation-contract';

/** Everything the workflow keeps about a conversation. */
export interface ConversationState {
  phase: ConversationPhase;
  conversation: ConversationObject;
  closeReason: ConversationCloseReason | null;
  /** Epoch ms from which silence is counted: creation, then each answer's arrival. */
  idleSinceMs: number;
  abandonAfterMs: number;
}

/** Actions the machine takes: the outside ones plus the silence timer. */
export type ConversationTransitionAction = ConversationAction | { kind: 'abandon' };

export interface ConversationTransition {
  state: ConversationState;
  events: ConversationEventType[];
  /** Set when the action changed nothing because the state forbids it (or it was a duplicate). */
  ignored: string | null;
}

/** The state of a conversation that was just created. */
export function initialConversationState(input: ConversationInput): ConversationState {
  return {
    phase: 'open',
    closeReason: null,
    idleSinceMs: Date.parse(input.createdAt),
    abandonAfterMs: input.settings.abandonAfterMinutes * 60_000,
    conversation: {
      object: 'conversation',
      id: input.conversationId,
      creation_time: input.createdAt,
      initiated_by: input.initiatedBy,
      last_updated_time: input.createdAt,
      last_interacted_time: null,
      status: 'started',
      contact: { ...input.contact },
      owner: input.owner ? { ...input.owner } : null,
      bot: { ...input.bot },
      website: { ...input.website },
      answers: [],
      bookings: [],
    },
  };
}

/** True once the conversation is closed or abandoned. */
export function isEnded(state: ConversationState): boolean {
  return state.phase === 'closed' || state.phase === 'abandoned';
}

/** When silence abandons the conversation (epoch ms), or null once it has ended. */
export function abandonDeadlineMs(state: ConversationState): number | null {
  return isEnded(state) ? null : state.idleSinceMs + state.abandonAfterMs;
}

function ignore(state: ConversationState, reason: string): ConversationTransition {
  return { state, events: [], ignored: reason };
}

function withPhase(state: ConversationState, phase: ConversationPhase, nowIso: string): ConversationState {
  return {
    ...state,
    phase,
    conversation: { ...state.conversation, status: publicConversationStatus(phase), last_updated_time: nowIso },
  };
}

/** Applies one action at `now` (ISO-8601) and returns the new state and the events to emit, in order. */
export function transition(state: ConversationState, action: ConversationTransitionAction, now: string): ConversationTransition {
  const nowMs = Date.parse(now);
  switch (action.kind) {
    case 'answer': {
      if (isEnded(state)) return ignore(state, `conversation is ${state.phase}`);
      const first = state.phase === 'open';
      const next = withPhase(state, 'started', now);
      next.idleSinceMs = nowMs;
      next.conversation.last_interacted_time = action.at ?? now;
      next.conversation.answers = [...state.conversation.answers, { question: action.question, value: action.value }];
      return { state: next, events: first ? ['conversation.started'] : [], ignored: null };
    }
    case 'close': {
      if (isEnded(state)) return ignore(state, `conversation is already ${state.phase}`);
      const next = withPhase(state, 'closed', now);
      next.closeReason = action.reason;
      return { state: next, events: state.phase === 'started' ? ['conversation.closed'] : [], ignored: null };
    }
    case 'abandon': {
      if (isEnded(state)) return ignore(state, `conversation is already ${state.phase}`);
      if (nowMs - state.idleSinceMs < state.abandonAfterMs) return ignore(state, 'the visitor answered since the timer started');
      const next = withPhase(state, 'abandoned', now);
      return { state: next, events: state.phase === 'started' ? ['conversation.abandoned'] : [], ignored: null };
    }
    case 'bookingLinked': {
      // A booking made in the last step of the flow may arrive just after the close: it still belongs here.
      if (state.conversation.bookings.includes(action.bookingId)) return ignore(state, `booking ${action.bookingId} is already linked`);
      const next: ConversationState = {
        ...state,
        conversation: { ...state.conversation, bookings: [...state.conversation.bookings, action.bookingId], last_updated_time: now },
      };
      return { state: next, events: [], ignored: null };
    }
  }
}
