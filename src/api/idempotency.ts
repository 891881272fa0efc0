/**
 * Idempotency-Key for the API's writes. A create claims the key for the id it is about to start (a retry with
 * the same key and body gets that resource, never a second one). An action claims it for a Temporal update id:
 * a retry re-sends the same update id, which the server deduplicates, and once the first request has answered,
 * the retry gets that answer verbatim, even after the run has closed. The same key with another request is a 409.
 * Bodies are compared in a canonical form: the same JSON with its keys in another order is the same request.
 * A create whose start failed without an answer (Temporal unreachable or timed out) may have started anyway: its
 * key keeps the id, and the retry finds that resource or starts it under the same id, never a second one.
 */
import { createHash, randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { isTemporalUnavailable } from '../temporal/unavailable';
import type { Db } from '../store/db';
import { createIdempotencyRepository } from '../store/idempotency-repository';
import { ApiError } from './plugins/errors';

/** JSON with object keys sorted at every depth, so key order does not change a request's identity. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/** Temporal's not-found, or the API's 404 a read turns it into. */
function isNotFound(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || (err instanceof ApiError && err.statusCode === 404);
}

const reused = () => ApiError.conflict('This Idempotency-Key was used with a different request', 'Idempotency-Key');

export function createIdempotency(db: Db) {
  const keys = createIdempotencyRepository(db);
  return {
    /**
     * Runs a create under an Idempotency-Key: the same key and body return the same resource and never start
     * a second workflow; the same key with another body is a 409.
     */
    async create<T>(
      scope: string,
      key: string | undefined,
      body: unknown,
      newId: () => string,
      create: (id: string) => Promise<T>,
      existing: (id: string) => Promise<T>,
    ): Promise<{ result: T; replayed: boolean }> {
      if (!key) return { result: await create(newId()), replayed: false };
      const id = newId();
      const hash = requestHash(body);
      const claim = await keys.claim(scope, key, hash, id);
      if (!claim.claimed) {
        if (claim.requestHash !== hash) throw reused();
        try {
          return { result: await existing(claim.resourceId), replayed: true };
        } catch (err) {
          if (!isNotFound(err)) throw err;
          // The first request's start never reached Temporal (or has not yet): start it under the kept id.
          return { result: await createOnce(claim.resourceId), replayed: false };
        }
      }
      try {
        return { result: await createOnce(id), replayed: false };
      } catch (err) {
        // Refused, or failed with an answer: nothing was started, so the key is free for a retry. Unreachable or
        // timed out: the start may have reached the server, so the key keeps its id for the retry.
        if (!isTemporalUnavailable(err)) await keys.release(scope, key, id);
        throw err;
      }

      /**
       * The id is this key's alone (fresh, claimed with it), so "already started" can only be this key's own
       * start: a concurrent retry's, or the client's own retry of a start whose first answer was lost.
       */
      async function createOnce(resourceId: string): Promise<T> {
        try {
          return await create(resourceId);
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) return existing(resourceId);
          throw err;
        }
      }
    },

    /**
     * Runs an action under an Idempotency-Key. `request` names what is acted on and how (target id, action,
     * body); `run` sends the action as the update `updateId`. The first answer is kept and replayed.
     */
    async action<T>(scope: string, key: string | undefined, request: unknown, run: (updateId: string | undefined) => Promise<T>): Promise<{ result: T; replayed: boolean }> {
      if (!key) return { result: await run(undefined), replayed: false };
      const hash = requestHash(request);
      const claim = await keys.claim(scope, key, hash, `upd-${randomUUID()}`);
      if (!claim.claimed) {
        if (claim.requestHash !== hash) throw reused();
        const kept = await keys.answer(scope, key);
        if (kept !== undefined) return { result: kept as T, replayed: true };
      }
      // First request, or a retry of one that has not answered yet: the same update id, deduplicated by the server.
      try {
        const result = await run(claim.resourceId);
        await keys.saveAnswer(scope, key, claim.resourceId, result);
        return { result, replayed: !claim.claimed };
      } catch (err) {
        // Refused (the workflow's validator, or a 4xx): nothing was written, so the key is free for a corrected retry.
        const refused = err instanceof WorkflowUpdateFailedError || (err instanceof ApiError && err.statusCode < 500);
        if (refused) await keys.release(scope, key, claim.resourceId);
        throw err;
      }
    },
  };
}
