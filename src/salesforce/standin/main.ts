/**
 * Runs the Salesforce stand-in on its own (`npm run salesforce-standin`), for local development with
 * SALESFORCE_MODE=standin: the port comes from SALESFORCE_STANDIN_PORT (3100 by default) and the
 * connected app is the one src/config.ts defaults to. Only for development: it keeps everything in memory.
 */
import { loadConfig } from '../../config';
import { STANDIN_LOG_LIMIT, startSalesforceStandin } from './server';

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, SALESFORCE_MODE: 'standin' });
  const sf = config.salesforce;
  const clientId = sf.clientId ?? 'standin-client';
  const clientSecret = sf.clientSecret ?? 'standin-secret';
  const standin = await startSalesforceStandin({
    port: sf.standinPort,
    host: process.env.SALESFORCE_STANDIN_HOST ?? '127.0.0.1',
    clients: [{ clientId, clientSecret }],
    refreshTokens: sf.refreshToken ? [sf.refreshToken] : ['standin-refresh-token'],
    users: [
      { Email: 'integration@standin.example', Name: 'Integration User' },
      ...(process.env.SALESFORCE_STANDIN_USERS ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean)
        .map((Email) => ({ Email, Name: Email })),
    ],
    logLimit: STANDIN_LOG_LIMIT,
  });
  console.log(`Salesforce stand-in listening on ${standin.url}`);
  console.log(`  login URL:     ${standin.url}`);
  console.log(`  client id:     ${clientId}`);
  console.log(`  client secret: ${clientSecret}`);
  console.log('  grants:        client_credentials, refresh_token');
  const stop = () => {
    standin.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
