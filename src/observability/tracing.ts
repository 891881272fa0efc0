/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. This
 * module is the cheap part every process loads: it reads the variables and, only when tracing is on, requires the SDK
 * (./tracing-sdk.ts, the exporter and the instrumentations) and Temporal's interceptors. Off, no OpenTelemetry SDK
 * module is loaded, no interceptor is installed and the workflow bundle has no tracing code.
 *
 * On: Temporal's OpenTelemetry client interceptor (workflow starts, updates, signals carry the trace in their
 * headers), the tracing bundle's workflow interceptors (workflows/tracing-interceptors.ts: they copy that header to
 * every activity and child workflow, and create no span in the sandbox), Temporal's activity interceptors (a
 * `RunActivity:<type>` span per attempt, child of the request's span), and the instrumentation of the HTTP server (Fastify answers on node:http), of
 * outbound undici requests (the webhook POSTs), of node:http requests (jsforce's Salesforce calls) and of `pg`.
 */
import type { ClientInterceptors } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { WorkerOptions } from '@temporalio/worker';
import type { TracingSdk } from './tracing-sdk';

/** The variable that turns tracing on (the standard OTLP exporter endpoint), for messages. */
export const TRACING_VARIABLE = 'OTEL_EXPORTER_OTLP_ENDPOINT';

/**
 * Whether tracing is on: an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT, or the traces-only
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and neither OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none says otherwise.
 */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  if ((env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase() === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

let sdk: TracingSdk | null = null;

/**
 * Starts tracing for this process when tracingEnabled(), once: first thing in an entry point (see
 * ./tracing-preload.ts), before node:http and pg are loaded. `serviceName` is the default `service.name`
 * (OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override it). Returns whether tracing is on.
 */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (sdk) return true;
  if (!tracingEnabled(env)) return false;
  // Required here, not imported: with tracing off none of it is loaded.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startTracingSdk } = require('./tracing-sdk') as typeof import('./tracing-sdk');
  sdk = startTracingSdk(serviceName);
  return true;
}

/** Whether this process traces (startTracing turned it on). */
export function tracingStarted(): boolean {
  return sdk !== null;
}

/** Sends the spans still buffered and stops the exporter; a no-op when tracing is off. */
export async function shutdownTracing(): Promise<void> {
  const s = sdk;
  sdk = null;
  await s?.shutdown();
}

/** Sends the spans still buffered, keeping tracing on. */
export async function flushTracing(): Promise<void> {
  await sdk?.flush();
}

/** The Temporal client's interceptors: the OpenTelemetry one when tracing is on, else none. */
export function tracingClientInterceptors(): ClientInterceptors | undefined {
  if (!sdk) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { OpenTelemetryWorkflowClientInterceptor } = require('@temporalio/interceptors-opentelemetry') as typeof import('@temporalio/interceptors-opentelemetry');
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/**
 * The worker's activity interceptors when tracing is on; `{}` when off. The workflow interceptors are in the bundle
 * (prepareWorkflowBundle({ tracing: true })).
 */
export function tracingWorkerOptions(): Pick<WorkerOptions, 'interceptors'> {
  if (!sdk) return {};
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const otel = require('@temporalio/interceptors-opentelemetry') as typeof import('@temporalio/interceptors-opentelemetry');
  return {
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
  };
}

/**
 * Tracing on: names each request's server span after its route template (`POST /v2/bookings/:id/cancel`, with
 * `http.route`), and marks it with the booking id of the route's `:id`. Off: registers nothing.
 */
export function registerRequestSpanNames(app: FastifyInstance): void {
  const s = sdk;
  if (!s) return;
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    if (route) s.nameServerSpan(request.method, route, (request.params as Record<string, unknown> | undefined)?.id);
  });
}

/** `trace_id` and `span_id` of the active span, for a log line (the names Temporal's interceptors use); `{}` without one. */
export function activeTraceIds(): { trace_id?: string; span_id?: string } {
  return sdk ? sdk.activeTraceIds() : {};
}
