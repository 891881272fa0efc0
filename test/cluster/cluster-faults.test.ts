/**
 * The booking lifecycle and its faults on the production topology: one `npm run cluster` (PostgreSQL, the four
 * Temporal services, the Web UI server, two workers and the API as separate processes), started once for the whole
 * file, with the Salesforce stand-in and the webhook receivers in this process (SALESFORCE_MODE=org pointing at the
 * stand-in, webhooks to loopback allowed).
 *   1. The end-to-end walk through the API: a booking rescheduled and then canceled, one whose meeting completes on
 *      its timer; every webhook signed (checked with `standardwebhooks`), one Salesforce Event per booking with its
 *      final status, and the booking found in the cluster's Web UI in Chromium by BookingStatus and opened.
 *   2-5. Faults with bookings in flight (dispatches, Salesforce writes, completion timers): one of the two workers
 *      SIGKILLed; the history service SIGKILLed and started again; the matching service restarted; PostgreSQL
 *      restarted under the server and the engine. Each taken down through the cluster's control folder
 *      (src/cluster/control.ts), as a container of the compose file would be. After each, the checks of the embedded
 *      fault suite (test/reliability/fault-scenarios.ts): every booking in the state its actions say with every
 *      completion timer fired, every webhook delivered at least once under its event id with a valid signature, the
 *      store agreeing, exactly one Salesforce Event per booking with the right final status.
 * Last, the cluster itself never went down, no run is left open, and every history replays against the current
 * workflow code.
 */
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Webhook } from 'standardwebhooks';
import { createBookingService } from '../../src/bookings/booking-service';
import { postgresUrl } from '../../src/cluster/postgres';
import { ENGINE_DATABASE } from '../../src/cluster/schema';
import { loadConfig } from '../../src/config';
import type { SalesforceStandin } from '../../src/salesforce/standin/server';
import { openDbFromUrl, type OpenedDb } from '../../src/store';
import { isValidOncehubSignature } from '../../src/webhooks/verify';
import { replayEveryHistory } from '../helpers/replay-gate';
import { openBookingInUi } from '../helpers/temporal-ui';
import {
  addSubscriber,
  faultEngineEnv,
  report,
  setFaultContext,
  sleep,
  startFaultStandin,
  startScenario,
  verifyScenario,
  type Plan,
  type Subscriber,
} from '../reliability/fault-scenarios';
import { startReceiver, type Receiver } from '../webhooks/receiver';
import { ClusterRun, until } from './cluster-run';

jest.setTimeout(10 * 60_000);

const TASK_QUEUE = 'booking-lifecycle';
const NAMESPACE = 'default';
const fileStarted = Date.now();

let cluster: ClusterRun;
let standin: SalesforceStandin;
let db: OpenedDb;
let connection: Connection;
let client: Client;
const subscribers: Subscriber[] = [];
let stable: Subscriber;

