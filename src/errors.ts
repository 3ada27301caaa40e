// One table of error codes: the CLI maps a code to an exit code, the server to an HTTP status.
// Callers throw `xmodalError(code, message)`; nothing translates messages.

export const ERRORS = {
  BAD_ARGUMENT: { http: 400, exit: 2 },
  BAD_INPUT: { http: 400, exit: 3 },
  UNSUPPORTED_FORMAT: { http: 415, exit: 3 },
  INPUT_TOO_LARGE: { http: 413, exit: 3 },
  FILE_NOT_FOUND: { http: 404, exit: 4 },
  NOT_FOUND: { http: 404, exit: 4 },
  MODEL_NOT_FOUND: { http: 404, exit: 5 },
  MODEL_INVALID: { http: 422, exit: 5 },
  MODALITY_UNSUPPORTED: { http: 422, exit: 5 },
  SEPARATE_SPACES: { http: 422, exit: 5 },
  OFFLINE: { http: 503, exit: 5 },
  DIMENSION_MISMATCH: { http: 409, exit: 6 },
  ENCODER_MISMATCH: { http: 409, exit: 6 },
  STORE_ERROR: { http: 500, exit: 7 },
  CONFLICT: { http: 409, exit: 6 },
  UNAUTHORIZED: { http: 401, exit: 8 },
  REQUEST_TIMEOUT: { http: 408, exit: 9 },
  UPSTREAM_ERROR: { http: 502, exit: 9 },
  INTERNAL: { http: 500, exit: 1 },
} as const satisfies Record<string, { http: number; exit: number }>;

export type ErrorCode = keyof typeof ERRORS;

export class XmodalError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'XmodalError';
    this.code = code;
  }
  get httpStatus(): number {
    return ERRORS[this.code].http;
  }
  get exitCode(): number {
    return ERRORS[this.code].exit;
  }
}

export function xmodalError(code: ErrorCode, message: string, cause?: unknown): XmodalError {
  return new XmodalError(code, message, cause === undefined ? undefined : { cause });
}

/** The one way to read any thrown value's message. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Any thrown value as an XmodalError: unknown errors become INTERNAL with their message kept. */
export function asXmodalError(error: unknown): XmodalError {
  if (error instanceof XmodalError) return error;
  return new XmodalError('INTERNAL', errorMessage(error), { cause: error });
}
