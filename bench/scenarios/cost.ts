/**
 * Scenario c, cost per booking lifecycle: Temporal actions and history events counted from the real histories
 * of finished bookings and of their delivery workflows, beside the design's minimum (the start, one per event
 * per destination, the timer). Actions are counted the way Temporal Cloud bills them, from history events:
 * workflow starts, activity attempts, timers, signals, accepted updates, search-attribute upserts, markers
 * (local activities), external signals and child starts. Queries leave no history: the API's are added apart
 * (none since issue 19).
 */
import { temporal } from '@temporalio/proto';
import type { BenchWorld } from '../lib/harness';
import { WorkflowNotFoundError } from '@temporalio/client';
import { deliveryIdFor } from '../../src/webhooks/ids';
import { mapLimit } from '../lib/stats';
import { LIFECYCLE_EVENTS } from './lifecycle';

const T = temporal.api.enums.v1.EventType;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Actions recorded by one history. */
export function actionsIn(events: HistoryEvent[]): { total: number; byKind: Record<string, number>; unbilled: Record<string, number> } {
  const byKind: Record<string, number> = {};
  /** Events that look like actions but are not billed: a patch's marker and its TemporalChangeVersion upsert. */
  const unbilled: Record<string, number> = {};
  const add = (k: string, n = 1) => (byKind[k] = (byKind[k] ?? 0) + n);
  const notBilled = (k: string) => (unbilled[k] = (unbilled[k] ?? 0) + 1);
  for (const e of events) {
    switch (e.eventType) {
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        add('workflow start');
        break;
      case T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        add('activity');
        break;
      case T.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const attempt = e.activityTaskStartedEventAttributes?.attempt ?? 1;
        if (attempt > 1) add('activity retry', attempt - 1);
        break;
      }
      case T.EVENT_TYPE_TIMER_STARTED:
        add('timer');
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        add('signal');
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        add('update');
        break;
      case T.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        // Core upserts TemporalChangeVersion with each patch a new run records; Temporal Cloud exempts it.
        const keys = Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
        if (keys.length > 0 && keys.every((k) => k === 'TemporalChangeVersion')) notBilled('patch version upsert (TemporalChangeVersion)');
        else add('search attributes upsert');
        break;
      }
      case T.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
        add('properties modified');
        break;
      case T.EVENT_TYPE_MARKER_RECORDED:
        // A patch's marker (core_patch) is versioning bookkeeping, not a local activity or side effect, which are
        // what Temporal Cloud bills among markers.
        if (e.markerRecordedEventAttributes?.markerName === 'core_patch') notBilled('patch marker');
        else add('local activity marker');
        break;
      case T.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
        add('external signal');
        break;
      case T.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        add('child workflow start');
        break;
      default:
        break;
    }
  }
  return { total: Object.values(byKind).reduce((a, b) => a + b, 0), byKind, unbilled };
}

export interface CostResult {
  bookingsSampled: number;
  perLifecycle: {
    bookingHistoryEvents: number;
    deliveryWorkflows: number;
    deliveryHistoryEvents: number;
    historyEvents: number;
    bookingActions: number;
    deliveryActions: number;
    apiQueries: number;
    actions: number;
    actionsByKind: Record<string, number>;
    /** Per lifecycle, history events counted apart as not billed (patch markers and their version upserts). */
    notBilledByKind: Record<string, number>;
    activities: number;
    timers: number;
  };
  designMinimum: { actions: number; breakdown: string };
}

