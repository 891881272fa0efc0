/**
 * The one database seam: PostgreSQL through `pg` when DATABASE_URL is set, otherwise the embedded
 * PGlite engine (PostgreSQL compiled to WASM) in the data directory. Both speak the same SQL, so the
 * repositories and migrations are written once.
 */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** Something SQL can run on: the database itself or one transaction. */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs fn in one transaction; a thrown error rolls everything back. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
