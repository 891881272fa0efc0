import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSalesforceActivities } from '../../activities/salesforce';
import { retryDelayAfterAttempt } from '../../src/domain/retry-schedule';
import { createSalesforceConnection, createSalesforceSession } from '../../src/salesforce/connector';
import type { SalesforceStandin } from '../../src/salesforce/standin/server';
import type { SalesforceSyncResult } from '../../src/shared/dispatch-contract';
import { booking, lifecycleEvent, salesforceConfig } from './fixtures';
import { activitiesFor, startTestStandin } from './helpers';

let sf: SalesforceStandin;

beforeEach(async () => {
  sf = await startTestStandin();
});

afterEach(async () => {
  await sf.stop();
});

/** Runs one sync inside an activity context with the given attempt number; returns the failure it threw. */
async function failureOf(acts: ReturnType<typeof activitiesFor>, attempt = 1, type: Parameters<typeof lifecycleEvent>[0] = 'booking.scheduled'): Promise<ApplicationFailure> {
  const b = booking();
  const env = new MockActivityEnvironment({ attempt });
  try {
    await env.run(acts.syncActivityEvent, { bookingId: b.id, event: lifecycleEvent(type, b) });
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  }
  throw new Error('expected the sync to fail');
}

describe('token refresh', () => {
  it.each(['client_credentials', 'refresh_token'] as const)('%s: an expired session is refreshed and the call resent', async (grant) => {
    const acts = activitiesFor(sf, { grant, refreshToken: grant === 'refresh_token' ? 'test-refresh-token-abcdef' : null });
    const b = booking();
    await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) });
    expect(sf.tokenRequests).toEqual([{ grantType: grant, clientId: 'test-client', status: 200 }]);

    sf.switches.expireSessions();
    const r = await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.completed', b) });
    expect(r.outcome).toBe('updated');
    expect(sf.records('Event')[0].Event_Status__c).toBe('Completed');
    expect(sf.tokenRequests.map((t) => [t.grantType, t.status])).toEqual([
      [grant, 200],
      [grant, 200],
    ]);
    // The query answered 401 once, then was resent with the new token.
    expect(sf.requests.filter((q) => q.status === 401)).toHaveLength(1);
  });

  it('authorizes lazily, once, and shares the connection between concurrent syncs', async () => {
    const acts = activitiesFor(sf);
    expect(sf.tokenRequests).toHaveLength(0);
    const bookings = [booking(), booking(), booking()];
    await Promise.all(bookings.map((b) => acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) })));
    expect(sf.tokenRequests).toHaveLength(1);
    expect(sf.records('Event')).toHaveLength(3);
  });

  it('a revoked refresh token is a non-retryable invalid_grant, and the failure carries no credential', async () => {
    const cfg = salesforceConfig(sf.url, { grant: 'refresh_token', refreshToken: 'test-refresh-token-abcdef' });
    const session = createSalesforceSession(cfg, createSalesforceConnection(cfg, { httpRetries: 0 }));
    const acts = createSalesforceActivities({ config: cfg, session });
    const b = booking();
    await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) });
    const token = (await session.connection()).accessToken!;
    sf.switches.revokeRefreshToken('test-refresh-token-abcdef');
    sf.switches.expireSessions();
    const f = await failureOf(acts);
    expect(f.type).toBe('invalid_grant');
    expect(f.nonRetryable).toBe(true);
    for (const secret of [token, 'test-refresh-token-abcdef', 'test-secret-0123456789']) expect(f.message).not.toContain(secret);
    expect(session.redact(`Bearer ${token}`)).toBe('Bearer [redacted]');
  });

  it.each([
    ['an unknown client id', { clientId: 'nope' }, 'invalid_client_id'],
    ['a wrong client secret', { clientSecret: 'wrong-secret' }, 'invalid_client'],
    ['an unknown refresh token', { grant: 'refresh_token' as const, refreshToken: 'unknown-token' }, 'invalid_grant'],
  ])('%s fails non-retryably with %s', async (_name, overrides, code) => {
    const f = await failureOf(activitiesFor(sf, overrides));
    expect(f).toMatchObject({ type: code, nonRetryable: true });
  });
});

describe('configuration errors are non-retryable', () => {
  it('INVALID_FIELD when the org lacks the Event status field', async () => {
    sf.switches.markFieldMissing('Event', 'Event_Status__c');
    const f = await failureOf(activitiesFor(sf), 1);
    expect(f).toMatchObject({ type: 'INVALID_FIELD', nonRetryable: true });
    expect(f.message).toContain("No such column 'Event_Status__c' on entity 'Event'");
    expect(sf.records('Event')).toHaveLength(0);
  });

  it('INVALID_FIELD in the lookup when the booking id field is missing', async () => {
    sf.switches.markFieldMissing('Event', 'Booking_Id__c');
    const f = await failureOf(activitiesFor(sf));
    expect(f).toMatchObject({ type: 'INVALID_FIELD', nonRetryable: true });
  });

  it('INVALID_CROSS_REFERENCE_KEY for a fallback owner that does not exist', async () => {
    const acts = activitiesFor(sf, { fallbackOwnerId: '005000000000999AAA' });
    const b = booking({ owner: { id: 'USR-x', name: 'X', email: 'nobody@example.com', timezone: 'UTC' } });
    const env = new MockActivityEnvironment({ attempt: 1 });
    await expect(env.run(acts.syncActivityEvent, { bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) })).rejects.toMatchObject({
      type: 'INVALID_CROSS_REFERENCE_KEY',
      nonRetryable: true,
    });
  });

  const injected = ['REQUIRED_FIELD_MISSING', 'INSUFFICIENT_ACCESS_OR_READONLY', 'INVALID_TYPE', 'MALFORMED_QUERY', 'DUPLICATES_DETECTED'];
  it.each(injected)('%s', async (code) => {
    sf.switches.failNext(1, code, 400);
    const f = await failureOf(activitiesFor(sf), 4);
    expect(f).toMatchObject({ type: code, nonRetryable: true });
    expect(f.nextRetryDelay).toBeUndefined();
  });
});

