/**
 * Salesforce activities: keep the booking's Activity Event in step with its lifecycle. The Event is always
 * looked up by booking id first, so a retried create finds the Event the first attempt made instead of
 * creating a second one. Configuration errors fail non-retryably (type = Salesforce errorCode); everything
 * else fails with nextRetryDelay from the 72-hour schedule. No credential ever leaves this module.
 */
import { performance } from 'node:perf_hooks';
import { Context, log as activityLog, type Info } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Connection, SaveResult } from 'jsforce';
import type { Config } from '../src/config';
import { retryDelayAfterAttempt } from '../src/domain/retry-schedule';
import { classifySalesforceError } from '../src/domain/salesforce/errors';
import {
  planActivityEventWrite,
  type EmailRelationPlan,
  type EventFieldValues,
  type RelationPlan,
} from '../src/domain/salesforce/event-fields';
import type { LifecycleEvent, SalesforceRecordRef } from '../src/shared/booking-contract';
import type { SalesforceActivities, SalesforceSyncInput, SalesforceSyncResult } from '../src/shared/dispatch-contract';
import { createSalesforceConnection, createSalesforceSession, type SalesforceSession } from '../src/salesforce/connector';
import { codeLabel, eventTypeLabel, workerMetrics, type SalesforceOutcomeLabel, type WorkerMetrics } from '../src/observability/worker-metrics';

/** Minimal logger (the SDK's activity logger by default). */
export interface SalesforceLog {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

/** Dependencies of the Salesforce activities. */
export interface SalesforceActivityDeps {
  config: Config['salesforce'];
  /** The shared session; by default one is created here (one per worker, since the worker builds activities once). */
  session?: SalesforceSession;
  /** Builds the jsforce Connection when no session is given (tests cap jsforce's own HTTP retries here). */
  connect?: (cfg: Config['salesforce']) => Connection;
  log?: SalesforceLog;
  /** Where writes are counted; the process's worker metrics by default. */
  metrics?: WorkerMetrics;
}

type WhoWhat = { WhoId?: string; WhatId?: string };
interface Resolved {
  fields: WhoWhat;
  notes: string[];
}

/** SOQL string literal: backslash and quote escaped (jsforce's builder escapes only the quote). */
export function soqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const sdkLog: SalesforceLog = {
  // The SDK logger needs an activity context; outside one (plain unit tests) lines are dropped.
  info: (message, meta) => {
    try {
      activityLog.info(message, meta);
    } catch {
      /* no activity context */
    }
  },
  warn: (message, meta) => {
    try {
      activityLog.warn(message, meta);
    } catch {
      /* no activity context */
    }
  },
};

function currentAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1; // called outside an activity (direct unit use): treat as a first attempt
  }
}

function currentInfo(): Info | null {
  try {
    return Context.current().info;
  } catch {
    return null;
  }
}

/**
 * Counts a lifecycle event that posts no webhook (routing counts the others) once, at the sync's first attempt: the
 * Salesforce sync is the only activity that sees it.
 */
export function countEventWithoutWebhook(event: LifecycleEvent, metrics: WorkerMetrics = workerMetrics()): void {
  if (!event.webhook && currentAttempt() === 1) metrics.lifecycleEvents.inc({ type: eventTypeLabel(event.type) });
}

/** How long past a failed attempt's next retry this worker keeps counting the write as retrying (that attempt's own run). */
const RETRY_OVERDUE_MARGIN_MS = 60_000;

async function first<T>(conn: Connection, soql: string): Promise<T | undefined> {
  const res = await conn.query<T & Record<string, unknown>>(soql);
  return res.records[0] as T | undefined;
}

/** The id of a created record (jsforce throws on a failed single create; this guards the type). */
function savedId(res: SaveResult): string {
  if (!res.success || !res.id) throw new Error(`create failed: ${JSON.stringify(res.errors)}`);
  return res.id;
}

