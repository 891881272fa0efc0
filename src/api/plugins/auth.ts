/** `API-Key` authentication for every /v2 route except the OpenAPI document. */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sendError } from './errors';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time membership test: hashes first so key lengths leak nothing either. */
export function apiKeyMatches(candidate: string, keys: readonly string[]): boolean {
  const c = digest(candidate);
  let ok = false;
  for (const k of keys) ok = timingSafeEqual(c, digest(k)) || ok;
  return ok;
}

export function registerAuth(app: FastifyInstance, apiKeys: readonly string[], publicPaths: readonly string[]) {
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0];
    if (publicPaths.includes(path)) return;
    const key = request.headers['api-key'];
    if (typeof key !== 'string' || key.length === 0) {
      return sendError(reply, 401, { type: 'authentication_error', message: 'Missing API-Key header' });
    }
    if (!apiKeyMatches(key, apiKeys)) {
      return sendError(reply, 401, { type: 'authentication_error', message: 'Invalid API key' });
    }
  });
}
