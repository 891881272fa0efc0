import { createIdempotencyRepository } from '../../src/store/idempotency-repository';
import { ENGINES, openForSuite } from './engines';

describe.each(ENGINES)('idempotency keys on $name', (engine) => {
  const store = openForSuite(engine);

  const repo = () => createIdempotencyRepository(store.db);

  it('the first claim wins; a retry with the same request gets the first resource back', async () => {
    expect(await repo().claim('bookings', 'k1', 'hash-a', 'BKNG-1')).toEqual({ claimed: true, resourceId: 'BKNG-1' });
    const again = await repo().claim('bookings', 'k1', 'hash-a', 'BKNG-2');
    expect(again).toMatchObject({ claimed: false, resourceId: 'BKNG-1', requestHash: 'hash-a', sameRequest: true });
    expect(again.claimed === false && again.createdAt).toBeInstanceOf(Date);
  });

  it('reusing a key for a different request reports the mismatch and keeps the first holder', async () => {
    await repo().claim('bookings', 'k2', 'hash-a', 'BKNG-1');
    expect(await repo().claim('bookings', 'k2', 'hash-b', 'BKNG-9')).toMatchObject({
      claimed: false,
      resourceId: 'BKNG-1',
      requestHash: 'hash-a',
      sameRequest: false,
    });
    expect(await repo().find('bookings', 'k2')).toMatchObject({ resourceId: 'BKNG-1', requestHash: 'hash-a' });
  });

  it('keys are per scope', async () => {
    expect((await repo().claim('bookings', 'shared', 'h', 'BKNG-1')).claimed).toBe(true);
    expect((await repo().claim('reschedules', 'shared', 'h', 'BKNG-2')).claimed).toBe(true);
  });

  it('two concurrent claims of one key: exactly one wins and both name the winner', async () => {
    for (let round = 0; round < 10; round++) {
      const key = `race-${round}`;
      const results = await Promise.all([
        repo().claim('bookings', key, 'h', `BKNG-A${round}`),
        repo().claim('bookings', key, 'h', `BKNG-B${round}`),
      ]);
      const winners = results.filter((r) => r.claimed);
      expect(winners).toHaveLength(1);
      const winner = winners[0].resourceId;
      expect(results.map((r) => r.resourceId)).toEqual([winner, winner]);
    }
  });

  it('concurrent claims inside open transactions still resolve to one winner', async () => {
    const claimIn = (resourceId: string) => store.db.transaction((tx) => createIdempotencyRepository(tx).claim('bookings', 'tx-race', 'h', resourceId));
    const results = await Promise.all([claimIn('BKNG-X'), claimIn('BKNG-Y'), claimIn('BKNG-Z')]);
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
    expect(new Set(results.map((r) => r.resourceId)).size).toBe(1);
  });

  it('release frees the key only for its holder; a later claim then wins afresh', async () => {
    await repo().claim('bookings', 'rel', 'h', 'BKNG-1');
    expect(await repo().release('bookings', 'rel', 'BKNG-other')).toBe(false);
    expect(await repo().release('bookings', 'rel', 'BKNG-1')).toBe(true);
    expect(await repo().find('bookings', 'rel')).toBeUndefined();
    expect(await repo().claim('bookings', 'rel', 'h2', 'BKNG-2')).toEqual({ claimed: true, resourceId: 'BKNG-2' });
  });

  it('purgeOlderThan forgets old keys only', async () => {
    await store.db.query(
      "INSERT INTO idempotency_keys (scope, key, request_hash, resource_id, created_at) VALUES ('old', 'k', 'h', 'BKNG-old', now() - interval '2 days')",
    );
    await repo().claim('old', 'fresh', 'h', 'BKNG-new');
    expect(await repo().purgeOlderThan(new Date(Date.now() - 24 * 3600 * 1000))).toBe(1);
    expect(await repo().find('old', 'k')).toBeUndefined();
    expect(await repo().find('old', 'fresh')).toBeDefined();
  });
});
