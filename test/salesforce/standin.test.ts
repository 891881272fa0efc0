import { createHmac } from 'node:crypto';
import { Connection } from 'jsforce';
import { idSuffix, makeId } from '../../src/salesforce/standin/schema';
import { parseSoql } from '../../src/salesforce/standin/soql';
import type { SalesforceStandin } from '../../src/salesforce/standin/server';
import { ALICE_USER_ID, INTEGRATION_USER_ID, startTestStandin } from './helpers';

let sf: SalesforceStandin;
let conn: Connection;

beforeEach(async () => {
  sf = await startTestStandin();
  conn = new Connection({ oauth2: { clientId: 'test-client', clientSecret: 'test-secret-0123456789', loginUrl: sf.url }, loginUrl: sf.url, version: '62.0' });
  await conn.authorize({ grant_type: 'client_credentials' });
});

afterEach(async () => {
  await sf.stop();
});

/** The error a promise rejects with. */
async function errorOf(p: PromiseLike<unknown>): Promise<Error & { errorCode?: string; data?: { fields?: string[] } }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

const event = (extra: Record<string, unknown> = {}) => ({
  Subject: 'Call',
  StartDateTime: '2026-12-01T10:00:00Z',
  EndDateTime: '2026-12-01T10:30:00Z',
  Booking_Id__c: 'BKNG-1',
  ...extra,
});

describe('OAuth token endpoint', () => {
  it('answers the shape jsforce reads, with a verifiable signature', async () => {
    const res = await fetch(`${sf.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'test-client', client_secret: 'test-secret-0123456789' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({ instance_url: sf.url, token_type: 'Bearer', scope: 'api' });
    expect(body.id).toBe(`${sf.url}/id/${sf.state.orgId}/${INTEGRATION_USER_ID}`);
    expect(body.issued_at).toMatch(/^\d{13}$/);
    expect(body.signature).toBe(createHmac('sha256', 'test-secret-0123456789').update(body.id + body.issued_at).digest('base64'));
    expect(body).not.toHaveProperty('refresh_token');
    expect(conn.userInfo).toMatchObject({ id: INTEGRATION_USER_ID, organizationId: sf.state.orgId });
  });

  it('answers 400 {error, error_description} for bad grants and clients', async () => {
    const post = async (form: Record<string, string>) => {
      const res = await fetch(`${sf.url}/services/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await post({ grant_type: 'refresh_token', client_id: 'test-client', refresh_token: 'nope' })).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'expired access/refresh token' } });
    expect(await post({ grant_type: 'client_credentials', client_id: 'other', client_secret: 'x' })).toEqual({ status: 400, body: { error: 'invalid_client_id', error_description: 'client identifier invalid' } });
    expect((await post({ grant_type: 'password', client_id: 'test-client' })).body.error).toBe('unsupported_grant_type');
    const err = await errorOf(new Connection({ oauth2: { clientId: 'test-client', loginUrl: sf.url }, loginUrl: sf.url }).authorize({ grant_type: 'refresh_token', refresh_token: 'nope' }));
    expect(err.name).toBe('invalid_grant');
  });
});

