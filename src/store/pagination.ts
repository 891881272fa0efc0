/**
 * Cursor pagination, newest first, as lifecycle.md section 4 describes: `after` an id gives the older
 * objects that follow it in the list, `before` an id the newer ones that precede it. Ordered by each
 * table's identity column `seq`, which is insertion order and never ties.
 */
import type { Queryable } from './db';
import { InvalidReferenceError } from './repository-errors';

export interface PageRequest {
  /** 1–100; the API validates the range. */
  limit: number;
  before?: string;
  after?: string;
}

export interface Page<T> {
  data: T[];
  /** More objects exist beyond this page in the direction being paged. */
  hasMore: boolean;
}

export interface PaginateSpec {
  /** Trusted table name (a constant in the repository, never input). */
  table: string;
  columns: string;
  /** Label for the unknown-cursor message, e.g. 'user'. */
  entity: string;
}

/** Runs one page query; an unknown cursor id is an InvalidReferenceError on `before`/`after`. */
export async function paginate<R>(db: Queryable, spec: PaginateSpec, req: PageRequest): Promise<Page<R>> {
  if (req.before !== undefined && req.after !== undefined) {
    throw new InvalidReferenceError("Pass either 'before' or 'after', not both", 'before');
  }
  const limit = req.limit;
  const cursorParam = req.after !== undefined ? 'after' : req.before !== undefined ? 'before' : null;
  if (cursorParam === null) {
    const r = await db.query<R>(`SELECT ${spec.columns} FROM ${spec.table} ORDER BY seq DESC LIMIT $1`, [limit + 1]);
    return { data: r.rows.slice(0, limit), hasMore: r.rows.length > limit };
  }
  const cursor = (cursorParam === 'after' ? req.after : req.before) as string;
  const c = await db.query<{ seq: number }>(`SELECT seq FROM ${spec.table} WHERE id = $1`, [cursor]);
  if (c.rows.length === 0) throw new InvalidReferenceError(`No such ${spec.entity}: '${cursor}'`, cursorParam);
  const seq = c.rows[0].seq;
  if (cursorParam === 'after') {
    const r = await db.query<R>(`SELECT ${spec.columns} FROM ${spec.table} WHERE seq < $1 ORDER BY seq DESC LIMIT $2`, [seq, limit + 1]);
    return { data: r.rows.slice(0, limit), hasMore: r.rows.length > limit };
  }
  // Newer than the cursor: read upwards from it so the page sits next to the cursor, then flip.
  const r = await db.query<R>(`SELECT ${spec.columns} FROM ${spec.table} WHERE seq > $1 ORDER BY seq ASC LIMIT $2`, [seq, limit + 1]);
  return { data: r.rows.slice(0, limit).reverse(), hasMore: r.rows.length > limit };
}
