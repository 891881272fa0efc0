/**
 * Whether a Temporal client call failed because the server could not be reached or did not answer in time
 * (gRPC UNAVAILABLE or DEADLINE_EXCEEDED, on the error or any of its causes), as opposed to an answer. Such a
 * failure is the API's 503, and for a start it is ambiguous: the request may have reached the server before its
 * answer was lost, so an Idempotency-Key keeps its booking id for the retry (src/api/idempotency.ts).
 */
import { isGrpcServiceError } from '@temporalio/client';

const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e) && (e.code === UNAVAILABLE || e.code === DEADLINE_EXCEEDED)) return true;
  }
  return false;
}
