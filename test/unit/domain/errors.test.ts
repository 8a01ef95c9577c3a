import { describe, expect, it } from '@jest/globals';
import {
  asBackupError,
  BackupError,
  ConflictError,
  ForbiddenError,
  IntegrityError,
  KeyAccessError,
  LockedError,
  NotFoundError,
  SourceError,
  StorageError,
  ValidationError,
} from '../../../src/domain/errors.js';

describe('error model', () => {
  it.each<[string, BackupError, string, string, boolean]>([
    ['ValidationError', new ValidationError('bad', 'field'), 'validation.invalid', 'ValidationError', false],
    ['NotFoundError', new NotFoundError('snapshot', 'x'), 'not_found', 'NotFoundError', false],
    ['ConflictError', new ConflictError('target_not_empty', 'm'), 'conflict.target_not_empty', 'ConflictError', false],
    ['SourceError', new SourceError('path_unreadable', 'm'), 'source.path_unreadable', 'SourceError', false],
    ['StorageError', new StorageError('timeout', 'm', { retryable: true }), 'storage.timeout', 'StorageError', true],
    ['IntegrityError', new IntegrityError('authentication_failed', 'm'), 'integrity.authentication_failed', 'IntegrityError', false],
    ['KeyAccessError', new KeyAccessError('mismatch', 'm'), 'key.mismatch', 'KeyAccessError', false],
    ['LockedError', new LockedError('m'), 'locked', 'LockedError', true],
    ['ForbiddenError', new ForbiddenError('m'), 'forbidden', 'ForbiddenError', false],
  ])('%s has its code, name and retryable flag', (_label, error, code, name, retryable) => {
    expect(error).toBeInstanceOf(BackupError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe(code);
    expect(error.name).toBe(name);
    expect(error.retryable).toBe(retryable);
  });

  it('ValidationError names the field in details, merged with other details', () => {
    expect(new ValidationError('bad', 'paths').details).toEqual({ field: 'paths' });
    expect(new ValidationError('bad', 'paths', { details: { got: 3 } }).details).toEqual({ got: 3, field: 'paths' });
    expect(new ValidationError('bad').details).toEqual({});
  });

  it('NotFoundError says what was not found', () => {
    const error = new NotFoundError('snapshot', 'full_20241224_120000');
    expect(error.message).toBe('snapshot not found: full_20241224_120000');
    expect(error.details).toEqual({ what: 'snapshot', id: 'full_20241224_120000' });
  });

  it('LockedError can be made non-retryable explicitly', () => {
    expect(new LockedError('m', { retryable: false }).retryable).toBe(false);
  });

  it('keeps the cause', () => {
    const cause = new Error('root cause');
    expect(new StorageError('io', 'm', { cause }).cause).toBe(cause);
    expect(new BackupError('x', 'm')).not.toHaveProperty('cause');
  });

  it('asBackupError passes BackupErrors through and wraps anything else as internal', () => {
    const known = new IntegrityError('x', 'm');
    expect(asBackupError(known)).toBe(known);
    const plain = new TypeError('boom');
    const wrapped = asBackupError(plain);
    expect(wrapped).toBeInstanceOf(BackupError);
    expect(wrapped.code).toBe('internal');
    expect(wrapped.message).toBe('boom');
    expect(wrapped.cause).toBe(plain);
    expect(asBackupError('a string').message).toBe('a string');
    expect(asBackupError(undefined).code).toBe('internal');
  });
});
