import { BackupError, ConflictError, ForbiddenError, IntegrityError, KeyAccessError, LockedError, NotFoundError, SourceError, StorageError, ValidationError } from '../domain/errors.js';

/** The CLI's exit codes: the one table that maps the error model to processes. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** The run completed but skipped some entries (unreadable files). */
  partial: 3,
  notFound: 4,
  integrity: 5,
  keyAccess: 6,
  locked: 7,
  storage: 8,
  conflict: 9,
  source: 10,
  forbidden: 11,
} as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof ValidationError) return EXIT.usage;
  if (error instanceof NotFoundError) return EXIT.notFound;
  if (error instanceof IntegrityError) return EXIT.integrity;
  if (error instanceof KeyAccessError) return EXIT.keyAccess;
  if (error instanceof LockedError) return EXIT.locked;
  if (error instanceof StorageError) return EXIT.storage;
  if (error instanceof ConflictError) return EXIT.conflict;
  if (error instanceof SourceError) return EXIT.source;
  if (error instanceof ForbiddenError) return EXIT.forbidden;
  if (error instanceof BackupError) return EXIT.failure;
  return EXIT.failure;
}
