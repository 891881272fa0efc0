/**
 * Opens the store: PostgreSQL through a `pg` Pool when DATABASE_URL is set, otherwise embedded PGlite in
 * `<dataDir>/pglite`. Both adapters return the same JS types so repositories never branch on the engine:
 * timestamptz/timestamp → Date (UTC), date → 'YYYY-MM-DD' string, json/jsonb → parsed value,
 * int8 → number, numeric → string. Migrations run before the Db is handed out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Pool, types as pgTypes, type PoolClient, type QueryResult as PgQueryResult } from 'pg';
import { PGlite, types as pgliteTypes, type Transaction as PGliteTransaction } from '@electric-sql/pglite';
import type { Config } from '../config';
import type { Db, QueryResult } from './db';
import { migrate, type MigrationTarget, type ScriptQueryable } from './migrate';

const OID = { INT8: 20, DATE: 1082, TIMESTAMP: 1114, TIMESTAMPTZ: 1184 } as const;

/**
 * Per-pool type parsers for `pg` (the global pg.types stays untouched): bigint as a number, like PGlite,
 * and timestamp without time zone read as UTC rather than the process's local zone.
 */
const pgTypeOverrides = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (format === 'binary') return pgTypes.getTypeParser(oid, format);
    if (oid === OID.INT8) return (v: string) => Number(v);
    if (oid === OID.DATE) return (v: string) => v;
    if (oid === OID.TIMESTAMP) return (v: string) => new Date(`${v.replace(' ', 'T')}Z`);
    return pgTypes.getTypeParser(oid, 'text');
  },
};

/** PGlite parses dates to Date at UTC midnight; pg is told to keep them as strings, so both do that. */
const pgliteParsers = {
  [pgliteTypes.DATE]: (v: string) => v,
};

function pgResult<R>(r: PgQueryResult): QueryResult<R> {
  // A multi-statement script (simple protocol) yields an array of results; callers only read the last.
  const last = Array.isArray(r) ? (r[r.length - 1] as PgQueryResult) : r;
  return { rows: (last?.rows ?? []) as R[], rowCount: last?.rowCount ?? 0 };
}

function pgQueryable(client: Pool | PoolClient): ScriptQueryable {
  return {
    async query<R>(sql: string, params?: unknown[]) {
      return pgResult<R>(await client.query(sql, params as unknown[] | undefined));
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  };
}

class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  private readonly q: ScriptQueryable;
  constructor(private readonly pool: Pool) {
    this.q = pgQueryable(pool);
  }
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    return this.q.query<R>(sql, params);
  }
  /** A dedicated client for the whole transaction, so its statements never interleave with the pool's. */
  async transaction<T>(fn: (tx: ScriptQueryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(pgQueryable(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw err;
    } finally {
      client.release(broken ? true : undefined);
    }
  }
  async close() {
    await this.pool.end();
  }
}

type PGliteLike = Pick<PGlite, 'query' | 'exec'> | PGliteTransaction;

function pgliteQueryable(db: PGliteLike): ScriptQueryable {
  return {
    async query<R>(sql: string, params?: unknown[]) {
      const r = await db.query<R>(sql, params as unknown[] | undefined);
      // PGlite reports affectedRows only for writes; pg counts the rows of a SELECT too.
      return { rows: r.rows, rowCount: r.affectedRows || r.rows.length };
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
  };
}

/**
 * Embedded PGlite: one WASM PostgreSQL backend in this process. It serialises every query and
 * transaction internally (a transaction holds it exclusively until it ends), so there is no pool and
 * concurrent callers simply queue; advisory locks and row locks are trivially uncontended. Inside
 * transaction() use only `tx`: a query on the Db itself would wait for the transaction and never run.
 */
class PGliteDb implements Db {
  readonly kind = 'pglite' as const;
  private readonly q: ScriptQueryable;
  constructor(private readonly pg: PGlite) {
    this.q = pgliteQueryable(pg);
  }
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    return this.q.query<R>(sql, params);
  }
  transaction<T>(fn: (tx: ScriptQueryable) => Promise<T>): Promise<T> {
    return this.pg.transaction((tx) => fn(pgliteQueryable(tx)));
  }
  async close() {
    if (!this.pg.closed) await this.pg.close();
  }
}

/** A Db from this module: its transactions can also run SQL scripts, so `migrate` accepts it. */
export type OpenedDb = Db & MigrationTarget;

async function migrated(db: OpenedDb): Promise<OpenedDb> {
  try {
    await migrate(db);
    return db;
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

/** Opens a PostgreSQL server's database by URL and migrates it. */
export async function openDbFromUrl(url: string): Promise<OpenedDb> {
  const pool = new Pool({ connectionString: url, types: pgTypeOverrides, max: 10 });
  // An idle client losing its connection (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return migrated(new PostgresDb(pool));
}

/** Opens (creating if needed) an embedded PGlite database in dataDir, or in memory when dataDir is omitted. */
export async function openPGliteDb(dataDir?: string): Promise<OpenedDb> {
  if (dataDir) fs.mkdirSync(dataDir, { recursive: true });
  // The options-object form: PGlite drops the options argument when dataDir is undefined.
  const pg = await PGlite.create({ dataDir, parsers: pgliteParsers });
  return migrated(new PGliteDb(pg));
}

/** A throwaway in-memory PGlite database, migrated (tests). */
export function openMemoryDb(): Promise<OpenedDb> {
  return openPGliteDb(undefined);
}

/** The engine the configuration asks for: DATABASE_URL, else PGlite under `<dataDir>/pglite`. */
export function openDb(config: Config): Promise<OpenedDb> {
  return config.databaseUrl ? openDbFromUrl(config.databaseUrl) : openPGliteDb(path.join(config.dataDir, 'pglite'));
}
