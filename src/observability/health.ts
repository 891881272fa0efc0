/**
 * Health of the API: GET /healthz (the process answers) and GET /readyz (the Temporal connection and the store
 * answer), JSON, without an API key and outside the OpenAPI document. The same checks answer /readyz on the API's
 * metrics port. The worker's readiness is its own state (src/worker.ts).
 */
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../store/db';
import type { HealthAnswer } from './metrics-server';

export const HEALTH_PATHS = ['/healthz', '/readyz'] as const;

/** How long one dependency may take to answer a readiness check. */
const CHECK_TIMEOUT_MS = 3_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function check(what: string, fn: () => Promise<unknown>): Promise<{ status: 'ok' } | { status: 'error'; error: string }> {
  try {
    await withTimeout(fn(), CHECK_TIMEOUT_MS, what);
    return { status: 'ok' };
  } catch (err) {
    return { status: 'error', error: err instanceof Error ? err.message : String(err) };
  }
}

/** Readiness of the API: a round trip to the Temporal frontend and one to the store, side by side. */
export async function apiReadiness(deps: { temporal: Client; db: Db }): Promise<HealthAnswer> {
  const [temporal, store] = await Promise.all([
    check('Temporal', () =>
      deps.temporal.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => deps.temporal.workflowService.getSystemInfo({})),
    ),
    check('the store', () => deps.db.query('SELECT 1')),
  ]);
  const ok = temporal.status === 'ok' && store.status === 'ok';
  return { ok, body: { status: ok ? 'ready' : 'not_ready', checks: { temporal, store } } };
}

/** Liveness: answering at all is the proof. */
export function alive(): HealthAnswer {
  return { ok: true, body: { status: 'ok' } };
}

/** Registers /healthz and /readyz (hidden from the OpenAPI document; exempt from API-key auth by app.ts). */
export function registerHealthRoutes(app: FastifyInstance): void {
  const hide = { schema: { hide: true } };
  app.get('/healthz', hide, async (_request, reply) => {
    const h = alive();
    return reply.code(200).header('cache-control', 'no-store').send(h.body);
  });
  app.get('/readyz', hide, async (_request, reply) => {
    const h = await apiReadiness(app.deps);
    return reply
      .code(h.ok ? 200 : 503)
      .header('cache-control', 'no-store')
      .send(h.body);
  });
}
