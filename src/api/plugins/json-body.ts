/**
 * JSON request bodies must be well-formed Unicode: invalid UTF-8 bytes (which would otherwise be replaced by
 * U+FFFD without a word) and lone UTF-16 surrogates in `\u` escapes are refused with a 400 before validation,
 * so no ill-formed string reaches the store, a workflow input or a signed webhook body.
 */
import type { FastifyInstance } from 'fastify';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function badRequest(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400 });
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const ok = (s: string) => !LONE_SURROGATE.test(s);

/** True when every string (keys included) in a parsed JSON value is well-formed UTF-16. */
function wellFormed(v: unknown): boolean {
  if (typeof v === 'string') return ok(v);
  if (Array.isArray(v)) return v.every(wellFormed);
  if (v && typeof v === 'object') return Object.entries(v).every(([k, x]) => ok(k) && wellFormed(x));
  return true;
}

/** Replaces Fastify's JSON parser with one that decodes strictly, then parses as Fastify does. */
export function registerJsonBodyParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(badRequest('Body is not valid UTF-8'), undefined);
    }
    void parseJson(request, text, (err, parsed) => {
      if (err) return done(err, undefined);
      if (!wellFormed(parsed)) return done(badRequest('Body contains a lone surrogate (ill-formed Unicode) in a string'), undefined);
      done(null, parsed);
    });
  });
}
