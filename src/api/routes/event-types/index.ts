/**
 * /v2/event-types: the webhook event catalog. Every event type and composite with a description, the JSON Schema of
 * its POST body and an example, generated from the payload schemas and the engine's own payload code
 * (src/webhooks/catalog.ts). Built once: it depends on nothing but the code.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { eventTypeRoutes } from '../../schemas/events';
import { eventCatalog } from '../../../webhooks/catalog';

const eventTypesPlugin: FastifyPluginAsyncTypebox = async (app) => {
  const catalog = eventCatalog();
  app.get('', { schema: eventTypeRoutes.list }, async () => ({ object: 'list' as const, data: catalog, has_more: false }));
};

export default eventTypesPlugin;
