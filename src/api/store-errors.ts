/** Turns the store's domain errors into API errors: not found → 404, conflict → 409, bad reference → 400. */
import { ApiError } from './plugins/errors';
import { ConflictError, InvalidReferenceError, NotFoundError } from '../store/repository-errors';

/** The ApiError a store error stands for; any other error is returned unchanged. */
export function toApiError(err: unknown): unknown {
  if (err instanceof NotFoundError) return ApiError.notFound(err.message, err.param);
  if (err instanceof ConflictError) return ApiError.conflict(err.message, err.param);
  if (err instanceof InvalidReferenceError) return ApiError.badRequest(err.message, err.param);
  return err;
}

/** Runs a store call, rethrowing its domain errors as ApiErrors for the one error mapper. */
export async function fromStore<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toApiError(err);
  }
}
