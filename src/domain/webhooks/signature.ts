/**
 * Signature formats, without the cryptography (that lives in src/webhooks/signing.ts): what is signed and
 * how the headers are written and read.
 */

/** Header carrying the OnceHub-style signature. */
export const ONCEHUB_SIGNATURE_HEADER = 'Oncehub-Signature';

/** The string signed for `Oncehub-Signature`: `<t>.<raw body>`. */
export function oncehubSignedContent(timestampSeconds: number, body: string): string {
  return `${timestampSeconds}.${body}`;
}

/** `t=<unix seconds>,s=<hex>`. */
export function formatOncehubSignature(timestampSeconds: number, hexSignature: string): string {
  return `t=${timestampSeconds},s=${hexSignature}`;
}

export interface ParsedOncehubSignature {
  timestamp: number;
  /** Every `s=` value (a sender rotating secrets may send more than one). */
  signatures: string[];
}

/** Splits on `,` then on the first `=`; null when `t` or every `s` is missing or malformed. */
export function parseOncehubSignature(header: string): ParsedOncehubSignature | null {
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value)) return null;
      timestamp = Number(value);
    } else if (key === 's' && /^[0-9a-f]{64}$/.test(value)) {
      signatures.push(value);
    }
  }
  if (timestamp === null || signatures.length === 0) return null;
  return { timestamp, signatures };
}

/** The string signed for Standard Webhooks' `webhook-signature`: `<id>.<timestamp>.<raw body>`. */
export function standardWebhooksSignedContent(id: string, timestampSeconds: number, body: string): string {
  return `${id}.${timestampSeconds}.${body}`;
}

/** `v1,<base64>`. */
export function formatStandardWebhooksSignature(base64Signature: string): string {
  return `v1,${base64Signature}`;
}
