/**
 * The error model of Chrono Backup. Every failure that crosses a module boundary is a BackupError with a
 * stable dotted `code`, a `retryable` flag that drivers use for retries (ASL Retry, CLI backoff), and an
 * optional `cause`. Drivers map the subclasses in one table each (HTTP status, CLI exit code).
 *
 * Messages must never contain credentials, connection strings with passwords, or key material.
 */
export interface BackupErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  /** Machine-readable details (field names, ids); never secrets. */
  details?: Record<string, unknown>;
}

export class BackupError extends Error {
  override readonly name: string = 'BackupError';
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: BackupErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

/** Bad input: a field, argument or configuration value is invalid. `details.field` names it. */
export class ValidationError extends BackupError {
  override readonly name = 'ValidationError';
  constructor(message: string, field?: string, options: BackupErrorOptions = {}) {
    super('validation.invalid', message, { ...options, details: { ...options.details, ...(field ? { field } : {}) } });
  }
}

export class NotFoundError extends BackupError {
  override readonly name = 'NotFoundError';
  constructor(what: string, id: string, options: BackupErrorOptions = {}) {
    super('not_found', `${what} not found: ${id}`, { ...options, details: { ...options.details, what, id } });
  }
}

export class ConflictError extends BackupError {
  override readonly name = 'ConflictError';
  constructor(code: string, message: string, options: BackupErrorOptions = {}) {
    super(`conflict.${code}`, message, options);
  }
}

/** A source (database, cache, file tree) could not be read or a target could not be written. */
export class SourceError extends BackupError {
  override readonly name = 'SourceError';
  constructor(code: string, message: string, options: BackupErrorOptions = {}) {
    super(`source.${code}`, message, options);
  }
}

/** A storage backend failed. Transient failures are retryable. */
export class StorageError extends BackupError {
  override readonly name = 'StorageError';
  constructor(code: string, message: string, options: BackupErrorOptions = {}) {
    super(`storage.${code}`, message, options);
  }
}

/** Data failed authentication or a checksum: the repository or a restore target holds damaged data. */
export class IntegrityError extends BackupError {
  override readonly name = 'IntegrityError';
  constructor(code: string, message: string, options: BackupErrorOptions = {}) {
    super(`integrity.${code}`, message, options);
  }
}

/** The key could not be obtained or does not open the repository (wrong passphrase, missing key file). */
export class KeyAccessError extends BackupError {
  override readonly name = 'KeyAccessError';
  constructor(code: string, message: string, options: BackupErrorOptions = {}) {
    super(`key.${code}`, message, options);
  }
}

/** The repository is locked by another operation that conflicts with this one. */
export class LockedError extends BackupError {
  override readonly name = 'LockedError';
  constructor(message: string, options: BackupErrorOptions = {}) {
    super('locked', message, { retryable: true, ...options });
  }
}

export class ForbiddenError extends BackupError {
  override readonly name = 'ForbiddenError';
  constructor(message: string, options: BackupErrorOptions = {}) {
    super('forbidden', message, options);
  }
}

/** The service cannot take the request now (shutting down, overloaded); try again later. */
export class ServiceUnavailableError extends BackupError {
  override readonly name = 'ServiceUnavailableError';
  constructor(message: string, options: BackupErrorOptions = {}) {
    super('unavailable', message, { retryable: true, ...options });
  }
}

/** Wraps anything thrown into a BackupError without leaking its message when it may carry secrets. */
export function asBackupError(error: unknown): BackupError {
  if (error instanceof BackupError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BackupError('internal', message, { cause: error });
}
