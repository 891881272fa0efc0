/** The batched delivery statements routing uses for a fan-out, on both engines. */
import { createWebhooksRepository } from '../../src/store/webhooks-repository';
import { buildEnvelope } from '../../src/domain/webhooks';
import { newSecret, newSubscriptionId } from '../../src/webhooks/ids';
import { ENGINES, openForSuite } from './engines';

describe.each(ENGINES)('webhook deliveries on $name', (engine) => {
  const store = openForSuite(engine);

  const repo = () => createWebhooksRepository(store.db);
  const envelope = buildEnvelope({ eventId: 'EVNT-batch', type: 'booking.canceled', creationTime: '2026-11-27T10:00:00.000Z', data: { object: 'booking', id: 'BKNG-1' } });

  it('inserts many deliveries at once, reports only the new ones, and records their attempts in one go like recordAttempt', async () => {
    const subs = await Promise.all(
      [1, 2, 3].map((n) => repo().createSubscription({ id: newSubscriptionId(), name: `batch-${n}`, url: `https://example.com/${n}`, events: ['booking'], secret: newSecret() })),
    );
    const rows = subs.map((s, i) => ({ id: `DLVR-batch-${i}`, subscriptionId: s.id }));
    expect((await repo().insertDeliveries(rows.slice(0, 2), envelope)).sort()).toEqual(['DLVR-batch-0', 'DLVR-batch-1']);
    // A retried routing: only the one not inserted before is new.
    expect(await repo().insertDeliveries(rows, envelope)).toEqual(['DLVR-batch-2']);
    const stored = await repo().getDeliveries(rows.map((r) => r.id));
    expect(stored.map((d) => [d.id, d.status, d.attempts, d.eventId]).sort()).toEqual([
      ['DLVR-batch-0', 'pending', 0, 'EVNT-batch'],
      ['DLVR-batch-1', 'pending', 0, 'EVNT-batch'],
      ['DLVR-batch-2', 'pending', 0, 'EVNT-batch'],
    ]);

    const at = new Date('2026-11-27T10:00:01.000Z');
    const done = new Date('2026-11-27T10:00:01.040Z');
    const attempts = await repo().recordAttempts([
      { deliveryId: 'DLVR-batch-0', attemptNumber: 1, startedAt: at, statusCode: 204, latencyMs: 40, error: null, succeeded: true, completedAt: done },
      { deliveryId: 'DLVR-batch-1', attemptNumber: 1, startedAt: at, statusCode: 503, latencyMs: 40, error: 'HTTP 503', succeeded: false, completedAt: done },
      { deliveryId: 'DLVR-batch-2', attemptNumber: 1, startedAt: at, statusCode: null, latencyMs: 40, error: 'ECONNREFUSED', succeeded: false, completedAt: done },
    ]);
    expect(Object.fromEntries(attempts)).toEqual({ 'DLVR-batch-0': 1, 'DLVR-batch-1': 1, 'DLVR-batch-2': 1 });
    expect(await repo().getDelivery('DLVR-batch-0')).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 204, lastError: null, completedAt: done });
    expect(await repo().getDelivery('DLVR-batch-1')).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 503, lastError: 'HTTP 503', completedAt: null });
    expect(await repo().getDelivery('DLVR-batch-2')).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null, lastError: 'ECONNREFUSED' });
    expect(await repo().listAttempts('DLVR-batch-1')).toEqual([
      expect.objectContaining({ attemptNumber: 1, startedAt: at, statusCode: 503, latencyMs: 40, error: 'HTTP 503' }),
    ]);
    // Recording the same attempt again overwrites it; a succeeded delivery stays succeeded.
    await repo().recordAttempts([{ deliveryId: 'DLVR-batch-0', attemptNumber: 1, startedAt: at, statusCode: 500, latencyMs: 9, error: 'HTTP 500', succeeded: false, completedAt: done }]);
    expect(await repo().listAttempts('DLVR-batch-0')).toHaveLength(1);
    expect(await repo().getDelivery('DLVR-batch-0')).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await repo().recordAttempts([])).toEqual(new Map());
  });
});
