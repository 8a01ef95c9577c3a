import { describe, expect, it } from '@jest/globals';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ValidationError } from '../../../src/domain/errors.js';
import { localSettings } from '../../../src/runtime/local-settings.js';
import { thrownBy } from '../../helpers/thrown.js';

const thrownValidation = (fn: () => unknown): ValidationError => thrownBy(fn, ValidationError);

const HOME = '/var/lib/chrono-test-home';

function settings(env: Record<string, string>, overrides: { repository?: string } = {}) {
  return localSettings({ CHRONO_BACKUP_HOME: HOME, ...env }, overrides);
}

describe('localSettings', () => {
  it('defaults everything under ~/.chrono-backup', () => {
    const result = localSettings({});
    const home = join(homedir(), '.chrono-backup');
    expect(result).toEqual({
      home,
      repository: join(home, 'repo'),
      catalogPath: join(home, 'catalog.sqlite'),
      key: { kind: 'key-file', path: join(home, 'key'), isDefault: true },
      logLevel: 'warn',
    });
  });

  it('moves everything with CHRONO_BACKUP_HOME, resolved to an absolute path', () => {
    const result = localSettings({ CHRONO_BACKUP_HOME: 'relative/home' });
    const home = resolve('relative/home');
    expect(result.home).toBe(home);
    expect(result.repository).toBe(join(home, 'repo'));
    expect(result.catalogPath).toBe(join(home, 'catalog.sqlite'));
    expect(result.key).toEqual({ kind: 'key-file', path: join(home, 'key'), isDefault: true });
  });

  describe('repository', () => {
    it('uses <home>/repo without other settings', () => {
      expect(settings({}).repository).toBe(join(HOME, 'repo'));
    });

    it('takes BACKUP_LOCAL_PATH over the default', () => {
      expect(settings({ BACKUP_LOCAL_PATH: '/mnt/backups' }).repository).toBe('/mnt/backups');
    });

    it('takes CHRONO_BACKUP_REPO over BACKUP_LOCAL_PATH', () => {
      expect(settings({ CHRONO_BACKUP_REPO: '/srv/repo', BACKUP_LOCAL_PATH: '/mnt/backups' }).repository).toBe('/srv/repo');
    });

    it('takes an explicit override over both', () => {
      expect(settings({ CHRONO_BACKUP_REPO: '/srv/repo', BACKUP_LOCAL_PATH: '/mnt/backups' }, { repository: '/opt/r' }).repository).toBe('/opt/r');
    });

    it('ignores empty variables', () => {
      expect(settings({ CHRONO_BACKUP_REPO: '', BACKUP_LOCAL_PATH: '/mnt/backups' }).repository).toBe('/mnt/backups');
      expect(settings({ CHRONO_BACKUP_REPO: '', BACKUP_LOCAL_PATH: '' }).repository).toBe(join(HOME, 'repo'));
    });

    it('resolves relative paths', () => {
      expect(settings({ CHRONO_BACKUP_REPO: 'rel/repo' }).repository).toBe(resolve('rel/repo'));
    });

    it('keeps the catalog under home wherever the repository is', () => {
      expect(settings({ CHRONO_BACKUP_REPO: '/srv/repo' }).catalogPath).toBe(join(HOME, 'catalog.sqlite'));
    });
  });

  describe('key', () => {
    it('takes CHRONO_BACKUP_PASSPHRASE first', () => {
      expect(settings({ CHRONO_BACKUP_PASSPHRASE: 'p1', BACKUP_ENCRYPTION_KEY: 'p2', CHRONO_BACKUP_KEY_FILE: '/k' }).key).toEqual({
        kind: 'passphrase',
        passphrase: 'p1',
        source: 'CHRONO_BACKUP_PASSPHRASE',
      });
    });

    it('takes BACKUP_ENCRYPTION_KEY (as a passphrase) over a key file', () => {
      expect(settings({ BACKUP_ENCRYPTION_KEY: 'p2', CHRONO_BACKUP_KEY_FILE: '/k' }).key).toEqual({
        kind: 'passphrase',
        passphrase: 'p2',
        source: 'BACKUP_ENCRYPTION_KEY',
      });
    });

    it('takes CHRONO_BACKUP_KEY_FILE over the default key file, resolved', () => {
      expect(settings({ CHRONO_BACKUP_KEY_FILE: '/etc/chrono/key' }).key).toEqual({ kind: 'key-file', path: '/etc/chrono/key', isDefault: false });
      expect(settings({ CHRONO_BACKUP_KEY_FILE: 'rel/key' }).key).toEqual({ kind: 'key-file', path: resolve('rel/key'), isDefault: false });
    });

    it('falls back to <home>/key, marked as the default', () => {
      expect(settings({}).key).toEqual({ kind: 'key-file', path: join(HOME, 'key'), isDefault: true });
    });

    it('ignores empty variables', () => {
      expect(settings({ CHRONO_BACKUP_PASSPHRASE: '', BACKUP_ENCRYPTION_KEY: 'p2' }).key).toMatchObject({ source: 'BACKUP_ENCRYPTION_KEY' });
      expect(settings({ CHRONO_BACKUP_PASSPHRASE: '', BACKUP_ENCRYPTION_KEY: '', CHRONO_BACKUP_KEY_FILE: '' }).key).toEqual({
        kind: 'key-file',
        path: join(HOME, 'key'),
        isDefault: true,
      });
    });
  });

  describe('log level', () => {
    it('defaults to warn', () => {
      expect(settings({}).logLevel).toBe('warn');
    });

    it.each(['debug', 'info', 'warn', 'error'])('accepts %s in any case', (level) => {
      expect(settings({ BACKUP_LOG_LEVEL: level }).logLevel).toBe(level);
      expect(settings({ BACKUP_LOG_LEVEL: level.toUpperCase() }).logLevel).toBe(level);
    });

    it('takes BACKUP_LOG_LEVEL over CHRONO_BACKUP_LOG_LEVEL', () => {
      expect(settings({ BACKUP_LOG_LEVEL: 'error', CHRONO_BACKUP_LOG_LEVEL: 'debug' }).logLevel).toBe('error');
      expect(settings({ CHRONO_BACKUP_LOG_LEVEL: 'debug' }).logLevel).toBe('debug');
    });

    it.each(['verbose', 'trace', 'warning', '0'])('rejects BACKUP_LOG_LEVEL=%s with a ValidationError naming the field', (level) => {
      const error = thrownValidation(() => settings({ BACKUP_LOG_LEVEL: level }));
      expect(error.code).toBe('validation.invalid');
      expect(error.details).toEqual({ field: 'BACKUP_LOG_LEVEL' });
      expect(error.message).toMatch(/^BACKUP_LOG_LEVEL /);
      expect(error.message).toContain(level);
    });

    it('names CHRONO_BACKUP_LOG_LEVEL when that is the bad one', () => {
      const error = thrownValidation(() => settings({ CHRONO_BACKUP_LOG_LEVEL: 'loud' }));
      expect(error.details).toEqual({ field: 'CHRONO_BACKUP_LOG_LEVEL' });
      expect(error.message).toMatch(/^CHRONO_BACKUP_LOG_LEVEL /);
      // A valid BACKUP_LOG_LEVEL wins, so a bad CHRONO_BACKUP_LOG_LEVEL is then irrelevant.
      expect(settings({ BACKUP_LOG_LEVEL: 'info', CHRONO_BACKUP_LOG_LEVEL: 'loud' }).logLevel).toBe('info');
    });

    it('does not echo secrets from other variables in the error', () => {
      const error = thrownValidation(() => settings({ BACKUP_LOG_LEVEL: 'loud', CHRONO_BACKUP_PASSPHRASE: 'hunter2' }));
      expect(error.message).not.toContain('hunter2');
    });
  });
});
