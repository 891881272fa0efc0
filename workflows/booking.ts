/**
 * bookingWorkflow: one run per booking, id = the booking id. It feeds signals and updates to the pure state
 * machine, sleeps on a durable timer until the next deadline (expiry, meeting end, no-show window), and
 * hands every lifecycle event, in order, to the dispatch seam: webhook routing and the Salesforce sync.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setDefaultSignalHandler,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import {
  applyActionUpdate,
  approveSignal,
  BookingPackageSA,
  BookingOwnerSA,
  BookingPageSA,
  BookingStatusSA,
  cancelSignal,
  canceledForRebookSignal,
  declineSignal,
  EVENT_ID_PREFIX,
  getBookingQuery,
  MeetingStartSA,
  noShowSignal,
  reassignSignal,
  requestRescheduleSignal,
  rescheduleSignal,
  type BookingAction,
  type BookingInput,
  type BookingView,
  type IgnoredSignal,
  type LifecycleEvent,
  type SalesforceSyncState,
} from '../src/shared/booking-contract';
import { ROUTE_EVENT_OPTIONS, type DispatchActivities, type NoteActivities, type SalesforceActivities, type SalesforceSyncResult } from '../src/shared/dispatch-contract';
import { changesNothing, decide, initialState, nextDeadline, onDeadline, type BookingState, type Effect } from '../src/domain/booking/state-machine';
import { bookingDetails, bookingView, initialSalesforceState, toBookingObject, wantsSalesforceSync } from '../src/domain/booking/booking-object';
import { RETRY_WINDOW_MS } from '../src/domain/retry-schedule';
// Imported by file, not through the webhooks barrel, so nothing but pure code enters the bundle.
import { envelopeForLifecycleEvent } from '../src/domain/webhooks/envelope';
import { DeadlineTimer, DispatchLane, Wakeup } from './ordered-loop';

const { routeEvent } = proxyActivities<DispatchActivities>(ROUTE_EVENT_OPTIONS);

// Salesforce writes follow the 72-hour schedule: the activity sets nextRetryDelay per attempt and marks
// configuration errors non-retryable, so the policy here only bounds the whole.
const { syncActivityEvent } = proxyActivities<SalesforceActivities>({
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: RETRY_WINDOW_MS,
  retry: { initialInterval: '35 seconds', backoffCoefficient: 1, maximumInterval: '6 hours' },
});

// A local activity leaves a marker in history with the ignored signal, and a line in the worker's log.
const { noteIgnoredSignal } = proxyLocalActivities<NoteActivities>({ startToCloseTimeout: '10 seconds' });

/**
 * Patch: search attributes are upserted only when they change. Runs recorded before it upserted on every
 * transition (and once at start); they replay with that behaviour.
 */
export const UPSERT_ONLY_CHANGES = 'upsert-search-attributes-only-on-change';

/**
 * Patch: one ordered loop commands every dispatch and the deadline timer, once the activation has settled.
 * Runs recorded before it used three concurrent loops (the deadline wait and two dispatch queues), whose
 * command order depended on how the SDK grouped jobs into activations; those runs keep that code.
 */
export const ONE_ORDERED_LOOP = 'one-ordered-loop';
/** Signals applied in the order they arrived, also those that came with the first workflow task. */
export const SIGNALS_IN_ARRIVAL_ORDER = 'signals-in-arrival-order';
/** Each booking signal's wire name and the action it asks for. */
const SIGNAL_KINDS = new Map<string, BookingAction['kind']>([
  [approveSignal.name, 'approve'],
  [declineSignal.name, 'decline'],
  [rescheduleSignal.name, 'reschedule'],
  [requestRescheduleSignal.name, 'requestReschedule'],
  [cancelSignal.name, 'cancel'],
  [noShowSignal.name, 'noShow'],
  [reassignSignal.name, 'reassign'],
  [canceledForRebookSignal.name, 'canceledForRebook'],
]);

/**
 * Patch: form_submission in event payloads, update answers and the result carries every field the spec lists
 * (null or [] when empty). Asked at each event, so runs recorded before it keep their payloads on replay and send
 * complete ones from their first new event on.
 */
export const COMPLETE_FORM_SUBMISSION = 'form-submission-every-field';

