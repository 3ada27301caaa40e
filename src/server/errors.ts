import type { Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyHttpOptions, FastifyInstance, FastifyReply } from 'fastify';
import { ERRORS, type ErrorCode, XmodalError } from '../errors.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** The framework's own 4xx errors, by Fastify code, as ours. */
const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_VALIDATION: 'BAD_ARGUMENT',
  FST_ERR_CTP_BODY_TOO_LARGE: 'INPUT_TOO_LARGE',
  FST_REQ_FILE_TOO_LARGE: 'INPUT_TOO_LARGE',
  FST_FILES_LIMIT: 'INPUT_TOO_LARGE',
  FST_PARTS_LIMIT: 'INPUT_TOO_LARGE',
  FST_FIELDS_LIMIT: 'INPUT_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_FORMAT',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_FORMAT',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_INPUT',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_INPUT',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_INPUT',
  FST_PROTO_VIOLATION: 'BAD_INPUT',
};

function statusOf(error: FastifyError): number | undefined {
  const status = error.statusCode ?? (error as { status?: number }).status;
  return typeof status === 'number' ? status : undefined;
}

/** Any error as `{status, body}`: our codes through the ERRORS table, the framework's 4xx by code, the rest 500. */
export function errorResponse(error: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (error instanceof XmodalError) {
    return {
      status: error.httpStatus,
      body: { error: { code: error.code, message: error.message } },
      internal: error.httpStatus >= 500,
    };
  }
  const fastifyError = error as FastifyError;
  const mapped = fastifyError?.code ? FRAMEWORK_CODES[fastifyError.code] : undefined;
  const status = statusOf(fastifyError);
  if (mapped || (status !== undefined && status >= 400 && status < 500)) {
    const code = mapped ?? (status === 401 ? 'UNAUTHORIZED' : status === 404 ? 'NOT_FOUND' : 'BAD_INPUT');
    const httpStatus = status !== undefined && status >= 400 && status < 500 ? status : ERRORS[code].http;
    return { status: httpStatus, body: { error: { code, message: fastifyError.message } }, internal: false };
  }
  // Internal details stay in the log; the client learns only that it was not its fault.
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'internal server error' } },
    internal: true,
  };
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const { status, body, internal } = errorResponse(error);
    if (internal) request.log.error({ err: error }, 'request failed');
    // A body refused half-way is read on and discarded (memory stays flat; the request limit still applies),
    // so that the client, still sending, gets this answer and the connection its next request.
    if (!request.raw.complete) request.raw.unpipe().resume();
    reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({
      error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` },
    });
  });
}

/** Errors Node's HTTP parser raises before Fastify sees a request, as our code, status and message. */
function clientError(error: NodeJS.ErrnoException, requestTimeoutMs: number): [ErrorCode, number, string] {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return ['REQUEST_TIMEOUT', 408, `the request did not arrive within ${requestTimeoutMs / 1000} s`];
  if (error.code === 'HPE_HEADER_OVERFLOW')
    return ['INPUT_TOO_LARGE', 431, 'the request headers are too large'];
  return ['BAD_INPUT', 400, 'malformed HTTP request'];
}

/**
 * The server-wide settings that keep errors raised outside any route (a bad URL, a request too slow to
 * arrive, a broken HTTP message) in our error shape, and that make the request limit fire on time: Node
 * checks request deadlines every 30 s unless told otherwise, so a 60 s limit fired anywhere up to 90 s.
 */
export function frameworkErrorSettings(requestTimeoutMs: number): FastifyHttpOptions<Server> {
  return {
    requestTimeout: requestTimeoutMs,
    http: {
      connectionsCheckingInterval: Math.min(1000, Math.max(50, requestTimeoutMs / 10)),
      headersTimeout: Math.min(60_000, requestTimeoutMs),
    },
    frameworkErrors: (error, _request, anyReply) => {
      // The option's reply type is generic over route schemas that framework errors never have.
      const reply = anyReply as unknown as FastifyReply;
      if (error.code === 'FST_ERR_BAD_URL') {
        const message = error.message.replace(
          /is not a valid url component/,
          'is not a valid URL (bad %-encoding)',
        );
        return reply.status(400).send({ error: { code: 'BAD_INPUT', message } });
      }
      const { status, body } = errorResponse(error);
      reply.status(status).send(body);
    },
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const [code, status, message] = clientError(error, requestTimeoutMs);
      const body = JSON.stringify({ error: { code, message } });
      if (socket.writable)
        socket.write(
          `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
            `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
        );
      socket.destroy(error);
    },
  };
}
