import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, StorageError, ValidationError } from '../../src/domain/errors.js';
import type { ObjectStorage } from '../../src/ports/object-storage.js';
import { S3ObjectStorage, type S3ObjectStorageOptions } from '../../src/storage/s3-object-storage.js';
import { startS3Emulator, type S3EmulatorHandle } from '../harness/s3-emulator.js';
import { describeObjectStorageContract } from './object-storage.contract.js';

let emulator: S3EmulatorHandle;
const BUCKET = 'chrono-contract';
let counter = 0;

beforeAll(async () => {
  emulator = await startS3Emulator();
  await emulator.createBucket(BUCKET);
});

afterAll(async () => emulator?.stop());

async function drain(storage: ObjectStorage, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of storage.list(prefix)) keys.push(item.key);
  return keys.sort();
}

function storageFor(options: Partial<S3ObjectStorageOptions> = {}): S3ObjectStorage {
  return new S3ObjectStorage({ bucket: BUCKET, endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials, forcePathStyle: true, ...options });
}

// Each test gets its own prefix in one bucket: an empty storage without a bucket per test.
describeObjectStorageContract('S3ObjectStorage (fauxqs)', async () => {
  const storage = storageFor({ prefix: `contract/run-${++counter}` });
  return {
    storage,
    cleanup: async () => {
      for (const key of await drain(storage)) await storage.delete(key);
      await storage.close();
    },
  };
});

/** Records the method, path and headers of every request the client sends. */
function recordRequests(client: S3Client): { method: string; path: string; headers: Record<string, string> }[] {
  const seen: { method: string; path: string; headers: Record<string, string> }[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { method: string; path: string; headers: Record<string, string> };
      seen.push({ method: request.method, path: request.path, headers: { ...request.headers } });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'chronoRecordRequests' },
  );
  return seen;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