/** Creates the Salesforce activities over one lazily authorized connection. */
export function createSalesforceActivities(deps: SalesforceActivityDeps): SalesforceActivities {
  const cfg = deps.config;
  const logger = deps.log ?? sdkLog;
  let session: SalesforceSession | null = deps.session ?? null;
  const getSession = (): SalesforceSession => {
    if (!session) session = createSalesforceSession(cfg, (deps.connect ?? createSalesforceConnection)(cfg));
    return session;
  };
  const names = { eventStatusField: cfg.eventStatusField, reasonField: cfg.reasonField, bookingIdField: cfg.bookingIdField };
  const metrics = deps.metrics ?? workerMetrics();
  const count = (outcome: SalesforceOutcomeLabel, code?: string) =>
    metrics.salesforceWrites.inc(code ? { outcome, code: codeLabel(code) } : { outcome });

  async function resolveOwner(conn: Connection, email: string, notes: string[]): Promise<string | undefined> {
    const user = await first<{ Id: string }>(conn, `SELECT Id FROM User WHERE Email = ${soqlString(email)} AND IsActive = true LIMIT 1`);
    if (user) return user.Id;
    if (cfg.fallbackOwnerId) {
      notes.push(`no active Salesforce user with the owner's email; owner is the fallback user`);
      return cfg.fallbackOwnerId;
    }
    // Salesforce makes the API user the owner when OwnerId is omitted; on a reassignment the id is explicit.
    notes.push(`no active Salesforce user with the owner's email; owner is the integration user`);
    return getSession().userId() ?? undefined;
  }

  async function byRecord(conn: Connection, ref: SalesforceRecordRef): Promise<WhoWhat | undefined> {
    const id = soqlString(ref.id);
    switch (ref.type) {
      case 'lead': {
        const lead = await first<{ Id: string }>(conn, `SELECT Id FROM Lead WHERE Id = ${id} AND IsConverted = false LIMIT 1`);
        return lead ? { WhoId: lead.Id } : undefined;
      }
      case 'contact': {
        const contact = await first<{ Id: string }>(conn, `SELECT Id FROM Contact WHERE Id = ${id} LIMIT 1`);
        return contact ? { WhoId: contact.Id } : undefined;
      }
      case 'case': {
        const found = await first<{ Id: string; ContactId: string | null }>(conn, `SELECT Id, ContactId FROM Case WHERE Id = ${id} LIMIT 1`);
        return found ? { WhatId: found.Id, ...(found.ContactId ? { WhoId: found.ContactId } : {}) } : undefined;
      }
    }
  }

  async function byEmail(conn: Connection, plan: EmailRelationPlan, notes: string[]): Promise<WhoWhat> {
    const email = soqlString(plan.email);
    // Email is not unique in Salesforce: the oldest matching record wins, so the choice is stable.
    const contact = async () =>
      first<{ Id: string }>(conn, `SELECT Id FROM Contact WHERE Email = ${email} ORDER BY CreatedDate ASC LIMIT 1`);
    switch (plan.relateTo) {
      case 'lead': {
        const lead = await first<{ Id: string }>(conn, `SELECT Id FROM Lead WHERE Email = ${email} AND IsConverted = false ORDER BY CreatedDate ASC LIMIT 1`);
        if (lead) return { WhoId: lead.Id };
        if (!plan.createMissing) {
          notes.push('no Lead with the customer email and creating one is off: the Event is related to no record');
          return {};
        }
        const p = plan.newPerson;
        const created = await conn.sobject('Lead').create({ FirstName: p.FirstName, LastName: p.LastName, Company: p.Company, Email: p.Email, Phone: p.Phone });
        notes.push('created a Lead for the customer');
        return { WhoId: savedId(created) };
      }
      case 'contact': {
        const found = await contact();
        if (found) return { WhoId: found.Id };
        if (!plan.createMissing) {
          notes.push('no Contact with the customer email and creating one is off: the Event is related to no record');
          return {};
        }
        const p = plan.newPerson;
        const created = await conn.sobject('Contact').create({ FirstName: p.FirstName, LastName: p.LastName, Email: p.Email, Phone: p.Phone });
        notes.push('created a Contact for the customer');
        return { WhoId: savedId(created) };
      }
      case 'case': {
        // The customer's newest Case: by the Contact with their email, else by the email the Case was supplied with.
        const person = await contact();
        const found = person
          ? await first<{ Id: string; ContactId: string | null }>(conn, `SELECT Id, ContactId FROM Case WHERE ContactId = ${soqlString(person.Id)} ORDER BY CreatedDate DESC LIMIT 1`)
          : await first<{ Id: string; ContactId: string | null }>(conn, `SELECT Id, ContactId FROM Case WHERE SuppliedEmail = ${email} ORDER BY CreatedDate DESC LIMIT 1`);
        if (found) return { WhatId: found.Id, ...(found.ContactId ? { WhoId: found.ContactId } : person ? { WhoId: person.Id } : {}) };
        // Cases are never created for a booking (the setting covers Leads and Contacts only).
        notes.push(`no Case for the customer email: the Event is related to ${person ? 'the Contact only' : 'no record'}`);
        return person ? { WhoId: person.Id } : {};
      }
    }
  }

  async function resolveRelation(conn: Connection, plan: RelationPlan): Promise<Resolved> {
    const notes: string[] = [];
    if (plan.by === 'record') {
      const found = await byRecord(conn, plan.record);
      if (found) return { fields: found, notes };
      notes.push(`the ${plan.record.type} ${plan.record.id} named by the booking was not found; related by customer email instead`);
      const fields = await byEmail(conn, plan.fallback, notes);
      return { fields, notes };
    }
    return { fields: await byEmail(conn, plan, notes), notes };
  }

  function failure(err: unknown): ApplicationFailure {
    const s = getSession();
    const c = classifySalesforceError(err);
    const message = s.redact(`Salesforce ${c.code}: ${c.message}`);
    if (!c.retryable) return ApplicationFailure.nonRetryable(message, c.code);
    return ApplicationFailure.create({ message, type: c.code, nextRetryDelay: retryDelayAfterAttempt(currentAttempt()) });
  }

  return {
    async syncActivityEvent({ bookingId, event }: SalesforceSyncInput): Promise<SalesforceSyncResult> {
      countEventWithoutWebhook(event, metrics);
      if (cfg.mode === 'off') return { outcome: 'skipped', activityEventId: null, detail: 'the Salesforce connector is off' };
      const info = currentInfo();
      // The write as the retry tracker knows it: one activity of one workflow, across its attempts (never a label).
      const retryKey = info?.workflowExecution ? `${info.workflowExecution.workflowId}/${info.activityId}` : null;
      const ended = (outcome: SalesforceOutcomeLabel, code?: string) => {
        count(outcome, code);
        if (retryKey) metrics.salesforceRetrying.ended(retryKey);
      };
      if (event.booking.id !== bookingId) {
        ended('invalid_input', 'SYNC_INPUT_INVALID');
        throw ApplicationFailure.nonRetryable(`event ${event.id} belongs to ${event.booking.id}, not ${bookingId}`, 'SYNC_INPUT_INVALID');
      }
      // Without the page's settings the sync cannot tell what to write: fail loudly rather than skip silently.
      if (!event.page) {
        ended('invalid_input', 'SYNC_INPUT_INVALID');
        throw ApplicationFailure.nonRetryable(`event ${event.id} carries no booking page settings`, 'SYNC_INPUT_INVALID');
      }
      const plan = planActivityEventWrite(event, names);
      if (!plan.write) {
        ended('skipped');
        return { outcome: 'skipped', activityEventId: null, detail: plan.reason };
      }
      const t0 = performance.now();
      const observe = (outcome: SalesforceOutcomeLabel) => metrics.salesforceWriteDuration.observe({ outcome }, (performance.now() - t0) / 1000);
      try {
        const conn = await getSession().connection();
        const notes: string[] = [];
        const existing = await first<{ Id: string }>(
          conn,
          `SELECT Id FROM Event WHERE ${cfg.bookingIdField} = ${soqlString(bookingId)} ORDER BY CreatedDate ASC LIMIT 1`,
        );
        if (existing) {
          const fields: EventFieldValues = { ...plan.fields };
          if (plan.setOwnerOnUpdate) {
            const owner = await resolveOwner(conn, plan.ownerEmail, notes);
            if (owner) fields.OwnerId = owner;
          }
          await conn.sobject('Event').update({ Id: existing.Id, ...fields });
          observe('updated');
          ended('updated');
          logger.info('salesforce event updated', { bookingId, eventId: event.id, status: plan.status, activityEventId: existing.Id });
          return { outcome: 'updated', activityEventId: existing.Id, ...(notes.length ? { detail: notes.join('; ') } : {}) };
        }
        const owner = await resolveOwner(conn, plan.ownerEmail, notes);
        const relation = await resolveRelation(conn, plan.relation);
        notes.push(...relation.notes);
        const created = savedId(await conn.sobject('Event').create({ ...plan.fields, ...(owner ? { OwnerId: owner } : {}), ...relation.fields }));
        observe('created');
        ended('created');
        logger.info('salesforce event created', { bookingId, eventId: event.id, status: plan.status, activityEventId: created });
        return { outcome: 'created', activityEventId: created, ...(notes.length ? { detail: notes.join('; ') } : {}) };
      } catch (err) {
        const f = failure(err);
        if (f.nonRetryable) {
          observe('config_error');
          ended('config_error', f.type ?? undefined);
        } else {
          observe('retrying');
          count('retrying', f.type ?? undefined);
          // Retrying since the first attempt was scheduled; forgotten here once the next attempt is overdue.
          if (retryKey && info) {
            const expiresAtMs = Date.now() + retryDelayAfterAttempt(info.attempt) + info.startToCloseTimeoutMs + RETRY_OVERDUE_MARGIN_MS;
            metrics.salesforceRetrying.failed(retryKey, info.scheduledTimestampMs, expiresAtMs);
          }
        }
        logger.warn('salesforce sync failed', { bookingId, eventId: event.id, code: f.type, retryable: !f.nonRetryable, message: f.message });
        throw f;
      }
    },
  };
}