/** Patch: the run's current details show meeting times in the owner's time zone as well as UTC. */
export const DETAILS_LOCAL_TIMES = 'details-owner-local-times';

/** The booking's workflow. Returns the final view once closed and every dispatch has finished. */
export async function bookingWorkflow(input: BookingInput): Promise<BookingView> {
  // Decided once, first: a run keeps the loop structure it started with for its whole life.
  const ordered = patched(ONE_ORDERED_LOOP);
  const workflowId = workflowInfo().workflowId;
  const started = initialState(input, Date.now());
  let state: BookingState = started.state;
  let version = 0;
  const events: LifecycleEvent[] = [];
  const ignored: IgnoredSignal[] = [];
  const salesforce: SalesforceSyncState = initialSalesforceState(input.page);
  // Only runs with the ordered loop are woken; the legacy loops wait on conditions of their own.
  const wakeup = new Wakeup(ordered);
  const wake = (): void => wakeup.wake();
  const webhooks = new DispatchLane<LifecycleEvent>(async (event) => {
    try {
      await routeEvent({ envelope: envelopeForLifecycleEvent(event), sourceWorkflowId: workflowId });
    } catch (err) {
      log.error('webhook routing gave up after 72 hours', { bookingId: input.bookingId, eventId: event.id, error: String(err) });
    }
  }, wake);
  const salesforceSync = new DispatchLane<LifecycleEvent>(async (event) => {
    try {
      applySalesforceResult(await syncActivityEvent({ bookingId: input.bookingId, event }));
    } catch (err) {
      recordSalesforceError(event, err);
    } finally {
      salesforce.applied_seq = event.seq;
      // Details only: a sync outcome changes no search attribute, and a completion commands nothing.
      showDetails();
    }
  }, wake);
  // The legacy loops read the lanes' queues directly.
  const webhookQueue = webhooks.queue;
  const salesforceQueue = salesforceSync.queue;

  // Queries command nothing: they always answer with the complete form. What is written to history (update
  // answers, the result, event payloads) follows the patch.
  const queryView = (): BookingView => bookingView(state, { events, salesforce, ignored });
  const view = (): BookingView => bookingView(state, { events, salesforce, ignored }, { completeForm: patched(COMPLETE_FORM_SUBMISSION) });

  function salesforceLine(): string {
    if (salesforce.state === 'error' && salesforce.last_error) return `error ${salesforce.last_error.code}: ${salesforce.last_error.message}`;
    return salesforce.activity_event_id ? `${salesforce.state} (Event ${salesforce.activity_event_id})` : salesforce.state;
  }

  const indexedValues = (st: BookingState) => `${st.status}|${st.owner.id}|${st.page.id}|${st.startTime}`;
  // What the API set at start; only a change is upserted (each upsert is a Temporal action and an event).
  let indexed = indexedValues(started.state);

  const showDetails = (): void =>
    setCurrentDetails(bookingDetails(state, { salesforce: salesforceLine(), ignored: ignored.length, localTimes: patched(DETAILS_LOCAL_TIMES) }));

  function publish(): void {
    showDetails();
    if (!input.settings.indexSearchAttributes) return;
    // Runs with the ordered loop postdate this patch: they upsert only changes without a marker of their own.
    if (ordered || patched(UPSERT_ONLY_CHANGES)) {
      const now = indexedValues(state);
      if (now === indexed) return;
      indexed = now;
    }
    upsertSearchAttributes([
      { key: BookingStatusSA, value: state.status },
      { key: BookingOwnerSA, value: state.owner.id },
      { key: BookingPageSA, value: state.page.id },
      { key: MeetingStartSA, value: new Date(state.startTime) },
      ...(input.sessionPackage ? [{ key: BookingPackageSA, value: input.sessionPackage.id }] : []),
    ]);
  }

  function apply(effects: Effect[]): void {
    for (const effect of effects) {
      if (effect.kind === 'cancelReplacedBooking') {
        // Fire and forget: the replaced booking ignores it (and records why) if it already moved on.
        getExternalWorkflowHandle(effect.bookingId)
          .signal(canceledForRebookSignal, { newBookingId: input.bookingId, reason: effect.reason, actionedBy: effect.actionedBy })
          .catch((err: unknown) => log.warn('could not tell the replaced booking', { bookingId: effect.bookingId, error: String(err) }));
        continue;
      }
      const event: LifecycleEvent = {
        id: `${EVENT_ID_PREFIX}${uuid4()}`,
        seq: events.length + 1,
        type: effect.type,
        creation_time: new Date(Date.now()).toISOString(),
        webhook: effect.webhook,
        booking: toBookingObject(state, { completeForm: patched(COMPLETE_FORM_SUBMISSION) }),
        page: state.page,
        previous_page: effect.previousPage ?? null,
        salesforce_record: input.salesforceRecord ?? null,
      };
      events.push(event);
      log.info('lifecycle event', { bookingId: input.bookingId, type: event.type, eventId: event.id });
      if (event.webhook) webhookQueue.push(event);
      if (wantsSalesforceSync(state.page, effect.previousPage)) {
        if (salesforce.state === 'disabled') salesforce.state = 'pending';
        salesforceQueue.push(event);
      }
    }
  }

  function transition(next: BookingState, effects: Effect[]): void {
    state = next;
    version++;
    apply(effects);
    publish();
    wake();
  }

  async function ignore(signal: string, reason: string): Promise<void> {
    ignored.push({ signal, reason, at: new Date(Date.now()).toISOString() });
    log.warn('signal ignored', { bookingId: input.bookingId, signal, reason });
    publish();
    try {
      await noteIgnoredSignal({ workflowId, signal, reason });
    } finally {
      // The run may close only once every handler has finished.
      wake();
    }
  }

  function applySalesforceResult(result: SalesforceSyncResult): void {
    if (result.outcome === 'skipped') return;
    salesforce.state = 'synced';
    salesforce.activity_event_id = result.activityEventId ?? salesforce.activity_event_id;
    salesforce.last_error = null;
  }

  /** A configuration error or 72 hours of failures: shown in the query and UI, the lifecycle goes on. */
  function recordSalesforceError(event: LifecycleEvent, err: unknown): void {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    const code = cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : cause instanceof Error ? cause.name : 'Error';
    const message = cause instanceof Error ? cause.message : String(cause);
    salesforce.state = 'error';
    salesforce.last_error = { code, message, event_id: event.id, at: new Date(Date.now()).toISOString() };
    log.error('salesforce sync failed', { bookingId: input.bookingId, eventId: event.id, code, message });
  }

  async function onSignal(action: BookingAction): Promise<void> {
    const d = decide(state, action, Date.now());
    if (!d.ok) return ignore(action.kind, d.reason);
    // Runs on the ordered loop postdate this check (both came in one release), so it needs no patch of its own.
    const unchanged = ordered ? changesNothing(state, action) : null;
    if (unchanged) return ignore(action.kind, unchanged);
    transition(d.state, d.effects);
  }

  // The start's own events come first: setHandler hands over any signal or update that arrived with the
  // first workflow task at once, and its events must not overtake booking.scheduled.
  apply(started.effects);
  publish();

  setHandler(getBookingQuery, queryView);
  // Signals that came with the first workflow task wait in the SDK's buffer until a handler is set, and each
  // setHandler takes its own name's at once: so they were applied grouped in the order below, not as they arrived
  // (a cancel sent before an approve was applied after it). One default handler, set before any named one, takes
  // them all in arrival order; later signals reach it the same way.
  if (patched(SIGNALS_IN_ARRIVAL_ORDER)) {
    setDefaultSignalHandler((name, payload) => {
      const kind = SIGNAL_KINDS.get(name);
      if (kind === undefined) return ignore(name, 'unknown signal');
      return onSignal({ kind, ...(payload as object | undefined) } as BookingAction);
    });
  } else {
    setHandler(approveSignal, (p) => onSignal({ kind: 'approve', ...p }));
    setHandler(declineSignal, (p) => onSignal({ kind: 'decline', ...p }));
    setHandler(rescheduleSignal, (p) => onSignal({ kind: 'reschedule', ...p }));
    setHandler(requestRescheduleSignal, (p) => onSignal({ kind: 'requestReschedule', ...p }));
    setHandler(cancelSignal, (p) => onSignal({ kind: 'cancel', ...p }));
    setHandler(noShowSignal, (p) => onSignal({ kind: 'noShow', ...p }));
    setHandler(reassignSignal, (p) => onSignal({ kind: 'reassign', ...p }));
    setHandler(canceledForRebookSignal, (p) => onSignal({ kind: 'canceledForRebook', ...p }));
  }
  setHandler(
    applyActionUpdate,
    (action) => {
      const d = decide(state, action, Date.now());
      if (!d.ok) throw ApplicationFailure.nonRetryable(d.reason, 'ActionNotAllowed');
      transition(d.state, d.effects);
      return view();
    },
    {
      // Rejected before it is written to history: the API answers 409 with the reason.
      validator: (action) => {
        const d = decide(state, action, Date.now());
        if (!d.ok) throw new Error(d.reason);
        // Validators run only live, never on replay: refusing more here cannot break a recorded history.
        const unchanged = changesNothing(state, action);
        if (unchanged) throw new Error(unchanged);
      },
    },
  );

  if (ordered) return orderedLoop();

  /**
   * Runs started before ONE_ORDERED_LOOP. Three loops wake on condition() and command in microtask order; when
   * the SDK delivers an activity's completion in the same activation as a later update (an empty workflow task
   * collapsed into the next one after a cache miss, temporalio/sdk-rust#1146), replay orders the commands
   * differently. Kept as it was so these runs replay; see docs in README, "Replay safety".
   */
  async function legacyLoops(): Promise<BookingView> {
    let dispatching = 0;

    async function drainWebhooks(): Promise<void> {
      for (;;) {
        await condition(() => webhookQueue.length > 0);
        const event = webhookQueue[0];
        dispatching++;
        try {
          await routeEvent({ envelope: envelopeForLifecycleEvent(event), sourceWorkflowId: workflowId });
        } catch (err) {
          log.error('webhook routing gave up after 72 hours', { bookingId: input.bookingId, eventId: event.id, error: String(err) });
        } finally {
          webhookQueue.shift();
          dispatching--;
        }
      }
    }

    async function drainSalesforce(): Promise<void> {
      for (;;) {
        await condition(() => salesforceQueue.length > 0);
        const event = salesforceQueue[0];
        dispatching++;
        try {
          applySalesforceResult(await syncActivityEvent({ bookingId: input.bookingId, event }));
        } catch (err) {
          recordSalesforceError(event, err);
        } finally {
          salesforce.applied_seq = event.seq;
          salesforceQueue.shift();
          dispatching--;
          publish();
        }
      }
    }

    // Both loops run for the life of the workflow; their promises never settle, the main loop awaits the queues.
    void drainWebhooks();
    void drainSalesforce();

    while (state.phase !== 'closed') {
      const deadline = nextDeadline(state);
      const seen = version;
      const wait = deadline === null ? null : deadline - Date.now();
      let timedOut = false;
      if (wait === null) await condition(() => version !== seen);
      else if (wait > 0) timedOut = !(await condition(() => version !== seen, wait));
      else timedOut = true;
      if (timedOut && version === seen) {
        const moved = onDeadline(state, Date.now());
        transition(moved.state, moved.effects);
      }
    }

    // Closed: no event is dropped, every queued dispatch finishes before the run ends.
    await condition(() => webhookQueue.length === 0 && salesforceQueue.length === 0 && dispatching === 0 && allHandlersFinished());
    return view();
  }

  /**
   * One loop commands everything that is not a handler's own: deadline transitions, the deadline timer and the
   * dispatch activities, always in that order, from the settled state of an activation. Activity completions
   * only record their outcome and wake it. So an activation's commands depend only on which jobs it held, not
   * on how the SDK grouped them or in which order their continuations ran.
   */
  async function orderedLoop(): Promise<BookingView> {
    const timer = new DeadlineTimer(wake);
    wake();
    for (;;) {
      await wakeup.next();
      // Deadlines that have passed, in order: a worker that was away may find several due at once.
      for (let due = nextDeadline(state); due !== null && timer.reached(due); due = nextDeadline(state)) {
        const moved = onDeadline(state, Date.now());
        transition(moved.state, moved.effects);
      }
      timer.set(nextDeadline(state));
      webhooks.pump();
      salesforceSync.pump();
      if (state.phase === 'closed' && webhooks.idle && salesforceSync.idle && allHandlersFinished()) return view();
    }
  }

  return legacyLoops();
}
