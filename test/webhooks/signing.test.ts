import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { signatureHeaders, oncehubSignatureHex, standardWebhooksSecret } from '../../src/webhooks/signing';
import { isValidOncehubSignature, verifyOncehubSignature, WebhookSignatureError } from '../../src/webhooks/verify';

const secret = '0123456789abcdef0123456789abcdef';
const body = '{"id":"EVNT-1","object":"event","creation_time":"2025-01-01T00:00:00.000Z","type":"booking.scheduled","api_version":"v2","data":{"x":"é"}}';
const t = 1_735_689_600;

describe('Oncehub-Signature', () => {
  it('is the hex HMAC-SHA256 of "<t>.<body>" keyed with the secret as UTF-8 (fixed vector)', () => {
    // Independent computation of the documented recipe; and a frozen value so the recipe cannot drift.
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(oncehubSignatureHex(secret, t, body)).toBe(expected);
    expect(oncehubSignatureHex(secret, t, '{"a":1}')).toBe('f3913eaee715ced43464d5d28dd84051725a518ea5b641920e65283be9a16545');
    expect(oncehubSignatureHex(secret, 1, '{}')).toBe(createHmac('sha256', Buffer.from(secret, 'utf8')).update('1.{}').digest('hex'));
    expect(signatureHeaders({ secret, eventId: 'EVNT-1', timestampSeconds: t, body })['oncehub-signature']).toBe(`t=${t},s=${expected}`);
  });

  it('verifies with verifyOncehubSignature within the tolerance', () => {
    const header = signatureHeaders({ secret, eventId: 'EVNT-1', timestampSeconds: t, body })['oncehub-signature'];
    expect(verifyOncehubSignature({ header, rawBody: body, secret, now: t * 1000 + 299_000 })).toBe(true);
    expect(verifyOncehubSignature({ header, rawBody: Buffer.from(body, 'utf8'), secret, now: t * 1000 })).toBe(true);
  });

  it.each([
    ['missing_header', { header: undefined }],
    ['malformed_header', { header: 'v1=abc' }],
    ['timestamp_out_of_tolerance', { now: (t + 301) * 1000 }],
    ['timestamp_out_of_tolerance', { now: (t - 301) * 1000 }],
    ['signature_mismatch', { rawBody: body.replace('é', 'e') }],
    ['signature_mismatch', { secret: 'ffffffffffffffffffffffffffffffff' }],
  ])('throws %s', (code, override) => {
    const header = signatureHeaders({ secret, eventId: 'EVNT-1', timestampSeconds: t, body })['oncehub-signature'];
    const opts = { header, rawBody: body, secret, now: t * 1000, ...override } as Parameters<typeof verifyOncehubSignature>[0];
    expect(() => verifyOncehubSignature(opts)).toThrow(WebhookSignatureError);
    try {
      verifyOncehubSignature(opts);
    } catch (err) {
      expect((err as WebhookSignatureError).code).toBe(code);
    }
    expect(isValidOncehubSignature(opts)).toBe(false);
  });

  it('re-serialised JSON does not verify: receivers must use the raw body', () => {
    const header = signatureHeaders({ secret, eventId: 'EVNT-1', timestampSeconds: t, body })['oncehub-signature'];
    const reserialised = JSON.stringify(JSON.parse(body), null, 1);
    expect(isValidOncehubSignature({ header, rawBody: reserialised, secret, now: t * 1000 })).toBe(false);
  });

  it('honours a custom tolerance', () => {
    const header = signatureHeaders({ secret, eventId: 'EVNT-1', timestampSeconds: t, body })['oncehub-signature'];
    expect(isValidOncehubSignature({ header, rawBody: body, secret, now: (t + 1000) * 1000, toleranceSeconds: 3600 })).toBe(true);
  });
});

describe('Standard Webhooks headers', () => {
  const now = Math.floor(Date.now() / 1000);
  const headers = signatureHeaders({ secret, eventId: 'EVNT-1', timestampSeconds: now, body });

  it('carry the event id, timestamp and a v1 base64 signature', () => {
    expect(headers['webhook-id']).toBe('EVNT-1');
    expect(headers['webhook-timestamp']).toBe(String(now));
    expect(headers['webhook-signature']).toBe(`v1,${createHmac('sha256', secret).update(`EVNT-1.${now}.${body}`).digest('base64')}`);
  });

  it('verify with the standardwebhooks package given the secret as raw bytes', () => {
    const wh = new Webhook(secret, { format: 'raw' });
    expect(wh.verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('verify with the standardwebhooks package given whsec_ + base64(secret)', () => {
    expect(standardWebhooksSecret(secret)).toBe(`whsec_${Buffer.from(secret).toString('base64')}`);
    const wh = new Webhook(standardWebhooksSecret(secret));
    expect(wh.verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('fail with the standardwebhooks package for another secret or a changed body', () => {
    expect(() => new Webhook('ffffffffffffffffffffffffffffffff', { format: 'raw' }).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret, { format: 'raw' }).verify(body.replace('é', 'e'), headers)).toThrow();
  });
});
