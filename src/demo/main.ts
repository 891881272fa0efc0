/**
 * `npm run demo`: a guided walk through one booking against a running engine (`npm start`, or `npm run cluster`
 * with DEMO_API_URL and friends). It reuses its user, booking page and subscription on a second run, starts a
 * loopback receiver that verifies both signature schemes and prints each event as it arrives, books a meeting a
 * couple of minutes ahead, reschedules it, waits for `booking.completed`, then prints the booking's timeline, its
 * Salesforce Event as the stand-in holds it, and the run's link in the Temporal UI.
 *
 * Variables: DEMO_API_URL (http://127.0.0.1:$API_PORT), DEMO_API_KEY (the first of API_KEYS), DEMO_UI_URL
 * (http://localhost:$TEMPORAL_UI_PORT), DEMO_RECEIVER_PORT (3939; 0 picks one), DEMO_LEAD_SECONDS (120: how far
 * ahead the meeting is booked), DEMO_SHIFT_SECONDS (30: how much later the reschedule moves it); the Salesforce
 * stand-in is the one `npm start` runs, at SALESFORCE_LOGIN_URL or 127.0.0.1:SALESFORCE_STANDIN_PORT (3100), as the engine
 * finds it.
 */
import { Connection as SalesforceConnection } from 'jsforce';
import { loadConfig } from '../config';
import { ApiCallError, engineApi, type Json } from './engine-api';
import { startDemoReceiver, type ReceivedEvent } from './receiver';

const USER = { name: 'Demo Owner', email: 'demo.owner@example.com', timezone: 'Europe/London' };
const PAGE_NAME = 'Demo: intro call';
const SUBSCRIPTION_NAME = 'npm run demo';

function seconds(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number of seconds`);
  return n;
}

/** RFC 3339 in whole seconds, as the API takes it. */
const at = (ms: number) => new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const apiUrl = (process.env.DEMO_API_URL ?? `http://127.0.0.1:${config.api.port}`).replace(/\/$/, '');
  const apiKey = process.env.DEMO_API_KEY ?? config.api.apiKeys[0];
  const uiUrl = (process.env.DEMO_UI_URL ?? `http://localhost:${config.temporal.uiPort}`).replace(/\/$/, '');
  const receiverPort = seconds('DEMO_RECEIVER_PORT', 3939);
  const leadMs = seconds('DEMO_LEAD_SECONDS', 120) * 1000;
  const shiftMs = seconds('DEMO_SHIFT_SECONDS', 30) * 1000;
  const api = engineApi(apiUrl, apiKey);

  try {
    await fetch(`${apiUrl}/readyz`);
  } catch {
    throw new Error(`no engine answers at ${apiUrl}: start it first (npm start), or set DEMO_API_URL`);
  }

  // 1. The user, page and subscription: created the first time, found again after that.
  const user =
    (await api.find('/v2/users', (u) => u.email.toLowerCase() === USER.email)) ?? (await api.call('POST', '/v2/users', USER));
  say(`user           ${user.id} (${user.email})`);
  const page =
    (await api.find('/v2/booking-pages', (p) => p.name === PAGE_NAME && p.owner_user_id === user.id)) ??
    (await api.call('POST', '/v2/booking-pages', { name: PAGE_NAME, owner_user_id: user.id, salesforce: { connected: true } }));
  say(`booking page   ${page.id} (${page.name}, Salesforce ${page.salesforce?.connected ? 'connected' : 'off'})`);

  const events: ReceivedEvent[] = [];
  let onArrival: () => void = () => undefined;
  const receiver = await startDemoReceiver({
    port: receiverPort,
    onEvent: (e) => {
      events.push(e);
      say(`  <- webhook   ${e.type.padEnd(22)} ${e.id}  signatures: Oncehub-Signature ok, Standard Webhooks ok`);
      onArrival();
    },
  });
  try {
    // A subscription is found by name; its secret is shown only once, so a found one gets a new secret. One left by
    // a run whose receiver had another port is replaced.
    let sub = await api.find('/v2/webhooks', (w) => w.name === SUBSCRIPTION_NAME);
    if (sub && sub.url !== receiver.url) {
      await api.call('DELETE', `/v2/webhooks/${sub.id}`);
      sub = null;
    }
    sub = sub
      ? await api.call('POST', `/v2/webhooks/${sub.id}/rotate-secret`)
      : await api.call('POST', '/v2/webhooks', { name: SUBSCRIPTION_NAME, url: receiver.url, events: ['booking'] });
    if (sub.enabled === false) await api.call('POST', `/v2/webhooks/${sub.id}/enable`);
    receiver.setSecret(sub.secret);
    say(`subscription   ${sub.id} -> ${receiver.url} (every booking event)`);

    const waitFor = (type: string, bookingId: string, timeoutMs: number) =>
      new Promise<ReceivedEvent>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} for ${bookingId} within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
        const check = () => {
          const e = events.find((x) => x.type === type && (x.data as { id?: string }).id === bookingId);
          if (e) {
            clearTimeout(timer);
            onArrival = () => undefined;
            resolve(e);
          }
        };
        onArrival = check;
        check();
      });

    // 2. A one-minute meeting a little ahead, then moved later.
    const start = Date.now() + leadMs;
    const booking = await api.call(
      'POST',
      '/v2/bookings',
      {
        booking_page_id: page.id,
        starting_time: at(start),
        duration_minutes: 1,
        customer_timezone: 'Europe/Paris',
        form_submission: { name: 'Carol Demo', email: 'carol.demo@example.com' },
      },
      { 'idempotency-key': `demo-${Date.now()}` },
    );
    say(`\nbooked         ${booking.id} at ${at(Date.parse(booking.starting_time))} for 1 minute`);
    await waitFor('booking.scheduled', booking.id, 60_000);
    const moved = at(start + shiftMs);
    await api.call('POST', `/v2/bookings/${booking.id}/reschedule`, { starting_time: moved, reason: 'the demo moves it' });
    say(`rescheduled    ${booking.id} to ${moved}`);
    await waitFor('booking.rescheduled', booking.id, 60_000);
    const endsAt = Date.parse(moved) + 60_000;
    say(`waiting        for the meeting to end at ${new Date(endsAt).toISOString()} (~${Math.max(0, Math.round((endsAt - Date.now()) / 1000))} s)`);
    await waitFor('booking.completed', booking.id, endsAt - Date.now() + 120_000);

    // 3. What the engine recorded, what Salesforce holds, where the run is.
    const timeline = await api.call('GET', `/v2/bookings/${booking.id}/events`);
    say(`\ntimeline of ${booking.id}:`);
    for (const e of timeline.data as Json[]) say(`  ${e.creation_time}  ${e.type}`);
    await printSalesforceEvent(config, booking.id);
    say(`\nTemporal UI    ${uiUrl}/namespaces/${config.temporal.namespace}/workflows/${booking.id}`);
    say('done.');
  } finally {
    await receiver.close();
  }
}

