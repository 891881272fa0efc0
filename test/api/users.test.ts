import { buildTestApp, TEST_API_KEY, type TestApp } from '../helpers/app';

const auth = { 'api-key': TEST_API_KEY };

describe('/v2/users', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await t.db.query('DELETE FROM booking_pages');
    await t.db.query('DELETE FROM users');
  });

  const create = (body: unknown) => t.app.inject({ method: 'POST', url: '/v2/users', headers: auth, payload: body as object });
  const validUser = { name: 'Ada Lovelace', email: 'ada@example.com', timezone: 'Europe/London' };

  describe('authentication', () => {
    it('401 without an API-Key header', async () => {
      const r = await t.app.inject({ method: 'GET', url: '/v2/users' });
      expect(r.statusCode).toBe(401);
      expect(r.json()).toEqual({ type: 'authentication_error', message: 'Missing API-Key header' });
    });

    it('401 with a wrong API key, on every verb', async () => {
      for (const [method, url] of [
        ['GET', '/v2/users'],
        ['POST', '/v2/users'],
        ['GET', '/v2/users/USR-x'],
        ['PATCH', '/v2/users/USR-x'],
        ['DELETE', '/v2/users/USR-x'],
      ] as const) {
        const r = await t.app.inject({ method, url, headers: { 'api-key': 'wrong' }, ...(method === 'POST' || method === 'PATCH' ? { payload: {} } : {}) });
        expect(r.statusCode).toBe(401);
        expect(r.json()).toEqual({ type: 'authentication_error', message: 'Invalid API key' });
      }
    });
  });

  describe('POST /v2/users', () => {
    it('201 with the user object', async () => {
      const r = await create(validUser);
      expect(r.statusCode).toBe(201);
      const body = r.json();
      expect(body).toEqual({ object: 'user', id: expect.stringMatching(/^USR-[A-Z2-7]{20}$/), ...validUser, creation_time: expect.any(String) });
      expect(new Date(body.creation_time).toISOString()).toBe(body.creation_time);
    });

    it.each([
      ['a bad email', { ...validUser, email: 'not-an-email' }, 'email'],
      ['an unknown zone', { ...validUser, timezone: 'Mars/Olympus' }, 'timezone'],
      ['a zone abbreviation', { ...validUser, timezone: 'EST' }, 'timezone'],
      ['a missing name', { email: 'a@example.com', timezone: 'UTC' }, 'name'],
      ['an empty name', { ...validUser, name: '' }, 'name'],
    ])('400 on %s, naming the field', async (_label, body, param) => {
      const r = await create(body);
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ type: 'invalid_request_error', param });
    });

    it('400 on an unknown field', async () => {
      const r = await create({ ...validUser, role: 'admin' });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toEqual({ type: 'invalid_request_error', message: "Unknown field 'role' in body", param: 'role' });
    });

    it('409 on an email already in use (any case)', async () => {
      expect((await create(validUser)).statusCode).toBe(201);
      const r = await create({ ...validUser, name: 'Other', email: 'ADA@example.com' });
      expect(r.statusCode).toBe(409);
      expect(r.json()).toMatchObject({ type: 'invalid_request_error', param: 'email' });
    });
  });

  describe('GET /v2/users/:id', () => {
    it('200 with the user', async () => {
      const created = (await create(validUser)).json();
      const r = await t.app.inject({ method: 'GET', url: `/v2/users/${created.id}`, headers: auth });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual(created);
    });

    it('404 with the exact error body for an unknown id', async () => {
      const r = await t.app.inject({ method: 'GET', url: '/v2/users/USR-DOESNOTEXIST', headers: auth });
      expect(r.statusCode).toBe(404);
      expect(r.json()).toEqual({ type: 'invalid_request_error', message: "No such user: 'USR-DOESNOTEXIST'", param: 'id' });
    });

    it('400 on an id that is not a user id', async () => {
      const r = await t.app.inject({ method: 'GET', url: '/v2/users/BP-ABC', headers: auth });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ type: 'invalid_request_error', param: 'id' });
    });
  });

  describe('PATCH /v2/users/:id', () => {
    it('200 with only the given fields changed', async () => {
      const created = (await create(validUser)).json();
      const r = await t.app.inject({ method: 'PATCH', url: `/v2/users/${created.id}`, headers: auth, payload: { timezone: 'Asia/Tokyo' } });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({ ...created, timezone: 'Asia/Tokyo' });
    });

    it('400 on a bad zone, a bad email or an unknown field; nothing changes', async () => {
      const created = (await create(validUser)).json();
      for (const [payload, param] of [
        [{ timezone: 'Nowhere/Land' }, 'timezone'],
        [{ email: 'a@b' }, 'email'],
        [{ id: 'USR-other' }, 'id'],
      ] as const) {
        const r = await t.app.inject({ method: 'PATCH', url: `/v2/users/${created.id}`, headers: auth, payload });
        expect(r.statusCode).toBe(400);
        expect(r.json()).toMatchObject({ type: 'invalid_request_error', param });
      }
      expect((await t.app.inject({ method: 'GET', url: `/v2/users/${created.id}`, headers: auth })).json()).toEqual(created);
    });

    it('404 for an unknown user', async () => {
      const r = await t.app.inject({ method: 'PATCH', url: '/v2/users/USR-NOPE', headers: auth, payload: { name: 'x' } });
      expect(r.statusCode).toBe(404);
      expect(r.json()).toEqual({ type: 'invalid_request_error', message: "No such user: 'USR-NOPE'", param: 'id' });
    });

    it("409 when taking another user's email", async () => {
      await create(validUser);
      const other = (await create({ ...validUser, email: 'other@example.com' })).json();
      const r = await t.app.inject({ method: 'PATCH', url: `/v2/users/${other.id}`, headers: auth, payload: { email: 'ada@example.com' } });
      expect(r.statusCode).toBe(409);
      expect(r.json()).toMatchObject({ param: 'email' });
    });
  });

  describe('DELETE /v2/users/:id', () => {
    it('200 { id, deleted: true }, then 404', async () => {
      const created = (await create(validUser)).json();
      const r = await t.app.inject({ method: 'DELETE', url: `/v2/users/${created.id}`, headers: auth });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({ id: created.id, deleted: true });
      expect((await t.app.inject({ method: 'GET', url: `/v2/users/${created.id}`, headers: auth })).statusCode).toBe(404);
      expect((await t.app.inject({ method: 'DELETE', url: `/v2/users/${created.id}`, headers: auth })).statusCode).toBe(404);
    });

    it('409 while the user owns a booking page', async () => {
      const owner = (await create(validUser)).json();
      const page = await t.app.inject({
        method: 'POST',
        url: '/v2/booking-pages',
        headers: auth,
        payload: { name: 'Intro', owner_user_id: owner.id },
      });
      expect(page.statusCode).toBe(201);
      const r = await t.app.inject({ method: 'DELETE', url: `/v2/users/${owner.id}`, headers: auth });
      expect(r.statusCode).toBe(409);
      expect(r.json()).toMatchObject({ type: 'invalid_request_error', param: 'id', message: expect.stringMatching(/owns booking pages/) });
    });
  });

  describe('GET /v2/users (cursor pagination)', () => {
    let ids: string[]; // newest first
    beforeEach(async () => {
      ids = [];
      for (let i = 0; i < 5; i++) ids.unshift((await create({ ...validUser, email: `u${i}@example.com` })).json().id);
    });
    const list = (qs: string) => t.app.inject({ method: 'GET', url: `/v2/users${qs}`, headers: auth });

    it('default page: newest first, limit 10', async () => {
      const r = await list('');
      expect(r.statusCode).toBe(200);
      const body = r.json();
      expect(body.object).toBe('list');
      expect(body.has_more).toBe(false);
      expect(body.data.map((u: { id: string }) => u.id)).toEqual(ids);
      expect(body.data[0]).toMatchObject({ object: 'user', email: 'u4@example.com' });
    });

    it('limit, after and before page through the list', async () => {
      expect((await list('?limit=2')).json()).toMatchObject({ has_more: true, data: [{ id: ids[0] }, { id: ids[1] }] });
      expect((await list(`?limit=2&after=${ids[1]}`)).json()).toMatchObject({ has_more: true, data: [{ id: ids[2] }, { id: ids[3] }] });
      const last = (await list(`?limit=2&after=${ids[3]}`)).json();
      expect(last.has_more).toBe(false);
      expect(last.data.map((u: { id: string }) => u.id)).toEqual([ids[4]]);
      expect((await list(`?limit=2&before=${ids[2]}`)).json()).toMatchObject({ has_more: false, data: [{ id: ids[0] }, { id: ids[1] }] });
      expect((await list(`?limit=1&before=${ids[2]}`)).json()).toMatchObject({ has_more: true, data: [{ id: ids[1] }] });
    });

    it('400 on before and after together', async () => {
      const r = await list(`?before=${ids[0]}&after=${ids[1]}`);
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ type: 'invalid_request_error', param: 'before' });
    });

    it.each([
      ['?limit=0', 'limit'],
      ['?limit=101', 'limit'],
      ['?limit=abc', 'limit'],
      ['?page=2', 'page'],
      ['?after=USR-UNKNOWN', 'after'],
    ])('400 on %s', async (qs, param) => {
      const r = await list(qs);
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ type: 'invalid_request_error', param });
    });
  });
});
