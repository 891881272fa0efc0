/**
 * The few calls `npm run demo` makes to a running engine's HTTP API: plain fetch, the API key header, and an error
 * that carries the API's `{type, message, param}` answer.
 */

export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly body: { type?: string; message?: string; param?: string } | null,
    what: string,
  ) {
    super(`${what}: ${status} ${body?.message ?? ''}`.trim());
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the demo reads the API's JSON as it comes
export type Json = Record<string, any>;

export interface EngineApi {
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Json>;
  /** Walks a newest-first list to its end (`after` cursors) and returns the first item `match` accepts. */
  find(path: string, match: (item: Json) => boolean): Promise<Json | null>;
}

export function engineApi(baseUrl: string, apiKey: string): EngineApi {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Json> => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: { 'api-key': apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as Json) : {};
    if (!res.ok) throw new ApiCallError(res.status, json, `${method} ${path}`);
    return json;
  };
  return {
    call,
    async find(path, match) {
      let after: string | undefined;
      for (;;) {
        const page = await call('GET', `${path}?limit=100${after ? `&after=${after}` : ''}`);
        const found = (page.data as Json[]).find(match);
        if (found) return found;
        if (!page.has_more || page.data.length === 0) return null;
        after = page.data[page.data.length - 1].id as string;
      }
    },
  };
}
