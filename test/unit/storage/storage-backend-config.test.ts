import { describe, expect, it } from '@jest/globals';
import { ValidationError } from '../../../src/domain/errors.js';
import { parseStorageLocation } from '../../../src/storage/open-storage.js';
import { backendFromLocation, locationFromBackend, validateStorageBackend } from '../../../src/storage/storage-backend-config.js';
import { thrownBy } from '../../helpers/thrown.js';

const fieldOf = (fn: () => unknown): unknown => thrownBy(fn, ValidationError).details?.field;

describe('validateStorageBackend', () => {
  it('accepts the API examples and normalizes prefixes', () => {
    expect(validateStorageBackend({ name: 'local', type: 'local', config: { base_path: '/app/backups' } })).toEqual({ name: 'local', type: 'local', config: { base_path: '/app/backups' } });
    const s3 = validateStorageBackend({
      name: 'aws-s3',
      type: 'aws_s3',
      config: { bucket_name: 'your-backup-bucket', region: 'us-east-1', prefix: '/chrono-scraper/', access_key_id: 'env:BACKUP_AWS_ACCESS_KEY_ID', secret_access_key: 'env:BACKUP_AWS_SECRET_ACCESS_KEY' },
    });
    expect(s3.config).toMatchObject({ bucket_name: 'your-backup-bucket', prefix: 'chrono-scraper', access_key_id: 'env:BACKUP_AWS_ACCESS_KEY_ID' });
  });

  it('names the bad field: name, backend_type, config_data.<key>', () => {
    expect(fieldOf(() => validateStorageBackend({ name: '../x', type: 'local', config: { base_path: '/a' } }))).toBe('name');
    expect(fieldOf(() => validateStorageBackend({ name: 'x', type: 'dropbox', config: {} }))).toBe('backend_type');
    expect(fieldOf(() => validateStorageBackend({ name: 'x', type: 'aws_s3', config: {} }))).toBe('config_data.bucket_name');
    expect(fieldOf(() => validateStorageBackend({ name: 'x', type: 'aws_s3', config: { bucket_name: 'Bad_Bucket' } }))).toBe('config_data.bucket_name');
    expect(fieldOf(() => validateStorageBackend({ name: 'x', type: 'aws_s3', config: { bucket_name: 'ok-bucket', storage_class: 'GLACIER' } }))).toBe('config_data.storage_class');
    expect(fieldOf(() => validateStorageBackend({ name: 'x', type: 'aws_s3', config: { bucket_name: 'ok-bucket', buckt: 'typo' } }))).toBe('config_data.buckt');
    expect(fieldOf(() => validateStorageBackend({ name: 'x', type: 's3_compatible', config: { bucket_name: 'ok-bucket' } }))).toBe('config_data.endpoint_url');
    expect(fieldOf(() => validateStorageBackend({ name: 'x', type: 'local', config: { base_path: 'relative/dir' } }))).toBe('config_data.base_path');
    expect(fieldOf(() => validateStorageBackend({ name: 'x', type: 'sftp', config: { host: 'h', path: '/a/../b' } }))).toBe('config_data.path');
    expect(fieldOf(() => validateStorageBackend({ name: 'x', type: 'sftp', config: { host: 'h', path: '/b', port: 70000 } }))).toBe('config_data.port');
    expect(fieldOf(() => validateStorageBackend({ name: 'x', type: 'azure', config: { container_name: 'c-1', account_key: 'env:K' } }))).toBe('config_data.account_name');
    expect(fieldOf(() => validateStorageBackend({ name: 'x', type: 'gcs', config: 'bucket' }))).toBe('config_data');
  });

  it('refuses secrets given in plain text, says how to pass them, and never repeats them', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const error = thrownBy(() => validateStorageBackend({ name: 'x', type: 'aws_s3', config: { bucket_name: 'b-1', access_key_id: 'env:A', secret_access_key: secret } }), ValidationError);
    expect(error.details?.field).toBe('config_data.secret_access_key');
    expect(error.message).toContain('env:AWS_SECRET_ACCESS_KEY');
    expect(error.message).not.toContain(secret);
    for (const [type, config, field] of [
      ['sftp', { host: 'h', path: '/p', password: 'hunter2' }, 'config_data.password'],
      ['ftp', { host: 'h', path: '/p', password: 12345 }, 'config_data.password'],
      ['azure', { container_name: 'box', connection_string: 'AccountKey=abc' }, 'config_data.connection_string'],
    ] as const) {
      const refused = thrownBy(() => validateStorageBackend({ name: 'x', type, config }), ValidationError);
      expect(refused.details?.field).toBe(field);
      expect(refused.message).not.toMatch(/hunter2|12345|AccountKey/);
    }
    // Credentials smuggled into a URL-valued setting are refused as well.
    expect(fieldOf(() => validateStorageBackend({ name: 'x', type: 's3_compatible', config: { bucket_name: 'b-1', endpoint_url: 'http://user:pw@minio:9000' } }))).toBe('config_data.endpoint_url');
  });
});

describe('locationFromBackend', () => {
  it('maps to the StorageLocation union and resolves env references into the adapter variables', () => {
    const backend = validateStorageBackend({
      name: 'minio',
      type: 's3_compatible',
      config: { bucket_name: 'backups', prefix: 'a/b', endpoint_url: 'http://127.0.0.1:9000/', access_key_id: 'env:MINIO_USER', secret_access_key: 'env:MINIO_SECRET' },
    });
    const resolved = locationFromBackend(backend, { MINIO_USER: 'user', MINIO_SECRET: 'secret' });
    expect(resolved.location).toEqual({ kind: 's3', bucket: 'backups', prefix: 'a/b', endpoint: 'http://127.0.0.1:9000' });
    expect(resolved.env).toMatchObject({ AWS_ACCESS_KEY_ID: 'user', AWS_SECRET_ACCESS_KEY: 'secret' });

    const sftp = validateStorageBackend({ name: 's', type: 'sftp', config: { host: 'backup.example', port: 2222, username: 'bk', path: '/srv/repo', password: 'env:SFTP_PW' } });
    expect(locationFromBackend(sftp, { SFTP_PW: 'pw' })).toMatchObject({ location: { kind: 'sftp', host: 'backup.example', port: 2222, username: 'bk', path: '/srv/repo' }, secrets: { password: 'pw' } });
  });

  it('names the setting whose environment variable is missing, without a value', () => {
    const backend = validateStorageBackend({ name: 'f', type: 'ftp', config: { host: 'h', path: '/p', tls: true, password: 'env:FTP_PW' } });
    expect(fieldOf(() => locationFromBackend(backend, {}))).toBe('config_data.password');
  });

  it('round-trips a location URL through a backend config', () => {
    for (const url of ['s3://bucket-1/pre/fix?region=eu-west-1&storage-class=STANDARD_IA', 'gs://bucket-2/x', 'azure://container-3/y?tier=Cool', 'sftp://me@host:2200/srv/r', 'ftps://me@host/~/r', '/var/backups/repo']) {
      const { location } = parseStorageLocation(url);
      const { type, config } = backendFromLocation(location);
      const backend = validateStorageBackend({ name: 'n', type, config });
      expect(locationFromBackend(backend, {}).location).toEqual(location);
    }
  });
});
