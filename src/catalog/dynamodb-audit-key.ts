import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { PutCommand } from '@aws-sdk/lib-dynamodb';

import { KeyAccessError } from '../domain/errors.js';
import { isConditionFailure, translateDynamoError } from './dynamodb-support.js';
import { DynamoDbStore, type DynamoDbStoreOptions } from './dynamodb-store.js';

const KEY_ITEM = { PK: 'AUDIT', SK: 'KEY' } as const;
const CONTEXT = { purpose: 'chrono-backup-audit' } as const;

/**
 * The audit chain's key in AWS: a KMS data key whose plaintext never leaves the function's memory. The
 * catalog table keeps only its ciphertext (item `AUDIT`/`KEY`), created on first use with a conditional
 * put, so two cold starts racing agree on one key. Editing the table does not give the key: decrypting
 * the ciphertext needs kms:Decrypt on the project key under the audit encryption context, which only the
 * API role has; and a substituted ciphertext would not verify the existing chain (`wrong_key`).
 */
export class DynamoDbAuditKey extends DynamoDbStore {
  constructor(options: DynamoDbStoreOptions, private readonly kms: KMSClient, private readonly keyId: string) {
    super(options);
  }

  async load(): Promise<Buffer> {
    const stored = await this.guard('audit key read', () => this.getItem(KEY_ITEM));
    if (typeof stored?.ciphertext === 'string') return this.decrypt(stored.ciphertext);
    const generated = await this.kms.send(new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: CONTEXT })).catch((error: unknown) => Promise.reject(kmsFailure(error)));
    if (!generated.CiphertextBlob || !generated.Plaintext) throw new KeyAccessError('unavailable', 'KMS returned no audit key');
    const ciphertext = Buffer.from(generated.CiphertextBlob).toString('base64');
    try {
      await this.documents.send(new PutCommand({ TableName: this.tableName, Item: { ...KEY_ITEM, ciphertext }, ConditionExpression: 'attribute_not_exists(PK)' }));
      return Buffer.from(generated.Plaintext);
    } catch (error) {
      if (!isConditionFailure(error)) throw translateDynamoError(error, 'audit key create', this.tableName);
      // Another cold start stored its key first: use that one.
      const winner = await this.guard('audit key read', () => this.getItem(KEY_ITEM));
      return this.decrypt(String(winner?.ciphertext));
    }
  }

  private async decrypt(ciphertext: string): Promise<Buffer> {
    const result = await this.kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(ciphertext, 'base64'), EncryptionContext: CONTEXT })).catch((error: unknown) => Promise.reject(kmsFailure(error)));
    if (!result.Plaintext || result.Plaintext.length < 32) throw new KeyAccessError('unavailable', 'the audit key decrypted to fewer than 32 bytes');
    return Buffer.from(result.Plaintext);
  }
}

function kmsFailure(error: unknown): KeyAccessError {
  return new KeyAccessError('unavailable', `the audit key could not be obtained from KMS (${(error as Error).name ?? 'error'})`, { cause: error });
}
