/**
 * /v2/webhooks: webhook subscriptions (lifecycle.md section 4), plus disable/enable, secret rotation, the
 * delivery log with every attempt, redelivery of one delivery and recovery of all failed ones since a time, and
 * test sends of a sample event (recorded in the log as tests).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ApiError } from '../../plugins/errors';
import {
  webhookRoutes,
  type Webhook,
  type WebhookDelivery,
  type WebhookWithSecret,
} from '../../schemas/webhooks';
import {
  createWebhooksRepository,
  SubscriptionNameTakenError,
  type Page,
  type WebhookDelivery as StoredDelivery,
  type WebhookSubscription,
} from '../../../store/webhooks-repository';
import { isWebhookEventType, normaliseTriggers, WEBHOOK_EVENT_TYPES, subscriptionMatches } from '../../../domain/webhooks/events';
import { buildEnvelope } from '../../../domain/webhooks/envelope';
import { parseAllowList } from '../../../domain/webhooks/address-policy';
import { STOP_REASON } from '../../../domain/webhooks/reasons';
import { validateWebhookUrl } from '../../../domain/webhooks/url';
import { newDeliveryId, newSecret, newSubscriptionId } from '../../../webhooks/ids';
import { startDeliveryWorkflow } from '../../../webhooks/start-delivery';
import { attemptRow, createWebhookPoster } from '../../../webhooks/post';
import { createGuardedDispatcher } from '../../../webhooks/ssrf';
import { exampleEnvelope } from '../../../webhooks/catalog';
import { EVENT_ID_PREFIX } from '../../../shared/booking-contract';

/** The API's webhook object; never the secret. */
export function webhookObject(s: WebhookSubscription): Webhook {
  return {
    object: 'webhook',
    id: s.id,
    api_version: 'v2',
    name: s.name,
    url: s.url,
    events: s.events,
    creation_time: s.createdAt.toISOString(),
    enabled: s.enabled,
    ...(s.enabled || !s.disabledReason ? {} : { disabled_reason: s.disabledReason }),
  };
}

function withSecret(s: WebhookSubscription): WebhookWithSecret {
  return { ...webhookObject(s), secret: s.secret };
}

/** The API's delivery object. */
export function deliveryObject(d: StoredDelivery): WebhookDelivery {
  return {
    object: 'webhook_delivery',
    id: d.id,
    webhook_id: d.subscriptionId,
    event_id: d.eventId,
    event_type: d.eventType,
    status: d.status,
    attempt_count: d.attempts,
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    failure_reason: d.failureReason,
    creation_time: d.createdAt.toISOString(),
    last_updated_time: d.updatedAt.toISOString(),
    completion_time: d.completedAt ? d.completedAt.toISOString() : null,
    redelivery_of: d.redeliveryOf,
    test: d.test,
  };
}

function notFound(id: string): ApiError {
  return ApiError.notFound(`No such webhook: '${id}'`, 'id');
}

/** Unwraps a page, turning an unknown cursor into 400 on `before`/`after`. */
function rows<T>(page: Page<T>, cursors: { before?: string; after?: string }, entity: string): { rows: T[]; hasMore: boolean } {
  if (!page.ok) throw ApiError.badRequest(`No such ${entity}: '${cursors[page.badCursor] ?? ''}'`, page.badCursor);
  return page;
}

function oneCursor(q: { before?: string; after?: string }) {
  if (q.before !== undefined && q.after !== undefined) throw ApiError.badRequest("Pass either 'before' or 'after', not both", 'before');
}

