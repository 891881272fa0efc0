/**
 * The API process's metrics (prom-client): requests by route template, method and status with their latency (a
 * Fastify onResponse hook), Temporal calls that failed (the API's client, wrapped by instrumentTemporalClient) and
 * the store's pool. One registry per process, served on METRICS_PORT (src/server.ts).
 */
import { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { Db } from '../store/db';
import { storeGauges } from './store-metrics';

export interface ApiMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  requestDuration: Histogram<'route' | 'method' | 'status'>;
  temporalErrors: Counter<'method' | 'code'>;
  watch(sources: { db?: Db }): void;
}

function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const store = storeGauges(registry, { openDeliveries: false });
  return {
    registry,
    requests: new Counter({
      name: 'booking_engine_api_requests_total',
      help: 'HTTP requests answered by the API, by route template (unmatched: no route), method and status code.',
      labelNames: ['route', 'method', 'status'] as const,
      registers,
    }),
    requestDuration: new Histogram({
      name: 'booking_engine_api_request_duration_seconds',
      help: 'Time from receiving a request to answering it, by route template, method and status code.',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    temporalErrors: new Counter({
      name: 'booking_engine_api_temporal_errors_total',
      help: 'Temporal calls of the API that failed, by gRPC method and status code (NOT_FOUND and ALREADY_EXISTS included: the API answers them as 404/409).',
      labelNames: ['method', 'code'] as const,
      registers,
    }),
    watch(sources) {
      if (sources.db) store.watch(sources.db);
    },
  };
}

let instance: ApiMetrics | null = null;

/** The process's API metrics (created on first use). */
export function apiMetrics(): ApiMetrics {
  instance ??= createApiMetrics();
  return instance;
}

/** Counts and times every answer by its route template (`/v2/bookings/:id`), never by the URL itself. */
export function registerHttpMetrics(app: FastifyInstance, metrics: ApiMetrics = apiMetrics()): void {
  app.addHook('onResponse', async (request, reply) => {
    const labels = { route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.requestDuration.observe(labels, reply.elapsedTime / 1000);
  });
}

const GRPC_CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** The gRPC status name of a failed call; `UNKNOWN` for anything that is not a gRPC error. */
export function grpcCodeName(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' && GRPC_CODES[code] ? GRPC_CODES[code] : 'UNKNOWN';
}

/**
 * A Client like `client` (same connection, namespace and data converter) whose every gRPC call through the workflow
 * service counts its failures. The connection is shared, not copied, so nothing else that uses it (the worker's
 * activities under npm start) is counted.
 */
export function instrumentTemporalClient(client: Client, metrics: ApiMetrics = apiMetrics()): Client {
  const connection = client.connection;
  const service = connection.workflowService;
  const wrappedService = new Proxy(service, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'constructor') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) {
          return result.catch((err: unknown) => {
            metrics.temporalErrors.inc({ method: prop, code: grpcCodeName(err) });
            throw err;
          });
        }
        return result;
      };
    },
  });
  const wrappedConnection = new Proxy(connection, {
    get(target, prop) {
      if (prop === 'workflowService') return wrappedService;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const o = client.options;
  return new Client({
    connection: wrappedConnection,
    namespace: o.namespace,
    dataConverter: o.dataConverter,
    identity: o.identity,
    interceptors: o.interceptors,
    workflow: o.workflow,
  });
}