async function printSalesforceEvent(config: ReturnType<typeof loadConfig>, bookingId: string): Promise<void> {
  const sf = config.salesforce;
  if (sf.mode === 'off' || !sf.clientId || !sf.clientSecret) {
    say('\nSalesforce     off (SALESFORCE_MODE=off): no Event to show');
    return;
  }
  const f = { eventStatusField: sf.eventStatusField, reasonField: sf.reasonField, bookingIdField: sf.bookingIdField };
  const conn = new SalesforceConnection({ oauth2: { clientId: sf.clientId, clientSecret: sf.clientSecret, loginUrl: sf.loginUrl }, loginUrl: sf.loginUrl, version: '62.0' });
  await conn.authorize({ grant_type: 'client_credentials' });
  // The sync follows the webhook; give it a few seconds to land.
  for (let attempt = 0; attempt < 30; attempt++) {
    const r = await conn.query<Json>(
      `SELECT Id, Subject, StartDateTime, EndDateTime, WhoId, OwnerId, ${f.eventStatusField}, ${f.reasonField} FROM Event WHERE ${f.bookingIdField} = '${bookingId}'`,
    );
    const ev = r.records[0];
    if (ev && ev[f.eventStatusField] === 'Completed') {
      say(`\nSalesforce Event ${ev.Id} (${sf.loginUrl}):`);
      for (const k of ['Subject', 'StartDateTime', 'EndDateTime', 'WhoId', 'OwnerId', f.eventStatusField, f.reasonField]) say(`  ${k.padEnd(16)} ${ev[k] ?? ''}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  say(`\nSalesforce     no Completed Event for ${bookingId} yet (GET /v2/bookings/${bookingId} shows the sync state)`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof ApiCallError || err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
