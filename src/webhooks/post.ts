/**
 * One signed POST of a webhook envelope: the delivery code path every attempt takes (routing's first attempts,
 * delivery workflows, and the API's test sends), through the SSRF-guarded dispatcher it is given. Never throws
 * for the receiver's failures: the outcome says what happened.
 */
import { performance } from 'node:perf_hooks';
import { request, type Dispatcher } from 'undici';
import type { WebhookEnvelope } from '../shared/dispatch-contract';
import { honoursRetryAfter, parseRetryAfter } from '../domain/webhooks/retry-after';
import { signatureHeaders } from './signing';
import { findForbiddenTarget } from './ssrf';

/** What one POST gave. */
export interface PostResult {
  succeeded: boolean;
  status: number | null;
  error: string | null;
  /** Set when the SSRF guard refused the target. */
  forbidden: string | null;
  /** The receiver's Retry-After, when it is honoured for this status. */
  retryAfterMs: number | null;
  latencyMs: number;
  startedMs: number;
}

export interface PosterOptions {
  /** The SSRF-guarded dispatcher (createGuardedDispatcher). */
  dispatcher: Dispatcher;
  userAgent: string;
  /** The whole request's limit: headers, body and all. */
  totalTimeoutMs: number;
  /** Clock for Retry-After dates. */
  now: () => number | Promise<number>;
  /** Called once per POST with its outcome (metrics). */
  observe?: (r: PostResult) => void;
}

/** What one attempt needs: where, with which secret, what, and when it started (the signature's timestamp). */
export interface PostRequest {
  url: string;
  secret: string;
  envelope: WebhookEnvelope;
  startedMs: number;
}

/** A readable reason for a failed request. */
export function describeRequestError(err: unknown, totalTimeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `Timed out after ${totalTimeoutMs} ms`;
  if (e?.code === 'UND_ERR_CONNECT_TIMEOUT') return 'Connect timed out';
  if (e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') return `Timed out after ${totalTimeoutMs} ms`;
  const code = e?.code ?? e?.cause?.code;
  const message = e?.message ?? String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** The function that makes one signed POST of an envelope. */
export function createWebhookPoster(opts: PosterOptions): (d: PostRequest) => Promise<PostResult> {
  const { dispatcher, totalTimeoutMs } = opts;
  return async function post(d: PostRequest): Promise<PostResult> {
    // Serialised once: these exact bytes are signed and sent.
    const body = JSON.stringify(d.envelope);
    const headers = {
      'content-type': 'application/json',
      'user-agent': opts.userAgent,
      ...signatureHeaders({ secret: d.secret, eventId: d.envelope.id, timestampSeconds: Math.floor(d.startedMs / 1000), body }),
    };
    let status: number | null = null;
    let retryAfter: string | string[] | undefined;
    let error: string | null = null;
    let forbidden: string | null = null;
    const t0 = performance.now();
    try {
      // undici's request never follows redirects, so a 3xx arrives here as itself and counts as a failure.
      const res = await request(d.url, {
        method: 'POST',
        headers,
        body,
        dispatcher,
        headersTimeout: totalTimeoutMs,
        bodyTimeout: totalTimeoutMs,
        signal: AbortSignal.timeout(totalTimeoutMs),
      });
      status = res.statusCode;
      retryAfter = res.headers['retry-after'];
      // The answer's body is not used; read (at most 64 KiB) and drop it so the connection can be reused.
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    } catch (err) {
      const f = findForbiddenTarget(err);
      forbidden = f ? f.message : null;
      error = forbidden ?? describeRequestError(err, totalTimeoutMs);
    }
    const latencyMs = Math.round(performance.now() - t0);
    const succeeded = status !== null && status >= 200 && status < 300;
    if (status !== null && !succeeded) {
      error = status >= 300 && status < 400 ? `HTTP ${status}: redirects are not followed; only 2xx counts as delivered` : `HTTP ${status}`;
    }
    const retryAfterMs = status !== null && !succeeded && honoursRetryAfter(status) ? parseRetryAfter(retryAfter, await opts.now()) : null;
    const result = { succeeded, status, error, forbidden, retryAfterMs, latencyMs, startedMs: d.startedMs };
    opts.observe?.(result);
    return result;
  };
}

/** An attempt's row as the store's recordAttempt(s) take it. */
export function attemptRow(deliveryId: string, attemptNumber: number, r: PostResult) {
  return {
    deliveryId,
    attemptNumber,
    startedAt: new Date(r.startedMs),
    statusCode: r.status,
    latencyMs: r.latencyMs,
    error: r.error,
    succeeded: r.succeeded,
    completedAt: new Date(r.startedMs + r.latencyMs),
  };
}
