/** Connection options from configuration: address, TLS files, server name and API key. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config';
import { connectionOptions, searchAttributeFlags } from '../../src/temporal/connection';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-conn-'));
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) fs.writeFileSync(path.join(tmp, f), `contents of ${f}`);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('without TEMPORAL_ADDRESS it targets the embedded dev server, in plain text', () => {
  const opts = connectionOptions(loadConfig({ TEMPORAL_DEV_PORT: '7999' }));
  expect(opts).toEqual({ address: '127.0.0.1:7999' });
  expect(connectionOptions(loadConfig({}), '127.0.0.1:4321').address).toBe('127.0.0.1:4321');
});

test('an API key turns TLS on and is passed as apiKey', () => {
  const opts = connectionOptions(loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'k-123' }));
  expect(opts).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: true, apiKey: 'k-123' });
});

test('mTLS files and the server name become the TLS config', () => {
  const opts = connectionOptions(
    loadConfig({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_CERT: path.join(tmp, 'cert.pem'),
      TEMPORAL_TLS_KEY: path.join(tmp, 'key.pem'),
      TEMPORAL_TLS_CA: path.join(tmp, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal',
    }),
  );
  expect(opts.tls).toEqual({
    serverNameOverride: 'temporal',
    serverRootCACertificate: Buffer.from('contents of ca.pem'),
    clientCertPair: { crt: Buffer.from('contents of cert.pem'), key: Buffer.from('contents of key.pem') },
  });
});

test('a certificate without its key is rejected', () => {
  expect(() =>
    connectionOptions(loadConfig({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_TLS_CERT: path.join(tmp, 'cert.pem') })),
  ).toThrow(/TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY/);
});

test('the dev server flags name every custom search attribute with its type', () => {
  expect(searchAttributeFlags()).toEqual(expect.arrayContaining(['--search-attribute', 'MeetingStart=Datetime']));
});

test("the dev server's history cache size defaults to 2000 and refuses anything below one entry", () => {
  expect(loadConfig({}).temporal.devServerHistoryCacheSize).toBe(2000);
  expect(loadConfig({ TEMPORAL_DEV_HISTORY_CACHE_SIZE: '500' }).temporal.devServerHistoryCacheSize).toBe(500);
  expect(() => loadConfig({ TEMPORAL_DEV_HISTORY_CACHE_SIZE: '0' })).toThrow(/TEMPORAL_DEV_HISTORY_CACHE_SIZE/);
});

test("the dev server's eager activity execution is on by default and TEMPORAL_DEV_EAGER_ACTIVITIES turns it off", () => {
  expect(loadConfig({}).temporal.devServerEagerActivities).toBe(true);
  expect(loadConfig({ TEMPORAL_DEV_EAGER_ACTIVITIES: 'false' }).temporal.devServerEagerActivities).toBe(false);
  expect(loadConfig({ TEMPORAL_DEV_EAGER_ACTIVITIES: 'true' }).temporal.devServerEagerActivities).toBe(true);
  expect(() => loadConfig({ TEMPORAL_DEV_EAGER_ACTIVITIES: 'maybe' })).toThrow(/TEMPORAL_DEV_EAGER_ACTIVITIES/);
});
