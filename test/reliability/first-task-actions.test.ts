/**
 * An action that reaches a booking together with its start (same first workflow task: signal-with-start, or a
 * cancel sent while the worker is backed up) must not overtake the start's own event. Found by the fault suite:
 * bookings canceled under load emitted booking.canceled before booking.scheduled, so Salesforce kept "Scheduled".
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { cancelSignal, type BookingView } from '../../src/shared/booking-contract';
import type { RoutableEvent, SalesforceSyncInput } from '../../src/shared/dispatch-contract';
import { bookingInput } from '../fixtures/bookings';
import { timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await timeSkippingEnv();
});

afterAll(async () => {
  await env?.teardown();
});

test('a cancel delivered with the start comes after booking.scheduled, for webhooks and Salesforce alike', async () => {
  const taskQueue = uniqueTaskQueue('first-task-actions');
  const routed: string[] = [];
  const synced: string[] = [];
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: {
      routeEvent: async (e: RoutableEvent) => {
        routed.push(e.envelope.type);
        return { deliveryIds: [] };
      },
      syncActivityEvent: async (i: SalesforceSyncInput) => {
        synced.push(i.event.type);
        return { outcome: 'updated' as const, activityEventId: '00U000000000001AAA' };
      },
      noteIgnoredSignal: async () => undefined,
    },
  });
  const input = bookingInput({
    now: await env.currentTimeMs(),
    page: { id: 'BP-sf', name: 'SF', mode: 'automatic', owner_user_id: 'USR-alice', salesforce: { connected: true, create_activity_event: true, relate_to: 'lead', create_missing_record: false } },
  });
  const view = await worker.runUntil(async () => {
    const handle = await env.client.workflow.signalWithStart('bookingWorkflow', {
      taskQueue,
      workflowId: input.bookingId,
      args: [input],
      signal: cancelSignal,
      signalArgs: [{ actionedBy: 'customer', reason: 'changed my mind' }],
    });
    return (await handle.result()) as BookingView;
  });
  expect(view.events.map((e) => [e.seq, e.type])).toEqual([
    [1, 'booking.scheduled'],
    [2, 'booking.canceled'],
  ]);
  expect(routed).toEqual(['booking.scheduled', 'booking.canceled']);
  expect(synced).toEqual(['booking.scheduled', 'booking.canceled']);
  expect(view.booking.status).toBe('canceled');
});
