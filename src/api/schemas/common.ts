/** Schemas every route group shares: the error body, list envelopes, ids, text and date-time fields. */
import { Type, type TSchema, type Static, type StringOptions } from '@sinclair/typebox';

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
  /** A read of a run that ended without a final state (terminated, failed, timed out). */
  410: Type.Ref(ErrorBody),
  500: Type.Ref(ErrorBody),
  /** A read that could not be answered now (no worker answered in time, a failed query). */
  503: Type.Ref(ErrorBody),
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

/**
 * What no text field or URL in a request may contain: the C0 controls U+0000–U+001F (NUL, TAB, CR and LF
 * included), DEL and the C1 controls U+0080–U+009F. A NUL in a name reached the SQL driver (a 500), and CR/LF
 * inside a webhook URL were silently dropped by the URL parser, moving text into its path.
 */
export const NO_CONTROL_CHARACTERS = '^[^\\u0000-\\u001F\\u007F-\\u009F]*$';

/** A request string with no control characters: every free-text field and URL of the API is one. */
export function Text(options: Omit<StringOptions, 'pattern'> = {}) {
  return Type.String({ ...options, pattern: NO_CONTROL_CHARACTERS });
}

/** Free text a person types in several lines (a note, a reason, an answer): TAB, LF and CR allowed, no other control. */
export const NO_CONTROL_CHARACTERS_BUT_LINES = '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$';

export function Paragraphs(options: Omit<StringOptions, 'pattern'> = {}) {
  return Type.String({ ...options, pattern: NO_CONTROL_CHARACTERS_BUT_LINES });
}

/** Optional on every create and action: a retry with the same key gets the first answer, never a second write. */
export const IdempotencyHeaders = Type.Object({ 'idempotency-key': Type.Optional(Text({ minLength: 1, maxLength: 255 })) });

/** An RFC 3339 date-time, checked strictly by format 'date-time' (isDateTime). */
export function DateTime(description = 'RFC 3339 date-time with seconds and an offset, e.g. 2026-12-01T15:00:00Z') {
  return Type.String({ format: 'date-time', description });
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/i;

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/**
 * Format 'date-time': RFC 3339's date-time, read strictly so that whatever passes is exactly what `new Date`
 * reads: a real calendar day (no February 30, which Date would roll over), hours 00–23, seconds 00–59 (a leap
 * second `:60` is refused: Date cannot hold it and threw a RangeError) and an offset of at most ±23:59.
 */
export function isDateTime(s: string): boolean {
  const m = DATE_TIME.exec(s);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  return Number.isFinite(Date.parse(s));
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
