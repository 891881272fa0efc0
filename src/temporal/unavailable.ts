/**
 * Whether a Temporal client call failed because the server could not be reached or did not answer in time
 * (gRPC UNAVAILABLE or DEADLINE_EXCEEDED, on the error or any of its causes), as opposed to an answer. Such a
 * failure is the API's 503, and for a start it is ambiguous: the request may have reached the server before its
 * answer was lost, so an Idempotency-Key keeps its booking id for the retry (src/api/idempotency.ts).
 */
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

/** The shape both grpc-js and the SDK's native connection give their call errors (a code, details, metadata). */
function grpcCode(err: unknown): number | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { code?: unknown; details?: unknown; metadata?: unknown };
  return typeof e.code === 'number' && typeof e.details === 'string' && typeof e.metadata === 'object' ? e.code : null;
}

export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = grpcCode(e);
    if (code === UNAVAILABLE || code === DEADLINE_EXCEEDED) return true;
  }
  return false;
}