describe('S3ObjectStorage specifics', () => {
  it('shows bucket, prefix and endpoint as its location, never credentials', async () => {
    const storage = storageFor({ prefix: '/backups//prod/' });
    expect(storage.location).toBe(`s3://${BUCKET}/backups/prod/ at ${emulator.endpoint}`);
    expect(storage.location).not.toContain(emulator.credentials.secretAccessKey);
    expect(storage.location).not.toContain(emulator.credentials.accessKeyId);
    await storage.close();
  });

  it('keeps objects below its prefix and ignores what lies outside it or has no key name', async () => {
    const client = emulator.client();
    const storage = storageFor({ prefix: 'scoped/a', client });
    await storage.put('config', Buffer.from('inside'));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'scoped/b/config', Body: 'outside' }));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'scoped/a/not a key', Body: 'odd' }));
    const raw = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'scoped/' }));
    expect(raw.Contents?.map((item) => item.Key).sort()).toEqual(['scoped/a/config', 'scoped/a/not a key', 'scoped/b/config']);
    expect(await drain(storage)).toEqual(['config']);
    client.destroy();
  });

  it('streams putFile as a multipart upload, removes the file, and reads ranges across parts', async () => {
    const client = emulator.client();
    const requests = recordRequests(client);
    const storage = storageFor({ prefix: 'multipart', client, partSize: 5 * 1024 * 1024 });
    const dir = await mkdtemp(join(tmpdir(), 'chrono-s3-'));
    try {
      const data = randomBytes(12 * 1024 * 1024 + 7);
      const file = join(dir, '.~tmp-pack');
      await writeFile(file, data);
      await storage.putFile('data/ab/pack', file);
      await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
      const uploads = requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/multipart/data/ab/pack'));
      expect(uploads.length).toBe(3); // three parts of at most 5 MiB
      expect(requests.some((r) => r.method === 'POST' && r.path.endsWith('/multipart/data/ab/pack'))).toBe(true);
      expect((await storage.get('data/ab/pack')).equals(data)).toBe(true);
      const offset = 5 * 1024 * 1024 - 100;
      expect((await storage.get('data/ab/pack', { offset, length: 200 })).equals(data.subarray(offset, offset + 200))).toBe(true);
      expect((await storage.head('data/ab/pack'))?.size).toBe(data.length);
    } finally {
      await rm(dir, { recursive: true, force: true });
      client.destroy();
    }
  });

  it('sends large puts as multipart uploads and small ones as one PUT', async () => {
    const client = emulator.client();
    const requests = recordRequests(client);
    const storage = storageFor({ prefix: 'threshold', client, partSize: 5 * 1024 * 1024, multipartThreshold: 5 * 1024 * 1024 });
    const big = randomBytes(6 * 1024 * 1024);
    await storage.put('big', big);
    await storage.put('small', Buffer.from('s'));
    expect(requests.filter((r) => r.path.endsWith('/threshold/big') && r.method === 'PUT')).toHaveLength(2);
    expect(requests.filter((r) => r.path.endsWith('/threshold/small') && r.method === 'PUT')).toHaveLength(1);
    expect((await storage.get('big')).equals(big)).toBe(true);
    client.destroy();
  });

  it('asks for the storage class on packs only, and SSE-KMS on every write', async () => {
    const client = emulator.client();
    const requests = recordRequests(client);
    const storage = storageFor({ prefix: 'headers', client, storageClass: 'STANDARD_IA', serverSideEncryption: { kind: 'kms', keyId: 'alias/chrono-test', bucketKey: true } });
    await storage.put('data/ab/pack', Buffer.from('pack'));
    await storage.put('locks/one', Buffer.from('lock'));
    const pack = requests.find((r) => r.method === 'PUT' && r.path.endsWith('/headers/data/ab/pack'))!;
    const lock = requests.find((r) => r.method === 'PUT' && r.path.endsWith('/headers/locks/one'))!;
    expect(pack.headers['x-amz-storage-class']).toBe('STANDARD_IA');
    expect(lock.headers['x-amz-storage-class']).toBeUndefined();
    for (const request of [pack, lock]) {
      expect(request.headers['x-amz-server-side-encryption']).toBe('aws:kms');
      expect(request.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('alias/chrono-test');
      expect(request.headers['x-amz-server-side-encryption-bucket-key-enabled']).toBe('true');
    }
    expect((await storage.get('data/ab/pack')).toString()).toBe('pack');
    client.destroy();
  });

  it('refuses archive storage classes and bad bucket names before any request', () => {
    expect(() => storageFor({ storageClass: 'GLACIER' as never })).toThrow(ValidationError);
    expect(() => storageFor({ bucket: 'has space' })).toThrow(ValidationError);
    expect(() => storageFor({ partSize: 1024 })).toThrow(ValidationError);
  });

  it('reports a missing bucket as a permanent StorageError without credentials in it, and keeps the file of a failed putFile', async () => {
    const storage = storageFor({ bucket: 'no-such-bucket' });
    const error = await storage.put('config', Buffer.from('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'storage.bucket_not_found', retryable: false });
    const text = `${(error as Error).message} ${JSON.stringify((error as StorageError).details)} ${String((error as Error).cause)}`;
    expect(text).not.toContain(emulator.credentials.secretAccessKey);
    const dir = await mkdtemp(join(tmpdir(), 'chrono-s3-'));
    try {
      const file = join(dir, 'pack');
      await writeFile(file, 'pack');
      await expect(storage.putFile('data/ab/pack', file)).rejects.toBeInstanceOf(StorageError);
      expect((await stat(file)).size).toBe(4);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await storage.close();
    }
  });

  it('reports an unreachable endpoint as a retryable network failure', async () => {
    const storage = storageFor({ endpoint: `http://127.0.0.1:${await closedPort()}`, maxAttempts: 1 });
    const error = await storage.get('config').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'storage.network', retryable: true });
    expect(await storage.head('config').catch((e: unknown) => e)).toMatchObject({ retryable: true });
    await storage.close();
  });

  it('reads an empty range of an existing object as empty and of a missing one as not found', async () => {
    const storage = storageFor({ prefix: 'empty-range' });
    await storage.put('x', Buffer.from('abc'));
    expect((await storage.get('x', { offset: 1, length: 0 })).length).toBe(0);
    await expect(storage.get('y', { offset: 0, length: 0 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(storage.get('x', { offset: -1, length: 1 })).rejects.toBeInstanceOf(ValidationError);
    await storage.close();
  });
});
