import { DecryptCommand, GenerateDataKeyCommand, KMSClient, type KMSClientConfig } from '@aws-sdk/client-kms';

import { BackupError, KeyAccessError, ValidationError } from '../domain/errors.js';
import type { KeyContext, KeyProvider, WrappedKey } from '../ports/key-provider.js';
import { isTransientNetworkError, sanitizedCause } from '../storage/remote-storage-support.js';
import { associatedData, decodeBase64, malformed, readSealed, requireKey, requireKind, seal, unseal } from './local-key-provider.js';

/*
 * Envelope encryption with AWS KMS. wrap() asks KMS for a fresh AES-256 data key (GenerateDataKey),
 * seals the repository master key with it locally (AES-256-GCM, as the local providers do), forgets the
 * plaintext data key and stores the data key as KMS encrypted it. unwrap() has KMS decrypt that data
 * key (Decrypt) and opens the seal. The master key itself never travels to KMS.
 *
 * The key context (repository id and slot id, from the keyring) is the KMS EncryptionContext, so KMS
 * refuses to decrypt a slot copied to another repository and CloudTrail records which repository every
 * Decrypt was for; it is also the GCM associated data. Decrypt names the provider's key, so a slot
 * wrapped under another KMS key fails (IncorrectKeyException) rather than being decrypted with whatever
 * key the blob names.
 */

/** WrappedKey produced by {@link KmsKeyProvider}. Binary fields are base64. */
export interface KmsWrappedKey extends WrappedKey {
  kind: 'kms';
  version: 1;
  /** ARN of the KMS key that generated the data key (shown by `keys list`; not a secret). */
  keyArn: string;
  /** The data key as KMS encrypted it (CiphertextBlob), bound to the encryption context. */
  encryptedDataKey: string;
  cipher: 'aes-256-gcm';
  nonce: string;
  ciphertext: string;
  tag: string;
}

/** Options of {@link KmsKeyProvider}. */
export interface KmsKeyProviderOptions {
  /** Key id, key ARN, alias (`alias/chrono-backup`) or alias ARN of a symmetric encryption key. */
  keyId: string;
  region?: string;
  /** e.g. a VPC endpoint; default: the region's KMS endpoint. */
  endpoint?: string;
  credentials?: KMSClientConfig['credentials'];
  /** A client to use instead of building one from region, endpoint and credentials. */
  client?: KMSClient;
}

const DATA_KEY_BYTES = 32;

/** KMS errors that mean "this slot is not for this key or context", as opposed to "KMS is not usable". */
const MISMATCH_ERRORS = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);
/** KMS errors worth retrying: KMS or its dependencies are overloaded or failing for a moment. */
const TRANSIENT_ERRORS = new Set(['ThrottlingException', 'KMSInternalException', 'DependencyTimeoutException', 'ServiceUnavailableException', 'InternalFailure']);

/** Protects the repository master key with a KMS key (the AWS deployment's key provider). */
export class KmsKeyProvider implements KeyProvider {
  readonly kind = 'kms';
  /** The configured key id, ARN or alias (never key material). */
  readonly description: string;
  private readonly keyId: string;
  private readonly client: KMSClient;

  constructor(options: KmsKeyProviderOptions) {
    if (typeof options?.keyId !== 'string' || options.keyId.trim() === '') {
      throw new ValidationError('the KMS key id must not be empty', 'keyId');
    }
    this.keyId = options.keyId;
    this.description = `kms:${options.keyId}`;
    this.client =
      options.client ??
      new KMSClient({
        ...(options.region !== undefined ? { region: options.region } : {}),
        ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
        ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
      });
  }

  /** Seals `key` under a new KMS data key bound to `context`. */
  async wrap(key: Buffer, context: KeyContext): Promise<KmsWrappedKey> {
    requireKey(key);
    const aad = associatedData(this.kind, context); // also checks that the context holds strings only
    const response = await this.call('GenerateDataKey', () =>
      this.client.send(new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', ...encryptionContext(context) })),
    );
    const plaintext = response?.Plaintext;
    const blob = response?.CiphertextBlob;
    if (!plaintext || plaintext.length !== DATA_KEY_BYTES || !blob || blob.length === 0) {
      plaintext?.fill(0);
      throw new KeyAccessError('unavailable', `KMS key ${this.keyId} returned no usable AES-256 data key`);
    }
    const dataKey = Buffer.from(plaintext);
    try {
      const sealed = seal(dataKey, key, aad);
      return {
        kind: 'kms',
        version: 1,
        keyArn: response?.KeyId ?? this.keyId,
        encryptedDataKey: Buffer.from(blob).toString('base64'),
        cipher: 'aes-256-gcm',
        ...sealed,
      };
    } finally {
      dataKey.fill(0);
      plaintext.fill(0);
    }
  }

  /** Has KMS decrypt the slot's data key under `context`, then opens the seal. */
  async unwrap(wrapped: WrappedKey, context: KeyContext): Promise<Buffer> {
    requireKind(wrapped, this.kind);
    if (wrapped.version !== 1 || wrapped.cipher !== 'aes-256-gcm') throw malformed(this.kind);
    const blob = decodeBase64(wrapped.encryptedDataKey);
    if (blob === undefined || blob.length === 0) throw malformed(this.kind);
    const sealed = readSealed(wrapped, this.kind);
    const aad = associatedData(this.kind, context);
    const response = await this.call('Decrypt', () =>
      this.client.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: this.keyId, ...encryptionContext(context) })),
    );
    const plaintext = response?.Plaintext;
    if (!plaintext || plaintext.length !== DATA_KEY_BYTES) {
      plaintext?.fill(0);
      throw malformed(this.kind);
    }
    const dataKey = Buffer.from(plaintext);
    try {
      const key = unseal(dataKey, sealed, aad);
      if (key === undefined) {
        throw new KeyAccessError('mismatch', `KMS key ${this.keyId} decrypted the data key, but it does not open this key slot (a damaged slot)`);
      }
      return key;
    } finally {
      dataKey.fill(0);
      plaintext.fill(0);
    }
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw kmsFailure(error, operation, this.keyId);
    }
  }
}

/** The KMS EncryptionContext for a key context (omitted when empty: KMS treats that as no context). */
function encryptionContext(context: KeyContext): { EncryptionContext?: Record<string, string> } {
  return Object.keys(context).length === 0 ? {} : { EncryptionContext: { ...context } };
}

/**
 * A KMS failure as the domain sees it. Decrypt refusing the blob (another key, another context, a
 * damaged blob) is `key.mismatch`; everything else — key missing, disabled or pending deletion, access
 * denied, no credentials, KMS unreachable — is `key.unavailable`, retryable when waiting could help.
 * KMS messages name keys and principals, never key material; requests never carry any either.
 */
export function kmsFailure(error: unknown, operation: string, keyId: string): BackupError {
  if (error instanceof BackupError) return error;
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  const label = typeof name === 'string' ? name : 'Error';
  const text = typeof message === 'string' ? message.slice(0, 300) : '';
  const options = { cause: sanitizedCause(error), details: { keyId, operation, awsError: label } };
  if (MISMATCH_ERRORS.has(label)) {
    return new KeyAccessError(
      'mismatch',
      `KMS key ${keyId} cannot decrypt this key slot: it was wrapped under another KMS key or for another repository, or it is damaged (${label})`,
      options,
    );
  }
  const retryable = TRANSIENT_ERRORS.has(label) || isTransientNetworkError(error);
  return new KeyAccessError('unavailable', `KMS ${operation} with key ${keyId} failed (${label}${text ? `: ${text}` : ''})`, { ...options, retryable });
}
