/**
 * Not a workflow: the workflow interceptor module of the tracing bundle (prepareWorkflowBundle({ tracing: true }),
 * dist/workflow-bundle-tracing.js), i.e. of a worker with OTEL_EXPORTER_OTLP_ENDPOINT set. It carries the trace
 * through the workflow and nothing else: the trace context that Temporal's OpenTelemetry client interceptor put in the
 * `_tracer-data` header of the start (or of the latest signal or update, i.e. the request that last reached the
 * workflow) is copied, as the same payload, into the headers of every activity, local activity, child workflow,
 * external signal and continue-as-new the workflow commands. The activity side (Temporal's OpenTelemetry activity
 * interceptor, and its client interceptor for the delivery workflows an activity starts) reads it from there, so one
 * trace runs from the HTTP request to every activity.
 *
 * Why not Temporal's own workflow interceptors (@temporalio/interceptors-opentelemetry/lib/workflow-interceptors):
 * they create spans inside the sandbox, which (1) draws their span ids from the workflow's seeded Math.random, the
 * same sequence uuid4() draws the lifecycle events' ids from, so turning tracing on or off would change the event ids
 * a replay computes; and (2) adds awaits around scheduleActivity and its result, which reorders commands: replaying
 * the committed histories recorded without tracing against a bundle with them fails two pinned histories with
 * TMPRL1100 (SDK 1.24's alternative condition for OpenTelemetryInterceporsAvoidsExtraYields never holds on replay).
 * Here nothing is awaited, nothing random is drawn and no command changes: headers only, and the trace's ids on the
 * workflow's log lines
 * (test/observability/tracing-replay.test.ts replays every committed history against this bundle).
 */
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import type { WorkflowInterceptors } from '@temporalio/workflow';

/** The header Temporal's OpenTelemetry interceptors keep the trace context in (TRACE_HEADER). */
const TRACE_HEADER = '_tracer-data';

/** `trace_id` and `span_id` (the span that started or last signalled the workflow) of a W3C traceparent, for log lines. */
function traceIds(header: Headers[string]): { trace_id: string; span_id: string } | undefined {
  try {
    const carrier = defaultPayloadConverter.fromPayload<Record<string, unknown>>(header);
    const m = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(String(carrier?.traceparent ?? ''));
    return m ? { trace_id: m[1]!, span_id: m[2]! } : undefined;
  } catch {
    return undefined;
  }
}

export const interceptors = (): WorkflowInterceptors => {
  // This workflow's: the factory runs once per workflow execution.
  let trace: Headers[string] | undefined;
  let ids: { trace_id: string; span_id: string } | undefined;
  const remember = (headers: Headers) => {
    if (headers[TRACE_HEADER] === undefined) return;
    trace = headers[TRACE_HEADER];
    ids = traceIds(trace);
  };
  const withTrace = (headers: Headers): Headers => (trace === undefined ? headers : { ...headers, [TRACE_HEADER]: trace });
  return {
    inbound: [
      {
        execute: (input, next) => {
          remember(input.headers);
          return next(input);
        },
        handleSignal: (input, next) => {
          remember(input.headers);
          return next(input);
        },
        handleUpdate: (input, next) => {
          remember(input.headers);
          return next(input);
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => next({ ...input, headers: withTrace(input.headers) }),
        scheduleLocalActivity: (input, next) => next({ ...input, headers: withTrace(input.headers) }),
        startChildWorkflowExecution: (input, next) => next({ ...input, headers: withTrace(input.headers) }),
        signalWorkflow: (input, next) => next({ ...input, headers: withTrace(input.headers) }),
        continueAsNew: (input, next) => next({ ...input, headers: withTrace(input.headers) }),
        // The workflow's log lines carry the trace (log lines are sink calls, not commands).
        getLogAttributes: (input, next) => next(ids ? { ...ids, ...input } : input),
      },
    ],
  };
};
