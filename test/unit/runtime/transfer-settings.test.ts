import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../../../src/domain/errors.js';
import { silentProgress } from '../../../src/ports/progress.js';
import { localRuntime } from '../../../src/runtime/local-runtime.js';
import { localSettings } from '../../../src/runtime/local-settings.js';
import { OpenedStorage } from '../../../src/storage/open-storage.js';
import { ThrottledObjectStorage } from '../../../src/storage/throttled-object-storage.js';
import { thrownBy } from '../../helpers/thrown.js';

const HOME = '/var/lib/chrono-test-home';
const settings = (env: Record<string, string>) => localSettings({ CHRONO_BACKUP_HOME: HOME, ...env });

describe('transfer settings', () => {
  it('reads parallel uploads and the bandwidth limit from the environment, and leaves them absent when unset', () => {
    expect(settings({ CHRONO_BACKUP_MAX_PARALLEL_UPLOADS: '8', CHRONO_BACKUP_BANDWIDTH_LIMIT_MBPS: '2.5' })).toMatchObject({ maxParallelUploads: 8, bandwidthLimitMbps: 2.5 });
    const plain = settings({ CHRONO_BACKUP_MAX_PARALLEL_UPLOADS: '', CHRONO_BACKUP_BANDWIDTH_LIMIT_MBPS: ' ' });
    expect('maxParallelUploads' in plain).toBe(false);
    expect('bandwidthLimitMbps' in plain).toBe(false);
  });

  it.each(['0', '65', '2.5', 'eight', '-1'])('refuses CHRONO_BACKUP_MAX_PARALLEL_UPLOADS=%j, naming the variable', (value) => {
    const error = thrownBy(() => settings({ CHRONO_BACKUP_MAX_PARALLEL_UPLOADS: value }), ValidationError);
    expect(error.details).toMatchObject({ field: 'CHRONO_BACKUP_MAX_PARALLEL_UPLOADS' });
    expect(error.message).toContain('from 1 to 64');
  });

  it.each(['0', '-5', 'fast', 'Infinity'])('refuses CHRONO_BACKUP_BANDWIDTH_LIMIT_MBPS=%j, naming the variable', (value) => {
    const error = thrownBy(() => settings({ CHRONO_BACKUP_BANDWIDTH_LIMIT_MBPS: value }), ValidationError);
    expect(error.details).toMatchObject({ field: 'CHRONO_BACKUP_BANDWIDTH_LIMIT_MBPS' });
  });
});

describe('the local runtime', () => {
  let home: string | undefined;
  afterEach(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('carries parallel uploads into AppDeps and wraps the storage in the bandwidth limit', async () => {
    home = await mkdtemp(join(tmpdir(), 'chrono-transfer-'));
    const limited = await localRuntime(localSettings({ CHRONO_BACKUP_HOME: home, CHRONO_BACKUP_PASSPHRASE: 'p', CHRONO_BACKUP_MAX_PARALLEL_UPLOADS: '6', CHRONO_BACKUP_BANDWIDTH_LIMIT_MBPS: '40' }), { progress: silentProgress, mayCreate: false, env: {} });
    expect(limited.maxParallelUploads).toBe(6);
    expect(limited.storage).toBeInstanceOf(ThrottledObjectStorage);
    expect(limited.storage.location).toBe(join(home, 'repo'));
    await limited.catalog.close();

    const plain = await localRuntime(localSettings({ CHRONO_BACKUP_HOME: home, CHRONO_BACKUP_PASSPHRASE: 'p' }), { progress: silentProgress, mayCreate: false, env: {} });
    expect(plain.maxParallelUploads).toBeUndefined();
    expect(plain.storage).toBeInstanceOf(OpenedStorage);
    await plain.catalog.close();
  });
});
