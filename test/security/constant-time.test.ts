/**
 * Secret comparisons are constant-time by construction: webhook signature verification and API-Key checks go
 * through crypto.timingSafeEqual over equal-length buffers (asserted by spying on it, not by timing), and the
 * code has no early-exit string comparison of a signature or key.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { oncehubSignatureHex } from '../../src/webhooks/signing';
import { isValidOncehubSignature } from '../../src/webhooks/verify';
import { apiKeyMatches } from '../../src/api/plugins/auth';

/** The module object the product's `import { timingSafeEqual } from 'node:crypto'` reads at call time. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeCrypto = (): typeof import('node:crypto') => require('node:crypto');

const secret = '0123456789abcdef0123456789abcdef';
const body = '{"id":"EVNT-1","type":"booking.scheduled"}';
const t = 1_760_000_000;

afterEach(() => jest.restoreAllMocks());

test('webhook signature verification compares with timingSafeEqual, whether it matches or not', () => {
  const spy = jest.spyOn(nodeCrypto(), 'timingSafeEqual');
  const good = oncehubSignatureHex(secret, t, body);
  const bad = `${good.slice(0, 63)}${good.endsWith('0') ? '1' : '0'}`;
  expect(isValidOncehubSignature({ header: `t=${t},s=${good}`, rawBody: body, secret, now: t * 1000 })).toBe(true);
  expect(isValidOncehubSignature({ header: `t=${t},s=${bad}`, rawBody: body, secret, now: t * 1000 })).toBe(false);
  // A mismatch in the first byte takes the same path as one in the last.
  const first = `${good.startsWith('0') ? '1' : '0'}${good.slice(1)}`;
  expect(isValidOncehubSignature({ header: `t=${t},s=${first}`, rawBody: body, secret, now: t * 1000 })).toBe(false);
  expect(spy).toHaveBeenCalledTimes(3);
  for (const [a, b] of spy.mock.calls) expect((a as Buffer).length).toBe((b as Buffer).length);
});

test('API-Key checks compare digests with timingSafeEqual against every configured key', () => {
  const spy = jest.spyOn(nodeCrypto(), 'timingSafeEqual');
  expect(apiKeyMatches('key-one', ['key-one', 'key-two'])).toBe(true);
  expect(apiKeyMatches('short', ['key-one', 'key-two'])).toBe(false);
  // No early exit: both keys are compared even after the first matched, and lengths never differ (digests).
  expect(spy).toHaveBeenCalledTimes(4);
  for (const [a, b] of spy.mock.calls) expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
});

test('no signature or key is compared with ===, !==, equals() or compare() in the verifying code', () => {
  for (const file of ['src/webhooks/verify.ts', 'src/api/plugins/auth.ts']) {
    const src = fs.readFileSync(path.join(__dirname, '..', '..', file), 'utf8');
    expect(src).toContain('timingSafeEqual(');
    // The only strict comparisons allowed are of types, lengths and presence, never of secret bytes.
    const comparisons = src.split('\n').filter((l) => /[!=]==/.test(l));
    for (const line of comparisons) expect(line).toMatch(/typeof|\.length|null|undefined/);
    expect(src).not.toMatch(/\.(equals|compare)\(/);
  }
});
