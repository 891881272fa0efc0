/**
 * buildApp(deps): the HTTP API as a Fastify instance, not yet listening. Route groups are plugins under
 * src/api/routes/; their schemas feed both validation and the OpenAPI document at /v2/openapi.json. /healthz and
 * /readyz answer without an API key; every answer is counted in the API's metrics (src/observability/).
 */
import Fastify, { type FastifyBaseLogger } from 'fastify';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorBody } from './api/schemas/common';
import { registerAuth } from './api/plugins/auth';
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './api/plugins/errors';
import { registerJsonBodyParser } from './api/plugins/json-body';
import { schemaController } from './api/plugins/validation';
import type { AppDeps, FastifyTypebox } from './api/types';
import { routeGroups } from './api/routes';
import { openApiWebhooks, PAYLOAD_COMPONENTS } from './webhooks/catalog';
import { registerHttpMetrics } from './observability/api-metrics';
import { HEALTH_PATHS, registerHealthRoutes } from './observability/health';
import { registerRequestLogIds } from './observability/log-correlation';
import { registerRequestSpanNames } from './observability/tracing';

export const OPENAPI_PATH = '/v2/openapi.json';

/** Logger options shared by the API and worker: secrets and keys never reach a log line. */
export const REDACT_PATHS = ['req.headers["api-key"]', 'req.headers.authorization', '*.secret', '*.accessToken', '*.refreshToken', '*.clientSecret'];

export interface BuildAppOptions {
  /** false silences the request log (tests); an existing pino logger is reused (the embedded default). */
  logger?: boolean | FastifyBaseLogger;
}

export async function buildApp(deps: AppDeps, opts: BuildAppOptions = {}): Promise<FastifyTypebox> {
  const loggerOpts =
    opts.logger === undefined || opts.logger === true
      ? { logger: { level: deps.config.logLevel, redact: REDACT_PATHS } }
      : opts.logger === false
        ? { logger: false }
        : { loggerInstance: opts.logger };
  const app = Fastify({
    bodyLimit: deps.config.api.bodyLimitBytes,
    ...loggerOpts,
    // Bodies are validated without type coercion, query strings with it (src/api/plugins/validation.ts).
    schemaController: schemaController(),
    // Every error in the API's {type, message, param} shape, the framework's and the HTTP parser's included.
    frameworkErrors,
    clientErrorHandler,
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('deps', deps);
  app.addSchema(ErrorBody);
  registerErrorHandling(app);
  registerJsonBodyParser(app);
  // First, so every answer is counted, the authentication layer's 401s included.
  registerHttpMetrics(app);
  // The booking's (or subscription's) id on the request's log lines; with tracing on, the span named after the route.
  registerRequestLogIds(app);
  registerRequestSpanNames(app);
  registerAuth(app, deps.config.api.apiKeys, [OPENAPI_PATH, ...HEALTH_PATHS]);

  await app.register(swagger, {
    openapi: {
      // 3.1: the `webhooks` section describes every POST the engine sends (src/webhooks/catalog.ts).
      openapi: '3.1.0',
      info: { title: 'Booking lifecycle engine API', version: '2.0.0' },
      components: {
        securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'API-Key' } },
        // The webhook payloads, once; the `webhooks` section refers to them.
        schemas: JSON.parse(JSON.stringify(PAYLOAD_COMPONENTS)) as Record<string, unknown>,
      },
      security: [{ apiKey: [] }],
      webhooks: openApiWebhooks(),
    } as Record<string, unknown>,
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (json.$id as string) ?? `def-${i}` },
  });

  for (const group of routeGroups) await app.register(group.plugin, { prefix: group.prefix });

  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
  registerHealthRoutes(app);
  await app.ready();
  return app;
}
