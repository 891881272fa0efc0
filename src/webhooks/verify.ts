/**
 * Receiver-side verification of `Oncehub-Signature`, for integrators: recompute the HMAC over
 * `<t>.<raw body>`, compare in constant time, and reject timestamps outside the tolerance.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { oncehubSignedContent, parseOncehubSignature } from '../domain/webhooks/signature';

export type SignatureErrorCode = 'missing_header' | 'malformed_header' | 'timestamp_out_of_tolerance' | 'signature_mismatch';

/** Why a signature was rejected; `code` is stable for programs, `message` for people. */
export class WebhookSignatureError extends Error {
  constructor(
    readonly code: SignatureErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookSignatureError';
  }
}

export interface VerifyOptions {
  /** The `Oncehub-Signature` header value. */
  header: string | string[] | null | undefined;
  /** The request body exactly as received (bytes or the same string); never re-serialised JSON. */
  rawBody: string | Buffer | Uint8Array;
  /** The subscription's secret (32 hex characters). */
  secret: string;
  /** Allowed distance between `t` and now; default 300 s. */
  toleranceSeconds?: number;
  /** Current time in ms (tests). */
  now?: number;
}

/** Returns true when the signature is valid; throws WebhookSignatureError saying why otherwise. */
export function verifyOncehubSignature(opts: VerifyOptions): true {
  const header = Array.isArray(opts.header) ? opts.header[0] : opts.header;
  if (!header) throw new WebhookSignatureError('missing_header', 'No Oncehub-Signature header');
  const parsed = parseOncehubSignature(header);
  if (!parsed) throw new WebhookSignatureError('malformed_header', 'Oncehub-Signature must be t=<seconds>,s=<64 hex>');
  const tolerance = opts.toleranceSeconds ?? 300;
  const nowSeconds = Math.floor((opts.now ?? Date.now()) / 1000);
  if (Math.abs(nowSeconds - parsed.timestamp) > tolerance) {
    throw new WebhookSignatureError('timestamp_out_of_tolerance', `Signature timestamp is more than ${tolerance} s from now`);
  }
  const body = typeof opts.rawBody === 'string' ? opts.rawBody : Buffer.from(opts.rawBody).toString('utf8');
  const expected = createHmac('sha256', Buffer.from(opts.secret, 'utf8')).update(oncehubSignedContent(parsed.timestamp, body), 'utf8').digest();
  let ok = false;
  for (const s of parsed.signatures) {
    const given = Buffer.from(s, 'hex');
    // parseOncehubSignature admits only 64 hex characters, so lengths are equal here; checked anyway.
    if (given.length === expected.length && timingSafeEqual(given, expected)) ok = true;
  }
  if (!ok) throw new WebhookSignatureError('signature_mismatch', 'Signature does not match the body and secret');
  return true;
}

/** Boolean form: false instead of throwing. */
export function isValidOncehubSignature(opts: VerifyOptions): boolean {
  try {
    return verifyOncehubSignature(opts);
  } catch (err) {
    if (err instanceof WebhookSignatureError) return false;
    throw err;
  }
}
