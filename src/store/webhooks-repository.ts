/**
 * Webhook subscriptions, deliveries and attempts: the one place their SQL lives. Used by the webhook
 * activities and the API. Every write is idempotent where an activity retry could repeat it.
 */
import type { Db, Queryable } from './db';
import type { WebhookEnvelope } from '../shared/dispatch-contract';

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

/** A subscription as stored; `secret` must never leave through a read endpoint. */
export interface WebhookSubscription {
  id: string;
  name: string;
  url: string;
  events: string[];
  secret: string;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: Date;
  deletedAt: Date | null;
}

export interface WebhookDelivery {
  id: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  payload: WebhookEnvelope;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  failureReason: string | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
  redeliveryOf: string | null;
  /** A test send through the API: one attempt, never retried or redelivered. */
  test: boolean;
}

export interface DeliveryAttempt {
  attemptNumber: number;
  startedAt: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

/** Cursor pagination over `seq`, newest first; `before`/`after` are object ids. */
export interface PageRequest {
  limit: number;
  before?: string;
  after?: string;
}

export type Page<T> = { ok: true; rows: T[]; hasMore: boolean } | { ok: false; badCursor: 'before' | 'after' };

/** A subscription name already in use (unique among those not deleted). */
export class SubscriptionNameTakenError extends Error {
  constructor(readonly subscriptionName: string) {
    super(`A webhook named '${subscriptionName}' already exists`);
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any */
function toSubscription(r: any): WebhookSubscription {
  return {
    id: r.id,
    name: r.name,
    url: r.url,
    events: r.events,
    secret: r.secret,
    enabled: r.enabled,
    disabledReason: r.disabled_reason ?? null,
    createdAt: r.created_at,
    deletedAt: r.deleted_at ?? null,
  };
}

function toDelivery(r: any): WebhookDelivery {
  return {
    id: r.id,
    subscriptionId: r.subscription_id,
    eventId: r.event_id,
    eventType: r.event_type,
    payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload,
    status: r.status,
    attempts: r.attempts,
    lastStatusCode: r.last_status_code ?? null,
    lastError: r.last_error ?? null,
    failureReason: r.failure_reason ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    completedAt: r.completed_at ?? null,
    redeliveryOf: r.redelivery_of ?? null,
    test: r.is_test === true,
  };
}

function toAttempt(r: any): DeliveryAttempt {
  return {
    attemptNumber: r.attempt_number,
    startedAt: r.started_at,
    statusCode: r.status_code ?? null,
    latencyMs: r.latency_ms,
    error: r.error ?? null,
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/**
 * One page of `table` rows matching `where` (with `params`), newest first. The cursor must be a row in
 * the same scope, otherwise the page is refused rather than silently empty.
 */
async function page<T>(
  q: Queryable,
  table: string,
  where: string,
  params: unknown[],
  req: PageRequest,
  map: (r: unknown) => T,
): Promise<Page<T>> {
  const cursorName = req.before !== undefined ? 'before' : req.after !== undefined ? 'after' : null;
  const all = [...params];
  let cond = where;
  if (cursorName) {
    all.push(cursorName === 'before' ? req.before : req.after);
    const c = await q.query<{ seq: number }>(`SELECT seq FROM ${table} WHERE ${where} AND id = $${all.length}`, all);
    if (c.rows.length === 0) return { ok: false, badCursor: cursorName };
    all[all.length - 1] = c.rows[0].seq;
    cond = `${where} AND seq ${cursorName === 'before' ? '>' : '<'} $${all.length}`;
  }
  all.push(req.limit + 1);
  const order = cursorName === 'before' ? 'ASC' : 'DESC';
  const r = await q.query(`SELECT * FROM ${table} WHERE ${cond} ORDER BY seq ${order} LIMIT $${all.length}`, all);
  const rows = r.rows.slice(0, req.limit).map(map);
  if (order === 'ASC') rows.reverse();
  return { ok: true, rows, hasMore: r.rows.length > req.limit };
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown })?.code === '23505';
}

/** The repository over a Db. */
export function createWebhooksRepository(db: Db) {
  return {
    /** Creates a subscription; throws SubscriptionNameTakenError when the name is in use. */
    async createSubscription(s: { id: string; name: string; url: string; events: string[]; secret: string }): Promise<WebhookSubscription> {
      try {
        const r = await db.query(
          `INSERT INTO webhook_subscriptions (id, name, url, events, secret) VALUES ($1, $2, $3, $4::text[], $5) RETURNING *`,
          [s.id, s.name, s.url, s.events, s.secret],
        );
        return toSubscription(r.rows[0]);
      } catch (err) {
        if (isUniqueViolation(err)) throw new SubscriptionNameTakenError(s.name);
        throw err;
      }
    },

    /** A subscription that is not deleted (or any, with includeDeleted). */
    async getSubscription(id: string, opts: { includeDeleted?: boolean } = {}): Promise<WebhookSubscription | null> {
      const r = await db.query(
        `SELECT * FROM webhook_subscriptions WHERE id = $1 ${opts.includeDeleted ? '' : 'AND deleted_at IS NULL'}`,
        [id],
      );
      return r.rows[0] ? toSubscription(r.rows[0]) : null;
    },

    listSubscriptions(req: PageRequest): Promise<Page<WebhookSubscription>> {
      return page(db, 'webhook_subscriptions', 'deleted_at IS NULL', [], req, toSubscription);
    },

    /** Soft-deletes; false when there was nothing to delete. */
    async deleteSubscription(id: string): Promise<boolean> {
      const r = await db.query(
        `UPDATE webhook_subscriptions SET deleted_at = now(), updated_at = now(), enabled = false, disabled_reason = 'deleted'
          WHERE id = $1 AND deleted_at IS NULL`,
        [id],
      );
      return r.rowCount > 0;
    },

    /** Enables (clearing the reason) or disables with a reason; null when not found. */
    async setEnabled(id: string, enabled: boolean, reason: string | null): Promise<WebhookSubscription | null> {
      const r = await db.query(
        `UPDATE webhook_subscriptions SET enabled = $2, disabled_reason = $3, updated_at = now()
          WHERE id = $1 AND deleted_at IS NULL RETURNING *`,
        [id, enabled, enabled ? null : reason],
      );
      return r.rows[0] ? toSubscription(r.rows[0]) : null;
    },

    async rotateSecret(id: string, secret: string): Promise<WebhookSubscription | null> {
      const r = await db.query(
        `UPDATE webhook_subscriptions SET secret = $2, updated_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING *`,
        [id, secret],
      );
      return r.rows[0] ? toSubscription(r.rows[0]) : null;
    },

    /** Live subscriptions that existed at `at` and name one of `triggers` (the type and its composite). */
    async subscriptionsForEvent(triggers: readonly string[], at: Date): Promise<WebhookSubscription[]> {
      const r = await db.query(
        `SELECT * FROM webhook_subscriptions
          WHERE deleted_at IS NULL AND enabled AND created_at <= $2 AND events && $1::text[]
          ORDER BY seq`,
        [triggers, at],
      );
      return r.rows.map(toSubscription);
    },

    /** Inserts a pending delivery; false when it already exists (a retried routing). */
    async insertDelivery(d: {
      id: string;
      subscriptionId: string;
      envelope: WebhookEnvelope;
      redeliveryOf?: string | null;
      /** A test send (POST /v2/webhooks/{id}/test). */
      test?: boolean;
    }): Promise<boolean> {
      const r = await db.query(
        `INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, payload, redelivery_of, is_test)
         VALUES ($1, $2, $3, $4, $5::json, $6, $7) ON CONFLICT (id) DO NOTHING`,
        [d.id, d.subscriptionId, d.envelope.id, d.envelope.type, JSON.stringify(d.envelope), d.redeliveryOf ?? null, d.test ?? false],
      );
      return r.rowCount > 0;
    },

    /** Inserts one pending delivery per row in one statement (a fan-out); returns the ids that were new. */
    async insertDeliveries(rows: { id: string; subscriptionId: string }[], envelope: WebhookEnvelope): Promise<string[]> {
      if (!rows.length) return [];
      const r = await db.query(
        `INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, payload)
         SELECT d.id, d.subscription_id, $3, $4, $5::json FROM unnest($1::text[], $2::text[]) AS d(id, subscription_id)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [rows.map((d) => d.id), rows.map((d) => d.subscriptionId), envelope.id, envelope.type, JSON.stringify(envelope)],
      );
      return r.rows.map((row) => String(row.id));
    },

    async getDeliveries(ids: string[]): Promise<WebhookDelivery[]> {
      if (!ids.length) return [];
      const r = await db.query(`SELECT * FROM webhook_deliveries WHERE id = ANY($1::text[])`, [ids]);
      return r.rows.map(toDelivery);
    },

    async getDelivery(id: string): Promise<WebhookDelivery | null> {
      const r = await db.query(`SELECT * FROM webhook_deliveries WHERE id = $1`, [id]);
      return r.rows[0] ? toDelivery(r.rows[0]) : null;
    },

    listDeliveries(subscriptionId: string, req: PageRequest & { status?: DeliveryStatus }): Promise<Page<WebhookDelivery>> {
      const params: unknown[] = [subscriptionId];
      let where = 'subscription_id = $1';
      if (req.status) {
        params.push(req.status);
        where += ` AND status = $2`;
      }
      return page(db, 'webhook_deliveries', where, params, req, toDelivery);
    },

    async listAttempts(deliveryId: string): Promise<DeliveryAttempt[]> {
      const r = await db.query(
        `SELECT * FROM webhook_delivery_attempts WHERE delivery_id = $1 ORDER BY attempt_number`,
        [deliveryId],
      );
      return r.rows.map(toAttempt);
    },

    /**
     * Records one attempt and its effect on the delivery. Keyed by attempt number, so a repeated record of
     * the same attempt overwrites instead of adding; a succeeded delivery stays succeeded.
     */
    async recordAttempt(a: {
      deliveryId: string;
      attemptNumber: number;
      startedAt: Date;
      statusCode: number | null;
      latencyMs: number;
      error: string | null;
      succeeded: boolean;
      completedAt: Date;
    }): Promise<WebhookDelivery | null> {
      return db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO webhook_delivery_attempts (delivery_id, attempt_number, started_at, status_code, latency_ms, error)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (delivery_id, attempt_number) DO UPDATE
             SET started_at = EXCLUDED.started_at, status_code = EXCLUDED.status_code,
                 latency_ms = EXCLUDED.latency_ms, error = EXCLUDED.error`,
          [a.deliveryId, a.attemptNumber, a.startedAt, a.statusCode, a.latencyMs, a.error],
        );
        const r = await tx.query(
          `UPDATE webhook_deliveries
              SET attempts = GREATEST(attempts, $2), last_status_code = $3, last_error = $4, updated_at = $6,
                  status = CASE WHEN status = 'pending' AND $5::boolean THEN 'succeeded' ELSE status END,
                  completed_at = CASE WHEN status = 'pending' AND $5::boolean THEN $6 ELSE completed_at END
            WHERE id = $1 RETURNING *`,
          [a.deliveryId, a.attemptNumber, a.statusCode, a.error, a.succeeded, a.completedAt],
        );
        return r.rows[0] ? toDelivery(r.rows[0]) : null;
      });
    },

    /**
     * Records many deliveries' attempts in one transaction (routing's first attempts of a fan-out), with the
     * same effect as recordAttempt row by row. Returns each delivery's attempt count.
     */
    async recordAttempts(
      rows: { deliveryId: string; attemptNumber: number; startedAt: Date; statusCode: number | null; latencyMs: number; error: string | null; succeeded: boolean; completedAt: Date }[],
    ): Promise<Map<string, number>> {
      if (!rows.length) return new Map();
      const col = <T>(f: (r: (typeof rows)[number]) => T) => rows.map(f);
      return db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO webhook_delivery_attempts (delivery_id, attempt_number, started_at, status_code, latency_ms, error)
           SELECT * FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::int[], $5::int[], $6::text[])
           ON CONFLICT (delivery_id, attempt_number) DO UPDATE
             SET started_at = EXCLUDED.started_at, status_code = EXCLUDED.status_code,
                 latency_ms = EXCLUDED.latency_ms, error = EXCLUDED.error`,
          [col((r) => r.deliveryId), col((r) => r.attemptNumber), col((r) => r.startedAt.toISOString()), col((r) => r.statusCode), col((r) => r.latencyMs), col((r) => r.error)],
        );
        const r = await tx.query<{ id: string; attempts: number }>(
          `UPDATE webhook_deliveries d
              SET attempts = GREATEST(d.attempts, u.n), last_status_code = u.status_code, last_error = u.error, updated_at = u.completed_at,
                  status = CASE WHEN d.status = 'pending' AND u.ok THEN 'succeeded' ELSE d.status END,
                  completed_at = CASE WHEN d.status = 'pending' AND u.ok THEN u.completed_at ELSE d.completed_at END
             FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::boolean[], $6::timestamptz[]) AS u(id, n, status_code, error, ok, completed_at)
            WHERE d.id = u.id RETURNING d.id, d.attempts`,
          [col((r) => r.deliveryId), col((r) => r.attemptNumber), col((r) => r.statusCode), col((r) => r.error), col((r) => r.succeeded), col((r) => r.completedAt.toISOString())],
        );
        return new Map(r.rows.map((row) => [String(row.id), Number(row.attempts)]));
      });
    },

    /** Marks a pending delivery failed with the reason it stopped; returns the delivery as it now is. */
    async failDelivery(id: string, reason: string, at: Date): Promise<WebhookDelivery | null> {
      await db.query(
        `UPDATE webhook_deliveries SET status = 'failed', failure_reason = $2, completed_at = $3, updated_at = $3
          WHERE id = $1 AND status = 'pending'`,
        [id, reason, at],
      );
      const r = await db.query(`SELECT * FROM webhook_deliveries WHERE id = $1`, [id]);
      return r.rows[0] ? toDelivery(r.rows[0]) : null;
    },

    /** Disables a live subscription, keeping an earlier reason if it is already disabled. */
    async disableSubscription(id: string, reason: string): Promise<void> {
      await db.query(
        `UPDATE webhook_subscriptions SET enabled = false, disabled_reason = $2, updated_at = now()
          WHERE id = $1 AND deleted_at IS NULL AND enabled`,
        [id, reason],
      );
    },

    /** Removes a delivery that never made an attempt (its workflow could not be started). */
    async discardDelivery(id: string): Promise<void> {
      await db.query(`DELETE FROM webhook_deliveries WHERE id = $1 AND attempts = 0`, [id]);
    },

    /** Failed deliveries of a subscription created at or after `since` that were never redelivered (test sends never are). */
    async failedDeliveriesSince(subscriptionId: string, since: Date): Promise<WebhookDelivery[]> {
      const r = await db.query(
        `SELECT d.* FROM webhook_deliveries d
          WHERE d.subscription_id = $1 AND d.status = 'failed' AND d.created_at >= $2 AND NOT d.is_test
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries r WHERE r.redelivery_of = d.id)
          ORDER BY d.seq`,
        [subscriptionId, since],
      );
      return r.rows.map(toDelivery);
    },
  };
}

export type WebhooksRepository = ReturnType<typeof createWebhooksRepository>;
