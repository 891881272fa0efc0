/** Schemas every route group shares: the error body, list envelopes, ids. */
import { Type, type TSchema, type Static } from '@sinclair/typebox';

export const ErrorBody = Type.Object(
  {
    type: Type.Union([
      Type.Literal('authentication_error'),
      Type.Literal('invalid_request_error'),
      Type.Literal('rate_limit_error'),
      Type.Literal('api_error'),
    ]),
    message: Type.String(),
    param: Type.Optional(Type.String()),
  },
  { $id: 'Error', additionalProperties: false },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** Standard error responses to declare on every route, keyed by status. */
export const errorResponses = {
  400: Type.Ref(ErrorBody),
  401: Type.Ref(ErrorBody),
  404: Type.Ref(ErrorBody),
  409: Type.Ref(ErrorBody),
  500: Type.Ref(ErrorBody),
} as const;

/** `{ object: "list", data, has_more }` as in lifecycle.md section 4. */
export function ListOf<T extends TSchema>(item: T) {
  return Type.Object({ object: Type.Literal('list'), data: Type.Array(item), has_more: Type.Boolean() }, { additionalProperties: false });
}

/** Cursor pagination query (object ids); `before` and `after` together is a 400. */
export const CursorQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
    // Object ids only: a cursor with a NUL byte or invalid UTF-8 once reached the SQL driver and became a 500.
    before: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,80}$' })),
    after: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,80}$' })),
  },
  { additionalProperties: false },
);

export function IdParam(prefix: string) {
  return Type.Object({ id: Type.String({ pattern: `^${prefix}[A-Za-z0-9_-]{1,64}$` }) }, { additionalProperties: false });
}

/** IANA zone check used by format 'iana-timezone'. */
export function isIanaTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz.includes('/') || tz === 'UTC';
  } catch {
    return false;
  }
}
