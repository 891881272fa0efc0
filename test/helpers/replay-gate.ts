/**
 * The replay gate for suites that run on a real server: every workflow execution in the client's namespace, open
 * and closed, on every task queue, has its history fetched and replayed with Worker.runReplayHistories against the
 * current workflow bundle. A history the current code cannot replay (DeterminismViolationError or any other replay
 * error) is a failure. Call it once the suite's work is done: visibility is read once, so later starts are missed.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { installTestRuntime, workflowBundle } from './temporal-env';

/** Which executions to replay, against what, and how the printed line names the run. */
export interface ReplayGateOptions {
  /** The bundle to replay against; the engine's workflows/ barrel (what the worker runs) by default. */
  workflowBundle?: WorkflowBundle;
  /** A visibility query narrowing the executions; every execution in the namespace by default. */
  query?: string;
  /** Histories fetched at once, ahead of the replay (default 8). */
  concurrency?: number;
  /** Names the suite in the printed line. */
  label?: string;
}

/** One execution whose history could not be fetched or did not replay. */
export interface ReplayGateFailure {
  workflowId: string;
  runId: string;
  workflowType: string;
  /** Error class and message, e.g. `DeterminismViolationError: Replay failed with a nondeterminism error...`. */
  error: string;
}

/** What the gate saw: executions listed (open among them), histories replayed and their events, and the failures. */
export interface ReplayGateResult {
  workflows: number;
  open: number;
  replayed: number;
  events: number;
  failures: ReplayGateFailure[];
}

interface Execution {
  workflowId: string;
  runId: string;
  workflowType: string;
}

type Fetched = { execution: Execution; history: temporal.api.history.v1.IHistory } | { execution: Execution; error: string };

const MAX_ERROR_CHARS = 1_000;

function describeError(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}

/**
 * Fetches the histories in list order with at most `concurrency` requests in flight, so only that many histories
 * are held while the replay works through them. A failed fetch is yielded as an error, never thrown: the
 * requests already in flight must not be left rejecting unobserved.
 */
async function* fetchHistories(client: Client, executions: Execution[], concurrency: number): AsyncGenerator<Fetched> {
  const fetchOne = (execution: Execution): Promise<Fetched> =>
    client.workflow
      .getHandle(execution.workflowId, execution.runId)
      .fetchHistory()
      .then(
        (history) => ({ execution, history }),
        (err: unknown) => ({ execution, error: `fetching the history failed: ${describeError(err)}` }),
      );
  const inFlight: Promise<Fetched>[] = [];
  let next = 0;
  while (next < executions.length && inFlight.length < concurrency) inFlight.push(fetchOne(executions[next++]));
  while (inFlight.length > 0) {
    const fetched = await inFlight.shift()!;
    if (next < executions.length) inFlight.push(fetchOne(executions[next++]));
    yield fetched;
  }
}

/** Replays the history of every execution on the server against the current workflow code; prints one line of counts. */
export async function replayEveryHistory(client: Client, opts: ReplayGateOptions = {}): Promise<ReplayGateResult> {
  installTestRuntime();
  const started = Date.now();
  const bundle = opts.workflowBundle ?? (await workflowBundle());
  const executions: Execution[] = [];
  let open = 0;
  for await (const w of client.workflow.list(opts.query ? { query: opts.query } : undefined)) {
    executions.push({ workflowId: w.workflowId, runId: w.runId, workflowType: w.type });
    if (w.status.name === 'RUNNING') open += 1;
  }

  const result: ReplayGateResult = { workflows: executions.length, open, replayed: 0, events: 0, failures: [] };
  // The replay worker takes one history at a time and yields its result before pulling the next, so the
  // execution a result belongs to is the one handed over last (the result carries no run id of ours).
  const handedOver: Execution[] = [];
  async function* histories() {
    for await (const fetched of fetchHistories(client, executions, opts.concurrency ?? 8)) {
      const { execution } = fetched;
      if ('error' in fetched) {
        result.failures.push({ ...execution, error: fetched.error });
        continue;
      }
      const events = fetched.history.events?.length ?? 0;
      if (events === 0) {
        result.failures.push({ ...execution, error: 'the server returned an empty history' });
        continue;
      }
      result.events += events;
      handedOver.push(execution);
      yield { workflowId: execution.workflowId, history: fetched.history };
    }
  }
  for await (const replay of Worker.runReplayHistories({ workflowBundle: bundle }, histories())) {
    const execution = handedOver.shift();
    if (!execution || execution.workflowId !== replay.workflowId) {
      throw new Error(`replay result for ${replay.workflowId} does not match the history handed over (${execution?.workflowId ?? 'none'})`);
    }
    result.replayed += 1;
    if (replay.error) result.failures.push({ ...execution, error: describeError(replay.error) });
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `[replay gate]${opts.label ? ` ${opts.label}:` : ''} ${result.workflows} workflows (${result.open} open), ` +
      `${result.replayed} histories replayed (${result.events} events) in ${seconds} s, ${result.failures.length} failures`,
  );
  return result;
}
