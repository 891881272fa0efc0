/**
 * Domain errors the repositories throw. They name the field at fault (`param`) so the API can answer
 * 400/404/409 without knowing SQL; nothing here knows HTTP.
 */

/** Base of every error a repository throws on purpose. */
export class StoreError extends Error {
  constructor(
    message: string,
    readonly param?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The object asked for does not exist. */
export class NotFoundError extends StoreError {
  constructor(
    readonly entity: string,
    readonly id: string,
    param = 'id',
  ) {
    super(`No such ${entity}: '${id}'`, param);
  }
}

/** The write contradicts existing state (a taken email, a user who still owns booking pages). */
export class ConflictError extends StoreError {}

/** The input refers to something that does not exist (an owner, a pagination cursor). */
export class InvalidReferenceError extends StoreError {
  constructor(message: string, param: string) {
    super(message, param);
  }
}

/** PostgreSQL SQLSTATE of a driver error (pg and PGlite both expose `code` and `constraint`). */
export function sqlState(err: unknown): { code?: string; constraint?: string } {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; constraint?: unknown };
    return { code: typeof e.code === 'string' ? e.code : undefined, constraint: typeof e.constraint === 'string' ? e.constraint : undefined };
  }
  return {};
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
