import {
  abandonDeadlineMs,
  initialConversationState,
  isEnded,
  transition,
  type ConversationState,
  type ConversationTransitionAction,
} from '../../src/domain/conversation';
import type { ConversationInput } from '../../src/shared/conversation-contract';
import type { ConversationEventType } from '../../src/shared/dispatch-contract';

const T0 = '2030-01-01T10:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();

const input: ConversationInput = {
  conversationId: 'CVR-unit1',
  createdAt: T0,
  initiatedBy: 'bot',
  bot: { id: 'BOT-1', name: 'Sales bot' },
  website: { id: 'WEB-1', name: 'Acme', url: 'https://acme.example' },
  contact: { email: 'visitor@example.com' },
  owner: null,
  settings: { abandonAfterMinutes: 10 },
};

const answer = (q = 'q', v = 'v'): ConversationTransitionAction => ({ kind: 'answer', question: q, value: v });
const close = (reason: 'flow_completed' | 'new_conversation' = 'flow_completed'): ConversationTransitionAction => ({ kind: 'close', reason });
const abandon: ConversationTransitionAction = { kind: 'abandon' };

/** Runs steps [action, secondsAfterT0] and gathers every event and ignored reason. */
function run(steps: Array<[ConversationTransitionAction, number]>) {
  let state: ConversationState = initialConversationState(input);
  const events: ConversationEventType[] = [];
  const ignored: string[] = [];
  for (const [action, s] of steps) {
    const r = transition(state, action, at(s));
    state = r.state;
    events.push(...r.events);
    if (r.ignored) ignored.push(r.ignored);
  }
  return { state, events, ignored };
}

describe('conversation state machine', () => {
  const cases: Array<{
    name: string;
    steps: Array<[ConversationTransitionAction, number]>;
    phase: ConversationState['phase'];
    events: ConversationEventType[];
    ignored: number;
  }> = [
    { name: 'a new conversation is open and has sent nothing', steps: [], phase: 'open', events: [], ignored: 0 },
    { name: 'the first answer starts it', steps: [[answer(), 5]], phase: 'started', events: ['conversation.started'], ignored: 0 },
    { name: 'later answers send no event', steps: [[answer(), 5], [answer(), 6], [answer(), 7]], phase: 'started', events: ['conversation.started'], ignored: 0 },
    { name: 'close after start sends closed', steps: [[answer(), 5], [close(), 9]], phase: 'closed', events: ['conversation.started', 'conversation.closed'], ignored: 0 },
    { name: 'a new conversation with another bot closes it', steps: [[answer(), 5], [close('new_conversation'), 9]], phase: 'closed', events: ['conversation.started', 'conversation.closed'], ignored: 0 },
    { name: 'silence of 10 minutes after the last answer abandons it', steps: [[answer(), 0], [abandon, 600]], phase: 'abandoned', events: ['conversation.started', 'conversation.abandoned'], ignored: 0 },
    { name: 'an answer at 9:59 moves the deadline, so the old timer is stale', steps: [[answer(), 0], [answer(), 599], [abandon, 600]], phase: 'started', events: ['conversation.started'], ignored: 1 },
    { name: 'the timer before 10 minutes of silence is stale', steps: [[answer(), 0], [abandon, 599]], phase: 'started', events: ['conversation.started'], ignored: 1 },
    { name: 'close after abandon does nothing', steps: [[answer(), 0], [abandon, 600], [close(), 700]], phase: 'abandoned', events: ['conversation.started', 'conversation.abandoned'], ignored: 1 },
    { name: 'abandon after close does nothing', steps: [[answer(), 0], [close(), 10], [abandon, 700]], phase: 'closed', events: ['conversation.started', 'conversation.closed'], ignored: 1 },
    { name: 'close after close does nothing', steps: [[answer(), 0], [close(), 10], [close('new_conversation'), 11]], phase: 'closed', events: ['conversation.started', 'conversation.closed'], ignored: 1 },
    { name: 'an answer after close does nothing', steps: [[answer(), 0], [close(), 10], [answer(), 11]], phase: 'closed', events: ['conversation.started', 'conversation.closed'], ignored: 1 },
    { name: 'an answer after abandon does nothing', steps: [[answer(), 0], [abandon, 600], [answer(), 601]], phase: 'abandoned', events: ['conversation.started', 'conversation.abandoned'], ignored: 1 },
    { name: 'unanswered conversation abandons silently', steps: [[abandon, 600]], phase: 'abandoned', events: [], ignored: 0 },
    { name: 'unanswered conversation closes silently', steps: [[close('new_conversation'), 30]], phase: 'closed', events: [], ignored: 0 },
    { name: 'unanswered conversation is not abandoned before 10 minutes', steps: [[abandon, 599]], phase: 'open', events: [], ignored: 1 },
  ];

  test.each(cases)('$name', ({ steps, phase, events, ignored }) => {
    const r = run(steps);
    expect(r.state.phase).toBe(phase);
    expect(r.events).toEqual(events);
    expect(r.ignored).toHaveLength(ignored);
  });

  test('the public status shows started while open, then the phase', () => {
    expect(run([]).state.conversation.status).toBe('started');
    expect(run([[answer(), 1]]).state.conversation.status).toBe('started');
    expect(run([[answer(), 1], [close(), 2]]).state.conversation.status).toBe('closed');
    expect(run([[answer(), 1], [abandon, 601]]).state.conversation.status).toBe('abandoned');
  });

  test('answers are kept in order with interaction and update times', () => {
    const { state } = run([[answer('Name?', 'Ada'), 3], [{ kind: 'answer', question: 'Email?', value: 'ada@example.com', at: at(4) }, 5]]);
    expect(state.conversation.answers).toEqual([
      { question: 'Name?', value: 'Ada' },
      { question: 'Email?', value: 'ada@example.com' },
    ]);
    expect(state.conversation.last_interacted_time).toBe(at(4));
    expect(state.conversation.last_updated_time).toBe(at(5));
    expect(state.conversation.creation_time).toBe(T0);
  });

  test('the abandon deadline counts from creation, then from each answer, and is gone once ended', () => {
    let s = initialConversationState(input);
    expect(abandonDeadlineMs(s)).toBe(Date.parse(at(600)));
    s = transition(s, answer(), at(120)).state;
    expect(abandonDeadlineMs(s)).toBe(Date.parse(at(720)));
    s = transition(s, close(), at(130)).state;
    expect(isEnded(s)).toBe(true);
    expect(abandonDeadlineMs(s)).toBeNull();
    expect(s.closeReason).toBe('flow_completed');
  });

  test('linked bookings are kept once each, also after the close', () => {
    const link = (bookingId: string): ConversationTransitionAction => ({ kind: 'bookingLinked', bookingId });
    const r = run([[answer(), 1], [link('BKNG-1'), 2], [close(), 3], [link('BKNG-2'), 4], [link('BKNG-1'), 5]]);
    expect(r.state.conversation.bookings).toEqual(['BKNG-1', 'BKNG-2']);
    expect(r.events).toEqual(['conversation.started', 'conversation.closed']);
    expect(r.ignored).toEqual(['booking BKNG-1 is already linked']);
  });

  test('transition never mutates the state it is given', () => {
    const s = initialConversationState(input);
    const copy = JSON.parse(JSON.stringify(s));
    transition(s, answer(), at(1));
    transition(s, close(), at(1));
    transition(s, { kind: 'bookingLinked', bookingId: 'BKNG-9' }, at(1));
    expect(s).toEqual(copy);
  });
});
