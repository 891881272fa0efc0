/**
 * The OpenTelemetry SDK of a tracing process, required by ./tracing.ts only when tracing is on: a tracer provider
 * with the OTLP/HTTP exporter (protobuf, or JSON) behind a batch span processor, the W3C trace-context propagator, and the
 * instrumentations of node:http (the API's server spans, jsforce's requests), undici (the webhook POSTs) and pg.
 * Every setting comes from the standard OTEL_* variables (endpoint, headers, timeout, sampler, batch sizes,
 * service name and resource attributes).
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPHttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { Resource, detectResourcesSync, envDetectorSync } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** Probes and scrapes are not traced: they would bury the bookings' traces. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export interface TracingSdk {
  resource: Resource;
  processor: SpanProcessor;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
  activeTraceIds(): { trace_id?: string; span_id?: string };
  /** Renames the active (HTTP server) span after its route and sets `http.route` (and `booking.id` for a booking route). */
  nameServerSpan(method: string, route: string, id: unknown): void;
}

/**
 * The exporter OTEL_EXPORTER_OTLP_TRACES_PROTOCOL (or OTEL_EXPORTER_OTLP_PROTOCOL) names: `http/protobuf` (the
 * default) or `http/json`. `grpc` is not shipped: it is refused rather than silently sent another way.
 */
function otlpExporter(env: NodeJS.ProcessEnv): SpanExporter {
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (protocol === 'http/protobuf') return new OTLPProtobufExporter();
  if (protocol === 'http/json') return new OTLPHttpJsonExporter();
  throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: use http/protobuf (the default) or http/json`);
}

export function startTracingSdk(serviceName: string): TracingSdk {
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over the process's default name.
  const resource = new Resource({ 'service.name': serviceName }).merge(detectResourcesSync({ detectors: [envDetectorSync] }));
  const processor = new BatchSpanProcessor(otlpExporter(process.env));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // The global provider, the AsyncLocalStorage context manager and the propagators (OTEL_PROPAGATORS; W3C by default).
  provider.register();
  const untrace = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0] ?? ''),
      }),
      new UndiciInstrumentation(),
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
  return {
    resource,
    processor,
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      untrace();
      await provider.shutdown();
    },
    nameServerSpan(method, route, id) {
      const span = trace.getActiveSpan();
      if (!span) return;
      span.updateName(`${method} ${route}`);
      span.setAttribute('http.route', route);
      if (typeof id === 'string' && route.startsWith('/v2/bookings/:id')) span.setAttribute('booking.id', id);
    },
    activeTraceIds() {
      const ctx = trace.getActiveSpan()?.spanContext();
      return ctx && isSpanContextValid(ctx) ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
    },
  };
}
