/** Stand-in and activity builders shared by the Salesforce tests. */
import { createSalesforceActivities } from '../../activities/salesforce';
import type { Config } from '../../src/config';
import { createSalesforceConnection } from '../../src/salesforce/connector';
import { startSalesforceStandin, type SalesforceStandin, type StandinOptions } from '../../src/salesforce/standin/server';
import { salesforceConfig } from './fixtures';

export const INTEGRATION_USER_ID = '005000000000001AAA';
export const ALICE_USER_ID = '005000000000002AAA';
export const BOB_USER_ID = '005000000000003AAA';
export const FALLBACK_USER_ID = '005000000000004AAA';

/** A stand-in with the test client, a refresh token and four users (the first is the integration user). */
export function startTestStandin(overrides: Partial<StandinOptions> = {}): Promise<SalesforceStandin> {
  return startSalesforceStandin({
    port: 0,
    clients: [{ clientId: 'test-client', clientSecret: 'test-secret-0123456789' }],
    refreshTokens: ['test-refresh-token-abcdef'],
    users: [
      { Id: INTEGRATION_USER_ID, Email: 'integration@example.com', Name: 'Integration' },
      { Id: ALICE_USER_ID, Email: 'Alice@Example.com', Name: 'Alice Owner' },
      { Id: BOB_USER_ID, Email: 'bob@example.com', Name: 'Bob Other' },
      { Id: FALLBACK_USER_ID, Email: 'queue@example.com', Name: 'Fallback' },
    ],
    ...overrides,
  });
}

/** Activities against a stand-in; jsforce's own HTTP retries are off so every failure reaches the activity. */
export function activitiesFor(standin: SalesforceStandin, overrides: Partial<Config['salesforce']> = {}) {
  const config = salesforceConfig(standin.url, overrides);
  return createSalesforceActivities({ config, connect: (cfg) => createSalesforceConnection(cfg, { httpRetries: 0 }) });
}