beforeAll(async () => {
  standin = await startFaultStandin([
    { Id: '005000000000003AAA', Email: 'alice@example.com', Name: 'Alice' },
  ]);
  cluster = await ClusterRun.create({
    apiKey: 'cluster-faults-key',
    env: {
      ...faultEngineEnv(standin),
      // A completed meeting's run closes at once (no no-show window), so a test can wait for its result.
      NO_SHOW_WINDOW_MINUTES: '0',
    },
  });
  const t0 = Date.now();
  await cluster.start();
  console.log(`cluster started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const { ports } = cluster;
  db = await openDbFromUrl(postgresUrl(ports.postgres, cluster.postgresPassword(), ENGINE_DATABASE));
  connection = await Connection.connect({ address: `127.0.0.1:${ports.frontend}` });
  client = new Client({ connection, namespace: NAMESPACE });
  const serviceFor = (taskQueue: string) =>
    createBookingService({
      config: loadConfig({
        TEMPORAL_ADDRESS: `127.0.0.1:${ports.frontend}`,
        TEMPORAL_TASK_QUEUE: taskQueue,
        DATA_DIR: cluster.dataDir,
        NO_SHOW_WINDOW_MINUTES: '0',
      }),
      db,
      temporal: client,
    });
  setFaultContext({ client, db, standin, serviceFor, subscribers });
  stable = await addSubscriber('cluster-subscriber', false);
}, 300_000);

afterAll(async () => {
  await connection?.close();
  await cluster?.dispose();
  for (const s of subscribers) await s.receiver.close();
  await db?.close();
  await standin?.stop();
  console.log(`cluster-faults.test.ts took ${((Date.now() - fileStarted) / 1000).toFixed(0)} s`);
});

/** The walk's own receiver: every request, answered 204. */
let walkReceiver: Receiver;

test('the walk: book, reschedule, cancel, a meeting completing on its timer; signed webhooks, one Salesforce Event each, the booking in the Web UI', async () => {
  const t0 = Date.now();
  walkReceiver = await startReceiver(() => ({ status: 204 }));
  const api = cluster.api.bind(cluster);
  const user = await api('POST', '/v2/users', { name: 'Alice', email: 'alice@example.com', timezone: 'Europe/London' });
  expect(user.status).toBe(201);
  const page = await api('POST', '/v2/booking-pages', {
    name: 'Sales call',
    owner_user_id: user.body.id,
    salesforce: { connected: true, create_activity_event: true, relate_to: 'lead', create_missing_record: true },
  });
  expect(page.status).toBe(201);
  const sub = await api('POST', '/v2/webhooks', { name: 'walk', url: `${walkReceiver.url}/hook`, events: ['booking'] });
  expect(sub.status).toBe(201);
  const secret = sub.body.secret as string;
  const at = (ms: number) => new Date(Date.now() + ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const book = (startsInMs: number, minutes: number, n: number) =>
    api('POST', '/v2/bookings', {
      booking_page_id: page.body.id,
      starting_time: at(startsInMs),
      duration_minutes: minutes,
      customer_timezone: 'Europe/Paris',
      form_submission: { name: `Carol ${n}`, email: `carol${n}@example.com` },
    });

  // A meeting starting in 20 s, one minute long: it completes on its timer while the rest of the walk goes on.
  const timed = await book(20_000, 1, 1);
  expect(timed.status).toBe(201);
  const timedId = timed.body.id as string;
  const moved = await book(24 * 3600_000, 30, 2);
  expect(moved.status).toBe(201);
  const movedId = moved.body.id as string;

  // The Web UI in Chromium: filtered by BookingStatus, the booking is listed, and its page opens with its summary.
  await until('the booking in a BookingStatus list query', async () => {
    const r = await connection.workflowService.listWorkflowExecutions({ namespace: NAMESPACE, query: 'BookingStatus = "scheduled"' });
    return (r.executions ?? []).some((e) => e.execution?.workflowId === movedId) ? true : undefined;
  });
  await openBookingInUi({
    uiUrl: `http://127.0.0.1:${cluster.ports.ui}`,
    namespace: NAMESPACE,
    query: 'BookingStatus="scheduled"',
    bookingId: movedId,
    expectText: 'Scheduled (By customer)',
    screenshotPath: path.join(cluster.dataDir, 'ui.png'),
    timeoutMs: 60_000,
  });

  // Rescheduled to the next day, then canceled.
  const rescheduled = await api('POST', `/v2/bookings/${movedId}/reschedule`, { starting_time: at(48 * 3600_000), actioned_by: 'customer' });
  expect(rescheduled.status).toBe(200);
  const canceled = await api('POST', `/v2/bookings/${movedId}/cancel`, { actioned_by: 'customer', reason: 'cannot make it' });
  expect(canceled.status).toBe(200);
  expect(canceled.body).toMatchObject({ id: movedId, status: 'canceled' });

  // The timed meeting completes on its timer.
  const completed = await until(
    'the timed meeting to complete',
    async () => {
      const b = await api('GET', `/v2/bookings/${timedId}`);
      return b.body.status === 'completed' ? b.body : undefined;
    },
    180_000,
  );
  expect(completed).toMatchObject({ id: timedId, status: 'completed' });

  // Every webhook, signed: the Standard Webhooks signature (checked by the `standardwebhooks` package) and OnceHub's.
  const want: Record<string, string[]> = {
    [timedId]: ['booking.scheduled', 'booking.completed'],
    [movedId]: ['booking.scheduled', 'booking.rescheduled', 'booking.canceled'],
  };
  const verifier = new Webhook(Buffer.from(secret, 'utf8').toString('base64'));
  const delivered = () => {
    const byBooking: Record<string, string[]> = { [timedId]: [], [movedId]: [] };
    const ids = new Set<string>();
    for (const r of walkReceiver.requests) {
      const raw = r.raw.toString('utf8');
      const envelope = verifier.verify(raw, {
        'webhook-id': String(r.headers['webhook-id']),
        'webhook-timestamp': String(r.headers['webhook-timestamp']),
        'webhook-signature': String(r.headers['webhook-signature']),
      }) as { id: string; type: string; data: { id: string } };
      expect(isValidOncehubSignature({ header: String(r.headers['oncehub-signature']), rawBody: raw, secret })).toBe(true);
      expect(r.headers['webhook-id']).toBe(envelope.id);
      if (ids.has(envelope.id)) continue; // a retry of one already seen
      ids.add(envelope.id);
      byBooking[envelope.data.id]?.push(envelope.type);
    }
    return byBooking;
  };
  // Waited for (a failed wait is reported by the exact comparison after it).
  await until('every webhook of the walk', async () => (JSON.stringify(delivered()) === JSON.stringify(want) ? true : undefined), 120_000).catch(
    () => undefined,
  );
  expect(delivered()).toEqual(want);

  // One Salesforce Event per booking, with its final status; each booking knows its Event.
  const finalStatus: Record<string, string> = { [timedId]: 'Completed', [movedId]: 'Canceled' };
  await until(
    'the Salesforce Events in their final status',
    async () => {
      for (const id of [timedId, movedId]) {
        const events = standin.records('Event').filter((e) => e.Booking_Id__c === id);
        if (events.length !== 1 || events[0].Event_Status__c !== finalStatus[id]) return undefined;
        const b = await api('GET', `/v2/bookings/${id}`);
        if (b.body.lifecycle.salesforce.state !== 'synced') return undefined;
      }
      return true;
    },
    120_000,
  ).catch(() => undefined);
  for (const id of [timedId, movedId]) {
    const events = standin.records('Event').filter((e) => e.Booking_Id__c === id);
    expect(events.map((e) => e.Event_Status__c)).toEqual([finalStatus[id]]);
    const b = await api('GET', `/v2/bookings/${id}`);
    expect(b.body.lifecycle.salesforce).toMatchObject({ state: 'synced', activity_event_id: events[0].Id });
  }
  report('cluster walk', { webhooks: walkReceiver.requests.length, seconds: Math.round((Date.now() - t0) / 1000) });
  // The walk's subscription goes with its receiver: the faults' events are for their own subscriber only.
  expect((await api('DELETE', `/v2/webhooks/${sub.body.id as string}`)).status).toBe(200);
  await walkReceiver.close();
});