const webhooksPlugin: FastifyPluginAsyncTypebox = async (app) => {
  const { db, config, temporal } = app.deps;
  const repo = createWebhooksRepository(db);
  const urlRules = { allowHttp: config.webhooks.allowHttp, allow: parseAllowList(config.webhooks.allowPrivateTargets) };
  // Test sends take the delivery path of real attempts: the same signed POST through the same SSRF guard.
  const dispatcher = createGuardedDispatcher({ allowPrivateTargets: config.webhooks.allowPrivateTargets, connectTimeoutMs: config.webhooks.connectTimeoutMs });
  app.addHook('onClose', async () => dispatcher.close());
  const post = createWebhookPoster({ dispatcher, userAgent: config.webhooks.userAgent, totalTimeoutMs: config.webhooks.totalTimeoutMs, now: Date.now });

  async function live(id: string): Promise<WebhookSubscription> {
    const s = await repo.getSubscription(id);
    if (!s) throw notFound(id);
    return s;
  }

  /** A new delivery of `original`'s event, recorded and started; removed again if it cannot be started. */
  async function redeliver(sub: WebhookSubscription, original: StoredDelivery): Promise<StoredDelivery> {
    const deliveryId = newDeliveryId();
    await repo.insertDelivery({ id: deliveryId, subscriptionId: sub.id, envelope: original.payload, redeliveryOf: original.id });
    try {
      await startDeliveryWorkflow(temporal, config.temporal.taskQueue, { deliveryId, subscription: sub, envelope: original.payload, redeliveryOf: original.id });
    } catch (err) {
      await repo.discardDelivery(deliveryId);
      throw err;
    }
    return (await repo.getDelivery(deliveryId)) as StoredDelivery;
  }

  function requireEnabled(sub: WebhookSubscription) {
    if (!sub.enabled) {
      throw ApiError.conflict(`Webhook '${sub.id}' is disabled (${sub.disabledReason ?? 'disabled'}); enable it before redelivering`, 'id');
    }
  }

  app.post('', { schema: webhookRoutes.create }, async (request, reply) => {
    const { name, url, events } = request.body;
    const u = validateWebhookUrl(url, urlRules);
    if (!u.ok) throw ApiError.badRequest(u.message, 'url');
    const ev = normaliseTriggers(events);
    if (!ev.ok) throw ApiError.badRequest(ev.message, 'events');
    try {
      const sub = await repo.createSubscription({ id: newSubscriptionId(), name, url: u.url, events: ev.events, secret: newSecret() });
      return reply.code(201).send(withSecret(sub));
    } catch (err) {
      if (err instanceof SubscriptionNameTakenError) throw ApiError.conflict(err.message, 'name');
      throw err;
    }
  });

  app.get('', { schema: webhookRoutes.list }, async (request) => {
    const { limit = 10, before, after } = request.query;
    oneCursor(request.query);
    const page = rows(await repo.listSubscriptions({ limit, before, after }), { before, after }, 'webhook');
    return { object: 'list' as const, data: page.rows.map(webhookObject), has_more: page.hasMore };
  });

  app.get('/:id', { schema: webhookRoutes.get }, async (request) => webhookObject(await live(request.params.id)));

  app.delete('/:id', { schema: webhookRoutes.delete }, async (request) => {
    if (!(await repo.deleteSubscription(request.params.id))) throw notFound(request.params.id);
    return { id: request.params.id, deleted: true as const };
  });

  app.post('/:id/disable', { schema: webhookRoutes.disable }, async (request) => {
    const sub = await live(request.params.id);
    // Already disabled (maybe by a 410): keep the reason that says why.
    if (!sub.enabled) return webhookObject(sub);
    const updated = await repo.setEnabled(sub.id, false, STOP_REASON.disabledByRequest);
    if (!updated) throw notFound(sub.id);
    return webhookObject(updated);
  });

  app.post('/:id/enable', { schema: webhookRoutes.enable }, async (request) => {
    const updated = await repo.setEnabled(request.params.id, true, null);
    if (!updated) throw notFound(request.params.id);
    return webhookObject(updated);
  });

  app.post('/:id/rotate-secret', { schema: webhookRoutes.rotateSecret }, async (request) => {
    const updated = await repo.rotateSecret(request.params.id, newSecret());
    if (!updated) throw notFound(request.params.id);
    return withSecret(updated);
  });

  app.get('/:id/deliveries', { schema: webhookRoutes.listDeliveries }, async (request) => {
    const sub = await live(request.params.id);
    const { limit = 10, before, after, status } = request.query;
    oneCursor(request.query);
    const page = rows(await repo.listDeliveries(sub.id, { limit, before, after, status }), { before, after }, 'delivery');
    return { object: 'list' as const, data: page.rows.map(deliveryObject), has_more: page.hasMore };
  });

  async function deliveryOf(sub: WebhookSubscription, deliveryId: string): Promise<StoredDelivery> {
    const d = await repo.getDelivery(deliveryId);
    if (!d || d.subscriptionId !== sub.id) throw ApiError.notFound(`No such delivery: '${deliveryId}'`, 'deliveryId');
    return d;
  }

  app.get('/:id/deliveries/:deliveryId', { schema: webhookRoutes.getDelivery }, async (request) => {
    const sub = await live(request.params.id);
    const d = await deliveryOf(sub, request.params.deliveryId);
    const attempts = await repo.listAttempts(d.id);
    return {
      ...deliveryObject(d),
      event: d.payload,
      attempts: attempts.map((a) => ({
        attempt_number: a.attemptNumber,
        started_at: a.startedAt.toISOString(),
        status_code: a.statusCode,
        latency_ms: a.latencyMs,
        error: a.error,
      })),
    };
  });

  app.post('/:id/deliveries/:deliveryId/redeliver', { schema: webhookRoutes.redeliver }, async (request, reply) => {
    const sub = await live(request.params.id);
    const original = await deliveryOf(sub, request.params.deliveryId);
    if (original.test) throw ApiError.conflict(`Delivery '${original.id}' was a test send; send another test instead`, 'deliveryId');
    requireEnabled(sub);
    return reply.code(201).send(deliveryObject(await redeliver(sub, original)));
  });

  /**
   * A test send: a sample event of the chosen type (a fresh event id, created now), signed and POSTed at once through
   * the delivery path and SSRF guard of real deliveries, and recorded in the delivery log as a test delivery with its
   * one attempt. Never retried, and it never changes the subscription (a 410 does not disable it); a disabled
   * subscription can be tested too.
   */
  app.post('/:id/test', { schema: webhookRoutes.test }, async (request) => {
    const sub = await live(request.params.id);
    const type = request.body?.event_type ?? WEBHOOK_EVENT_TYPES.find((t) => subscriptionMatches(sub.events, t)) ?? WEBHOOK_EVENT_TYPES[0];
    if (!isWebhookEventType(type)) {
      throw ApiError.badRequest(`Unknown event type '${type}'; expected one of ${WEBHOOK_EVENT_TYPES.join(', ')} (a composite names several)`, 'event_type');
    }
    const eventId = `${EVENT_ID_PREFIX}test_${randomBytes(12).toString('hex')}`;
    const sample = exampleEnvelope(type, eventId);
    const envelope = buildEnvelope({ eventId, type, creationTime: new Date().toISOString(), data: sample.data });
    const deliveryId = newDeliveryId();
    await repo.insertDelivery({ id: deliveryId, subscriptionId: sub.id, envelope, test: true });
    const r = await post({ url: sub.url, secret: sub.secret, envelope, startedMs: Date.now() });
    await repo.recordAttempt(attemptRow(deliveryId, 1, r));
    if (!r.succeeded) await repo.failDelivery(deliveryId, r.forbidden ? STOP_REASON.forbiddenTarget : STOP_REASON.testNotRetried, new Date());
    request.log.info({ webhookId: sub.id, deliveryId, eventId, type, status: r.status, succeeded: r.succeeded }, 'webhook test sent');
    return {
      object: 'webhook_test' as const,
      webhook_id: sub.id,
      delivery_id: deliveryId,
      event_id: eventId,
      event_type: type,
      succeeded: r.succeeded,
      status_code: r.status,
      latency_ms: r.latencyMs,
      error: r.error,
    };
  });

  app.post('/:id/recover', { schema: webhookRoutes.recover }, async (request) => {
    const sub = await live(request.params.id);
    requireEnabled(sub);
    const since = new Date(request.body.since);
    const failed = await repo.failedDeliveriesSince(sub.id, since);
    const ids: string[] = [];
    for (const d of failed) ids.push((await redeliver(sub, d)).id);
    return { object: 'webhook_recovery' as const, webhook_id: sub.id, since: since.toISOString(), delivery_ids: ids };
  });
};

export default webhooksPlugin;
