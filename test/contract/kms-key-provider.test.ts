import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { KeyAccessError, ValidationError } from '../../src/domain/errors.js';
import { KmsKeyProvider, type KmsWrappedKey } from '../../src/keys/kms-key-provider.js';
import { Repository } from '../../src/repository/repository.js';
import { LocalObjectStorage } from '../../src/storage/local-object-storage.js';
import { FakeKms } from '../helpers/fake-kms.js';
import { describeKeyProviderContract } from './key-provider.contract.js';

describeKeyProviderContract('KmsKeyProvider (KMS faked through aws-sdk-client-mock)', async () => {
  const kms = new FakeKms();
  kms.createKey('chrono-backup');
  const otherKey = kms.createKey();
  return {
    // By alias, as a deployment would configure it; the other one by key id.
    provider: new KmsKeyProvider({ keyId: 'alias/chrono-backup', client: kms.client }),
    other: new KmsKeyProvider({ keyId: otherKey, client: kms.client }),
    cleanup: async () => kms.restore(),
  };
});

describe('KmsKeyProvider', () => {
  let kms: FakeKms;
  let keyId: string;
  let provider: KmsKeyProvider;
  const context = { repository: 'repo-5e1f', slot: '00000001' };

  beforeEach(() => {
    kms = new FakeKms();
    keyId = kms.createKey();
    provider = new KmsKeyProvider({ keyId, client: kms.client });
  });

  afterEach(() => {
    kms.restore();
  });

  /** Awaits `action`, expecting a KeyAccessError. */
  async function keyError(action: Promise<unknown>): Promise<KeyAccessError> {
    const outcome = await action.then(
      () => 'resolved' as const,
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(KeyAccessError);
    return outcome as KeyAccessError;
  }

  it('asks KMS for an AES-256 data key and to decrypt it, under the configured key and an encryption context naming the repository', async () => {
    const master = randomBytes(32);
    const wrapped = (await provider.wrap(master, context)) as KmsWrappedKey;
    expect(wrapped).toMatchObject({ kind: 'kms', version: 1, keyArn: kms.arnOf(keyId), cipher: 'aes-256-gcm' });
    expect(provider.description).toBe(`kms:${keyId}`);
    expect((await provider.unwrap(wrapped, context)).equals(master)).toBe(true);

    const generated = kms.stub.commandCalls(GenerateDataKeyCommand).map((call) => call.args[0].input);
    expect(generated).toEqual([{ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }]);
    const decrypted = kms.stub.commandCalls(DecryptCommand).map((call) => call.args[0].input);
    expect(decrypted).toHaveLength(1);
    expect(decrypted[0]).toMatchObject({ KeyId: keyId, EncryptionContext: context });
    expect(Buffer.from(decrypted[0]!.CiphertextBlob!).toString('base64')).toBe(wrapped.encryptedDataKey);
    // The master key never goes to KMS, in any encoding.
    const requests = JSON.stringify([...generated, ...decrypted], (_, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value));
    expect(requests).not.toContain(master.toString('hex'));
  });

  it('opens a repository whose key slot it wrapped, and another KMS key does not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chrono-kms-repo-'));
    try {
      const storage = new LocalObjectStorage(dir);
      const created = await Repository.init(storage, provider, { now: new Date() });
      const reopened = await Repository.open(storage, provider, { loadIndex: false });
      expect(reopened.config.id).toBe(created.config.id);
      // The keyring's context names the repository id: that is what KMS was asked to bind.
      const contexts = kms.stub.commandCalls(DecryptCommand).map((call) => call.args[0].input.EncryptionContext);
      expect(contexts.at(-1)).toMatchObject({ repository: created.config.id });

      const stranger = new KmsKeyProvider({ keyId: kms.createKey(), client: kms.client });
      const refused = await keyError(Repository.open(storage, stranger, { loadIndex: false }));
      expect(refused.code).toMatch(/^key\./);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a disabled or unknown KMS key as key.unavailable, naming the key, not retryable', async () => {
    const wrapped = await provider.wrap(randomBytes(32), context);
    kms.disable(keyId);
    for (const attempt of [provider.wrap(randomBytes(32), context), provider.unwrap(wrapped, context)]) {
      const error = await keyError(attempt);
      expect(error).toMatchObject({ code: 'key.unavailable', retryable: false, details: { awsError: 'DisabledException' } });
      expect(error.message).toContain(keyId);
    }
    const unknown = await keyError(new KmsKeyProvider({ keyId: 'alias/missing', client: kms.client }).wrap(randomBytes(32), context));
    expect(unknown).toMatchObject({ code: 'key.unavailable', details: { awsError: 'NotFoundException' } });
  });

  it('reports access denied as key.unavailable and throttling or an unreachable KMS as retryable', async () => {
    const wrapped = await provider.wrap(randomBytes(32), context);
    const denied = Object.assign(new Error('User: arn:aws:iam::111122223333:role/worker is not authorized to perform: kms:Decrypt'), { name: 'AccessDeniedException' });
    kms.failNext('Decrypt', denied);
    const refused = await keyError(provider.unwrap(wrapped, context));
    expect(refused).toMatchObject({ code: 'key.unavailable', retryable: false });
    expect(refused.message).toContain('not authorized to perform: kms:Decrypt');

    kms.failNext('Decrypt', Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    expect(await keyError(provider.unwrap(wrapped, context))).toMatchObject({ code: 'key.unavailable', retryable: true });

    kms.failNext('GenerateDataKey', Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }));
    expect(await keyError(provider.wrap(randomBytes(32), context))).toMatchObject({ code: 'key.unavailable', retryable: true });
  });

  it('refuses a slot whose data key was swapped for another slot’s, and a damaged data key, with key.mismatch', async () => {
    const first = (await provider.wrap(randomBytes(32), context)) as KmsWrappedKey;
    const second = (await provider.wrap(randomBytes(32), context)) as KmsWrappedKey;
    // KMS decrypts the swapped-in data key fine; the local seal must still refuse it.
    const swapped = await keyError(provider.unwrap({ ...first, encryptedDataKey: second.encryptedDataKey }, context));
    expect(swapped.code).toBe('key.mismatch');
    const blob = Buffer.from(first.encryptedDataKey, 'base64');
    blob[blob.length - 1]! ^= 1;
    expect((await keyError(provider.unwrap({ ...first, encryptedDataKey: blob.toString('base64') }, context))).code).toBe('key.mismatch');
    expect((await keyError(provider.unwrap({ ...first, encryptedDataKey: 'not base64!' }, context))).code).toBe('key.mismatch');
  });

  it('refuses an empty key id and a context with non-string values before calling KMS', async () => {
    expect(() => new KmsKeyProvider({ keyId: ' ', client: kms.client })).toThrow(ValidationError);
    await expect(provider.wrap(randomBytes(32), { repository: 5 } as never)).rejects.toBeInstanceOf(ValidationError);
    expect(kms.stub.commandCalls(GenerateDataKeyCommand)).toHaveLength(0);
  });
});