describe('transient errors retry on the 72-hour schedule', () => {
  const cases: [string, (s: SalesforceStandin) => void, string][] = [
    ['API limit exhausted', (s) => s.switches.setRequestLimitExceeded(true), 'REQUEST_LIMIT_EXCEEDED'],
    ['outage (503)', (s) => s.switches.setOutage(true), 'SERVER_UNAVAILABLE'],
    ['row lock', (s) => s.switches.failNext(1, 'UNABLE_TO_LOCK_ROW', 400), 'UNABLE_TO_LOCK_ROW'],
    ['internal error', (s) => s.switches.failNext(1, 'UNKNOWN_EXCEPTION', 500), 'UNKNOWN_EXCEPTION'],
  ];
  it.each(cases)('%s → retryable %s with nextRetryDelay per attempt', async (_name, breakIt, code) => {
    const acts = activitiesFor(sf);
    // Authorize first so the failure hits the REST call, not the token endpoint.
    const warm = booking();
    await acts.syncActivityEvent({ bookingId: warm.id, event: lifecycleEvent('booking.scheduled', warm) });
    for (const attempt of [1, 2, 3, 4, 9]) {
      breakIt(sf);
      const f = await failureOf(acts, attempt);
      expect(f).toMatchObject({ type: code, nonRetryable: false });
      expect(f.nextRetryDelay).toBe(retryDelayAfterAttempt(attempt));
    }
    expect(retryDelayAfterAttempt(1)).toBe(35_000);
  });

  it('the token endpoint being down is retryable, and the sync succeeds once it is back', async () => {
    const acts = activitiesFor(sf);
    sf.switches.setOutage(true);
    const b = booking();
    const event = lifecycleEvent('booking.scheduled', b);
    const env = new MockActivityEnvironment({ attempt: 2 });
    await expect(env.run(acts.syncActivityEvent, { bookingId: b.id, event })).rejects.toMatchObject({ type: 'ERROR_HTTP_503', nonRetryable: false, nextRetryDelay: 180_000 });
    sf.switches.setOutage(false);
    expect(await acts.syncActivityEvent({ bookingId: b.id, event })).toMatchObject({ outcome: 'created' });
  });

  it('a refused connection is retryable', async () => {
    const url = sf.url;
    await sf.stop();
    const acts = activitiesFor({ ...sf, url });
    const f = await failureOf(acts, 3);
    expect(f).toMatchObject({ type: 'ECONNREFUSED', nonRetryable: false, nextRetryDelay: retryDelayAfterAttempt(3) });
    sf = await startTestStandin();
  });

  it('an attempt that failed after creating the Lead is retried without a second Lead or Event', async () => {
    const acts = activitiesFor(sf);
    const b = booking();
    const event = lifecycleEvent('booking.scheduled', b);
    sf.switches.failNext(1, 'UNABLE_TO_LOCK_ROW', 400, 'unable to obtain exclusive access to this record', { method: 'POST', pathEndsWith: '/sobjects/Event' });
    const env = new MockActivityEnvironment({ attempt: 1 });
    await expect(env.run(acts.syncActivityEvent, { bookingId: b.id, event })).rejects.toMatchObject({ type: 'UNABLE_TO_LOCK_ROW', nonRetryable: false, nextRetryDelay: 35_000 });
    expect(sf.records('Lead')).toHaveLength(1);
    expect(sf.records('Event')).toHaveLength(0);

    const retried: SalesforceSyncResult = await new MockActivityEnvironment({ attempt: 2 }).run(acts.syncActivityEvent, { bookingId: b.id, event });
    expect(retried.outcome).toBe('created');
    expect(sf.records('Lead')).toHaveLength(1);
    expect(sf.records('Event')).toEqual([expect.objectContaining({ Id: retried.activityEventId, WhoId: sf.records('Lead')[0].Id })]);
    expect(await acts.syncActivityEvent({ bookingId: b.id, event })).toMatchObject({ outcome: 'updated', activityEventId: retried.activityEventId });
    expect(sf.records('Event')).toHaveLength(1);
  });
});

describe('sync input', () => {
  it('an event without page settings fails non-retryably before any call', async () => {
    const b = booking();
    await expect(activitiesFor(sf).syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b, { page: null }) })).rejects.toMatchObject({
      type: 'SYNC_INPUT_INVALID',
      nonRetryable: true,
    });
    await expect(activitiesFor(sf).syncActivityEvent({ bookingId: 'BKNG-other', event: lifecycleEvent('booking.scheduled', b) })).rejects.toMatchObject({
      type: 'SYNC_INPUT_INVALID',
    });
    expect(sf.requests).toHaveLength(0);
  });
});

describe('connector off', () => {
  it('SALESFORCE_MODE=off skips without any call', async () => {
    const acts = activitiesFor(sf, { mode: 'off' });
    const b = booking();
    expect(await acts.syncActivityEvent({ bookingId: b.id, event: lifecycleEvent('booking.scheduled', b) })).toMatchObject({ outcome: 'skipped' });
    expect(sf.requests).toHaveLength(0);
  });
});
