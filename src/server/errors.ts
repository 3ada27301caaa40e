import type { FastifyError, FastifyInstance } from 'fastify';
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
    reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({
      error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` },
    });
  });
}
