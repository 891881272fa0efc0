/**
 * Signs a webhook body. One key serves both schemes: the UTF-8 bytes of the subscription's 32-hex secret.
 * Standard Webhooks receivers therefore build their verifier with `new Webhook(secret, { format: 'raw' })`,
 * or equivalently `new Webhook('whsec_' + base64(utf8(secret)))`.
 */
import { createHmac } from 'node:crypto';
import {
  formatOncehubSignature,
  formatStandardWebhooksSignature,
  oncehubSignedContent,
  standardWebhooksSignedContent,
} from '../domain/webhooks/signature';

/** Lowercase hex HMAC-SHA256 of `<t>.<body>` keyed with the secret as UTF-8. */
export function oncehubSignatureHex(secret: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(oncehubSignedContent(timestampSeconds, body), 'utf8').digest('hex');
}

/** Base64 HMAC-SHA256 of `<id>.<t>.<body>`, same key. */
export function standardWebhooksSignatureBase64(secret: string, id: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(standardWebhooksSignedContent(id, timestampSeconds, body), 'utf8')
    .digest('base64');
}

/** The secret in the form Standard Webhooks libraries take by default (`whsec_` + base64 of the key bytes). */
export function standardWebhooksSecret(secret: string): string {
  return `whsec_${Buffer.from(secret, 'utf8').toString('base64')}`;
}

/** Every signature header of one attempt: `Oncehub-Signature` and the three Standard Webhooks headers. */
export function signatureHeaders(input: { secret: string; eventId: string; timestampSeconds: number; body: string }): Record<string, string> {
  const { secret, eventId, timestampSeconds: t, body } = input;
  return {
    'oncehub-signature': formatOncehubSignature(t, oncehubSignatureHex(secret, t, body)),
    'webhook-id': eventId,
    'webhook-timestamp': String(t),
    'webhook-signature': formatStandardWebhooksSignature(standardWebhooksSignatureBase64(secret, eventId, t, body)),
  };
}
