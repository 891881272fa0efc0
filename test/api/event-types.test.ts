/**
 * GET /v2/event-types (the webhook event catalog) and the OpenAPI document's `webhooks` section: every event type and
 * composite, each example valid against its own JSON Schema (checked with Ajv's JSON Schema 2020-12 draft, the one
 * OpenAPI 3.1 uses), and both generated from the schemas and payload code the engine uses.
 */
import { createRequire } from 'node:module';
import { COMPOSITE_TRIGGERS, WEBHOOK_EVENT_TYPES } from '../../src/domain/webhooks/events';
import { buildTestApp, TEST_API_KEY, type TestApp } from '../helpers/app';

// The Ajv Fastify itself compiles with (a 2020-12 capable v8), with its formats.
const fastifyRequire = createRequire(require.resolve('@fastify/ajv-compiler'));
const Ajv2020 = fastifyRequire('ajv/dist/2020').default as new (o: object) => { compile(s: unknown): ((d: unknown) => boolean) & { errors?: unknown } };
const addFormats = fastifyRequire('ajv-formats').default as (ajv: unknown) => void;

const auth = { 'api-key': TEST_API_KEY };
let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => {
  await t?.close();
});

interface EventTypeEntry {
  object: string;
  name: string;
  kind: 'event' | 'composite';
  description: string;
  includes: string[];
  schema: Record<string, unknown>;
  example: { id: string; type: string; data: Record<string, unknown> };
}

/** `{ const: x }` written as `{ enum: [x] }`, everywhere in a schema. */
function constAsEnum(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(constAsEnum);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === 'const') out.enum = [x];
    else out[k] = constAsEnum(x);
  }
  return out;
}

function validator(schema: unknown) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

test('lists every event type, then every composite, each with a description, a JSON Schema and an example that the schema accepts', async () => {
  const r = await t.app.inject({ method: 'GET', url: '/v2/event-types', headers: auth });
  expect(r.statusCode).toBe(200);
  const body = r.json() as { object: string; data: EventTypeEntry[]; has_more: boolean };
  expect(body.object).toBe('list');
  expect(body.has_more).toBe(false);
  expect(body.data.map((e) => e.name)).toEqual([...WEBHOOK_EVENT_TYPES, ...COMPOSITE_TRIGGERS]);
  for (const e of body.data) {
    expect(e.object).toBe('event_type');
    expect(e.description.length).toBeGreaterThan(10);
    const validate = validator(e.schema);
    if (!validate(e.example)) throw new Error(`${e.name}: example does not match its schema: ${JSON.stringify(validate.errors)}`);
    if (e.kind === 'event') {
      expect(e.includes).toEqual([e.name]);
      expect(e.example.type).toBe(e.name);
      expect(e.example.id).toMatch(/^EVNT-/);
      // The schema pins the type: another type's body is refused.
      const other = WEBHOOK_EVENT_TYPES.find((x) => x !== e.name && x.split('.')[0] === e.name.split('.')[0]) as string;
      expect(validate({ ...e.example, type: other })).toBe(false);
    } else {
      expect(e.includes).toEqual(WEBHOOK_EVENT_TYPES.filter((x) => x.startsWith(`${e.name}.`)));
      for (const member of body.data.filter((x) => e.includes.includes(x.name))) expect(validate(member.example)).toBe(true);
    }
  }
});

test('booking examples carry the booking object as the engine builds it: every form field, null or [] when empty', async () => {
  const body = (await t.app.inject({ method: 'GET', url: '/v2/event-types', headers: auth })).json() as { data: EventTypeEntry[] };
  const byName = new Map(body.data.map((e) => [e.name, e]));
  const expectedStatus: Record<string, string> = {
    'booking.scheduled': 'scheduled',
    'booking.rescheduled': 'rescheduled',
    'booking.reassigned': 'scheduled',
    'booking.canceled_then_rescheduled': 'rescheduled',
    'booking.canceled_reschedule_requested': 'canceled',
    'booking.canceled': 'canceled',
    'booking.completed': 'completed',
    'booking.no_show': 'no_show',
  };
  for (const [type, status] of Object.entries(expectedStatus)) {
    const data = byName.get(type)!.example.data;
    expect(data).toMatchObject({ object: 'booking', status });
    expect(Object.keys(data.form_submission as object)).toEqual(['name', 'email', 'phone', 'mobile_phone', 'company', 'note', 'guests', 'custom_fields']);
    expect(data.form_submission).toMatchObject({ phone: null, mobile_phone: null, guests: [], custom_fields: [] });
  }
  expect(byName.get('booking.canceled_then_rescheduled')!.example.data.rescheduled_booking_id).toMatch(/^BKNG-/);
  for (const type of ['conversation.started', 'conversation.closed', 'conversation.abandoned']) {
    expect(byName.get(type)!.example.data).toMatchObject({ object: 'conversation', status: type.split('.')[1] });
  }
  // A booking schema refuses a payload missing a form field: receivers can rely on the shape.
  const scheduled = byName.get('booking.scheduled')!;
  const { phone: _phone, ...form } = scheduled.example.data.form_submission as Record<string, unknown>;
  expect(validator(scheduled.schema)({ ...scheduled.example, data: { ...scheduled.example.data, form_submission: form } })).toBe(false);
});

test('needs the API key like every route', async () => {
  const r = await t.app.inject({ method: 'GET', url: '/v2/event-types' });
  expect(r.statusCode).toBe(401);
  expect(r.json()).toMatchObject({ type: 'authentication_error' });
});

describe('the OpenAPI document', () => {
  let doc: {
    openapi: string;
    paths: Record<string, Record<string, unknown>>;
    webhooks: Record<string, { post: { requestBody: { content: { 'application/json': { schema: { properties: { data: unknown } }; example: unknown } } }; parameters: { name: string }[] } }>;
    components: { schemas: Record<string, unknown> };
  };
  beforeAll(async () => {
    doc = (await t.app.inject({ method: 'GET', url: '/v2/openapi.json' })).json();
  });

  test('is OpenAPI 3.1 and describes every payload in its webhooks section, the same schema and example the catalog gives', async () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.webhooks)).toEqual([...WEBHOOK_EVENT_TYPES]);
    const catalog = (await t.app.inject({ method: 'GET', url: '/v2/event-types', headers: auth })).json() as { data: EventTypeEntry[] };
    for (const type of WEBHOOK_EVENT_TYPES) {
      const op = doc.webhooks[type].post;
      const { schema, example } = op.requestBody.content['application/json'];
      const entry = catalog.data.find((e) => e.name === type)!;
      // `data` refers to the payload schema kept once under components; resolved, it is the catalog's schema.
      const component = type.startsWith('booking.') ? 'BookingPayload' : 'ConversationPayload';
      expect(schema.properties.data).toEqual({ $ref: `#/components/schemas/${component}` });
      // (@fastify/swagger writes components' `const` as a one-value `enum`, the same constraint.)
      const resolved = { ...schema, properties: { ...schema.properties, data: doc.components.schemas[component] } };
      expect(constAsEnum(resolved)).toEqual(constAsEnum(entry.schema));
      expect(example).toEqual(entry.example);
      expect(op.parameters.map((p) => p.name)).toEqual(['Oncehub-Signature', 'webhook-id', 'webhook-timestamp', 'webhook-signature']);
    }
  });

  test('documents the test send and the catalog', () => {
    expect(Object.keys(doc.paths['/v2/webhooks/{id}/test'])).toEqual(['post']);
    expect(Object.keys(doc.paths['/v2/event-types'])).toEqual(['get']);
  });
});
