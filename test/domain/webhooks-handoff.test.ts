/** The pure handoff arithmetic between routing's first attempt and the delivery workflow. */
import { handoffWaitMs, windowRemainingMs } from '../../src/domain/webhooks/handoff';
import { RETRY_WINDOW_MS } from '../../src/domain/retry-schedule';

const SECOND = 1000;

describe('handoffWaitMs', () => {
  it('waits the schedule after a failed first attempt: 35 s', () => {
    expect(handoffWaitMs({ attemptsMade: 1 })).toBe(35 * SECOND);
  });

  it('continues the schedule after later attempts (3 min after the second, 72 min after the third, then 6 h)', () => {
    expect(handoffWaitMs({ attemptsMade: 2 })).toBe(180 * SECOND);
    expect(handoffWaitMs({ attemptsMade: 3 })).toBe(72 * 60 * SECOND);
    expect(handoffWaitMs({ attemptsMade: 7 })).toBe(6 * 3600 * SECOND);
  });

  it("honours a longer Retry-After, and not a shorter one", () => {
    expect(handoffWaitMs({ attemptsMade: 1, retryAfterMs: 2 * 3600 * SECOND })).toBe(2 * 3600 * SECOND);
    expect(handoffWaitMs({ attemptsMade: 1, retryAfterMs: 5 * SECOND })).toBe(35 * SECOND);
  });

  it('for an attempt still in flight, first waits out its time-out so two attempts never overlap', () => {
    expect(handoffWaitMs({ attemptsMade: 1, inFlightRemainingMs: 13 * SECOND })).toBe(48 * SECOND);
    // A clock that already passed the time-out adds nothing.
    expect(handoffWaitMs({ attemptsMade: 1, inFlightRemainingMs: -200 })).toBe(35 * SECOND);
  });
});

describe('windowRemainingMs', () => {
  const first = '2026-11-27T10:00:00.000Z';
  const t0 = Date.parse(first);

  it('counts the 72 hours from the first attempt', () => {
    expect(windowRemainingMs(first, t0)).toBe(RETRY_WINDOW_MS);
    expect(windowRemainingMs(first, t0 + 35 * SECOND)).toBe(RETRY_WINDOW_MS - 35 * SECOND);
  });

  it('is 0, never negative, once they are over', () => {
    expect(windowRemainingMs(first, t0 + RETRY_WINDOW_MS)).toBe(0);
    expect(windowRemainingMs(first, t0 + RETRY_WINDOW_MS + 1)).toBe(0);
  });
});
