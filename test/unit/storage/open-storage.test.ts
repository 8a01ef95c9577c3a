import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ValidationError } from '../../../src/domain/errors.js';
import { localSettings } from '../../../src/runtime/local-settings.js';
import { LocalObjectStorage } from '../../../src/storage/local-object-storage.js';
import { isStorageUrl, openStorage, parseStorageLocation, redactLocation } from '../../../src/storage/open-storage.js';
import { RetryingObjectStorage } from '../../../src/storage/retrying-object-storage.js';

function parse(text: string) {
  return parseStorageLocation(text).location;
}

function rejection(text: string): ValidationError {
  try {
    parseStorageLocation(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe('parseStorageLocation', () => {
  it('reads plain paths and file URLs as local folders', () => {
    expect(parse('/srv/backups')).toEqual({ kind: 'local', path: '/srv/backups' });
    expect(parse('rel/repo')).toEqual({ kind: 'local', path: resolve('rel/repo') });
    expect(parse('file:///srv/backups')).toEqual({ kind: 'local', path: '/srv/backups' });
    expect(parse('file:///srv/with%20space')).toEqual({ kind: 'local', path: '/srv/with space' });
    expect(isStorageUrl('/srv/backups')).toBe(false);
    expect(isStorageUrl('s3://b/p')).toBe(true);
  });

  it('reads S3 locations with their options', () => {
    expect(parse('s3://my-bucket')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: '' });
    expect(parse('s3://my-bucket/backups/prod/')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: 'backups/prod' });
    expect(
      parse('s3://my-bucket/p?region=eu-west-1&endpoint=https://minio.internal:9000/&path-style=true&storage-class=standard_ia&sse=kms&sse-kms-key-id=alias/backup&checksums=when-required'),
    ).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'p',
      region: 'eu-west-1',
      endpoint: 'https://minio.internal:9000',
      forcePathStyle: true,
      storageClass: 'STANDARD_IA',
      serverSideEncryption: { kind: 'kms', keyId: 'alias/backup' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    expect(parse('s3://my-bucket/p?sse=AES256')).toMatchObject({ serverSideEncryption: { kind: 's3' } });
  });

  it('reads GCS, Azure, SFTP and FTP locations', () => {
    expect(parse('gs://my-bucket/backups?storage-class=NEARLINE&kms-key=projects/p/k&endpoint=http://127.0.0.1:4443&project=proj')).toEqual({
      kind: 'gcs',
      bucket: 'my-bucket',
      prefix: 'backups',
      storageClass: 'NEARLINE',
      kmsKeyName: 'projects/p/k',
      endpoint: 'http://127.0.0.1:4443',
      projectId: 'proj',
    });
    expect(parse('azure://backups/prod?tier=cool')).toEqual({ kind: 'azure', container: 'backups', prefix: 'prod', accessTier: 'Cool' });
    expect(parse('sftp://backup@nas.local:2222/volume1/backups')).toEqual({ kind: 'sftp', host: 'nas.local', port: 2222, username: 'backup', path: '/volume1/backups' });
    expect(parse('sftp://nas.local/~/backups')).toEqual({ kind: 'sftp', host: 'nas.local', port: 22, path: 'backups' });
    expect(parse('sftp://[::1]/srv/b?host-key=SHA256:abc+def/ghi')).toMatchObject({ host: '::1', hostKeyFingerprints: ['SHA256:abc+def/ghi'] });
    expect(parse('ftp://u@ftp.example.com/backups')).toEqual({ kind: 'ftp', host: 'ftp.example.com', port: 21, username: 'u', path: '/backups', security: 'none' });
    expect(parse('ftps://u@ftp.example.com:2121/~/b')).toEqual({ kind: 'ftp', host: 'ftp.example.com', port: 2121, username: 'u', path: 'b', security: 'explicit-tls' });
  });

  it('keeps a password in the URL apart from the location', () => {
    const parsed = parseStorageLocation('ftp://user:p%40ss-w0rd@host/backups');
    expect(parsed.secrets).toEqual({ password: 'p@ss-w0rd' });
    expect(JSON.stringify(parsed.location)).not.toContain('ss-w0rd');
    expect(redactLocation('ftp://user:p%40ss-w0rd@host/backups')).toBe('ftp://user:***@host/backups');
    expect(redactLocation('/plain/path')).toBe('/plain/path');
  });

  it.each([
    ['', 'repository'],
    ['gopher://host/x', 'repository.scheme'],
    ['s3://', 'repository.bucket'],
    ['s3://Bad_Bucket/x', 'repository.bucket'],
    ['s3://bucket:9000/x', 'repository.bucket'],
    ['s3://key:secret@bucket/x', 'repository.credentials'],
    ['s3://bucket/x?storage-class=GLACIER', 'repository.storage-class'],
    ['s3://bucket/x?endpoint=ftp://x', 'repository.endpoint'],
    ['s3://bucket/x?regoin=eu-west-1', 'repository.regoin'],
    ['s3://bucket/x?region=a&region=b', 'repository.region'],
    ['s3://bucket/a/../b', 'repository.path'],
    ['s3://bucket/a/%2e%2e/b', 'repository.path'],
    ['s3://bucket/x?sse=s3&sse-kms-key-id=k', 'repository.sse-kms-key-id'],
    ['gs://bucket/x?storage-class=HOT', 'repository.storage-class'],
    ['azure://x/p', 'repository.container'],
    ['azure://backups/p?tier=Archive', 'repository.tier'],
    ['sftp:///srv', 'repository.host'],
    ['sftp://host', 'repository.path'],
    ['sftp://host:70000/srv', 'repository.port'],
    ['ftp://host/a/../b', 'repository.path'],
    ['file://otherhost/srv', 'repository.host'],
    ['s3://bucket/x#frag', 'repository.fragment'],
  ])('refuses %j naming %s', (text, field) => {
    const error = rejection(text);
    expect(error.details).toMatchObject({ field });
    expect(error.message).toMatch(/^repository/);
  });

  it('never repeats a password from a URL it cannot parse', () => {
    const error = rejection('ftp://user:hunter2-secret@exa mple.com/x');
    expect(error.message).not.toContain('hunter2');
  });
});

describe('openStorage', () => {
  it('opens a plain path exactly as before: a LocalObjectStorage behind the retry decorator', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chrono-open-'));
    try {
      const storage = await openStorage(join(dir, 'repo'), { env: {} });
      expect(storage).toBeInstanceOf(RetryingObjectStorage);
      expect(storage.location).toBe(new LocalObjectStorage(join(dir, 'repo')).location);
      expect(storage.scratchDirectory).toBe(join(dir, 'repo'));
      await storage.put('config', Buffer.from('x'));
      expect((await storage.get('config')).toString()).toBe('x');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the missing credentials of Azure, SFTP and FTP before connecting', async () => {
    await expect(openStorage('azure://backups/p', { env: {} })).rejects.toMatchObject({ details: { field: 'AZURE_STORAGE_CONNECTION_STRING' } });
    await expect(openStorage('sftp://u@host/srv', { env: { HOME: '/nonexistent-home' } })).rejects.toMatchObject({ details: { field: 'CHRONO_BACKUP_SFTP_KEY_FILE' } });
    await expect(openStorage('ftp://u@host/srv', { env: {} })).rejects.toMatchObject({ details: { field: 'CHRONO_BACKUP_FTP_PASSWORD' } });
    await expect(openStorage('sftp://u@host/srv', { env: { CHRONO_BACKUP_SFTP_KEY_FILE: '/nonexistent/key' } })).rejects.toMatchObject({ details: { field: 'CHRONO_BACKUP_SFTP_KEY_FILE' } });
  });

  it('shows remote locations without credentials', async () => {
    const ftp = await openStorage('ftps://user:hunter2-secret@127.0.0.1:2121/backups', { env: {} });
    expect(ftp.location).toBe('ftps://user@127.0.0.1:2121/backups');
    const s3 = await openStorage('s3://my-bucket/prod', { env: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000', AWS_SECRET_ACCESS_KEY: 'hunter2-secret' } });
    expect(s3.location).toBe('s3://my-bucket/prod/ at http://127.0.0.1:9000');
    const azure = await openStorage('azure://backups/prod', { env: { AZURE_STORAGE_ACCOUNT: 'acct', AZURE_STORAGE_KEY: Buffer.from('hunter2-secret').toString('base64') } });
    expect(azure.location).toBe('azure://backups/prod/ at https://acct.blob.core.windows.net');
  });
});

describe('localSettings with storage URLs', () => {
  it('keeps URLs as given and still resolves paths', () => {
    expect(localSettings({ CHRONO_BACKUP_HOME: '/h', CHRONO_BACKUP_REPO: 's3://bucket/prefix' }).repository).toBe('s3://bucket/prefix');
    expect(localSettings({ CHRONO_BACKUP_HOME: '/h' }, { repository: ' sftp://u@host/srv ' }).repository).toBe('sftp://u@host/srv');
    expect(localSettings({ CHRONO_BACKUP_HOME: '/h', CHRONO_BACKUP_REPO: 'rel/repo' }).repository).toBe(resolve('rel/repo'));
  });

  it('refuses a malformed URL, naming the setting it came from and the bad part', () => {
    expect(() => localSettings({ CHRONO_BACKUP_HOME: '/h', CHRONO_BACKUP_REPO: 's3://Bad_Bucket' })).toThrow(ValidationError);
    try {
      localSettings({ CHRONO_BACKUP_HOME: '/h' }, { repository: 'sftp://host:99999/x' });
    } catch (error) {
      expect((error as ValidationError).details).toEqual({ field: '--repo.port' });
      expect((error as ValidationError).message).toMatch(/^--repo: port 99999/);
    }
    expect.assertions(3);
  });
});
