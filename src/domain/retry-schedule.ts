/**
 * The 72-hour delivery schedule from the webhook seed, shared by webhook deliveries and Salesforce writes:
 * a failed attempt is retried 35 s later, then 3 min, then 72 min, then every 6 h, and nothing is
 * attempted later than 72 h after the first attempt.
 */
export const RETRY_WINDOW_MS = 72 * 60 * 60 * 1000;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const FIXED_DELAYS_MS = [35 * SECOND, 3 * MINUTE, 72 * MINUTE];
export const MAX_BACKOFF_MS = 6 * HOUR;

/** Wait after the failure of attempt `attempt` (1-based) before the next attempt. */
export function retryDelayAfterAttempt(attempt: number, retryAfterMs?: number | null): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  const scheduled = attempt <= FIXED_DELAYS_MS.length ? FIXED_DELAYS_MS[attempt - 1] : MAX_BACKOFF_MS;
  return retryAfterMs && retryAfterMs > scheduled ? retryAfterMs : scheduled;
}

/** Offsets from the first attempt (ms) of every attempt an always-failing target receives. */
export function attemptOffsets(windowMs: number = RETRY_WINDOW_MS): number[] {
  const offsets = [0];
  for (let attempt = 1; ; attempt++) {
    const next = offsets[offsets.length - 1] + retryDelayAfterAttempt(attempt);
    if (next > windowMs) return offsets;
    offsets.push(next);
  }
}
