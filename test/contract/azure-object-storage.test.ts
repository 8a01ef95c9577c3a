import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BlobServiceClient, ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, StorageError, ValidationError } from '../../src/domain/errors.js';
import type { ObjectStorage } from '../../src/ports/object-storage.js';
import { AzureObjectStorage, type AzureObjectStorageOptions } from '../../src/storage/azure-object-storage.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type AzuriteHandle } from '../harness/azurite.js';
import { freePort } from '../harness/child-process.js';
import { describeObjectStorageContract } from './object-storage.contract.js';

let azurite: AzuriteHandle;
const CONTAINER = 'chrono-contract';
let counter = 0;

beforeAll(async () => {
  azurite = await startAzurite();
  await azurite.createContainer(CONTAINER);
});

afterAll(async () => azurite?.stop());

function storageFor(options: Partial<AzureObjectStorageOptions> = {}): AzureObjectStorage {
  return new AzureObjectStorage({ container: CONTAINER, auth: { kind: 'connection-string', connectionString: azurite.connectionString }, ...options });
}

async function drain(storage: ObjectStorage, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of storage.list(prefix)) keys.push(item.key);
  return keys.sort();
}

describeObjectStorageContract('AzureObjectStorage (azurite)', async () => {
  const storage = storageFor({ prefix: `contract/run-${++counter}` });
  return {
    storage,
    cleanup: async () => {
      for (const key of await drain(storage)) await storage.delete(key);
    },
  };
});

describe('AzureObjectStorage specifics', () => {
  it('shows container, prefix and endpoint as its location, never the account key', () => {
    const storage = storageFor({ prefix: 'backups/prod' });
    expect(storage.location).toBe(`azure://${CONTAINER}/backups/prod/ at ${azurite.blobEndpoint}`);
    expect(storage.location).not.toContain(AZURITE_KEY);
  });

  it('authenticates with account name and key, and with a SAS token', async () => {
    const byKey = storageFor({ prefix: 'auth', auth: { kind: 'shared-key', accountName: AZURITE_ACCOUNT, accountKey: AZURITE_KEY, endpoint: azurite.blobEndpoint } });
    await byKey.put('config', Buffer.from('by key'));
    const sas = generateBlobSASQueryParameters(
      { containerName: CONTAINER, permissions: ContainerSASPermissions.parse('racwdl'), expiresOn: new Date(Date.now() + 3600_000) },
      new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
    ).toString();
    const bySas = storageFor({ prefix: 'auth', auth: { kind: 'sas', accountName: AZURITE_ACCOUNT, sasToken: `?${sas}`, endpoint: azurite.blobEndpoint } });
    expect((await bySas.get('config')).toString()).toBe('by key');
    expect(await drain(bySas)).toEqual(['config']);
    expect(bySas.location).not.toContain('sig=');
  });

  it('refuses a wrong account key as access denied, without the key in the error', async () => {
    const wrongKey = Buffer.alloc(64, 7).toString('base64');
    const storage = storageFor({ auth: { kind: 'shared-key', accountName: AZURITE_ACCOUNT, accountKey: wrongKey, endpoint: azurite.blobEndpoint } });
    const error = await storage.put('config', Buffer.from('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'storage.access_denied', retryable: false });
    expect(`${(error as Error).message} ${String((error as Error).cause)} ${JSON.stringify((error as StorageError).details)}`).not.toContain(wrongKey);
  });

  it('reports a missing container as permanent', async () => {
    const storage = storageFor({ container: 'no-such-container' });
    await expect(storage.put('config', Buffer.from('x'))).rejects.toMatchObject({ code: 'storage.container_not_found', retryable: false });
    await expect(storage.get('config')).rejects.toMatchObject({ code: 'storage.container_not_found' });
  });

  it('reports an unreachable endpoint as a retryable failure', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}/${AZURITE_ACCOUNT}`;
    const storage = storageFor({ maxTries: 1, auth: { kind: 'shared-key', accountName: AZURITE_ACCOUNT, accountKey: AZURITE_KEY, endpoint } });
    await expect(storage.get('config')).rejects.toMatchObject({ code: 'storage.network', retryable: true });
  });

  it('uploads a large file in staged blocks, sets the tier of packs only, and removes the file', async () => {
    const storage = storageFor({ prefix: 'blocks', accessTier: 'Cool', blockSize: 1024 * 1024, singleUploadLimit: 1024 * 1024 });
    const dir = await mkdtemp(join(tmpdir(), 'chrono-azure-'));
    try {
      const data = randomBytes(3 * 1024 * 1024 + 5);
      const file = join(dir, 'pack');
      await writeFile(file, data);
      await storage.putFile('data/ab/pack', file);
      await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
      await storage.put('locks/one', Buffer.from('lock'));
      const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(CONTAINER);
      const blocks = await container.getBlockBlobClient('blocks/data/ab/pack').getBlockList('committed');
      expect(blocks.committedBlocks?.length).toBe(4);
      expect((await container.getBlobClient('blocks/data/ab/pack').getProperties()).accessTier).toBe('Cool');
      expect((await container.getBlobClient('blocks/locks/one').getProperties()).accessTier).not.toBe('Cool');
      expect((await storage.get('data/ab/pack')).equals(data)).toBe(true);
      const offset = 2 * 1024 * 1024 - 3;
      expect((await storage.get('data/ab/pack', { offset, length: 10 })).equals(data.subarray(offset, offset + 10))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('validates its settings before any request', () => {
    expect(() => storageFor({ container: 'Bad_Name' })).toThrow(ValidationError);
    expect(() => storageFor({ accessTier: 'Archive' as never })).toThrow(ValidationError);
    expect(() => storageFor({ prefix: 'a/../b' })).toThrow(ValidationError);
    expect(() => storageFor({ auth: { kind: 'connection-string', connectionString: 'AccountKey=c2VjcmV0;nonsense' } })).toThrow(ValidationError);
  });

  it('reads an empty range of a missing object as not found', async () => {
    await expect(storageFor({ prefix: 'x' }).get('missing', { offset: 0, length: 0 })).rejects.toBeInstanceOf(NotFoundError);
  });
});
