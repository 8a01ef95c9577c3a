import type Database from 'better-sqlite3';

import { BackupError, StorageError, ValidationError } from '../domain/errors.js';

/**
 * The plumbing every SQLite-backed store shares: a cached prepared statement per SQL text, and
 * {@link SqliteStore.guard}, which turns a synchronous driver call into a promise and driver errors
 * into domain errors. The catalog and its sibling stores (users, schedules, audit trail, alert state)
 * extend it and share one connection, so one file and one migration sequence hold everything.
 */
export abstract class SqliteStore {
  private readonly statements = new Map<string, Database.Statement>();

  protected constructor(protected readonly db: Database.Database) {}

  /** Prepared statements are cached: filters produce a handful of distinct SQL texts. */
  protected statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs a synchronous database operation as a promise, translating SQLite errors into domain errors. */
  protected guard<T>(operation: string, work: () => T): Promise<T> {
    try {
      if (!this.db.open) throw new StorageError('catalog_closed', `catalog is closed (${operation})`);
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(translateError(error, operation));
    }
  }

  /** Forgets the cached statements; the owner of the connection closes it. */
  protected forgetStatements(): void {
    this.statements.clear();
  }
}

/**
 * By name and code, not `instanceof` (not even `instanceof Error`): under a test runner's separate
 * realms the driver's errors may come from another realm's classes (seen: "database is locked" failing
 * both checks under Jest, so a busy catalog was reported as a permanent failure).
 */
function isSqliteError(error: unknown): error is Error & { code: string } {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  return name === 'SqliteError' && typeof code === 'string';
}

export function translateError(error: unknown, operation: string): BackupError {
  if (error instanceof BackupError) return error;
  if (isSqliteError(error)) {
    // SQLITE_PROTOCOL: in WAL mode, a lock that stayed contended through SQLite's own retries — the
    // same transient condition as BUSY (seen under load on 2 cores).
    if (error.code.startsWith('SQLITE_BUSY') || error.code.startsWith('SQLITE_LOCKED') || error.code === 'SQLITE_PROTOCOL') {
      return new StorageError('catalog_busy', `catalog is busy: another process holds its lock (${operation})`, {
        retryable: true,
        cause: error,
        details: { sqliteCode: error.code },
      });
    }
    return new StorageError('catalog_failed', `catalog ${operation} failed: ${error.message}`, {
      cause: error,
      details: { sqliteCode: error.code },
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError('catalog_failed', `catalog ${operation} failed: ${message}`, { cause: error });
}

export function requireText(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new ValidationError(`${field} must be a non-empty string`, field);
  }
}

export function parseTime(value: unknown, field: string): number {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new ValidationError(`${field} must be an ISO 8601 date-time (got ${JSON.stringify(value)})`, field);
  }
  return ms;
}

export function parseLimit(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ValidationError(`${field} must be a positive integer (got ${JSON.stringify(value)})`, field);
  }
  return value;
}

export function pathsKey(paths: unknown, field: string): string {
  if (!Array.isArray(paths) || !paths.every((path) => typeof path === 'string')) {
    throw new ValidationError(`${field} must be an array of strings`, field);
  }
  return JSON.stringify([...(paths as string[])].sort());
}
