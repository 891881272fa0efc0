/**
 * The booking workflow with the real Salesforce activity (jsforce over loopback to the stand-in) on the
 * time-skipping server: writes in lifecycle order, one Event per booking under retries, a five-hour outage
 * recovered on the 72-hour schedule, configuration errors reported while the booking still completes.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { bookingWorkflow } from '../../workflows';
import { getBookingQuery, rescheduleSignal, reassignSignal, noShowSignal, type BookingInput, type BookingPageSnapshot } from '../../src/shared/booking-contract';
import type { SalesforceActivities, SalesforceSyncInput } from '../../src/shared/dispatch-contract';
import type { SalesforceStandin } from '../../src/salesforce/standin/server';
import { timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { activitiesFor, ALICE_USER_ID, BOB_USER_ID, startTestStandin } from '../salesforce/helpers';
import { alice, bob, bookingInput } from '../fixtures/bookings';

let env: TestWorkflowEnvironment;
let standin: SalesforceStandin;

beforeAll(async () => {
  env = await timeSkippingEnv();
  standin = await startTestStandin();
});
afterAll(async () => {
  await standin?.stop();
  await env?.teardown();
});

const connected = (id: string, owner = alice.id): BookingPageSnapshot => ({
  id,
  name: `Sales ${id}`,
  mode: 'automatic',
  owner_user_id: owner,
  salesforce: { connected: true, create_activity_event: true, relate_to: 'lead', create_missing_record: true },
});
const hour = 3600_000;

async function withWorker<T>(salesforce: SalesforceActivities, fn: (start: (i: BookingInput) => ReturnType<typeof env.client.workflow.start<typeof bookingWorkflow>>) => Promise<T>) {
  const taskQueue = uniqueTaskQueue(expect.getState().currentTestName ?? 'sf');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: {
      ...salesforce,
      routeEvent: async () => ({ deliveryIds: [] }),
      noteIgnoredSignal: async () => undefined,
    },
  });
  return worker.runUntil(fn((input) => env.client.workflow.start(bookingWorkflow, { taskQueue, workflowId: input.bookingId, args: [input] })));
}

function eventsOf(bookingId: string) {
  return standin.records('Event').filter((e) => e.Booking_Id__c === bookingId);
}
function writesOf(bookingId: string, eventId: string | undefined) {
  return standin.state.requests.filter(
    (r) => (r.method === 'POST' && r.path.endsWith('/sobjects/Event') && (r.body as Record<string, unknown>)?.Booking_Id__c === bookingId) || (eventId && r.method === 'PATCH' && r.path.endsWith(`/sobjects/Event/${eventId}`)),
  );
}

test('every phase is written in lifecycle order to one Event: scheduled, rescheduled, reassigned, completed, no-show', async () => {
  const now = await env.currentTimeMs();
  const input = bookingInput({ now, page: connected('BP-sf-a'), startInMs: 2 * hour });
  await withWorker(activitiesFor(standin), async (start) => {
    const h = await start(input);
    const newStart = new Date(now + 4 * hour).toISOString();
    await h.signal(rescheduleSignal, { startTime: newStart, reason: 'conflict', actionedBy: 'customer' });
    await h.signal(reassignSignal, { owner: bob, page: connected('BP-sf-b', bob.id) });
    await env.sleep(4 * hour + 31 * 60_000);
    await h.signal(noShowSignal, {});
    const final = await h.result();
    expect(final.events.map((e) => e.type)).toEqual([
      'booking.scheduled',
      'booking.rescheduled',
      'booking.reassigned',
      'booking.completed',
      'booking.no_show',
    ]);
    expect(final.salesforce).toMatchObject({ state: 'synced', last_error: null, applied_seq: 5 });
  });
  const [event] = eventsOf(input.bookingId);
  expect(eventsOf(input.bookingId)).toHaveLength(1);
  const writes = writesOf(input.bookingId, event.Id);
  expect(writes.map((w) => w.method)).toEqual(['POST', 'PATCH', 'PATCH', 'PATCH', 'PATCH']);
  expect(writes.map((w) => (w.body as Record<string, unknown>).Event_Status__c)).toEqual([
    'Scheduled',
    'Rescheduled',
    'Rescheduled (Reassigned by User)',
    'Completed',
    'No-show',
  ]);
  expect((writes[1].body as Record<string, unknown>).Cancel_Reschedule_Reason__c).toBe('conflict');
  expect(event).toMatchObject({ Event_Status__c: 'No-show', OwnerId: BOB_USER_ID });
  expect((writes[0].body as Record<string, unknown>).OwnerId).toBe(ALICE_USER_ID);
});

test('a page that creates no Activity Event writes nothing at all', async () => {
  const now = await env.currentTimeMs();
  const before = standin.state.requests.length;
  const page = { ...connected('BP-sf-none'), salesforce: { connected: true, create_activity_event: false, relate_to: 'lead' as const, create_missing_record: true } };
  await withWorker(activitiesFor(standin), async (start) => {
    const final = await (await start(bookingInput({ now, page }))).result();
    expect(final.salesforce.state).toBe('disabled');
  });
  expect(standin.state.requests.length).toBe(before);
});

test('a create retried after the worker lost its result finds the first Event: never a duplicate', async () => {
  const now = await env.currentTimeMs();
  const input = bookingInput({ now, page: connected('BP-sf-dup'), startInMs: hour });
  const real = activitiesFor(standin);
  let crashes = 0;
  const crashingAfterWrite: SalesforceActivities = {
    async syncActivityEvent(i: SalesforceSyncInput) {
      const r = await real.syncActivityEvent(i);
      // The write reached Salesforce, then the worker "died" before reporting it: Temporal retries.
      if (i.event.type === 'booking.scheduled' && crashes++ === 0) throw new Error('worker lost after create');
      return r;
    },
  };
  await withWorker(crashingAfterWrite, async (start) => {
    const final = await (await start(input)).result();
    expect(final.salesforce.state).toBe('synced');
  });
  expect(crashes).toBeGreaterThan(1);
  expect(eventsOf(input.bookingId)).toHaveLength(1);
  expect(eventsOf(input.bookingId)[0].Event_Status__c).toBe('Completed');
});

test('a five-hour Salesforce outage is recovered on the schedule; nothing is lost or doubled', async () => {
  const now = await env.currentTimeMs();
  const input = bookingInput({ now, page: connected('BP-sf-out'), startInMs: 20 * hour });
  standin.switches.setOutage(true);
  const attempts: number[] = [];
  const real = activitiesFor(standin);
  const counting: SalesforceActivities = {
    async syncActivityEvent(i) {
      attempts.push(await env.currentTimeMs());
      return real.syncActivityEvent(i);
    },
  };
  try {
    await withWorker(counting, async (start) => {
      const h = await start(input);
      await env.sleep(5 * hour);
      const during = await h.query(getBookingQuery);
      expect(during.salesforce.state).toBe('pending');
      expect(eventsOf(input.bookingId)).toHaveLength(0);
      standin.switches.setOutage(false);
      await env.sleep(3 * hour);
      const after = await h.query(getBookingQuery);
      expect(after.salesforce).toMatchObject({ state: 'synced', applied_seq: 1 });
      expect(eventsOf(input.bookingId)).toHaveLength(1);
    });
  } finally {
    standin.switches.setOutage(false);
  }
  // Attempts at +0, +35 s, +3 min 35 s, +75 min 35 s, then +6 h 75 min 35 s (the first after the outage).
  const offsets = attempts.map((t) => Math.round((t - attempts[0]) / 1000));
  expect(offsets.slice(0, 4)).toEqual([0, 35, 215, 4535]);
  expect(offsets[4]).toBeGreaterThanOrEqual(4535 + 6 * 3600);
  expect(offsets[4]).toBeLessThan(4535 + 6 * 3600 + 60);
});

test('a configuration error shows plainly and the booking still completes', async () => {
  const now = await env.currentTimeMs();
  const input = bookingInput({ now, page: connected('BP-sf-cfg'), startInMs: hour });
  standin.switches.markFieldMissing('Event', 'Event_Status__c');
  try {
    await withWorker(activitiesFor(standin), async (start) => {
      const h = await start(input);
      const final = await h.result();
      expect(final.events.map((e) => e.type)).toEqual(['booking.scheduled', 'booking.completed']);
      expect(final.booking.status).toBe('completed');
      expect(final.salesforce.state).toBe('error');
      expect(final.salesforce.last_error).toMatchObject({ code: 'INVALID_FIELD', message: expect.stringMatching(/Event_Status__c/) });
      // The Temporal UI reads current details through the SDK's built-in metadata query.
      const meta = await h.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      expect(meta.currentDetails).toMatch(/Salesforce: error INVALID_FIELD/);
    });
  } finally {
    standin.switches.restoreField('Event', 'Event_Status__c');
  }
  expect(eventsOf(input.bookingId)).toHaveLength(0);
});
