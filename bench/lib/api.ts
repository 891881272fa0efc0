/** The bench's HTTP client for the engine's API: undici over a connection pool on loopback. */
import { Pool } from 'undici';

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  ms: number;
}

export interface ApiClient {
  call<T = Record<string, unknown>>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

/** A client for `baseUrl` sending `apiKey`; `connections` bounds concurrent requests (open-loop load queues here). */
export function apiClient(baseUrl: string, apiKey: string, connections = 256): ApiClient {
  const pool = new Pool(baseUrl, { connections, keepAliveTimeout: 60_000 });
  return {
    async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<ApiResponse<T>> {
      const t0 = performance.now();
      const res = await pool.request({
        method,
        path,
        headers: { 'api-key': apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: 120_000,
        bodyTimeout: 120_000,
      });
      const text = await res.body.text();
      const ms = performance.now() - t0;
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = { raw: text };
      }
      return { status: res.statusCode, body: parsed as T, ms };
    },
    close: () => pool.close(),
  };
}

/** Throws unless the status is one of `ok`. */
export function expectStatus<T>(r: ApiResponse<T>, ok: number[], what: string): T {
  if (!ok.includes(r.status)) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return r.body;
}
