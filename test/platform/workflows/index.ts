/** Test-only workflows proving the platform helpers; the engine's workflows live in workflows/. */
import { condition, defineSignal, setHandler, sleep } from '@temporalio/workflow';

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

