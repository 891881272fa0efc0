/**
 * buildApp(deps): the HTTP API as a Fastify instance, not yet listening. Route groups are plugins under
 * src/api/routes/; their schemas feed both validation and the OpenAPI document at /v2/openapi.json.
 */
import Fastify, { type FastifyBaseLogger } from 'fastify';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorBody, isIanaTimezone } from './api/schemas/common';
import { registerAuth } from './api/plugins/auth';
import { registerErrorHandling } from './api/plugins/errors';
import { registerJsonBodyParser } from './api/plugins/json-body';
import type { AppDeps, FastifyTypebox } from './api/types';
import { routeGroups } from './api/routes';

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
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
      plugins: [
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        (ajv: any) => {
          ajv.addFormat('iana-timezone', isIanaTimezone);
          ajv.addFormat('date-time', (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)));
          ajv.addFormat('email', (s: string) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s));
          ajv.addFormat('uri', (s: string) => {
            try {
              new URL(s);
              return true;
            } catch {
              return false;
            }
          });
          return ajv;
        },
      ],
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('deps', deps);
  app.addSchema(ErrorBody);
  registerErrorHandling(app);
  registerJsonBodyParser(app);
  registerAuth(app, deps.config.api.apiKeys, [OPENAPI_PATH]);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Booking lifecycle engine API', version: '2.0.0' },
      components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'API-Key' } } },
      security: [{ apiKey: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (json.$id as string) ?? `def-${i}` },
  });

  for (const group of routeGroups) await app.register(group.plugin, { prefix: group.prefix });

  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
  await app.ready();
  return app;
}
