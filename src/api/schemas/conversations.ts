/** TypeBox schemas of the conversations API: the conversation object (lifecycle.md section 5) and requests. */
import { Type, type Static } from '@sinclair/typebox';
import { CONVERSATION_ID_PREFIX } from '../../shared/conversation-contract';
import { USER_ID_PREFIX } from '../../shared/booking-contract';
import { Paragraphs, Text } from './common';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const ConversationContact = Type.Object(
  {
    name: Type.Optional(Nullable(Text({ maxLength: 200 }))),
    email: Type.Optional(Nullable(Text({ format: 'email', maxLength: 320 }))),
    phone: Type.Optional(Nullable(Text({ maxLength: 50 }))),
    company: Type.Optional(Nullable(Text({ maxLength: 200 }))),
  },
  { additionalProperties: false },
);

const Bot = Type.Object({ id: Text({ minLength: 1, maxLength: 100 }), name: Text({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
const Website = Type.Object(
  {
    id: Text({ minLength: 1, maxLength: 100 }),
    name: Text({ minLength: 1, maxLength: 200 }),
    url: Text({ format: 'uri', maxLength: 2000 }),
  },
  { additionalProperties: false },
);
const Owner = Type.Object({ id: Type.String(), name: Type.String(), email: Type.String(), timezone: Type.String() }, { additionalProperties: false });
const Answer = Type.Object({ question: Type.String(), value: Type.String() }, { additionalProperties: false });

export const Conversation = Type.Object(
  {
    object: Type.Literal('conversation'),
    id: Type.String(),
    creation_time: Type.String({ format: 'date-time' }),
    initiated_by: Type.Union([Type.Literal('bot'), Type.Literal('contact')]),
    last_updated_time: Type.String({ format: 'date-time' }),
    last_interacted_time: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    status: Type.Union([Type.Literal('started'), Type.Literal('closed'), Type.Literal('abandoned')]),
    contact: ConversationContact,
    owner: Type.Union([Owner, Type.Null()]),
    bot: Bot,
    website: Website,
    answers: Type.Array(Answer),
    bookings: Type.Array(Type.String()),
  },
  { $id: 'Conversation', additionalProperties: false },
);

export const StartConversationBody = Type.Object(
  {
    bot: Bot,
    website: Website,
    initiated_by: Type.Union([Type.Literal('bot'), Type.Literal('contact')]),
    contact: Type.Optional(ConversationContact),
    owner_user_id: Type.Optional(Type.String({ pattern: `^${USER_ID_PREFIX}[A-Za-z0-9_-]{1,64}$` })),
    /**
     * Who the visitor is, for closing their earlier conversation with another bot; the contact's email
     * stands in when absent.
     */
    visitor_id: Type.Optional(Text({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type StartConversationBody = Static<typeof StartConversationBody>;

export const AnswerBody = Type.Object(
  { question: Text({ minLength: 1, maxLength: 2000 }), value: Paragraphs({ maxLength: 10_000 }) },
  { additionalProperties: false },
);
export type AnswerBody = Static<typeof AnswerBody>;

export const CloseBody = Type.Object(
  { reason: Type.Optional(Type.Union([Type.Literal('flow_completed'), Type.Literal('closed_by_api')], { default: 'flow_completed' })) },
  { additionalProperties: false },
);
export type CloseBody = Static<typeof CloseBody>;

export const ConversationListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('started'), Type.Literal('closed'), Type.Literal('abandoned')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
    before: Type.Optional(Type.String({ pattern: `^${CONVERSATION_ID_PREFIX}[A-Za-z0-9_-]{1,64}$` })),
    after: Type.Optional(Type.String({ pattern: `^${CONVERSATION_ID_PREFIX}[A-Za-z0-9_-]{1,64}$` })),
  },
  { additionalProperties: false },
);
export type ConversationListQuery = Static<typeof ConversationListQuery>;
