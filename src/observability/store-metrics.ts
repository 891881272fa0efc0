/**
 * Gauges read from the store when Prometheus scrapes: the pg pool's usage (PostgreSQL only) and the deliveries still
 * open. Each registry that wants them calls storeGauges once and points them at its process's Db with watch().
 */
import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../store/db';

/** The numbers a `pg` Pool keeps about itself. */
interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

function isPoolStats(v: unknown): v is PoolStats {
  const p = v as Partial<PoolStats> | null;
  return !!p && typeof p.totalCount === 'number' && typeof p.idleCount === 'number' && typeof p.waitingCount === 'number';
}

/**
 * The pool behind a PostgreSQL Db. The store keeps its `pg` Pool to itself (src/store/open-db.ts, PostgresDb.pool):
 * read it without depending on that class, and report nothing when it is not there (PGlite, a test double).
 */
export function poolStatsOf(db: Db): PoolStats | null {
  if (db.kind !== 'postgres') return null;
  const pool = (db as unknown as { pool?: unknown }).pool;
  return isPoolStats(pool) ? pool : null;
}

/** Open deliveries are counted at most this often, however often Prometheus scrapes (each count reads the table). */
const OPEN_DELIVERIES_TTL_MS = 10_000;

export interface StoreGauges {
  /** The Db read from now on (the latest call wins: one per process). */
  watch(db: Db): void;
}

export function storeGauges(registry: Registry, opts: { openDeliveries: boolean }): StoreGauges {
  let db: Db | null = null;
  let poolGauges = false;
  /** Registered with the first PostgreSQL Db, so the embedded store shows no pool at all rather than zeros. */
  const registerPoolGauges = () => {
    poolGauges = true;
    new Gauge({
      name: 'booking_engine_store_pool_connections',
      help: 'PostgreSQL pool connections of this process by state: total (open) and idle (open, unused). Absent on the embedded store.',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const p = db && poolStatsOf(db);
        this.set({ state: 'total' }, p ? p.totalCount : 0);
        this.set({ state: 'idle' }, p ? p.idleCount : 0);
      },
    });
    new Gauge({
      name: 'booking_engine_store_pool_waiting_requests',
      help: 'Queries of this process waiting for a free PostgreSQL pool connection. Absent on the embedded store.',
      registers: [registry],
      collect() {
        const p = db && poolStatsOf(db);
        this.set(p ? p.waitingCount : 0);
      },
    });
  };
  if (opts.openDeliveries) {
    let cached: { at: number; value: number; db: Db } | null = null;
    new Gauge({
      name: 'booking_engine_webhook_open_handoffs',
      help:
        'Webhook deliveries still pending in the store: handed over to their delivery workflows (or being routed right now). ' +
        "The whole engine's count, the same from every worker: aggregate with max().",
      registers: [registry],
      async collect() {
        const current = db;
        if (!current) return;
        if (cached && cached.db === current && Date.now() - cached.at <= OPEN_DELIVERIES_TTL_MS) {
          this.set(cached.value);
          return;
        }
        try {
          const r = await current.query<{ n: number | string }>(`SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'pending'`);
          cached = { at: Date.now(), value: Number(r.rows[0]?.n ?? 0), db: current };
          this.set(cached.value);
        } catch {
          // The store did not answer (closing, restarting): the last value stands until it does.
        }
      },
    });
  }
  return {
    watch(next) {
      db = next;
      if (!poolGauges && poolStatsOf(next)) registerPoolGauges();
    },
  };
}
