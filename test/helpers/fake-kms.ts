import {
  DecryptCommand,
  DisabledException,
  GenerateDataKeyCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  KMSClient,
  NotFoundException,
  type DecryptCommandInput,
  type GenerateDataKeyCommandInput,
} from '@aws-sdk/client-kms';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_BYTES = 16;

type Operation = 'GenerateDataKey' | 'Decrypt';

interface FakeKey {
  id: string;
  arn: string;
  material: Buffer;
  enabled: boolean;
}

/**
 * A KMS stand-in behind aws-sdk-client-mock that really encrypts: each key is a local AES-256 key, and
 * a CiphertextBlob is `key id (16 bytes) | nonce | AES-GCM(data key) | tag` with the encryption context
 * (keys sorted) as associated data. So, as with real KMS, Decrypt fails with InvalidCiphertextException
 * for another context or a damaged blob, IncorrectKeyException when the KeyId given is not the key that
 * encrypted the blob, NotFoundException for an unknown key and DisabledException for a disabled one.
 */
export class FakeKms {
  readonly client = new KMSClient({ region: REGION, credentials: { accessKeyId: 'fake', secretAccessKey: 'fake-secret-key' } });
  readonly stub: AwsClientStub<KMSClient>;
  private readonly keys = new Map<string, FakeKey>();
  private readonly aliases = new Map<string, string>();
  private readonly failures: Record<Operation, unknown[]> = { GenerateDataKey: [], Decrypt: [] };

  constructor() {
    this.stub = mockClient(this.client);
    this.stub.on(GenerateDataKeyCommand).callsFake((input: GenerateDataKeyCommandInput) => this.answer('GenerateDataKey', () => this.generateDataKey(input)));
    this.stub.on(DecryptCommand).callsFake((input: DecryptCommandInput) => this.answer('Decrypt', () => this.decrypt(input)));
  }

  /** Makes the next call of `operation` fail with `error` (throttling, access denied, a network error). */
  failNext(operation: Operation, error: unknown): void {
    this.failures[operation].push(error);
  }

  /** Creates a key, optionally with an alias (`alias/<name>`); returns its key id. */
  createKey(alias?: string): string {
    const id = randomUUID();
    this.keys.set(id, { id, arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`, material: randomBytes(32), enabled: true });
    if (alias !== undefined) this.aliases.set(`alias/${alias}`, id);
    return id;
  }

  arnOf(id: string): string {
    return this.require(id).arn;
  }

  disable(id: string): void {
    this.require(id).enabled = false;
  }

  /** Restores the client's real `send` (the stub keeps call history until then). */
  restore(): void {
    this.stub.restore();
    this.client.destroy();
  }

  private answer<T>(operation: Operation, work: () => T): T {
    const failure = this.failures[operation].shift();
    if (failure !== undefined) throw failure;
    return work();
  }

  private generateDataKey(input: GenerateDataKeyCommandInput): { KeyId: string; Plaintext: Uint8Array; CiphertextBlob: Uint8Array } {
    if (input.KeySpec !== 'AES_256') throw new Error(`fake KMS: expected KeySpec AES_256, got ${String(input.KeySpec)}`);
    const key = this.usable(input.KeyId);
    const plaintext = randomBytes(32);
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.material, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(contextBytes(input.EncryptionContext));
    const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const blob = Buffer.concat([Buffer.from(key.id.replaceAll('-', ''), 'hex'), nonce, sealed, cipher.getAuthTag()]);
    return { KeyId: key.arn, Plaintext: new Uint8Array(plaintext), CiphertextBlob: new Uint8Array(blob) };
  }

  private decrypt(input: DecryptCommandInput): { KeyId: string; Plaintext: Uint8Array } {
    const blob = Buffer.from(input.CiphertextBlob ?? new Uint8Array());
    if (blob.length < KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES + 1) throw invalidCiphertext();
    const hex = blob.subarray(0, KEY_ID_BYTES).toString('hex');
    const blobKeyId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    const blobKey = this.keys.get(blobKeyId);
    if (blobKey === undefined) throw invalidCiphertext();
    if (input.KeyId !== undefined && this.usable(input.KeyId).id !== blobKey.id) {
      throw new IncorrectKeyException({ message: 'The key ID in the request does not identify a KMS key that can perform this operation.', $metadata: {} });
    }
    const key = this.usable(blobKey.id);
    const nonce = blob.subarray(KEY_ID_BYTES, KEY_ID_BYTES + NONCE_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key.material, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(contextBytes(input.EncryptionContext));
    decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
    try {
      const plaintext = Buffer.concat([decipher.update(blob.subarray(KEY_ID_BYTES + NONCE_BYTES, blob.length - TAG_BYTES)), decipher.final()]);
      return { KeyId: key.arn, Plaintext: new Uint8Array(plaintext) };
    } catch {
      throw invalidCiphertext();
    }
  }

  /** The key named by id, ARN or alias, refusing unknown and disabled keys as KMS does. */
  private usable(keyId: string | undefined): FakeKey {
    const id = keyId === undefined ? undefined : (this.aliases.get(keyId) ?? keyId.replace(/^arn:aws:kms:[^:]+:\d+:key\//, ''));
    const key = id === undefined ? undefined : this.keys.get(id);
    if (key === undefined) throw new NotFoundException({ message: `Key '${String(keyId)}' does not exist`, $metadata: {} });
    if (!key.enabled) throw new DisabledException({ message: `${key.arn} is disabled.`, $metadata: {} });
    return key;
  }

  private require(id: string): FakeKey {
    const key = this.keys.get(id);
    if (key === undefined) throw new Error(`fake KMS: no key ${id}`);
    return key;
  }
}

function invalidCiphertext(): InvalidCiphertextException {
  return new InvalidCiphertextException({ message: '', $metadata: {} });
}

/** The encryption context as KMS binds it: order-independent, so sorted by key. */
function contextBytes(context: Record<string, string> | undefined): Buffer {
  const entries = Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}
