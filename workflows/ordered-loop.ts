/**
 * Building blocks of a workflow's one ordered loop: the loop sleeps until an activation has settled, then issues
 * every command of the round itself, in a fixed order. Activity completions and timer fires only record what
 * happened and wake it. The commands of an activation then depend on which jobs it held, not on how the SDK
 * grouped them into activations (an empty workflow task may be folded into the next one after a cache miss,
 * but not on replay: temporalio/sdk-rust#1146) or on the order their continuations ran in.
 */
import { CancellationScope, condition, sleep } from '@temporalio/workflow';

/**
 * Wakes the loop one microtask after a change. The SDK checks conditions synchronously after each job of an
 * activation and again once all microtasks have run; a flag set from a microtask is seen only by the latter,
 * when every job of the activation and every continuation they started has settled.
 */
export class Wakeup {
  private dirty = false;

  constructor(private readonly enabled = true) {}

  wake(): void {
    if (!this.enabled) return;
    void Promise.resolve().then(() => {
      this.dirty = true;
    });
  }

  /** Resolves at the next settled wake-up. */
  async next(): Promise<void> {
    await condition(() => this.dirty);
    this.dirty = false;
  }
}

/** One durable timer for the next deadline. Moving the deadline cancels it and starts another. */
export class DeadlineTimer {
  private current: { at: number; fired: boolean; scope: CancellationScope } | null = null;

  constructor(private readonly onFire: () => void) {}

  /** Whether `at` has passed: its timer fired, or the clock is already past it (a worker that was away). */
  reached(at: number): boolean {
    return (this.current !== null && this.current.at === at && this.current.fired) || at <= Date.now();
  }

  /** Keeps exactly one timer running, for `at` (none for null). Commands only when the deadline moved. */
  set(at: number | null): void {
    if ((this.current?.at ?? null) === at) return;
    this.current?.scope.cancel(); // no command when it already fired
    this.current = null;
    if (at === null) return;
    const t = { at, fired: false, scope: new CancellationScope() };
    t.scope
      .run(() => sleep(Math.max(1, at - Date.now())))
      .then(
        () => {
          t.fired = true;
          this.onFire();
        },
        () => undefined, // canceled: the deadline moved
      );
    this.current = t;
  }
}

/**
 * A queue of items sent one at a time, in order, by an activity. `send` must call its activity before its
 * first await (so the command is issued by `pump`, synchronously) and must handle its own failures.
 */
export class DispatchLane<T> {
  readonly queue: T[] = [];
  private inFlight = false;

  constructor(
    private readonly send: (item: T) => Promise<void>,
    private readonly onSettled: () => void,
  ) {}

  /** Nothing queued and nothing in flight. */
  get idle(): boolean {
    return !this.inFlight && this.queue.length === 0;
  }

  /** Starts the head of the queue unless an item is already in flight. */
  pump(): void {
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = true;
    void this.send(this.queue[0]).finally(() => {
      this.queue.shift();
      this.inFlight = false;
      this.onSettled();
    });
  }
}
