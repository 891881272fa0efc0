/**
 * Every scenario of lifecycle.md section 2, in both booking modes, on the time-skipping server: the exact
 * ordered lifecycle events, what reaches webhook routing and Salesforce, and the final booking object.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { bookingWorkflow } from '../../workflows';
import {
  approveSignal,
  cancelSignal,
  declineSignal,
  getBookingQuery,
  noShowSignal,
  reassignSignal,
  requestRescheduleSignal,
  rescheduleSignal,
  applyActionUpdate,
  type BookingInput,
  type BookingView,
} from '../../src/shared/booking-contract';
import type { RoutableEvent, SalesforceSyncInput } from '../../src/shared/dispatch-contract';
import { timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { alice, approvalPage, bob, bobPage, bookingInput } from '../fixtures/bookings';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await timeSkippingEnv();
});

afterAll(async () => {
  await env?.teardown();
});

interface Harness {
  routed: RoutableEvent[];
  synced: SalesforceSyncInput[];
  ignoredNotes: string[];
  start(input: BookingInput): Promise<WorkflowHandle<typeof bookingWorkflow>>;
}

/** Runs fn with a worker on its own task queue and activities that record what the workflow dispatched. */
async function withWorker<T>(fn: (h: Harness) => Promise<T>, opts: { beforeWorker?: (h: Harness) => Promise<void> } = {}): Promise<T> {
  const taskQueue = uniqueTaskQueue(expect.getState().currentTestName ?? 'booking');
  const h: Harness = {
    routed: [],
    synced: [],
    ignoredNotes: [],
    start: (input) => env.client.workflow.start(bookingWorkflow, { taskQueue, workflowId: input.bookingId, args: [input] }),
  };
  // What runs here finds no worker polling: a start and signals sent now all come with the first workflow task.
  await opts.beforeWorker?.(h);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: {
      routeEvent: async (e: RoutableEvent) => {
        h.routed.push(e);
        return { deliveryIds: [] };
      },
      syncActivityEvent: async (i: SalesforceSyncInput) => {
        h.synced.push(i);
        return { outcome: 'updated', activityEventId: '00Uxx0000000001AAA' };
      },
      noteIgnoredSignal: async ({ signal }: { signal: string }) => {
        h.ignoredNotes.push(signal);
      },
    },
  });
  return worker.runUntil(fn(h));
}

const types = (v: BookingView) => v.events.map((e) => e.type);
const routedTypes = (h: Harness) => h.routed.map((r) => r.envelope.type);
const hour = 3600_000;

