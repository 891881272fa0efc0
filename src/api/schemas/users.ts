/** TypeBox schemas of the users API: the user object, create/update bodies and per-route responses. */
import { Type, type Static } from '@sinclair/typebox';
import { USER_ID_PREFIX } from '../../shared/booking-contract';
import { CursorQuery, IdParam, ListOf, Text, errorResponses } from './common';

const Name = Text({ minLength: 1, maxLength: 200 });
const Email = Text({ format: 'email', maxLength: 320 });
const Timezone = Text({ format: 'iana-timezone', maxLength: 64, description: 'IANA time zone, e.g. Europe/Paris' });

/** The user object. */
export const User = Type.Object(
  {
    object: Type.Literal('user'),
    id: Type.String({ description: 'USR-…' }),
    name: Type.String(),
    email: Type.String(),
    timezone: Type.String(),
    creation_time: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false, title: 'User' },
);
export type User = Static<typeof User>;

export const CreateUser = Type.Object({ name: Name, email: Email, timezone: Timezone }, { additionalProperties: false, title: 'CreateUser' });
export type CreateUser = Static<typeof CreateUser>;

export const UpdateUser = Type.Object(
  { name: Type.Optional(Name), email: Type.Optional(Email), timezone: Type.Optional(Timezone) },
  { additionalProperties: false, title: 'UpdateUser' },
);
export type UpdateUser = Static<typeof UpdateUser>;

export const UserIdParam = IdParam(USER_ID_PREFIX);

export const DeletedUser = Type.Object({ id: Type.String(), deleted: Type.Literal(true) }, { additionalProperties: false, title: 'DeletedUser' });

const e = errorResponses;

/** Route schemas, each declaring exactly the statuses its route can answer. */
export const userRoutes = {
  create: {
    tags: ['users'],
    summary: 'Create a user',
    body: CreateUser,
    response: { 201: User, 400: e[400], 401: e[401], 409: e[409], 500: e[500] },
  },
  list: {
    tags: ['users'],
    summary: 'List users, newest first',
    querystring: CursorQuery,
    response: { 200: ListOf(User), 400: e[400], 401: e[401], 500: e[500] },
  },
  get: {
    tags: ['users'],
    summary: 'Retrieve a user',
    params: UserIdParam,
    response: { 200: User, 400: e[400], 401: e[401], 404: e[404], 500: e[500] },
  },
  update: {
    tags: ['users'],
    summary: 'Update a user',
    params: UserIdParam,
    body: UpdateUser,
    response: { 200: User, 400: e[400], 401: e[401], 404: e[404], 409: e[409], 500: e[500] },
  },
  delete: {
    tags: ['users'],
    summary: 'Delete a user (409 while they still own booking pages)',
    params: UserIdParam,
    response: { 200: DeletedUser, 400: e[400], 401: e[401], 404: e[404], 409: e[409], 500: e[500] },
  },
} as const;
