/**
 * One error mapper for the whole API: schema failures → 400, Temporal's not-found → 404, an id already
 * started → 409, a rejected update → 409, everything else → 500 with the message hidden and logged.
 * Every error body is `{ type, message, param? }`.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { WorkflowNotFoundError } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { ErrorBody } from '../schemas/common';

/** An error a handler throws on purpose; its message goes to the client as is. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly type: ErrorBody['type'],
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
  static badRequest(message: string, param?: string) {
    return new ApiError(400, 'invalid_request_error', message, param);
  }
  static notFound(message: string, param = 'id') {
    return new ApiError(404, 'invalid_request_error', message, param);
  }
  static conflict(message: string, param?: string) {
    return new ApiError(409, 'invalid_request_error', message, param);
  }
}

export function sendError(reply: FastifyReply, status: number, body: ErrorBody) {
  return reply.code(status).type('application/json').send(body);
}

function paramFromValidation(err: FastifyError): string | undefined {
  const v = err.validation?.[0];
  if (!v) return undefined;
  const missing = (v.params as { missingProperty?: string; additionalProperty?: string } | undefined) ?? {};
  const fromPath = v.instancePath?.split('/').filter(Boolean).join('.');
  return missing.missingProperty ?? missing.additionalProperty ?? (fromPath || undefined);
}

export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ApiError) {
      return sendError(reply, err.statusCode, { type: err.type, message: err.message, ...(err.param ? { param: err.param } : {}) });
    }
    if (err.validation) {
      const param = paramFromValidation(err);
      const v = err.validation[0];
      const additional = (v?.params as { additionalProperty?: string } | undefined)?.additionalProperty;
      const message = additional ? `Unknown field '${additional}' in ${err.validationContext}` : `Invalid ${err.validationContext}: ${err.message}`;
      return sendError(reply, 400, { type: 'invalid_request_error', message, ...(param ? { param } : {}) });
    }
    if (err instanceof WorkflowNotFoundError) {
      return sendError(reply, 404, { type: 'invalid_request_error', message: `No such resource: '${err.workflowId ?? ''}'`, param: 'id' });
    }
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      return sendError(reply, 409, { type: 'invalid_request_error', message: `'${err.workflowId}' already exists`, param: 'id' });
    }
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause as Error | undefined;
      return sendError(reply, 409, { type: 'invalid_request_error', message: cause?.message ?? err.message });
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Fastify's own 4xx (bad JSON, body too large, wrong content type): the message is safe to show.
      const type = status === 429 ? 'rate_limit_error' : status === 401 ? 'authentication_error' : 'invalid_request_error';
      return sendError(reply, status, { type, message: err.message });
    }
    request.log.error({ err }, 'unhandled error');
    return sendError(reply, 500, { type: 'api_error', message: 'Internal error; it has been logged.' });
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, { type: 'invalid_request_error', message: `No route for ${request.method} ${request.url.split('?')[0]}` }),
  );
}