/** Queries until the predicate holds; signals are processed asynchronously by the worker. */
async function waitFor(handle: WorkflowHandle, pred: (v: BookingView) => boolean): Promise<BookingView> {
  // Generous: a loaded 2-core machine can take seconds to process a signal; this is not a speed check.
  for (let i = 0; i < 600; i++) {
    const v = await handle.query(getBookingQuery);
    if (pred(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached');
}

describe.each([
  ['automatic', undefined],
  ['approval', approvalPage],
] as const)('%s booking', (mode, page) => {
  const approval = mode === 'approval';
  const base = async (o: Parameters<typeof bookingInput>[0] = {}) => bookingInput({ now: await env.currentTimeMs(), ...(page ? { page } : {}), ...o });

  /** Books, and approves when the page needs approval, so the booking is scheduled. */
  async function booked(h: Harness, input: BookingInput) {
    const handle = await h.start(input);
    if (approval) {
      const requested = await handle.query(getBookingQuery);
      expect(requested.booking.status).toBe('requested');
      expect(requested.events).toEqual([]);
      await handle.signal(approveSignal, {});
    }
    await waitFor(handle, (v) => v.booking.status === 'scheduled');
    return handle;
  }

  test('customer books: scheduled (at once, or when approved), then completed at the meeting end', async () => {
    await withWorker(async (h) => {
      const input = await base();
      const handle = await booked(h, input);
      const final = await handle.result();
      expect(types(final)).toEqual(['booking.scheduled', 'booking.completed']);
      expect(routedTypes(h)).toEqual(['booking.scheduled', 'booking.completed']);
      expect(final.booking).toMatchObject({
        object: 'booking',
        id: input.bookingId,
        status: 'completed',
        activity_status: 'Completed (Set by System)',
        starting_time: input.startTime,
        duration_minutes: 30,
        owner: alice,
        booking_page: input.page.id,
      });
      expect(final.events[0].booking.activity_status).toBe(approval ? 'Scheduled (Approved by User)' : 'Scheduled (By customer)');
      // The completion fired at (not before) the meeting's end.
      const end = Date.parse(input.startTime) + 30 * 60_000;
      expect(Date.parse(final.events[1].creation_time)).toBeGreaterThanOrEqual(end);
      expect(final.events.map((e) => e.seq)).toEqual([1, 2]);
      expect(new Set(final.events.map((e) => e.id)).size).toBe(2);
    });
  });

  test('customer reschedules with the same user: rescheduled, and completion moves with the meeting', async () => {
    await withWorker(async (h) => {
      const input = await base();
      const handle = await booked(h, input);
      const newStart = new Date(Date.parse(input.startTime) + 5 * hour).toISOString();
      await handle.signal(rescheduleSignal, { startTime: newStart, reason: 'clash', actionedBy: 'customer' });
      if (approval) {
        const pending = await waitFor(handle, (v) => v.pending_request !== null);
        expect(types(pending)).toEqual(['booking.scheduled']);
        expect(pending.booking.starting_time).toBe(input.startTime);
        await handle.signal(approveSignal, {});
      }
      const final = await handle.result();
      expect(types(final)).toEqual(['booking.scheduled', 'booking.rescheduled', 'booking.completed']);
      expect(final.events[1].booking).toMatchObject({
        status: 'rescheduled',
        starting_time: newStart,
        activity_status: approval ? 'Rescheduled (Approved by User)' : 'Rescheduled (By customer)',
        cancel_reschedule_information: { reason: 'clash', actioned_by: 'customer', user_id: null },
      });
      expect(Date.parse(final.events[2].creation_time)).toBeGreaterThanOrEqual(Date.parse(newStart) + 30 * 60_000);
      expect(final.booking.starting_time).toBe(newStart);
    });
  });

  test('customer cancels and rebooks with a different user: old ends canceled, new sends canceled_then_rescheduled', async () => {
    await withWorker(async (h) => {
      const old = await base();
      const oldHandle = await booked(h, old);
      const newInput = bookingInput({
        now: await env.currentTimeMs(),
        page: approval ? { ...bobPage, mode: 'approval' } : bobPage,
        owner: bob,
        rebookOf: { bookingId: old.bookingId, reason: 'prefer Bob', actionedBy: 'customer', pageConnectedToSalesforce: false },
      });
      const newHandle = await h.start(newInput);
      if (approval) {
        const waiting = await newHandle.query(getBookingQuery);
        expect(waiting.booking.status).toBe('requested');
        expect((await oldHandle.query(getBookingQuery)).booking.status).toBe('scheduled');
        await newHandle.signal(approveSignal, {});
      }
      const oldFinal = await oldHandle.result();
      expect(types(oldFinal)).toEqual(['booking.scheduled', 'booking.canceled']);
      expect(oldFinal.events[1].webhook).toBe(false);
      expect(oldFinal.booking).toMatchObject({ status: 'canceled', activity_status: 'Canceled (By customer)' });
      const newFinal = await newHandle.result();
      expect(types(newFinal)).toEqual(['booking.canceled_then_rescheduled', 'booking.completed']);
      expect(newFinal.events[0].booking).toMatchObject({ rescheduled_booking_id: old.bookingId, owner: bob, status: 'rescheduled' });
      // Webhooks hear the old booking's scheduled event and the new booking's events, never a separate cancel.
      expect(routedTypes(h).sort()).toEqual(['booking.canceled_then_rescheduled', 'booking.completed', 'booking.scheduled'].sort());
    });
  });

  test('user asks the customer to reschedule, then the customer picks a new time', async () => {
    await withWorker(async (h) => {
      const input = await base();
      const handle = await booked(h, input);
      await handle.signal(requestRescheduleSignal, { reason: 'I am travelling' });
      const asked = await waitFor(handle, (v) => v.events.length === 2);
      expect(asked.booking).toMatchObject({
        status: 'canceled',
        activity_status: 'Canceled (Reschedule requested by User)',
        cancel_reschedule_information: { reason: 'I am travelling', actioned_by: 'user', user_id: alice.id },
      });
      const newStart = new Date(Date.parse(input.startTime) + 24 * hour).toISOString();
      await handle.signal(rescheduleSignal, { startTime: newStart, actionedBy: 'customer' });
      if (approval) {
        const pending = await waitFor(handle, (v) => v.pending_request !== null);
        expect(types(pending)).toEqual(['booking.scheduled', 'booking.canceled_reschedule_requested']);
        await handle.signal(approveSignal, {});
      }
      const final = await handle.result();
      expect(types(final)).toEqual([
        'booking.scheduled',
        'booking.canceled_reschedule_requested',
        'booking.rescheduled',
        'booking.completed',
      ]);
      expect(final.events[2].booking).toMatchObject({
        status: 'rescheduled',
        starting_time: newStart,
        activity_status: approval ? 'Rescheduled (Approved by User)' : 'Rescheduled (Initiated by User)',
      });
    });
  });

  test.each(['customer', 'user'] as const)('cancel by the %s: canceled with reason and who did it', async (by) => {
    await withWorker(async (h) => {
      const input = await base();
      const handle = await booked(h, input);
      await handle.signal(cancelSignal, { reason: 'no longer needed', actionedBy: by });
      const final = await handle.result();
      expect(types(final)).toEqual(['booking.scheduled', 'booking.canceled']);
      expect(final.booking).toMatchObject({
        status: 'canceled',
        activity_status: by === 'user' ? 'Canceled (By user)' : 'Canceled (By customer)',
        cancel_reschedule_information: { reason: 'no longer needed', actioned_by: by, user_id: by === 'user' ? alice.id : null },
      });
      expect(routedTypes(h)).toEqual(['booking.scheduled', 'booking.canceled']);
    });
  });

  test('no-show: set by the user after completion, within the window', async () => {
    await withWorker(async (h) => {
      const input = await base({ startInMs: hour });
      const handle = await booked(h, input);
      await env.sleep(hour + 31 * 60_000);
      await waitFor(handle, (v) => v.booking.status === 'completed');
      await handle.signal(noShowSignal, { userId: alice.id });
      const final = await handle.result();
      expect(types(final)).toEqual(['booking.scheduled', 'booking.completed', 'booking.no_show']);
      expect(final.booking).toMatchObject({ status: 'no_show', activity_status: 'No-show (Set by user)' });
    });
  });

  test('reassignment to another user and page: reassigned, with the detailed status of where it was', async () => {
    await withWorker(async (h) => {
      const input = await base();
      const handle = await booked(h, input);
      await handle.signal(reassignSignal, { owner: bob, page: bobPage });
      const after = await waitFor(handle, (v) => v.events.length === 2);
      expect(after.booking).toMatchObject({ owner: bob, booking_page: bobPage.id, activity_status: 'Scheduled (Reassigned by User)' });
      expect(after.events[1].previous_page?.id).toBe(input.page.id);
      // After a reschedule, the same action reads "Rescheduled (Reassigned by User)".
      const newStart = new Date(Date.parse(input.startTime) + hour).toISOString();
      await handle.signal(rescheduleSignal, { startTime: newStart, actionedBy: 'user' });
      await waitFor(handle, (v) => v.booking.status === 'rescheduled');
      await handle.signal(reassignSignal, { owner: alice, page: input.page });
      const final = await handle.result();
      expect(types(final)).toEqual([
        'booking.scheduled',
        'booking.reassigned',
        'booking.rescheduled',
        'booking.reassigned',
        'booking.completed',
      ]);
      expect(final.events[3].booking.activity_status).toBe('Rescheduled (Reassigned by User)');
    });
  });
});

describe('approval requests that never become bookings', () => {
  test('a declined request sends nothing and ends canceled', async () => {
    await withWorker(async (h) => {
      const handle = await h.start(bookingInput({ now: await env.currentTimeMs(), page: approvalPage }));
      await handle.signal(declineSignal, { reason: 'fully booked' });
      const final = await handle.result();
      expect(final.events).toEqual([]);
      expect(h.routed).toEqual([]);
      expect(h.synced).toEqual([]);
      expect(final.booking).toMatchObject({ status: 'canceled', activity_status: 'Declined (By user)' });
    });
  });

  test('a request never approved expires at its start time and sends nothing', async () => {
    await withWorker(async (h) => {
      const input = bookingInput({ now: await env.currentTimeMs(), page: approvalPage, startInMs: 2 * hour });
      const handle = await h.start(input);
      const final = await handle.result();
      expect(final.events).toEqual([]);
      expect(h.routed).toEqual([]);
      expect(final.booking).toMatchObject({ status: 'canceled', activity_status: 'Expired (Not approved)' });
      // A late approval after expiry cannot reach a closed run; the API answers 409/404 for it.
    });
  });

  test('a reschedule never approved before its new time lapses; the booking keeps its old time', async () => {
    await withWorker(async (h) => {
      const input = bookingInput({ now: await env.currentTimeMs(), page: approvalPage, startInMs: 10 * hour });
      const handle = await h.start(input);
      await handle.signal(approveSignal, {});
      const soon = new Date((await env.currentTimeMs()) + 2 * hour).toISOString();
      await handle.signal(rescheduleSignal, { startTime: soon, actionedBy: 'customer' });
      await waitFor(handle, (v) => v.pending_request?.kind === 'reschedule');
      const final = await handle.result();
      expect(types(final)).toEqual(['booking.scheduled', 'booking.completed']);
      expect(final.booking.starting_time).toBe(input.startTime);
    });
  });
});

describe('late or forbidden signals are ignored and recorded, never fatal', () => {
  test('in every state', async () => {
    await withWorker(async (h) => {
      const input = bookingInput({ now: await env.currentTimeMs(), page: approvalPage, startInMs: hour });
      const handle = await h.start(input);
      // requested: no-show and reassign are not allowed yet
      await handle.signal(noShowSignal, {});
      await handle.signal(requestRescheduleSignal, {});
      await handle.signal(approveSignal, {});
      // active: approve again, no-show before the meeting, reschedule into the past
      await handle.signal(approveSignal, {});
      await handle.signal(noShowSignal, {});
      await handle.signal(rescheduleSignal, { startTime: '2001-01-01T00:00:00Z' });
      await handle.signal(rescheduleSignal, { startTime: 'not a time' });
      await handle.signal(requestRescheduleSignal, { reason: 'x' });
      // awaiting the customer: a second request, reassignment
      await handle.signal(requestRescheduleSignal, { reason: 'again' });
      await handle.signal(reassignSignal, { owner: bob });
      const v = await waitFor(handle, (x) => x.ignored_signals.length === 8);
      expect(v.ignored_signals.map((s) => s.signal)).toEqual([
        'noShow',
        'requestReschedule',
        'approve',
        'noShow',
        'reschedule',
        'reschedule',
        'requestReschedule',
        'reassign',
      ]);
      expect(v.ignored_signals[3].reason).toMatch(/only on a completed meeting/);
      await handle.signal(cancelSignal, { actionedBy: 'customer' });
      // closed (dispatch still draining or done): everything else is ignored too, and the run ends normally
      const final = await handle.result();
      expect(types(final)).toEqual(['booking.scheduled', 'booking.canceled_reschedule_requested', 'booking.canceled']);
      expect(h.ignoredNotes.length).toBeGreaterThanOrEqual(8);
    });
  });

  test('signals that came with the first workflow task are applied in the order they were sent', async () => {
    let handle: WorkflowHandle | null = null;
    const final = await withWorker(
      async () => (await handle!.result()) as BookingView,
      {
        beforeWorker: async (h) => {
          handle = await h.start(bookingInput({ now: await env.currentTimeMs(), page: approvalPage, startInMs: hour }));
          // Sent before any worker polls: both reach the run in its first task, the cancel first.
          await handle.signal(cancelSignal, { actionedBy: 'customer' });
          await handle.signal(approveSignal, {});
        },
      },
    );
    // The cancel closed the request, so the approve came too late; applied grouped by handler (approve's first),
    // the request was approved and scheduled and only then canceled.
    expect(types(final)).not.toContain('booking.scheduled');
    expect(final.ignored_signals.map((x) => x.signal)).toEqual(['approve']);
  });

  test('the action update rejects what the state forbids before anything is written', async () => {
    await withWorker(async (h) => {
      const handle = await h.start(bookingInput({ now: await env.currentTimeMs() }));
      await waitFor(handle, (v) => v.events.length === 1);
      await expect(handle.executeUpdate(applyActionUpdate, { args: [{ kind: 'noShow' }] })).rejects.toMatchObject({
        cause: { message: expect.stringMatching(/only on a completed meeting/) },
      });
      const accepted = await handle.executeUpdate(applyActionUpdate, { args: [{ kind: 'cancel', actionedBy: 'user', reason: 'r' }] });
      expect(accepted.booking.status).toBe('canceled');
      const final = await handle.result();
      expect(types(final)).toEqual(['booking.scheduled', 'booking.canceled']);
      expect(final.ignored_signals).toEqual([]);
    });
  });

  test('a reschedule to the time the booking already has changes nothing: the update refuses it, the signal is ignored', async () => {
    await withWorker(async (h) => {
      const input = bookingInput({ now: await env.currentTimeMs() });
      const handle = await h.start(input);
      await waitFor(handle, (v) => v.events.length === 1);
      const same = { kind: 'reschedule' as const, startTime: input.startTime, actionedBy: 'customer' as const };
      // A double click: the second request finds the booking already at that time.
      await expect(handle.executeUpdate(applyActionUpdate, { args: [same] })).rejects.toMatchObject({
        cause: { message: expect.stringMatching(/already at that time/) },
      });
      await handle.signal(rescheduleSignal, { startTime: input.startTime, actionedBy: 'customer' });
      const v = await waitFor(handle, (x) => x.ignored_signals.length === 1);
      expect(v.ignored_signals[0]).toMatchObject({ signal: 'reschedule', reason: 'the booking is already at that time' });
      await handle.signal(cancelSignal, { actionedBy: 'user', reason: 'done' });
      const final = await handle.result();
      // No booking.rescheduled: nothing reached webhook routing or Salesforce for either request.
      expect(types(final)).toEqual(['booking.scheduled', 'booking.canceled']);
      expect(h.routed.map((e) => e.envelope.type)).toEqual(['booking.scheduled', 'booking.canceled']);
    });
  });
});