describe('REST', () => {
  it('creates, retrieves and updates an Event with 18-character ids and the limit header', async () => {
    const created = await conn.sobject('Event').create(event());
    expect(created).toMatchObject({ success: true, errors: [] });
    const id = (created as { id: string }).id;
    expect(id).toMatch(/^00U[A-Za-z0-9]{15}$/);
    expect(id.slice(15)).toBe(idSuffix(id.slice(0, 15)));
    const got = await conn.sobject('Event').retrieve(id);
    expect(got).toMatchObject({ Id: id, Subject: 'Call', DurationInMinutes: 30, OwnerId: INTEGRATION_USER_ID, ActivityDateTime: '2026-12-01T10:00:00.000+0000', attributes: { type: 'Event' } });
    expect(await conn.sobject('Event').update({ Id: id, Subject: 'Moved', StartDateTime: '2026-12-02T10:00:00Z', EndDateTime: '2026-12-02T11:00:00Z' })).toMatchObject({ id, success: true });
    expect(await conn.sobject('Event').retrieve(id)).toMatchObject({ Subject: 'Moved', DurationInMinutes: 60 });
    expect(conn.limitInfo.apiUsage).toEqual({ used: 4, limit: 15_000 });
    expect(sf.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['POST 201', 'GET 200', 'PATCH 204', 'GET 200']);
  });

  it('answers queries, case-insensitively on strings, with ORDER BY and LIMIT', async () => {
    const a = sf.seed('Lead', { LastName: 'A', Company: 'X', Email: 'Pat@Example.com' });
    const b = sf.seed('Lead', { LastName: 'B', Company: 'X', Email: 'pat@example.com' });
    sf.seed('Lead', { LastName: 'C', Company: 'X', Email: 'other@example.com' });
    const asc = await conn.query<{ Id: string; LastName: string }>("SELECT Id, LastName FROM Lead WHERE Email = 'PAT@example.com' AND IsConverted = false ORDER BY CreatedDate ASC LIMIT 5");
    expect(asc.records.map((r) => r.Id)).toEqual([a, b]);
    expect(asc).toMatchObject({ totalSize: 2, done: true });
    const desc = await conn.query<{ Id: string }>("SELECT Id FROM Lead WHERE Email = 'pat@example.com' ORDER BY CreatedDate DESC LIMIT 1");
    expect(desc.records.map((r) => r.Id)).toEqual([b]);
    const user = await conn.query<{ Id: string }>("SELECT Id FROM User WHERE Email = 'alice@example.com' AND IsActive = true LIMIT 1");
    expect(user.records[0].Id).toBe(ALICE_USER_ID);
    const quoted = await conn.query("SELECT Id FROM Event WHERE Booking_Id__c = 'it\\'s' LIMIT 1");
    expect(quoted.totalSize).toBe(0);
  });

  it.each([
    ["SELECT Id FROM Lead WHERE Email LIKE 'x%'", 'MALFORMED_QUERY'],
    ['SELECT Id Lead', 'MALFORMED_QUERY'],
    ["SELECT Id FROM Lead WHERE Email = 'a' OR Email = 'b'", 'MALFORMED_QUERY'],
    ['SELECT Id FROM Widget__c', 'INVALID_TYPE'],
    ["SELECT Id FROM Event WHERE Nope__c = 'x'", 'INVALID_FIELD'],
  ])('%s → %s', async (soql, code) => {
    const err = await errorOf(conn.query(soql));
    expect(err.name).toBe(code);
    expect(err.errorCode).toBe(code);
  });

  it.each([
    ['unknown field', 'Event', event({ Nope__c: 'x' }), 'INVALID_FIELD', ['Nope__c']],
    ['Lead without Company', 'Lead', { LastName: 'X' }, 'REQUIRED_FIELD_MISSING', ['Company']],
    ['Contact without LastName', 'Contact', { FirstName: 'X' }, 'REQUIRED_FIELD_MISSING', ['LastName']],
    ['Event without an end', 'Event', { Subject: 'x', StartDateTime: '2026-12-01T10:00:00Z' }, 'REQUIRED_FIELD_MISSING', ['EndDateTime']],
    ['Event with disagreeing duration', 'Event', event({ DurationInMinutes: 45 }), 'FIELD_INTEGRITY_EXCEPTION', ['EndDateTime']],
    ['Event owned by nobody', 'Event', event({ OwnerId: '005000000000999AAA' }), 'INVALID_CROSS_REFERENCE_KEY', ['OwnerId']],
    ['Event related to a malformed id', 'Event', event({ WhoId: 'abc' }), 'MALFORMED_ID', ['WhoId']],
    ['Event with a system field', 'Event', event({ CreatedDate: '2026-01-01T00:00:00Z' }), 'INVALID_FIELD_FOR_INSERT_UPDATE', ['CreatedDate']],
    ['Subject too long', 'Event', event({ Subject: 'x'.repeat(256) }), 'STRING_TOO_LONG', ['Subject']],
  ] as const)('%s → %s', async (_name, type, record, code, fields) => {
    const err = await errorOf(conn.sobject(type).create(record));
    expect(err.name).toBe(code);
    expect(err.data?.fields).toEqual(fields);
    expect(sf.requests.at(-1)?.status).toBe(400);
  });

  it('refuses an Event related to a Lead and another record, and one related to a Case owned by the wrong type', async () => {
    const lead = sf.seed('Lead', { LastName: 'L', Company: 'C' });
    const kase = sf.seed('Case', { Subject: 'S' });
    expect((await errorOf(conn.sobject('Event').create(event({ WhoId: lead, WhatId: kase })))).name).toBe('FIELD_INTEGRITY_EXCEPTION');
    expect((await errorOf(conn.sobject('Event').create(event({ WhoId: kase })))).name).toBe('INVALID_CROSS_REFERENCE_KEY');
    const contact = sf.seed('Contact', { LastName: 'C' });
    expect(await conn.sobject('Event').create(event({ WhoId: contact, WhatId: kase }))).toMatchObject({ success: true });
  });

  it('markFieldMissing removes a custom field from writes, queries and describe', async () => {
    sf.switches.markFieldMissing('Event', 'Event_Status__c');
    const err = await errorOf(conn.sobject('Event').create(event({ Event_Status__c: 'Scheduled' })));
    expect(err.message).toBe(
      "No such column 'Event_Status__c' on entity 'Event'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
    );
    const describe = await conn.describe('Event');
    expect(describe.fields.map((f) => f.name)).not.toContain('Event_Status__c');
    expect(describe.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['Booking_Id__c', 'Cancel_Reschedule_Reason__c']));
    sf.switches.restoreField('Event', 'Event_Status__c');
    expect(await conn.sobject('Event').create(event({ Event_Status__c: 'Scheduled' }))).toMatchObject({ success: true });
  });

  it('answers 404 NOT_FOUND for an unknown record, and 401 INVALID_SESSION_ID without a valid token', async () => {
    expect((await errorOf(conn.sobject('Event').retrieve('00U000000000999AAA'))).name).toBe('NOT_FOUND');
    const res = await fetch(`${sf.url}/services/data/v62.0/query?q=${encodeURIComponent('SELECT Id FROM User')}`, { headers: { authorization: 'Bearer nope' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/15000$/);
    expect(await res.json()).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
  });

  it('switches: limit exceeded, outage and injected failures', async () => {
    sf.switches.setRequestLimitExceeded(true);
    expect((await errorOf(conn.query('SELECT Id FROM User LIMIT 1'))).name).toBe('REQUEST_LIMIT_EXCEEDED');
    sf.switches.setRequestLimitExceeded(false);
    sf.switches.setOutage({ status: 503 });
    // POST is never retried by jsforce, so the 503 surfaces at once.
    expect((await errorOf(conn.sobject('Event').create(event())))).toMatchObject({ name: 'SERVER_UNAVAILABLE' });
    sf.switches.setOutage(false);
    sf.switches.failNext(2, 'UNABLE_TO_LOCK_ROW', 400);
    expect((await errorOf(conn.sobject('Event').create(event()))).name).toBe('UNABLE_TO_LOCK_ROW');
    expect((await errorOf(conn.sobject('Event').create(event()))).name).toBe('UNABLE_TO_LOCK_ROW');
    expect(await conn.sobject('Event').create(event())).toMatchObject({ success: true });
    expect(sf.records('Event')).toHaveLength(1);
  });
});

describe('request logs', () => {
  it('keep only the newest logLimit entries of each log when a bound is set (npm start sets one)', async () => {
    const bounded = await startTestStandin({ logLimit: 3 });
    try {
      const c = new Connection({ oauth2: { clientId: 'test-client', clientSecret: 'test-secret-0123456789', loginUrl: bounded.url }, loginUrl: bounded.url, version: '62.0' });
      for (let i = 0; i < 5; i++) await c.authorize({ grant_type: 'client_credentials' });
      for (let i = 0; i < 6; i++) await c.sobject('Event').create(event({ Subject: `Call ${i}` }));
      expect(bounded.tokenRequests).toHaveLength(3);
      expect(bounded.requests.map((r) => (r.body as { Subject: string }).Subject)).toEqual(['Call 3', 'Call 4', 'Call 5']);
      // The records themselves are not trimmed: an org keeps what was created.
      expect(bounded.records('Event')).toHaveLength(6);
    } finally {
      await bounded.stop();
    }
    // Without a bound (the tests' stand-ins) every request stays.
    for (let i = 0; i < 6; i++) await conn.sobject('Event').create(event());
    expect(sf.requests).toHaveLength(6);
  });
});

describe('pure helpers', () => {
  it('ids carry the case-safe suffix Salesforce computes', () => {
    // Known pair from Salesforce documentation examples: 001A0000006Vm9r → 001A0000006Vm9rIAC.
    expect(idSuffix('001A0000006Vm9r')).toBe('IAC');
    expect(makeId('Lead', 1)).toMatch(/^00Q5g0000000001[A-Z0-5]{3}$/);
  });

  it('parses the SOQL the connector sends', () => {
    expect(parseSoql("select Id, ContactId from Case where SuppliedEmail = 'a\\'b@x.com' and IsDeleted = false order by CreatedDate desc limit 1")).toEqual({
      fields: ['Id', 'ContactId'],
      object: 'Case',
      where: [
        { field: 'SuppliedEmail', op: '=', value: "a'b@x.com" },
        { field: 'IsDeleted', op: '=', value: false },
      ],
      orderBy: [{ field: 'CreatedDate', dir: 'DESC' }],
      limit: 1,
    });
  });
});
