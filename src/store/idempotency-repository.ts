/**
 * Idempotency keys: the first request with a (scope, key) claims it for the resource it is about to
 * create; a retry with the same key gets that resource back instead of starting a second one.
 */
import type { Queryable } from './db';

/** Outcome of a claim: this caller won the key, or someone already holds it. */
export type ClaimResult =
  | { claimed: true; resourceId: string }
  | {
      claimed: false;
      /** The resource the first request created (or is creating). */
      resourceId: string;
      requestHash: string;
      /** False when the key is reused for a different request: the caller answers 409/422, never a second resource. */
      sameRequest: boolean;
      createdAt: Date;
    };

interface KeyRow {
  resource_id: string;
  request_hash: string;
  created_at: Date;
}

/** Idempotency repository over any Queryable (the Db or one transaction). */
export function createIdempotencyRepository(db: Queryable) {
  return {
    /**
     * Atomically claims (scope, key) for resourceId. Concurrent claims of one key resolve to exactly one
     * winner: PostgreSQL makes the loser's INSERT wait for the winner's and then do nothing.
     */
    async claim(scope: string, key: string, requestHash: string, resourceId: string): Promise<ClaimResult> {
      // A holder released between our INSERT and SELECT leaves nothing to read: try again (bounded).
      for (let attempt = 0; attempt < 5; attempt++) {
        const ins = await db.query<{ resource_id: string }>(
          `INSERT INTO idempotency_keys (scope, key, request_hash, resource_id) VALUES ($1, $2, $3, $4)
           ON CONFLICT (scope, key) DO NOTHING RETURNING resource_id`,
          [scope, key, requestHash, resourceId],
        );
        if (ins.rows.length === 1) return { claimed: true, resourceId };
        const cur = await db.query<KeyRow>(
          'SELECT resource_id, request_hash, created_at FROM idempotency_keys WHERE scope = $1 AND key = $2',
          [scope, key],
        );
        const row = cur.rows[0];
        if (row) {
          return {
            claimed: false,
            resourceId: row.resource_id,
            requestHash: row.request_hash,
            sameRequest: row.request_hash === requestHash,
            createdAt: row.created_at,
          };
        }
      }
      throw new Error(`Idempotency key '${key}' in '${scope}' keeps being released while claimed`);
    },

    /** The current holder of (scope, key), if any. */
    async find(scope: string, key: string): Promise<{ resourceId: string; requestHash: string; createdAt: Date } | undefined> {
      const r = await db.query<KeyRow>('SELECT resource_id, request_hash, created_at FROM idempotency_keys WHERE scope = $1 AND key = $2', [
        scope,
        key,
      ]);
      const row = r.rows[0];
      return row ? { resourceId: row.resource_id, requestHash: row.request_hash, createdAt: row.created_at } : undefined;
    },

    /**
     * Gives the key back when creating resourceId failed for good (nothing was started), so a retry can
     * claim it afresh. Only the holder's own resource id releases it.
     */
    async release(scope: string, key: string, resourceId: string): Promise<boolean> {
      const r = await db.query('DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND resource_id = $3', [scope, key, resourceId]);
      return r.rowCount > 0;
    },

    /** Keeps the first answer given under (scope, key), for the holder's resource id only. */
    async saveAnswer(scope: string, key: string, resourceId: string, answer: unknown): Promise<void> {
      await db.query('UPDATE idempotency_keys SET answer = $4::jsonb WHERE scope = $1 AND key = $2 AND resource_id = $3 AND answer IS NULL', [
        scope,
        key,
        resourceId,
        JSON.stringify(answer),
      ]);
    },

    /** The answer kept for (scope, key), if the first request got that far. */
    async answer(scope: string, key: string): Promise<unknown> {
      const r = await db.query<{ answer: unknown }>('SELECT answer FROM idempotency_keys WHERE scope = $1 AND key = $2', [scope, key]);
      return r.rows[0]?.answer ?? undefined;
    },

    /** Forgets keys claimed before cutoff; returns how many. */
    async purgeOlderThan(cutoff: Date): Promise<number> {
      const r = await db.query('DELETE FROM idempotency_keys WHERE created_at < $1', [cutoff]);
      return r.rowCount;
    },
  };
}

export type IdempotencyRepository = ReturnType<typeof createIdempotencyRepository>;
