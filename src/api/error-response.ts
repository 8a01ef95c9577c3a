import { BackupError, asBackupError } from '../domain/errors.js';
import type { Logger } from '../ports/logger.js';
import type { ApiResponse } from './api-types.js';

/** One field that failed validation. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * The one error body of the API: `{"error": {"code", "message", "fields"?, "details"?}}`. `code` is the
 * domain error's stable code; `fields` lists every bad field of a request that failed validation.
 */
export interface ErrorBody {
  error: { code: string; message: string; fields?: FieldProblem[]; details?: Record<string, unknown> };
}

/** Raised by the API layer itself for problems that are not the domain's (unknown route, bad method). */
export class HttpError extends BackupError {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    code: string,
    message: string,
    options: { fields?: FieldProblem[]; details?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(code, message, { details: { ...options.details, ...(options.fields ? { fields: options.fields } : {}) } });
    this.headers = options.headers;
  }
  readonly headers: Record<string, string> | undefined;
}

/** The HTTP status of each domain error class, by name (one table; see ARCHITECTURE.md "Errors"). */
const STATUS_BY_ERROR: Readonly<Record<string, number>> = {
  ValidationError: 400,
  AuthenticationError: 401,
  TooManyAttemptsError: 429,
  ForbiddenError: 403,
  NotFoundError: 404,
  ConflictError: 409,
  LockedError: 409,
  SourceError: 502,
  StorageError: 503,
  ServiceUnavailableError: 503,
  KeyAccessError: 500,
  IntegrityError: 500,
};

/** Details that are safe and useful to clients; anything else stays in the log. */
const PUBLIC_DETAILS = ['field', 'id', 'what', 'retryAfterSeconds'];

export function errorResponse(error: unknown, logger?: Logger): ApiResponse {
  if (error instanceof HttpError) {
    const fields = error.details?.fields as FieldProblem[] | undefined;
    return { status: error.status, headers: error.headers ?? {}, body: body(error.code, error.message, fields, publicDetails(error.details)) };
  }
  const failure = asBackupError(error);
  const status = STATUS_BY_ERROR[failure.name] ?? 500;
  if (status === 500) {
    // Unexpected failures are logged with their code; the client gets no internals.
    logger?.error('request failed', { code: failure.code, error: failure.message });
    return { status, body: body(failure.code === 'internal' ? 'internal' : failure.code, 'the server could not complete the request; see the server log') };
  }
  const details = publicDetails(failure.details);
  const field = typeof details?.field === 'string' ? details.field : undefined;
  const headers: Record<string, string> = typeof details?.retryAfterSeconds === 'number' ? { 'retry-after': String(details.retryAfterSeconds) } : {};
  if (status === 401) headers['www-authenticate'] = 'Bearer';
  return { status, headers, body: body(failure.code, failure.message, field ? [{ field, message: failure.message }] : undefined, details) };
}

function body(code: string, message: string, fields?: FieldProblem[], details?: Record<string, unknown>): ErrorBody {
  return { error: { code, message, ...(fields && fields.length > 0 ? { fields } : {}), ...(details && Object.keys(details).length > 0 ? { details } : {}) } };
}

function publicDetails(details: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (details === undefined) return undefined;
  const kept = Object.fromEntries(Object.entries(details).filter(([key]) => PUBLIC_DETAILS.includes(key)));
  return Object.keys(kept).length > 0 ? kept : undefined;
}
