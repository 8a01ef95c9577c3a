import { describe, expect, it } from '@jest/globals';
import { BACKUP_TYPES, COMPRESSIONS, parseBackupType, parseCompression } from '../../../src/domain/backup-types.js';
import { ValidationError } from '../../../src/domain/errors.js';
import { thrownBy } from '../../helpers/thrown.js';

const thrownValidation = (fn: () => unknown): ValidationError => thrownBy(fn, ValidationError);

describe('parseBackupType', () => {
  it('accepts full, incremental and differential', () => {
    expect(BACKUP_TYPES).toEqual(['full', 'incremental', 'differential']);
    for (const type of BACKUP_TYPES) expect(parseBackupType(type)).toBe(type);
  });

  it.each(['', 'Full', 'snapshot', 'incr'])('rejects %j naming the field', (value) => {
    const error = thrownValidation(() => parseBackupType(value));
    expect(error.details).toEqual({ field: 'type' });
    expect(error.message).toContain(`"${value}"`);
    expect(thrownValidation(() => parseBackupType(value, 'backup.type')).details).toEqual({ field: 'backup.type' });
  });
});

describe('parseCompression', () => {
  it('accepts none, gzip, lz4 and zstd', () => {
    expect(COMPRESSIONS).toEqual(['none', 'gzip', 'lz4', 'zstd']);
    for (const compression of COMPRESSIONS) expect(parseCompression(compression)).toBe(compression);
  });

  it.each(['', 'ZSTD', 'brotli', 'xz'])('rejects %j naming the field', (value) => {
    expect(thrownValidation(() => parseCompression(value)).details).toEqual({ field: 'compression' });
  });
});
