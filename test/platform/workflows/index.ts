/** Test-only workflows proving the platform helpers; the engine's workflows live in workflows/. */
import { condition, defineSignal, proxyActivities, setHandler, sleep } from '@temporalio/workflow';

/** Releases holdUntilReleased. */
export const releaseSignal = defineSignal<[string]>('release');

/** Sleeps the given number of hours and returns how long it slept in workflow time (ms). */
export async function sleeper(hours: number): Promise<number> {
  const started = Date.now();
  await sleep(`${hours} hours`);
  return Date.now() - started;
}

/** Waits for the release signal and returns its payload; stands in for a long-lived booking. */
export async function holdUntilReleased(): Promise<string> {
  let released: string | undefined;
  setHandler(releaseSignal, (value) => {
    released = value;
  });
  await condition(() => released !== undefined);
  return released as string;
}


/** Runs one activity on the workflow's own task queue and returns its answer (eager dispatch can take it). */
export async function oneActivity(value: string): Promise<string> {
  const { echo } = proxyActivities<{ echo(value: string): Promise<string> }>({ startToCloseTimeout: '10 seconds' });
  return echo(value);
}
