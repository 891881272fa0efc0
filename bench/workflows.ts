/**
 * Bench-only workflows for the engine's own limit (scenario b): the same numbers of activities, timers and
 * workflow starts as one booking lifecycle, with every activity a no-op. Bundled separately, on its own task
 * queue, never registered by the product's worker.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';

/** The no-op activity the bench worker registers. */
export interface BenchActivities {
  noop(): Promise<void>;
}

const { noop } = proxyActivities<BenchActivities>({ startToCloseTimeout: '1 minute' });

/** Stands in for the booking workflow: `activities` no-op activities in order, then `timers` durable timers. */
export async function benchLifecycleWorkflow(input: { activities: number; timers: number; timerMs: number }): Promise<void> {
  for (let i = 0; i < input.activities; i++) await noop();
  for (let i = 0; i < input.timers; i++) await sleep(input.timerMs);
}

/** Stands in for one webhook delivery: a single no-op activity. */
export async function benchLeafWorkflow(): Promise<void> {
  await noop();
}
