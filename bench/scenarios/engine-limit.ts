/**
 * Scenario b, the engine's own limit on the same server and worker settings: minimal workflows doing what one
 * booking lifecycle makes Temporal do (its activities and timers in one workflow, plus one single-activity
 * workflow per delivery workflow it needed, none when every receiver answers), every activity a no-op. Closed loop: `concurrency` units in flight, each
 * replaced when it finishes; the rate of finished units over the window is the limit.
 */
import type { BenchWorld } from '../lib/harness';
import { sleep } from '../lib/stats';

export const BENCH_TASK_QUEUE = 'bench-engine-limit';

export interface EngineLimitParams {
  /** Activities of the booking workflow per lifecycle (routing and Salesforce sync). */
  activities: number;
  timers: number;
  timerMs: number;
  /** Delivery workflows per lifecycle. */
  leaves: number;
  concurrency: number;
  warmupSeconds: number;
  windowSeconds: number;
}

export interface EngineLimitResult {
  params: EngineLimitParams;
  unitsCompleted: number;
  unitsPerSecond: number;
  workflowsPerSecond: number;
  activitiesPerSecond: number;
  errors: number;
}

let unitCounter = 0;

export async function runEngineLimit(h: BenchWorld, params: EngineLimitParams): Promise<EngineLimitResult> {
  await h.engine.startBenchWorker(BENCH_TASK_QUEUE);
  const client = h.temporal.workflow;
  const unit = async () => {
    const id = `bench-${process.pid}-${++unitCounter}`;
    const parent = client.execute('benchLifecycleWorkflow', {
      taskQueue: BENCH_TASK_QUEUE,
      workflowId: id,
      args: [{ activities: params.activities, timers: params.timers, timerMs: params.timerMs }],
    });
    const leaves = Array.from({ length: params.leaves }, (_, i) =>
      client.execute('benchLeafWorkflow', { taskQueue: BENCH_TASK_QUEUE, workflowId: `${id}-leaf-${i}`, args: [] }),
    );
    await Promise.all([parent, ...leaves]);
  };
  const start = Date.now();
  const windowStart = start + params.warmupSeconds * 1000;
  const windowEnd = windowStart + params.windowSeconds * 1000;
  let completed = 0;
  let errors = 0;
  const lane = async () => {
    while (Date.now() < windowEnd) {
      try {
        await unit();
        const now = Date.now();
        if (now >= windowStart && now <= windowEnd) completed++;
      } catch {
        errors++;
        await sleep(100);
      }
    }
  };
  await Promise.all(Array.from({ length: params.concurrency }, lane));
  await h.engine.stopBenchWorker();
  const ups = completed / params.windowSeconds;
  return {
    params,
    unitsCompleted: completed,
    unitsPerSecond: Math.round(ups * 100) / 100,
    workflowsPerSecond: Math.round(ups * (1 + params.leaves) * 10) / 10,
    activitiesPerSecond: Math.round(ups * (params.activities + params.leaves) * 10) / 10,
    errors,
  };
}
