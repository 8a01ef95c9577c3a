import { describe, expect, it } from '@jest/globals';
import { ValidationError } from '../../../src/domain/errors.js';
import { asyncFromEnv, repositoryFingerprint, WAL_ASYNC_DEFAULTS, walAsyncSettings } from '../../../src/pitr/wal-async-settings.js';
import { parseWalArguments } from '../../../src/pitr/wal-cli.js';

describe('wal-push --async arguments', () => {
  it('are parsed by the lean entry, and the hidden pusher command with them', () => {
    expect(parseWalArguments(['wal-push', '--async', '--spool', '/var/spool/chrono', '--async-concurrency=8', '--async-queue', '128', 'pg_wal/000000010000000000000001'])).toEqual({
      command: 'wal-push',
      async: true,
      spool: '/var/spool/chrono',
      asyncConcurrency: 8,
      asyncQueue: 128,
      positional: ['pg_wal/000000010000000000000001'],
    });
    expect(parseWalArguments(['--repo', '/r', 'wal-push-daemon', '--spool', 's', '--', '/pg/pg_wal'])).toEqual({ command: 'wal-push-daemon', repository: '/r', spool: 's', positional: ['/pg/pg_wal'] });
  });

  it('refuses bad values and async options on wal-fetch', () => {
    expect(() => parseWalArguments(['wal-push', '--async-concurrency', '0', 'x'])).toThrow(/--async-concurrency must be a whole number from 1 to 32/);
    expect(() => parseWalArguments(['wal-push', '--async-queue', 'many', 'x'])).toThrow(ValidationError);
    expect(() => parseWalArguments(['wal-push', '--async=yes', 'x'])).toThrow(/unknown option --async/);
    expect(() => parseWalArguments(['wal-fetch', '--async', 'a', 'b'])).toThrow(/--async applies to wal-push only/);
    expect(() => parseWalArguments(['wal-fetch', '--spool', 'd', 'a', 'b'])).toThrow(/--spool applies to wal-push only/);
  });
});

describe('asynchronous archiving settings', () => {
  it('have defaults, and take the environment and the command line', () => {
    expect(walAsyncSettings({})).toEqual(WAL_ASYNC_DEFAULTS);
    const env = {
      CHRONO_BACKUP_WAL_SPOOL: '/spool',
      CHRONO_BACKUP_WAL_ASYNC_WAIT: '30s',
      CHRONO_BACKUP_WAL_ASYNC_CONCURRENCY: '6',
      CHRONO_BACKUP_WAL_ASYNC_QUEUE: '16',
      CHRONO_BACKUP_WAL_ASYNC_IDLE: '2m',
      CHRONO_BACKUP_WAL_WARN_BACKLOG: '100',
      CHRONO_BACKUP_WAL_WARN_FREE_MIB: '512',
      CHRONO_BACKUP_WAL_WARN_FREE_PERCENT: '5',
      CHRONO_BACKUP_WAL_WARN_INTERVAL: '5m',
    };
    expect(walAsyncSettings(env)).toEqual({ spool: '/spool', waitMs: 30_000, concurrency: 6, queue: 16, idleMs: 120_000, warn: { readyFiles: 100, freeBytes: 512 * 1024 * 1024, freePercent: 5, intervalMs: 300_000 } });
    expect(walAsyncSettings(env, { spool: '/other', concurrency: 2, queue: 4 })).toMatchObject({ spool: '/other', concurrency: 2, queue: 4 });
  });

  it('name the variable that is wrong', () => {
    expect(() => walAsyncSettings({ CHRONO_BACKUP_WAL_ASYNC_CONCURRENCY: '64' })).toThrow(/CHRONO_BACKUP_WAL_ASYNC_CONCURRENCY must be a whole number from 1 to 32/);
    expect(() => walAsyncSettings({ CHRONO_BACKUP_WAL_ASYNC_WAIT: 'soon' })).toThrow(/CHRONO_BACKUP_WAL_ASYNC_WAIT must be a duration/);
    expect(() => walAsyncSettings({ CHRONO_BACKUP_WAL_WARN_FREE_PERCENT: '101' })).toThrow(/CHRONO_BACKUP_WAL_WARN_FREE_PERCENT/);
  });

  it('turn on with CHRONO_BACKUP_WAL_ASYNC', () => {
    expect(asyncFromEnv({ CHRONO_BACKUP_WAL_ASYNC: '1' })).toBe(true);
    expect(asyncFromEnv({ CHRONO_BACKUP_WAL_ASYNC: 'true' })).toBe(true);
    expect(asyncFromEnv({ CHRONO_BACKUP_WAL_ASYNC: '0' })).toBe(false);
    expect(asyncFromEnv({})).toBe(false);
  });

  it('fingerprint the repository settings without revealing them', () => {
    const base = { CHRONO_BACKUP_REPO: 'sftp://backup:s3cret@host/repo', CHRONO_BACKUP_HOME: '/home' };
    const fingerprint = repositoryFingerprint(base, undefined, undefined);
    expect(fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(repositoryFingerprint({ ...base, CHRONO_BACKUP_PASSPHRASE: 'x' }, undefined, undefined)).toBe(fingerprint);
    expect(repositoryFingerprint({ ...base, CHRONO_BACKUP_REPO: '/elsewhere' }, undefined, undefined)).not.toBe(fingerprint);
    expect(repositoryFingerprint(base, '/r', undefined)).not.toBe(fingerprint);
    expect(repositoryFingerprint(base, undefined, '42')).not.toBe(fingerprint);
  });
});
