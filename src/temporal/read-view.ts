/**
 * Reading a workflow's view without depending on replay (issue 13): a completed run answers from its
 * completion event, only a running run through its query. Used by the booking service and the conversation
 * routes.
 */
import { WorkflowNotFoundError, type Client, type WorkflowExecutionStatusName } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import { ApiError } from '../api/plugins/errors';

/** How a run that closed without a result ended, in the words of a 410's message. */
const ENDED_WITHOUT_RESULT: Partial<Record<WorkflowExecutionStatusName, string>> = {
  TERMINATED: 'terminated',
  FAILED: 'failed',
  TIMED_OUT: 'timed out',
  CANCELLED: 'canceled',
  CONTINUED_AS_NEW: 'continued as new',
};

/** The first line of a failure, short enough for an error message (a nondeterminism error carries a long report). */
function briefly(err: unknown): string {
  // The SDK's class names mislead here (a failed query is a QueryNotRegisteredError); its messages do not.
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  const text = err instanceof Error ? `${err.message}${cause}` : String(err);
  const line = text.split('\n')[0];
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/**
 * Reads the view a workflow answers by query and returns as its result, never by replaying a closed run: a
 * completed run answers from its completion event (so no workflow code change can make it unreadable), a
 * running one through the query. A run that ended without a result is a 410, a failed read a 503, both
 * naming the object (`what`, e.g. "Booking 'BKNG-…'"). WorkflowNotFoundError is left to the caller (404).
 * `known` is the run's status and id when the caller already has them (a visibility listing), saving a describe.
 */
export async function readWorkflowView<T>(
  temporal: Client,
  workflowId: string,
  query: QueryDefinition<T>,
  what: string,
  known?: { status: WorkflowExecutionStatusName; runId: string },
): Promise<T> {
  const unreadable = (err: unknown) => {
    const e = new ApiError(503, 'api_error', `${what} could not be read right now: ${briefly(err)}`);
    e.cause = err;
    return e;
  };
  let run = known;
  if (!run) {
    try {
      const d = await temporal.workflow.getHandle(workflowId).describe();
      run = { status: d.status.name, runId: d.runId };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw err;
      throw unreadable(err);
    }
  }
  const h = temporal.workflow.getHandle(workflowId, run.runId);
  // The completion event's payload: read from history, no worker involved.
  const fromResult = async (): Promise<T> => {
    try {
      return (await h.result()) as T;
    } catch (err) {
      throw unreadable(err);
    }
  };
  if (run.status === 'COMPLETED') return fromResult();
  const ended = ENDED_WITHOUT_RESULT[run.status];
  if (ended) {
    throw new ApiError(410, 'invalid_request_error', `${what} cannot be read: its workflow run was ${ended} before it finished, so it has no final state`, 'id');
  }
  try {
    return await h.query(query);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw err;
    // The run may have closed since it was described (a query on it replays): its result is the answer then.
    const now = await h.describe().catch(() => null);
    if (now?.status.name === 'COMPLETED') return fromResult();
    throw unreadable(err);
  }
}
