/** TypeBox schemas of the webhooks API: the webhook and delivery objects, bodies and per-route responses. */
import { Type, type Static } from '@sinclair/typebox';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_TRIGGERS } from '../../domain/webhooks/events';
import { CursorQuery, DateTime, IdParam, ListOf, Text, errorResponses } from './common';

// No schema enum: the route's own check names the unknown type and lists the valid ones, on param `events`.
const Trigger = Text({ minLength: 1, maxLength: 100, description: `One of: ${WEBHOOK_TRIGGERS.join(', ')}` });

/** The webhook (subscription) object; `secret` only in the answers of create and rotate-secret. */
export const Webhook = Type.Object(
  {
    object: Type.Literal('webhook'),
    id: Type.String({ description: 'WHK-…' }),
    api_version: Type.Literal('v2'),
    name: Type.String(),
    url: Type.String(),
    events: Type.Array(Type.String()),
    creation_time: Type.String({ format: 'date-time' }),
    enabled: Type.Boolean(),
    disabled_reason: Type.Optional(
      Type.String({ description: 'Why it is disabled: endpoint_gone, retries_exhausted or disabled_by_request' }),
    ),
  },
  { additionalProperties: false, title: 'Webhook' },
);
export type Webhook = Static<typeof Webhook>;

export const WebhookWithSecret = Type.Object(
  {
    ...Webhook.properties,
    secret: Type.String({ pattern: '^[0-9a-f]{32}$', description: 'Signing secret; shown only now' }),
  },
  { additionalProperties: false, title: 'WebhookWithSecret' },
);
export type WebhookWithSecret = Static<typeof WebhookWithSecret>;

export const CreateWebhook = Type.Object(
  {
    name: Text({ minLength: 1, maxLength: 200 }),
    url: Text({ minLength: 1, maxLength: 2048, description: 'https URL that receives the POSTs' }),
    events: Type.Array(Trigger, { minItems: 1, maxItems: 32 }),
  },
  { additionalProperties: false, title: 'CreateWebhook' },
);
export type CreateWebhook = Static<typeof CreateWebhook>;

const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]);
const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);

/** One delivery of one event to one webhook. */
export const WebhookDelivery = Type.Object(
  {
    object: Type.Literal('webhook_delivery'),
    id: Type.String({ description: 'DLVR-…' }),
    webhook_id: Type.String(),
    event_id: Type.String({ description: 'EVNT-…, the same on every retry and redelivery' }),
    event_type: Type.String(),
    status: DeliveryStatus,
    attempt_count: Type.Integer(),
    last_status_code: NullableInt,
    last_error: NullableString,
    failure_reason: NullableString,
    creation_time: Type.String({ format: 'date-time' }),
    last_updated_time: Type.String({ format: 'date-time' }),
    completion_time: NullableString,
    redelivery_of: NullableString,
    test: Type.Boolean({ description: 'A test send (POST /v2/webhooks/{id}/test): one attempt, never retried or redelivered' }),
  },
  { additionalProperties: false, title: 'WebhookDelivery' },
);
export type WebhookDelivery = Static<typeof WebhookDelivery>;

export const DeliveryAttempt = Type.Object(
  {
    attempt_number: Type.Integer(),
    started_at: Type.String({ format: 'date-time' }),
    status_code: NullableInt,
    latency_ms: Type.Integer(),
    error: NullableString,
  },
  { additionalProperties: false, title: 'WebhookDeliveryAttempt' },
);

/** The envelope as it was (and is) sent. */
export const EventEnvelope = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('event'),
    creation_time: Type.String(),
    type: Type.String(),
    api_version: Type.String(),
    data: Type.Unknown(),
  },
  { additionalProperties: false, title: 'WebhookEvent' },
);

export const WebhookDeliveryDetail = Type.Object(
  { ...WebhookDelivery.properties, event: EventEnvelope, attempts: Type.Array(DeliveryAttempt) },
  { additionalProperties: false, title: 'WebhookDeliveryDetail' },
);
export type WebhookDeliveryDetail = Static<typeof WebhookDeliveryDetail>;

export const WebhookIdParam = IdParam('WHK-');

export const DeliveryParams = Type.Object(
  {
    id: WebhookIdParam.properties.id,
    deliveryId: Type.String({ pattern: '^DLVR-[A-Za-z0-9_-]{1,64}$' }),
  },
  { additionalProperties: false },
);

export const DeliveriesQuery = Type.Object(
  { ...CursorQuery.properties, status: Type.Optional(DeliveryStatus) },
  { additionalProperties: false },
);

export const RecoverBody = Type.Object(
  { since: DateTime('Redeliver failed deliveries created at or after this time (RFC 3339)') },
  { additionalProperties: false, title: 'RecoverWebhook' },
);

export const Recovery = Type.Object(
  {
    object: Type.Literal('webhook_recovery'),
    webhook_id: Type.String(),
    since: Type.String({ format: 'date-time' }),
    delivery_ids: Type.Array(Type.String(), { description: 'The new deliveries, one per failed delivery redelivered' }),
  },
  { additionalProperties: false, title: 'WebhookRecovery' },
);

