/**
 * Issue 18, item 6, through the API: the booking object's form_submission carries every field the spec lists (null or
 * [] when empty), also for runs recorded before it did; the run's summary says the owner once and the meeting's time in
 * the owner's time zone; the conversations collection is documented without a trailing slash and still answers with
 * one. Temporal is a recording fake here: these are the API's own answers and the start options it sends.
 */
import type { Client } from '@temporalio/client';
import { bookingResponse } from '../../src/api/routes/bookings';
import type { BookingView } from '../../src/shared/booking-contract';
import { buildTestApp, TEST_API_KEY, type TestApp } from '../helpers/app';

const auth = { 'api-key': TEST_API_KEY };
let t: TestApp;
const started: { workflowType: string; options: Record<string, unknown> }[] = [];
const listed: string[] = [];

/** Records workflow starts and lists; nothing else is touched by these routes. */
const fakeTemporal = {
  workflow: {
    async start(workflowType: string, options: Record<string, unknown>) {
      started.push({ workflowType, options });
      return { workflowId: options.workflowId };
    },
    list({ query }: { query: string }) {
      listed.push(query);
      return (async function* () {})();
    },
    getHandle() {
      return { signal: async () => undefined };
    },
  },
} as unknown as Client;

beforeAll(async () => {
  t = await buildTestApp({ temporal: fakeTemporal });
});
afterAll(async () => {
  await t?.close();
});
beforeEach(() => {
  started.length = 0;
  listed.length = 0;
});

const call = (method: 'GET' | 'POST', url: string, payload?: object) => t.app.inject({ method, url, headers: auth, ...(payload ? { payload } : {}) });
const inDays = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function ownerAndPage(name: string, pageName: string, timezone: string) {
  const user = (await call('POST', '/v2/users', { name, email: `${name.toLowerCase().replace(/\W/g, '')}${Date.now()}@example.com`, timezone })).json();
  const page = (await call('POST', '/v2/booking-pages', { name: pageName, owner_user_id: user.id })).json();
  return { user, page };
}

describe('form_submission', () => {
  test('a new booking answers with every form field, null or [] for what the customer left empty', async () => {
    const { page } = await ownerAndPage('Alice', 'Intro call', 'Europe/London');
    const r = await call('POST', '/v2/bookings', {
      booking_page_id: page.id,
      starting_time: inDays(2),
      duration_minutes: 30,
      customer_timezone: 'Europe/Paris',
      form_submission: { name: 'Carol', email: 'carol@example.com', company: 'Acme' },
    });
    expect(r.statusCode).toBe(201);
    expect(r.json().form_submission).toEqual({
      name: 'Carol',
      email: 'carol@example.com',
      phone: null,
      mobile_phone: null,
      company: 'Acme',
      note: null,
      guests: [],
      custom_fields: [],
    });
  });

  test('a view recorded before (a closed run keeps its result) is answered complete too', () => {
    const old = { booking: { form_submission: { name: 'Dan', email: 'dan@example.com', guests: ['eve@example.com'] } }, events: [], salesforce: {}, ignored_signals: [] };
    expect(bookingResponse(old as unknown as BookingView).form_submission).toEqual({
      name: 'Dan',
      email: 'dan@example.com',
      phone: null,
      mobile_phone: null,
      company: null,
      note: null,
      guests: ['eve@example.com'],
      custom_fields: [],
    });
  });
});

describe("the run's summary in the Temporal UI", () => {
  test('names the owner once when the subject already does, and gives the time in the owner\'s zone and in UTC', async () => {
    const { page } = await ownerAndPage('Probe', 'probe', 'America/New_York');
    const start = '2027-01-15T15:00:00Z';
    const r = await call('POST', '/v2/bookings', {
      booking_page_id: page.id,
      starting_time: new Date(Math.max(Date.parse(start), Date.now() + 86_400_000)).toISOString(),
      duration_minutes: 30,
      customer_timezone: 'Europe/Paris',
      form_submission: { name: 'Carol', email: 'carol@example.com' },
    });
    expect(r.statusCode).toBe(201);
    const summary = started[0].options.staticSummary as string;
    // The default subject is "<page> with <owner>": the summary says "with Probe" once, not "probe with Probe with Probe".
    expect(r.json().subject).toBe('probe with Probe');
    expect(summary.match(/Probe/g)).toHaveLength(1);
    expect(summary).toMatch(/^probe with Probe at \w{3} \d{1,2} \w{3} \d{4}, \d{2}:\d{2} America\/New_York \(UTC-[45]\) \(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z\) · Scheduled \(By customer\)$/);
  });

  test('a subject that does not name the owner still gets "with <owner>"', async () => {
    const { page } = await ownerAndPage('Grace', 'Demo', 'Asia/Tokyo');
    await call('POST', '/v2/bookings', {
      booking_page_id: page.id,
      starting_time: inDays(3),
      duration_minutes: 45,
      customer_timezone: 'Asia/Tokyo',
      subject: 'Quarterly review',
      form_submission: { name: 'Heidi', email: 'heidi@example.com' },
    });
    expect(started[0].options.staticSummary).toMatch(/^Quarterly review with Grace at .* Asia\/Tokyo \(UTC\+9\) \(/);
  });
});

describe('the conversations collection', () => {
  const startBody = { bot: { id: 'b1', name: 'Sales bot' }, website: { id: 'w1', name: 'Acme', url: 'https://www.example.com' }, initiated_by: 'contact' };

  test('is documented as /v2/conversations, without the trailing slash, like every other collection', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/v2/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const paths = Object.keys(doc.paths);
    expect(paths).toContain('/v2/conversations');
    expect(paths.filter((p) => p.endsWith('/'))).toEqual([]);
    expect(Object.keys(doc.paths['/v2/conversations']).sort()).toEqual(['get', 'post']);
  });

  test.each([['/v2/conversations'], ['/v2/conversations/']])('%s still starts and lists conversations (clients that kept the old form)', async (url) => {
    const created = await call('POST', url, startBody);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ object: 'conversation', id: expect.stringMatching(/^CVR-/), status: 'started' });
    expect(started).toHaveLength(1);
    expect(started[0].workflowType).toBe('conversationWorkflow');
    const list = await call('GET', `${url}?status=started&limit=5`);
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual({ object: 'list', data: [], has_more: false });
    expect(listed).toHaveLength(1);
    // Validated the same way in both forms.
    const bad = await call('POST', url, { ...startBody, initiated_by: 'robot' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ type: 'invalid_request_error', param: 'initiated_by' });
  });
});
