/**
 * Handing a delivery from routing to its delivery workflow. Routing makes the first attempt itself (most
 * receivers answer at once, and then no workflow is needed); a delivery whose first attempt failed, or was
 * still in flight when routing stopped waiting, goes on in a workflow that waits as the schedule says.
 */
import { RETRY_WINDOW_MS, retryDelayAfterAttempt } from '../retry-schedule';

/** What the delivery workflow needs to carry on after the attempts routing made. No secret travels here. */
export interface DeliveryHandoff {
  /** Attempts already made (recorded or, for one still in flight, about to be). */
  attemptsMade: number;
  /** When the first attempt started (ISO 8601): the 72-hour window counts from here. */
  firstAttemptAt: string;
  /** How long the workflow waits before its first attempt. */
  waitMs: number;
}

/**
 * The wait before the workflow's attempt: the schedule's delay after attempt `attemptsMade` (or the receiver's
 * longer Retry-After). For an attempt still in flight, first until it has certainly ended (its time-out), so two
 * attempts of one delivery never overlap.
 */
export function handoffWaitMs(o: { attemptsMade: number; retryAfterMs?: number | null; inFlightRemainingMs?: number }): number {
  return Math.max(0, o.inFlightRemainingMs ?? 0) + retryDelayAfterAttempt(o.attemptsMade, o.retryAfterMs);
}

/** Time left of the 72-hour window at `nowMs` (never below 0). */
export function windowRemainingMs(firstAttemptAt: string, nowMs: number): number {
  return Math.max(0, Date.parse(firstAttemptAt) + RETRY_WINDOW_MS - nowMs);
}
