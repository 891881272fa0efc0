import { buildTestApp, TEST_API_KEY, type TestApp } from '../helpers/app';

const auth = { 'api-key': TEST_API_KEY };
const DEFAULT_SALESFORCE = { connected: false, create_activity_event: true, relate_to: 'lead', create_missing_record: true };

describe('/v2/booking-pages', () => {
  let t: TestApp;
  let ownerId: string;

  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await t.db.query('DELETE FROM booking_pages');
    await t.db.query('DELETE FROM users');
    const r = await t.app.inject({
      method: 'POST',
      url: '/v2/users',
      headers: auth,
      payload: { name: 'Owner', email: 'owner@example.com', timezone: 'America/Chicago' },
    });
    ownerId = r.json().id;
  });

  const create = (body: object) => t.app.inject({ method: 'POST', url: '/v2/booking-pages', headers: auth, payload: body });
  const get = (id: string) => t.app.inject({ method: 'GET', url: `/v2/booking-pages/${id}`, headers: auth });
  const patch = (id: string, body: object) => t.app.inject({ method: 'PATCH', url: `/v2/booking-pages/${id}`, headers: auth, payload: body });

  describe('authentication', () => {
    it('401 without an API-Key header and with a wrong one', async () => {
      const none = await t.app.inject({ method: 'GET', url: '/v2/booking-pages' });
      expect(none.statusCode).toBe(401);
      expect(none.json()).toEqual({ type: 'authentication_error', message: 'Missing API-Key header' });
      const wrong = await t.app.inject({ method: 'POST', url: '/v2/booking-pages', headers: { 'api-key': 'nope' }, payload: {} });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json()).toEqual({ type: 'authentication_error', message: 'Invalid API key' });
    });
  });

  describe('POST /v2/booking-pages', () => {
    it('201 with the booking page object; mode defaults to automatic, Salesforce to the defaults', async () => {
      const r = await create({ name: 'Intro call', owner_user_id: ownerId });
      expect(r.statusCode).toBe(201);
      expect(r.json()).toEqual({
        object: 'booking_page',
        id: expect.stringMatching(/^BP-[A-Z2-7]{20}$/),
        name: 'Intro call',
        owner_user_id: ownerId,
        mode: 'automatic',
        salesforce: DEFAULT_SALESFORCE,
        creation_time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      });
    });

    it('takes approval mode and partial Salesforce settings', async () => {
      const r = await create({ name: 'Demo', owner_user_id: ownerId, mode: 'approval', salesforce: { connected: true, relate_to: 'contact' } });
      expect(r.statusCode).toBe(201);
      expect(r.json()).toMatchObject({ mode: 'approval', salesforce: { ...DEFAULT_SALESFORCE, connected: true, relate_to: 'contact' } });
    });

    it('400 param owner_user_id when the owner does not exist', async () => {
      const r = await create({ name: 'X', owner_user_id: 'USR-GHOST' });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toEqual({ type: 'invalid_request_error', message: "No such user: 'USR-GHOST'", param: 'owner_user_id' });
    });

    it.each([
      ['an owner id of the wrong kind', { name: 'X', owner_user_id: 'BP-123' }, 'owner_user_id'],
      ['a missing owner', { name: 'X' }, 'owner_user_id'],
      ['an unknown mode', { name: 'X', owner_user_id: 'USR-A', mode: 'sometimes' }, 'mode'],
      ['an unknown relate_to', { name: 'X', owner_user_id: 'USR-A', salesforce: { relate_to: 'account' } }, 'salesforce.relate_to'],
      ['a non-boolean setting', { name: 'X', owner_user_id: 'USR-A', salesforce: { connected: 'yes' } }, 'salesforce.connected'],
      ['an unknown Salesforce setting', { name: 'X', owner_user_id: 'USR-A', salesforce: { token: 'x' } }, 'token'],
      ['an unknown field', { name: 'X', owner_user_id: 'USR-A', color: 'red' }, 'color'],
    ])('400 on %s', async (_label, body, param) => {
      const r = await create(body);
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ type: 'invalid_request_error', param });
    });
  });

  describe('GET /v2/booking-pages/:id', () => {
    it('200 with the page', async () => {
      const created = (await create({ name: 'P', owner_user_id: ownerId })).json();
      const r = await get(created.id);
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual(created);
    });

    it('404 with the exact error body', async () => {
      const r = await get('BP-NOTHERE');
      expect(r.statusCode).toBe(404);
      expect(r.json()).toEqual({ type: 'invalid_request_error', message: "No such booking page: 'BP-NOTHERE'", param: 'id' });
    });

    it('400 on an id that is not a booking page id', async () => {
      const r = await get('USR-ABC');
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ type: 'invalid_request_error', param: 'id' });
    });
  });

  describe('PATCH /v2/booking-pages/:id', () => {
    it('merges Salesforce settings and changes mode and owner', async () => {
      const other = (
        await t.app.inject({ method: 'POST', url: '/v2/users', headers: auth, payload: { name: 'B', email: 'b@example.com', timezone: 'UTC' } })
      ).json();
      const created = (await create({ name: 'P', owner_user_id: ownerId, salesforce: { connected: true } })).json();
      const r = await patch(created.id, { mode: 'approval', owner_user_id: other.id, salesforce: { create_activity_event: false } });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({
        ...created,
        mode: 'approval',
        owner_user_id: other.id,
        salesforce: { ...DEFAULT_SALESFORCE, connected: true, create_activity_event: false },
      });
    });

    it('400 param owner_user_id for an owner that does not exist; the page is unchanged', async () => {
      const created = (await create({ name: 'P', owner_user_id: ownerId })).json();
      const r = await patch(created.id, { owner_user_id: 'USR-GHOST' });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ param: 'owner_user_id' });
      expect((await get(created.id)).json()).toEqual(created);
    });

    it('400 on an unknown field or a bad value', async () => {
      const created = (await create({ name: 'P', owner_user_id: ownerId })).json();
      expect((await patch(created.id, { creation_time: 'x' })).json()).toMatchObject({ param: 'creation_time' });
      expect((await patch(created.id, { name: '' })).statusCode).toBe(400);
      expect((await patch(created.id, { salesforce: { relate_to: 'opportunity' } })).json()).toMatchObject({ param: 'salesforce.relate_to' });
    });

    it('404 for an unknown page', async () => {
      const r = await patch('BP-NOPE', { name: 'x' });
      expect(r.statusCode).toBe(404);
      expect(r.json()).toEqual({ type: 'invalid_request_error', message: "No such booking page: 'BP-NOPE'", param: 'id' });
    });
  });

  describe('DELETE /v2/booking-pages/:id', () => {
    it('200 { id, deleted: true }, then 404; the owner can then be deleted', async () => {
      const created = (await create({ name: 'P', owner_user_id: ownerId })).json();
      const r = await t.app.inject({ method: 'DELETE', url: `/v2/booking-pages/${created.id}`, headers: auth });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({ id: created.id, deleted: true });
      expect((await get(created.id)).statusCode).toBe(404);
      expect((await t.app.inject({ method: 'DELETE', url: `/v2/booking-pages/${created.id}`, headers: auth })).statusCode).toBe(404);
      expect((await t.app.inject({ method: 'DELETE', url: `/v2/users/${ownerId}`, headers: auth })).statusCode).toBe(200);
    });
  });

  describe('GET /v2/booking-pages (cursor pagination)', () => {
    let ids: string[]; // newest first
    beforeEach(async () => {
      ids = [];
      for (let i = 0; i < 4; i++) ids.unshift((await create({ name: `P${i}`, owner_user_id: ownerId })).json().id);
    });
    const list = (qs: string) => t.app.inject({ method: 'GET', url: `/v2/booking-pages${qs}`, headers: auth });

    it('pages newest first with before/after and has_more', async () => {
      const all = (await list('')).json();
      expect(all).toMatchObject({ object: 'list', has_more: false });
      expect(all.data.map((p: { id: string }) => p.id)).toEqual(ids);
      expect((await list('?limit=3')).json()).toMatchObject({ has_more: true });
      expect((await list(`?limit=2&after=${ids[1]}`)).json()).toMatchObject({ has_more: false, data: [{ id: ids[2] }, { id: ids[3] }] });
      expect((await list(`?limit=2&before=${ids[3]}`)).json()).toMatchObject({ has_more: true, data: [{ id: ids[1] }, { id: ids[2] }] });
    });

    it('400 on before and after together, on a bad limit and on an unknown cursor', async () => {
      for (const [qs, param] of [
        [`?before=${ids[0]}&after=${ids[2]}`, 'before'],
        ['?limit=500', 'limit'],
        ['?before=BP-UNKNOWN', 'before'],
      ]) {
        const r = await list(qs);
        expect(r.statusCode).toBe(400);
        expect(r.json()).toMatchObject({ type: 'invalid_request_error', param });
      }
    });
  });

  describe('OpenAPI document', () => {
    it('declares every users and booking pages route with its success and error responses', async () => {
      const r = await t.app.inject({ method: 'GET', url: '/v2/openapi.json' });
      expect(r.statusCode).toBe(200);
      const paths = r.json().paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
      const statuses = (p: string, m: string) => Object.keys(paths[p][m].responses).sort();
      // Collection routes are declared without a trailing slash.
      expect(paths['/v2/users/']).toBeUndefined();
      for (const base of ['/v2/users', '/v2/booking-pages']) {
        expect(statuses(base, 'post')).toEqual(expect.arrayContaining(['201', '400', '401']));
        expect(statuses(base, 'get')).toEqual(['200', '400', '401', '500']);
        expect(statuses(`${base}/{id}`, 'get')).toEqual(['200', '400', '401', '404', '500']);
        expect(statuses(`${base}/{id}`, 'patch')).toEqual(expect.arrayContaining(['200', '400', '401', '404']));
        expect(statuses(`${base}/{id}`, 'delete')).toEqual(expect.arrayContaining(['200', '400', '401', '404']));
      }
      expect(statuses('/v2/users/{id}', 'delete')).toContain('409');
      expect(statuses('/v2/users', 'post')).toContain('409');
    });
  });
});