export const TestWebhookBody = Type.Object(
  {
    event_type: Type.Optional(
      Text({
        minLength: 1,
        maxLength: 100,
        description: `The sample event's type, one of: ${WEBHOOK_EVENT_TYPES.join(', ')}. Default: the first type the subscription receives`,
      }),
    ),
  },
  { additionalProperties: false, title: 'TestWebhook' },
);

/** The outcome of a test send: the attempt as the delivery log records it. */
export const WebhookTestResult = Type.Object(
  {
    object: Type.Literal('webhook_test'),
    webhook_id: Type.String(),
    delivery_id: Type.String({ description: 'DLVR-…: the test delivery in the delivery log (test: true)' }),
    event_id: Type.String({ description: 'EVNT-…: the sample event, also sent as the webhook-id header' }),
    event_type: Type.String(),
    succeeded: Type.Boolean({ description: 'The receiver answered 2xx' }),
    status_code: NullableInt,
    latency_ms: Type.Integer(),
    error: NullableString,
  },
  { additionalProperties: false, title: 'WebhookTestResult' },
);
export type WebhookTestResult = Static<typeof WebhookTestResult>;

export const DeletedWebhook = Type.Object({ id: Type.String(), deleted: Type.Literal(true) }, { additionalProperties: false, title: 'DeletedWebhook' });

const e = errorResponses;
const tags = ['webhooks'];

/** Route schemas, each declaring exactly the statuses its route can answer. */
export const webhookRoutes = {
  create: {
    tags,
    summary: 'Create a webhook subscription (the answer is the only time the secret is shown)',
    body: CreateWebhook,
    response: { 201: WebhookWithSecret, 400: e[400], 401: e[401], 409: e[409], 500: e[500] },
  },
  list: {
    tags,
    summary: 'List webhook subscriptions, newest first',
    querystring: CursorQuery,
    response: { 200: ListOf(Webhook), 400: e[400], 401: e[401], 500: e[500] },
  },
  get: {
    tags,
    summary: 'Retrieve a webhook subscription',
    params: WebhookIdParam,
    response: { 200: Webhook, 400: e[400], 401: e[401], 404: e[404], 500: e[500] },
  },
  delete: {
    tags,
    summary: 'Delete a webhook subscription (pending deliveries stop)',
    params: WebhookIdParam,
    response: { 200: DeletedWebhook, 400: e[400], 401: e[401], 404: e[404], 500: e[500] },
  },
  disable: {
    tags,
    summary: 'Disable a webhook subscription: no new deliveries, pending ones stop',
    params: WebhookIdParam,
    response: { 200: Webhook, 400: e[400], 401: e[401], 404: e[404], 500: e[500] },
  },
  enable: {
    tags,
    summary: 'Enable a webhook subscription again (also after 410 Gone or 72 hours of failures)',
    params: WebhookIdParam,
    response: { 200: Webhook, 400: e[400], 401: e[401], 404: e[404], 500: e[500] },
  },
  rotateSecret: {
    tags,
    summary: 'Replace the signing secret; the answer is the only time the new one is shown',
    params: WebhookIdParam,
    response: { 200: WebhookWithSecret, 400: e[400], 401: e[401], 404: e[404], 500: e[500] },
  },
  listDeliveries: {
    tags,
    summary: "List a webhook's deliveries, newest first",
    params: WebhookIdParam,
    querystring: DeliveriesQuery,
    response: { 200: ListOf(WebhookDelivery), 400: e[400], 401: e[401], 404: e[404], 500: e[500] },
  },
  getDelivery: {
    tags,
    summary: 'Retrieve a delivery with the event sent and every attempt',
    params: DeliveryParams,
    response: { 200: WebhookDeliveryDetail, 400: e[400], 401: e[401], 404: e[404], 500: e[500] },
  },
  redeliver: {
    tags,
    summary: 'Send a delivery again: a new delivery of the same event (same event id) on a fresh schedule',
    params: DeliveryParams,
    response: { 201: WebhookDelivery, 400: e[400], 401: e[401], 404: e[404], 409: e[409], 500: e[500] },
  },
  test: {
    tags,
    summary:
      'Send a signed sample event to the subscription now, through the delivery path and SSRF guard of real deliveries; ' +
      'recorded in the delivery log as a test (one attempt, never retried); answers with the attempt',
    params: WebhookIdParam,
    body: TestWebhookBody,
    response: { 200: WebhookTestResult, 400: e[400], 401: e[401], 404: e[404], 500: e[500] },
  },
  recover: {
    tags,
    summary: 'Redeliver every failed delivery created since a time (each at most once)',
    params: WebhookIdParam,
    body: RecoverBody,
    response: { 200: Recovery, 400: e[400], 401: e[401], 404: e[404], 409: e[409], 500: e[500] },
  },
} as const;
