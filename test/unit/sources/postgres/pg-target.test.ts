import { describe, expect, it } from '@jest/globals';
import { ValidationError } from '../../../../src/domain/errors.js';
import { describePgTarget, libpqEnvironment, parsePgTarget } from '../../../../src/sources/postgres/pg-target.js';
import { compareFingerprints } from '../../../../src/sources/postgres/pg-fingerprint.js';
import { thrownBy } from '../../../helpers/thrown.js';

describe('parsePgTarget', () => {
  it('reads user, host, port, database and sslmode', () => {
    expect(parsePgTarget('postgres://app@db.internal:6543/sales?sslmode=require')).toEqual({ host: 'db.internal', port: 6543, user: 'app', database: 'sales', sslMode: 'require' });
    expect(parsePgTarget('postgresql://[::1]/')).toEqual({ host: '::1', port: 5432 });
  });

  it('refuses a password in the URL without repeating it', () => {
    const error = thrownBy(() => parsePgTarget('postgres://app:hunter2@db/sales'), ValidationError);
    expect(error.details?.field).toBe('postgres.password');
    expect(error.message).not.toContain('hunter2');
  });

  it.each([
    ['mysql://db/x', 'postgres'],
    ['postgres://db:70000/x', 'postgres'],
    ['postgres://db/x?sslmode=maybe', 'postgres.sslmode'],
    ['postgres://db/x?options=-c', 'postgres.options'],
    ['not a url', 'postgres'],
  ])('refuses %s naming %s', (text, field) => {
    expect(thrownBy(() => parsePgTarget(text), ValidationError).details?.field).toBe(field);
  });

  it('describes a target without secrets, and hands libpq the connection in its variables', () => {
    const target = parsePgTarget('postgres://app@db:5433/sales');
    expect(describePgTarget(target)).toBe('postgres://app@db:5433/sales');
    const env = libpqEnvironment(target, 'other', { PGPASSWORD: 'pw', PGSERVICE: 'elsewhere', PATH: '/bin' });
    expect(env).toMatchObject({ PGHOST: 'db', PGPORT: '5433', PGUSER: 'app', PGDATABASE: 'other', PGPASSWORD: 'pw', PATH: '/bin' });
    expect(env.PGSERVICE).toBeUndefined();
  });
});

describe('compareFingerprints', () => {
  const recorded = {
    tables: [
      { name: 'public.a', rows: 3, checksum: '10' },
      { name: 'public.b', rows: 1, checksum: '20' },
    ],
    sequences: [{ name: 'public.s', lastValue: '5' }],
    views: ['public.v'],
  };

  it('finds missing tables, row count and content differences, sequences and views', () => {
    const restored = { tables: [{ name: 'public.a', rows: 3, checksum: '11' }], sequences: [{ name: 'public.s', lastValue: '4' }], views: [] };
    expect(compareFingerprints(recorded, restored)).toEqual([
      'table public.a: content checksum differs',
      'table public.b is missing',
      'sequence public.s: last value 4, expected 5',
      'view public.v is missing',
    ]);
    expect(compareFingerprints(recorded, recorded)).toEqual([]);
  });

  it('compares only the selected tables of a partial restore', () => {
    const restored = { tables: [{ name: 'public.b', rows: 2, checksum: '20' }], sequences: [], views: [] };
    expect(compareFingerprints(recorded, restored, (table) => table === 'public.b')).toEqual(['table public.b: 2 rows, expected 1']);
  });
});
