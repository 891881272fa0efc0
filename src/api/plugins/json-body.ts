/**
 * JSON request bodies must be well-formed Unicode: invalid UTF-8 bytes (which would otherwise be replaced by
 * U+FFFD without a word) and lone UTF-16 surrogates in `\u` escapes are refused with a 400 before validation,
 * so no ill-formed string reaches the store, a workflow input or a signed webhook body. JSON is UTF-8
 * (RFC 8259): a body labelled with another charset (utf-7, utf-16, latin1) is refused with a 415 rather than
 * read as UTF-8 and silently misunderstood.
 */
import type { FastifyInstance } from 'fastify';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function badRequest(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400 });
}

/** The charset parameter of a Content-Type, lower-cased and unquoted; undefined when there is none. */
function charsetOf(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? '');
  return m ? (m[1] ?? m[2]).toLowerCase().slice(0, 40) : undefined;
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
    const charset = charsetOf(request.headers['content-type']);
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      const err = Object.assign(new Error(`JSON bodies must be UTF-8; charset '${charset}' is not supported`), { statusCode: 415 });
      return done(err, undefined);
    }
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
