/**
 * The conversation contract: wire names (workflow ids, signals, query, update) and payload types shared
 * by the conversation workflow, the API and the tests. Deterministic: workflows import it.
 *
 * Status: the public object only shows lifecycle.md's values (`started`, `closed`, `abandoned`). Inside,
 * a conversation has one more phase, `open`, between its creation and the visitor's first answer; the
 * public object shows `started` for it (the conversation exists and runs), with `answers: []` and
 * `last_interacted_time: null`. The `conversation.started` webhook is only sent on the first answer, and a
 * conversation that ends before any answer sends no webhook at all (see src/domain/conversation).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { IgnoredSignal, UserSnapshot } from './booking-contract';
import type { ConversationEventType } from './dispatch-contract';

/** Conversation ids are prefixed so a wrong kind of id is rejected before it reaches Temporal. */
export const CONVERSATION_ID_PREFIX = 'CVR-';

/** The workflow id of a conversation is the conversation id itself (REJECT_DUPLICATE guards it). */
export function conversationWorkflowId(conversationId: string): string {
  return conversationId;
}

/** Inverse of conversationWorkflowId; undefined when the workflow is not a conversation. */
export function conversationIdFromWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith(CONVERSATION_ID_PREFIX) ? workflowId : undefined;
}

/** Public conversation status (lifecycle.md section 5). */
export type ConversationStatus = 'started' | 'closed' | 'abandoned';
export const CONVERSATION_STATUSES: readonly ConversationStatus[] = ['started', 'closed', 'abandoned'];

/** Internal phase: `open` is a conversation nobody has answered yet (shown as `started`). */
export type ConversationPhase = 'open' | ConversationStatus;

/** The public status a phase shows. */
export function publicConversationStatus(phase: ConversationPhase): ConversationStatus {
  return phase === 'open' ? 'started' : phase;
}

/** Values of the ConversationStatus search attribute that a public status filter matches. */
export function conversationPhasesOf(status: ConversationStatus): ConversationPhase[] {
  return status === 'started' ? ['open', 'started'] : [status];
}

export type ConversationInitiator = 'bot' | 'contact';

/** What the conversation knows of the visitor. */
export interface ConversationContact {
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  company?: string | null;
}

export interface ConversationBot {
  id: string;
  name: string;
}

export interface ConversationWebsite {
  id: string;
  name: string;
  url: string;
}

export interface ConversationAnswer {
  question: string;
  value: string;
}

/** The conversation object, exactly the shape conversation webhooks carry in `data` (lifecycle.md section 5). */
export interface ConversationObject {
  object: 'conversation';
  id: string;
  creation_time: string;
  initiated_by: ConversationInitiator;
  last_updated_time: string;
  /** Time of the visitor's last answer; null until the first one. */
  last_interacted_time: string | null;
  status: ConversationStatus;
  contact: ConversationContact;
  owner: UserSnapshot | null;
  bot: ConversationBot;
  website: ConversationWebsite;
  answers: ConversationAnswer[];
  /** Ids of the bookings made during the conversation. */
  bookings: string[];
}

/** Per-conversation durations, taken from configuration at start so replays never read env. */
export interface ConversationSettings {
  /** Silence after which a conversation is abandoned (lifecycle.md: 10 minutes). */
  abandonAfterMinutes: number;
}

/** Workflow input, resolved by the API. Never a secret. */
export interface ConversationInput {
  conversationId: string;
  createdAt: string;
  initiatedBy: ConversationInitiator;
  bot: ConversationBot;
  website: ConversationWebsite;
  contact: ConversationContact;
  owner: UserSnapshot | null;
  settings: ConversationSettings;
  /**
   * Upsert the ConversationStatus search attribute (default true). The time-skipping test server only
   * knows preset attributes and rejects the workflow task for an unknown one, so its tests pass false.
   */
  indexSearchAttributes?: boolean;
}

/** Why a conversation was closed. */
export type ConversationCloseReason = 'flow_completed' | 'new_conversation' | 'closed_by_api';

/** What can happen to a conversation from outside; the timer's `abandon` is internal. */
export type ConversationAction =
  | { kind: 'answer'; question: string; value: string; at?: string | null }
  | { kind: 'close'; reason: ConversationCloseReason }
  | { kind: 'bookingLinked'; bookingId: string };

type Payload<K extends ConversationAction['kind']> = Omit<Extract<ConversationAction, { kind: K }>, 'kind'>;

/** The visitor answered a question; `at` is when (defaults to when the workflow receives it). */
export const answerSignal = defineSignal<[Payload<'answer'>]>('answer');
/** End of the flow, or the visitor started a conversation with another bot. */
export const closeSignal = defineSignal<[Payload<'close'>]>('close');
/** Sent by the booking API when a booking is created with this conversation's id. */
export const bookingLinkedSignal = defineSignal<[Payload<'bookingLinked'>]>('bookingLinked');
/** The API's path for answers and closing: rejected (409) before anything is written when the state forbids it. */
export const conversationActionUpdate = defineUpdate<ConversationView, [ConversationAction]>('conversationAction');

/** One conversation event as the workflow emitted it (the webhook envelope's id, type and time). */
export interface ConversationEventRecord {
  id: string;
  type: ConversationEventType;
  creation_time: string;
}

/** What the conversation query returns. */
export interface ConversationView {
  conversation: ConversationObject;
  phase: ConversationPhase;
  close_reason: ConversationCloseReason | null;
  /** When silence abandons the conversation; null once it has ended. */
  abandon_at: string | null;
  events: ConversationEventRecord[];
  /** Events still waiting to be handed to webhook routing. */
  pending_events: number;
  ignored_signals: IgnoredSignal[];
  /** True once the conversation has ended (closed or abandoned). */
  ended: boolean;
}

export const getConversationQuery = defineQuery<ConversationView>('getConversation');
