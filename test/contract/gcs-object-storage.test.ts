import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Storage } from '@google-cloud/storage';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, StorageError, ValidationError } from '../../src/domain/errors.js';
import type { ObjectStorage } from '../../src/ports/object-storage.js';
import { GcsObjectStorage, type GcsObjectStorageOptions } from '../../src/storage/gcs-object-storage.js';
import { freePort } from '../harness/child-process.js';
import { startGcsFake, type GcsFakeHandle } from '../harness/gcs-fake.js';
import { describeObjectStorageContract } from './object-storage.contract.js';

// The GCS JSON API here is an in-repo FAKE (test/harness/gcs-fake.ts): no GCS emulator runs on this machine.
let fake: GcsFakeHandle;
const BUCKET = 'chrono-contract';
let counter = 0;

beforeAll(async () => {
  fake = await startGcsFake();
  fake.createBucket(BUCKET);
});

afterAll(async () => fake?.stop());

function storageFor(options: Partial<GcsObjectStorageOptions> = {}): GcsObjectStorage {
  return new GcsObjectStorage({ bucket: BUCKET, apiEndpoint: fake.endpoint, projectId: 'chrono-test', ...options });
}

async function drain(storage: ObjectStorage, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of storage.list(prefix)) keys.push(item.key);
  return keys.sort();
}

describeObjectStorageContract('GcsObjectStorage (in-repo GCS JSON API fake)', async () => {
  const storage = storageFor({ prefix: `contract/run-${++counter}` });
  return {
    storage,
    cleanup: async () => {
      for (const key of await drain(storage)) await storage.delete(key);
    },
  };
});

describe('GcsObjectStorage specifics', () => {
  it('shows bucket, prefix and endpoint as its location', () => {
    expect(storageFor({ prefix: 'backups/prod/' }).location).toBe(`gs://${BUCKET}/backups/prod/ at ${fake.endpoint}`);
  });

  it('streams a large putFile as a resumable upload, sets the class of packs and the KMS key, and removes the file', async () => {
    const storage = storageFor({ prefix: 'resumable', resumableThreshold: 1024 * 1024, storageClass: 'NEARLINE', kmsKeyName: 'projects/p/locations/l/keyRings/r/cryptoKeys/k' });
    const dir = await mkdtemp(join(tmpdir(), 'chrono-gcs-'));
    try {
      const data = randomBytes(3 * 1024 * 1024 + 1);
      const file = join(dir, 'pack');
      await writeFile(file, data);
      const before = fake.requests.length;
      await storage.putFile('data/ab/pack', file);
      await storage.put('locks/one', Buffer.from('lock'));
      await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
      const uploads = fake.requests.slice(before).filter((r) => r.path.startsWith('/upload/'));
      expect(uploads.map((r) => `${r.method} ${r.query.uploadType}`)).toEqual(['POST resumable', 'PUT resumable', 'POST multipart']);
      const client = new Storage({ apiEndpoint: fake.endpoint, projectId: 'chrono-test' });
      const [pack] = await client.bucket(BUCKET).file('resumable/data/ab/pack').getMetadata();
      const [lock] = await client.bucket(BUCKET).file('resumable/locks/one').getMetadata();
      expect(pack.storageClass).toBe('NEARLINE');
      expect(lock.storageClass).toBe('STANDARD');
      expect(pack.kmsKeyName).toBe('projects/p/locations/l/keyRings/r/cryptoKeys/k');
      expect((await storage.get('data/ab/pack')).equals(data)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('pages through long listings', async () => {
    const storage = storageFor({ prefix: 'paging' });
    const keys = Array.from({ length: 1005 }, (_, i) => `index/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((key) => storage.put(key, Buffer.from('i'))));
    expect(await drain(storage, 'index/')).toEqual(keys);
  });

  it('reports a missing bucket as permanent and an unreachable endpoint as retryable', async () => {
    await expect(storageFor({ bucket: 'no-such-bucket' }).put('config', Buffer.from('x'))).rejects.toMatchObject({ code: 'storage.bucket_not_found', retryable: false });
    await expect(storageFor({ bucket: 'no-such-bucket' }).get('config')).rejects.toBeInstanceOf(StorageError);
    const unreachable = storageFor({ apiEndpoint: `http://127.0.0.1:${await freePort()}`, maxRetries: 0 });
    await expect(unreachable.get('config')).rejects.toMatchObject({ code: 'storage.network', retryable: true });
  });

  it('validates its settings before any request', async () => {
    expect(() => storageFor({ bucket: 'Bad Bucket' })).toThrow(ValidationError);
    expect(() => storageFor({ storageClass: 'GLACIER' as never })).toThrow(ValidationError);
    await expect(storageFor({ prefix: 'x' }).get('missing', { offset: 0, length: 0 })).rejects.toBeInstanceOf(NotFoundError);
  });
});
