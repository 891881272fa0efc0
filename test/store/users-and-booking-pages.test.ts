import { createBookingPagesRepository, DEFAULT_SALESFORCE_SETTINGS, toSnapshot } from '../../src/store/booking-pages-repository';
import { ConflictError, InvalidReferenceError, NotFoundError } from '../../src/store/repository-errors';
import { createUsersRepository, toUserSnapshot } from '../../src/store/users-repository';
import { ENGINES, openForSuite } from './engines';

describe.each(ENGINES)('users and booking pages on $name', (engine) => {
  const store = openForSuite(engine);
  beforeEach(async () => {
    await store.db.query('DELETE FROM booking_pages');
    await store.db.query('DELETE FROM users');
  });

  const users = () => createUsersRepository(store.db);
  const pages = () => createBookingPagesRepository(store.db);

  describe('users', () => {
    it('creates a user with a USR- id of 20 base32 characters and reads it back', async () => {
      const u = await users().create({ name: 'Ada', email: 'ada@example.com', timezone: 'Europe/London' });
      expect(u.id).toMatch(/^USR-[A-Z2-7]{20}$/);
      expect(u.createdAt).toBeInstanceOf(Date);
      expect(await users().get(u.id)).toEqual(u);
      expect(toUserSnapshot(u)).toEqual({ id: u.id, name: 'Ada', email: 'ada@example.com', timezone: 'Europe/London' });
    });

    it('get of an unknown id is a NotFoundError naming it', async () => {
      await expect(users().get('USR-missing')).rejects.toThrow(new NotFoundError('user', 'USR-missing'));
      await expect(users().get('USR-missing')).rejects.toMatchObject({ message: "No such user: 'USR-missing'", param: 'id' });
      expect(await users().find('USR-missing')).toBeUndefined();
    });

    it('rejects a second user with the same email, whatever its case', async () => {
      await users().create({ name: 'A', email: 'same@example.com', timezone: 'UTC' });
      const err = await users()
        .create({ name: 'B', email: 'SAME@example.com', timezone: 'UTC' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect(err).toMatchObject({ param: 'email' });
    });

    it('updates only the given fields and moves updatedAt', async () => {
      const u = await users().create({ name: 'Old', email: 'old@example.com', timezone: 'UTC' });
      const v = await users().update(u.id, { name: 'New' });
      expect(v).toMatchObject({ id: u.id, name: 'New', email: 'old@example.com', timezone: 'UTC' });
      expect(v.createdAt).toEqual(u.createdAt);
      expect(v.updatedAt.getTime()).toBeGreaterThanOrEqual(u.updatedAt.getTime());
      expect(await users().update(u.id, {})).toEqual(v);
      await expect(users().update('USR-missing', { name: 'x' })).rejects.toBeInstanceOf(NotFoundError);
      await expect(users().update('USR-missing', {})).rejects.toBeInstanceOf(NotFoundError);
    });

    it('an update to an email another user has is a ConflictError on email', async () => {
      await users().create({ name: 'A', email: 'a@example.com', timezone: 'UTC' });
      const b = await users().create({ name: 'B', email: 'b@example.com', timezone: 'UTC' });
      await expect(users().update(b.id, { email: 'a@example.com' })).rejects.toMatchObject({ name: 'ConflictError', param: 'email' });
    });

    it('deletes a user; deleting again is NotFound', async () => {
      const u = await users().create({ name: 'A', email: 'a@example.com', timezone: 'UTC' });
      await users().delete(u.id);
      expect(await users().find(u.id)).toBeUndefined();
      await expect(users().delete(u.id)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('refuses to delete a user who owns a booking page, and keeps both', async () => {
      const u = await users().create({ name: 'Owner', email: 'owner@example.com', timezone: 'UTC' });
      const p = await pages().create({ name: 'Intro call', ownerUserId: u.id, mode: 'automatic' });
      const err = await users()
        .delete(u.id)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as ConflictError).message).toMatch(/owns booking pages/);
      expect(await users().find(u.id)).toBeDefined();
      expect(await pages().find(p.id)).toBeDefined();
    });
  });

  describe('pagination (newest first)', () => {
    let ids: string[]; // newest first

    beforeEach(async () => {
      ids = [];
      for (let i = 0; i < 5; i++) {
        ids.unshift((await users().create({ name: `U${i}`, email: `u${i}@example.com`, timezone: 'UTC' })).id);
      }
    });

    it('lists newest first with has_more', async () => {
      const first = await users().list({ limit: 2 });
      expect(first.data.map((u) => u.id)).toEqual(ids.slice(0, 2));
      expect(first.hasMore).toBe(true);
      const all = await users().list({ limit: 10 });
      expect(all.data.map((u) => u.id)).toEqual(ids);
      expect(all.hasMore).toBe(false);
    });

    it('after walks towards older objects, to the end', async () => {
      const p2 = await users().list({ limit: 2, after: ids[1] });
      expect(p2.data.map((u) => u.id)).toEqual(ids.slice(2, 4));
      expect(p2.hasMore).toBe(true);
      const p3 = await users().list({ limit: 2, after: ids[3] });
      expect(p3.data.map((u) => u.id)).toEqual([ids[4]]);
      expect(p3.hasMore).toBe(false);
    });

    it('before walks back towards newer objects, the page next to the cursor', async () => {
      const back = await users().list({ limit: 2, before: ids[4] });
      expect(back.data.map((u) => u.id)).toEqual(ids.slice(2, 4));
      expect(back.hasMore).toBe(true);
      const top = await users().list({ limit: 2, before: ids[2] });
      expect(top.data.map((u) => u.id)).toEqual(ids.slice(0, 2));
      expect(top.hasMore).toBe(false);
    });

    it('an unknown cursor is an InvalidReferenceError on that parameter; both at once is refused', async () => {
      await expect(users().list({ limit: 2, after: 'USR-nope' })).rejects.toMatchObject({ name: 'InvalidReferenceError', param: 'after' });
      await expect(users().list({ limit: 2, before: 'USR-nope' })).rejects.toMatchObject({ name: 'InvalidReferenceError', param: 'before' });
      await expect(users().list({ limit: 2, before: ids[0], after: ids[1] })).rejects.toBeInstanceOf(InvalidReferenceError);
    });
  });

  describe('booking pages', () => {
    let ownerId: string;
    beforeEach(async () => {
      ownerId = (await users().create({ name: 'Owner', email: 'owner@example.com', timezone: 'America/New_York' })).id;
    });

    it('creates a page with default Salesforce settings and a BP- id', async () => {
      const p = await pages().create({ name: 'Demo', ownerUserId: ownerId, mode: 'approval' });
      expect(p.id).toMatch(/^BP-[A-Z2-7]{20}$/);
      expect(p).toMatchObject({ name: 'Demo', ownerUserId: ownerId, mode: 'approval', salesforce: DEFAULT_SALESFORCE_SETTINGS });
      expect(await pages().get(p.id)).toEqual(p);
    });

    it('stores given Salesforce settings over the defaults, as jsonb read back as an object', async () => {
      const p = await pages().create({
        name: 'SF',
        ownerUserId: ownerId,
        mode: 'automatic',
        salesforce: { connected: true, relate_to: 'case' },
      });
      expect(p.salesforce).toEqual({ connected: true, create_activity_event: true, relate_to: 'case', create_missing_record: true });
      const raw = await store.db.query<{ salesforce: unknown }>('SELECT salesforce FROM booking_pages WHERE id = $1', [p.id]);
      expect(raw.rows[0].salesforce).toEqual(p.salesforce);
    });

    it('an owner that does not exist is an InvalidReferenceError on owner_user_id (create and update)', async () => {
      await expect(pages().create({ name: 'X', ownerUserId: 'USR-ghost', mode: 'automatic' })).rejects.toMatchObject({
        name: 'InvalidReferenceError',
        param: 'owner_user_id',
        message: "No such user: 'USR-ghost'",
      });
      const p = await pages().create({ name: 'X', ownerUserId: ownerId, mode: 'automatic' });
      await expect(pages().update(p.id, { ownerUserId: 'USR-ghost' })).rejects.toMatchObject({ param: 'owner_user_id' });
      expect((await pages().get(p.id)).ownerUserId).toBe(ownerId);
    });

    it('update merges Salesforce settings and changes owner and mode', async () => {
      const other = await users().create({ name: 'Other', email: 'other@example.com', timezone: 'UTC' });
      const p = await pages().create({ name: 'X', ownerUserId: ownerId, mode: 'automatic', salesforce: { connected: true } });
      const q = await pages().update(p.id, { mode: 'approval', ownerUserId: other.id, salesforce: { create_activity_event: false } });
      expect(q).toMatchObject({ name: 'X', mode: 'approval', ownerUserId: other.id });
      expect(q.salesforce).toEqual({ connected: true, create_activity_event: false, relate_to: 'lead', create_missing_record: true });
      expect(await pages().listByOwner(other.id)).toEqual([q]);
      expect(await pages().listByOwner(ownerId)).toEqual([]);
      await expect(pages().update('BP-missing', { name: 'y' })).rejects.toMatchObject({ message: "No such booking page: 'BP-missing'" });
    });

    it('the database refuses settings outside the contract', async () => {
      await expect(
        store.db.query(`INSERT INTO booking_pages (id, name, owner_user_id, mode, salesforce) VALUES ('BP-bad', 'x', $1, 'automatic', $2::jsonb)`, [
          ownerId,
          JSON.stringify({ ...DEFAULT_SALESFORCE_SETTINGS, relate_to: 'account' }),
        ]),
      ).rejects.toMatchObject({ code: '23514' });
      await expect(
        store.db.query(`INSERT INTO booking_pages (id, name, owner_user_id, mode, salesforce) VALUES ('BP-bad', 'x', $1, 'sometimes', $2::jsonb)`, [
          ownerId,
          JSON.stringify(DEFAULT_SALESFORCE_SETTINGS),
        ]),
      ).rejects.toMatchObject({ code: '23514' });
    });

    it('toSnapshot gives the workflow what it needs of the page', async () => {
      const p = await pages().create({ name: 'Snap', ownerUserId: ownerId, mode: 'automatic' });
      expect(toSnapshot(p)).toEqual({ id: p.id, name: 'Snap', mode: 'automatic', owner_user_id: ownerId, salesforce: DEFAULT_SALESFORCE_SETTINGS });
    });

    it('lists newest first with cursors and deletes', async () => {
      const a = await pages().create({ name: 'A', ownerUserId: ownerId, mode: 'automatic' });
      const b = await pages().create({ name: 'B', ownerUserId: ownerId, mode: 'automatic' });
      const c = await pages().create({ name: 'C', ownerUserId: ownerId, mode: 'automatic' });
      expect((await pages().list({ limit: 10 })).data.map((p) => p.id)).toEqual([c.id, b.id, a.id]);
      expect(await pages().list({ limit: 1, after: c.id })).toMatchObject({ data: [{ id: b.id }], hasMore: true });
      await pages().delete(b.id);
      await expect(pages().delete(b.id)).rejects.toBeInstanceOf(NotFoundError);
      expect((await pages().list({ limit: 10 })).data.map((p) => p.id)).toEqual([c.id, a.id]);
      await expect(pages().list({ limit: 1, after: b.id })).rejects.toMatchObject({ param: 'after', message: `No such booking page: '${b.id}'` });
    });

    it('repositories work inside a transaction and roll back with it', async () => {
      await expect(
        store.db.transaction(async (tx) => {
          const u = await createUsersRepository(tx).create({ name: 'T', email: 't@example.com', timezone: 'UTC' });
          await createBookingPagesRepository(tx).create({ name: 'T', ownerUserId: u.id, mode: 'automatic' });
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect((await users().list({ limit: 100 })).data.map((u) => u.email)).toEqual(['owner@example.com']);
      expect((await pages().list({ limit: 100 })).data).toEqual([]);
    });
  });
});