/** Counts over up to `sample` finished bookings of scenario a. */
export async function measureCost(h: BenchWorld, bookingIds: string[], subscriptionIds: string[], sample: number): Promise<CostResult> {
  const picked = bookingIds.slice(0, sample);
  const perBooking = await mapLimit(picked, 4, async (id) => {
    const history = await h.temporal.workflow.getHandle(id).fetchHistory();
    const events = history.events ?? [];
    const booking = actionsIn(events);
    // Delivery ids are derived from the event id and subscription id; event ids come from the booking's view.
    const view = await h.api.call<{ id: string; lifecycle: unknown }>('GET', `/v2/bookings/${id}/events`);
    const eventIds = ((view.body as unknown as { data: { id: string; webhook: boolean }[] }).data ?? []).filter((e) => e.webhook).map((e) => e.id);
    let deliveryEvents = 0;
    let deliveryWorkflows = 0;
    const deliveryKinds: Record<string, number> = {};
    let deliveryActions = 0;
    for (const eventId of eventIds) {
      for (const sub of subscriptionIds) {
        // Routing makes the first attempt itself; only a delivery it did not finish has a workflow.
        const dh = await h.temporal.workflow
          .getHandle(deliveryIdFor(eventId, sub))
          .fetchHistory()
          .catch((err: unknown) => {
            // fetchHistory passes the server's gRPC NOT_FOUND (code 5) through as it is.
            if (err instanceof WorkflowNotFoundError || (err as { code?: unknown }).code === 5) return null;
            throw err;
          });
        if (!dh) continue;
        const de = dh.events ?? [];
        deliveryWorkflows++;
        deliveryEvents += de.length;
        const a = actionsIn(de);
        deliveryActions += a.total;
        for (const [k, n] of Object.entries(a.byKind)) deliveryKinds[k] = (deliveryKinds[k] ?? 0) + n;
      }
    }
    return { bookingEvents: events.length, booking, deliveryEvents, deliveryWorkflows, deliveryActions, deliveryKinds };
  });
  const n = perBooking.length || 1;
  const avg = (f: (x: (typeof perBooking)[number]) => number) => Math.round((perBooking.reduce((s, x) => s + f(x), 0) / n) * 10) / 10;
  const kinds: Record<string, number> = {};
  const unbilled: Record<string, number> = {};
  for (const x of perBooking) {
    for (const [k, v] of Object.entries(x.booking.byKind)) kinds[k] = (kinds[k] ?? 0) + v / n;
    for (const [k, v] of Object.entries(x.deliveryKinds)) kinds[k] = (kinds[k] ?? 0) + v / n;
    for (const [k, v] of Object.entries(x.booking.unbilled)) unbilled[k] = (unbilled[k] ?? 0) + v / n;
  }
  for (const k of Object.keys(unbilled)) unbilled[k] = Math.round(unbilled[k] * 10) / 10;
  // The API's own queries. There were 2 (the create answered with a query, the reschedule read first); the create
  // answers with the state the workflow starts in since change 10 and a plain reschedule answers from its update
  // since issue 19, so the bench's lifecycle (create, reschedule to another time) makes none.
  const apiQueries = 0;
  kinds['query (API, not in history)'] = apiQueries;
  for (const k of Object.keys(kinds)) kinds[k] = Math.round(kinds[k] * 10) / 10;
  const destinations = subscriptionIds.length + 1;
  const minimum = 1 + LIFECYCLE_EVENTS.length * destinations + 1;
  const bookingActions = avg((x) => x.booking.total);
  const deliveryActions = avg((x) => x.deliveryActions);
  return {
    bookingsSampled: perBooking.length,
    perLifecycle: {
      bookingHistoryEvents: avg((x) => x.bookingEvents),
      deliveryWorkflows: avg((x) => x.deliveryWorkflows),
      deliveryHistoryEvents: avg((x) => x.deliveryEvents),
      historyEvents: avg((x) => x.bookingEvents + x.deliveryEvents),
      bookingActions,
      deliveryActions,
      apiQueries,
      actions: Math.round((bookingActions + deliveryActions + apiQueries) * 10) / 10,
      actionsByKind: kinds,
      notBilledByKind: unbilled,
      activities: Math.round(((kinds['activity'] ?? 0) + (kinds['activity retry'] ?? 0)) * 10) / 10,
      timers: kinds['timer'] ?? 0,
    },
    designMinimum: {
      actions: minimum,
      breakdown: `1 start + ${LIFECYCLE_EVENTS.length} events x ${destinations} destinations (${subscriptionIds.length} webhooks + Salesforce) + 1 timer`,
    },
  };
}