/** As the embedded suite plans them: a fifth canceled, a tenth rescheduled, the rest completing on their timers. */
const plan = (i: number): Plan => (i % 5 === 0 ? 'cancel' : i % 10 === 3 ? 'reschedule' : 'complete');
const BOOKINGS_PER_FAULT = 30;

/** Starts bookings, runs `fault` while their dispatches and timers are in flight, then checks that nothing was lost. */
async function underFault(label: string, fault: () => Promise<Record<string, unknown>>): Promise<void> {
  const t0 = Date.now();
  // Meetings end 40-50 s out: their completion timers come due during or after the fault.
  const scenario = await startScenario(label, TASK_QUEUE, BOOKINGS_PER_FAULT, (i) => 40_000 + (i % 10) * 1_000, plan);
  const faultReport = await fault();
  const counts = await verifyScenario(scenario, [stable], 300_000);
  report(label, { fault: faultReport, ...counts, seconds: Math.round((Date.now() - t0) / 1000) });
}

test('one of two workers SIGKILLed with bookings in flight: nothing lost', async () => {
  await underFault('cluster: worker-1 SIGKILLed', async () => {
    const killed = await cluster.control('kill', 'worker-1');
    return { worker1KilledInMs: killed.ms };
  });
  // Back to two workers for the faults that follow.
  await cluster.control('start', 'worker-1');
});

test('the history service SIGKILLed and started again with bookings in flight: nothing lost', async () => {
  await underFault('cluster: temporal-history SIGKILLed and started again', async () => {
    await sleep(2_000);
    await cluster.control('kill', 'temporal-history');
    const down = Date.now();
    await sleep(5_000);
    const started = await cluster.control('start', 'temporal-history');
    return { historyDownSeconds: Math.round((Date.now() - down) / 1000), readyAfterStartMs: started.ms };
  });
});

test('the matching service restarted with bookings in flight: nothing lost', async () => {
  await underFault('cluster: temporal-matching restarted', async () => {
    await sleep(2_000);
    const restarted = await cluster.control('restart', 'temporal-matching');
    return { restartMs: restarted.ms };
  });
});

test('PostgreSQL restarted under the server and the engine with bookings in flight: nothing lost', async () => {
  await underFault('cluster: PostgreSQL restarted', async () => {
    await sleep(2_000);
    const restarted = await cluster.control('restart', 'postgres');
    return { restartMs: restarted.ms };
  });
});

test('the cluster stayed up through every fault, and every history replays', async () => {
  expect(cluster.proc?.exitCode).toBeNull();
  expect(cluster.output).not.toMatch(/exited \(.*\) while the cluster was running/);
  // Nothing left hanging: every booking run ended, and no delivery is still retrying.
  expect((await client.workflow.count('ExecutionStatus = "Running"')).count).toBe(0);
  const gate = await replayEveryHistory(client, { label: 'cluster faults' });
  expect(gate.failures).toEqual([]);
  expect(gate.replayed).toBeGreaterThan(4 * BOOKINGS_PER_FAULT);
}, 300_000);
