/**
 * One error mapper for the whole API: schema failures → 400, Temporal's not-found → 404, an id already
 * started → 409, a rejected update → 409, Temporal unreachable or timed out → 503 with Retry-After, everything
 * else → 500 with the message hidden and logged.
 * Every error body is `{ type, message, param? }`: also Fastify's own (bad URL, 503 while closing) and those
 * Node's HTTP parser raises before a request exists (431, bad header bytes), answered on the socket.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WorkflowNotFoundError } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { isTemporalUnavailable } from '../../temporal/unavailable';
import { NO_CONTROL_CHARACTERS, type ErrorBody } from '../schemas/common';

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

/** The schema error, in words a client can act on (the raw pattern or format name says little). */
function validationMessage(err: FastifyError): string {
  const v = err.validation?.[0];
  const where = `${err.validationContext ?? 'request'}${v?.instancePath ?? ''}`;
  const params = (v?.params ?? {}) as { pattern?: string; format?: string };
  if (v?.keyword === 'pattern' && params.pattern === NO_CONTROL_CHARACTERS) {
    return `Invalid ${err.validationContext}: ${where} must not contain control characters (U+0000–U+001F, U+007F–U+009F)`;
  }
  if (v?.keyword === 'format' && params.format === 'date-time') {
    return `Invalid ${err.validationContext}: ${where} must be an RFC 3339 date-time with seconds 00–59 on a real calendar day, e.g. 2026-12-01T15:00:00Z`;
  }
  return `Invalid ${err.validationContext}: ${err.message}`;
}

/** Fastify's `frameworkErrors` option: a bad URL (invalid percent-encoding) or a path parameter too long. */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  return sendError(reply, status, { type: 'invalid_request_error', message: err.message });
}

/** The header whose line holds the byte the parser stopped at, when it can be told. */
function headerAt(rawPacket: unknown, bytesParsed: number | undefined): string | undefined {
  if (!Buffer.isBuffer(rawPacket) || bytesParsed === undefined) return undefined;
  const upTo = rawPacket.subarray(0, bytesParsed).toString('latin1');
  const lineStart = upTo.lastIndexOf('\n') + 1;
  if (lineStart === 0) return undefined;
  return /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):/.exec(upTo.slice(lineStart))?.[1];
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before there is a request (headers over
 * the size limit, a NUL or bare CR in a header, a bad method, a request timeout) gets the API's error body
 * on the raw socket, which is then closed. Status codes are Node's own: 431, 413, 408, else 400.
 */
export function clientErrorHandler(this: FastifyInstance, connectionError: ConnectionError, socket: Socket) {
  // At run time rawPacket is the Buffer the parser stopped in (Fastify's type shows its JSON form).
  const err = connectionError as Omit<ConnectionError, 'rawPacket'> & { reason?: string; rawPacket?: unknown };
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let message = `Malformed HTTP request: ${err.reason ?? 'the request could not be parsed'}`;
  let param: string | undefined;
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    message = `Request header fields too large: at most ${http.maxHeaderSize} bytes of headers`;
  } else if (err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') {
    status = 413;
    message = 'Chunk extensions too large';
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    message = 'The request took too long to arrive';
  } else if (err.code === 'HPE_INVALID_HEADER_TOKEN' || err.code === 'HPE_LF_EXPECTED' || err.code === 'HPE_CR_EXPECTED') {
    param = headerAt(err.rawPacket, err.bytesParsed);
    if (param) message = `Malformed HTTP request: header '${param}': ${err.reason ?? 'invalid character'}`;
  }
  this.log.debug({ err }, 'HTTP parser refused a request');
  // As Node does: never write into a response that has already started on this socket.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify({ type: 'invalid_request_error', message, ...(param ? { param } : {}) } satisfies ErrorBody);
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

export function registerErrorHandling(app: FastifyInstance) {
  // Fastify's own 503 while closing is not in the API's shape; buildApp turns it off (return503OnClosing) for this.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    return sendError(reply, 503, { type: 'api_error', message: 'The server is shutting down; retry the request' });
  });
  // Node answers an unknown `Expect` with a bare 417; answer it in the API's shape instead.
  app.server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const body = JSON.stringify({ type: 'invalid_request_error', message: `Unsupported Expect header: '${(req.headers.expect ?? '').slice(0, 100)}'`, param: 'Expect' });
    res.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.end(body);
  });
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ApiError) {
      // A 5xx we answer on purpose (an unreadable booking) still has a cause worth a log line.
      if (err.statusCode >= 500) request.log.error({ err, cause: err.cause }, err.message);
      return sendError(reply, err.statusCode, { type: err.type, message: err.message, ...(err.param ? { param: err.param } : {}) });
    }
    if (err.validation) {
      const param = paramFromValidation(err);
      const v = err.validation[0];
      const additional = (v?.params as { additionalProperty?: string } | undefined)?.additionalProperty;
      const message = additional ? `Unknown field '${additional}' in ${err.validationContext}` : validationMessage(err);
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
    if (isTemporalUnavailable(err)) {
      request.log.error({ err }, 'Temporal unavailable');
      reply.header('retry-after', '5');
      return sendError(reply, 503, {
        type: 'api_error',
        message: 'Temporal could not be reached or did not answer in time; retry the request (with the same Idempotency-Key, if it had one)',
      });
    }
    request.log.error({ err }, 'unhandled error');
    return sendError(reply, 500, { type: 'api_error', message: 'Internal error; it has been logged.' });
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, { type: 'invalid_request_error', message: `No route for ${request.method} ${request.url.split('?')[0]}` }),
  );
}
