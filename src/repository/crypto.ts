import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { IntegrityError } from '../domain/errors.js';

/**
 * Authenticated encryption of every object and blob in a repository.
 *
 * Sealed layout: `version (1) | data key id (4, big-endian) | nonce (12) | ciphertext | GCM tag (16)`.
 * The key id lets old data stay readable after `keys rotate`; the associated data binds a ciphertext to
 * its place (a blob to its id, a snapshot to its name), so objects cannot be swapped undetected.
 */
export const SEAL_VERSION = 1;
const HEADER = 1 + 4 + 12;
const TAG = 16;
export const SEAL_OVERHEAD = HEADER + TAG;

/** A repository data key: AES-256 key plus the short id recorded in everything it seals. */
export interface DataKey {
  id: number;
  key: Buffer;
}

/** Finds a data key by id; the keyring implements it. */
export type DataKeyLookup = (id: number) => DataKey | undefined;

export function seal(dataKey: DataKey, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey.key, nonce);
  cipher.setAAD(aad);
  // Never from Node's shared pool: worker threads transfer this buffer's memory to the main thread.
  const out = Buffer.allocUnsafeSlow(HEADER + plaintext.length + TAG);
  out[0] = SEAL_VERSION;
  out.writeUInt32BE(dataKey.id, 1);
  nonce.copy(out, 5);
  // update() into a fresh buffer then copy: node offers no in-place GCM; one copy is cheap next to AES.
  const body = cipher.update(plaintext);
  body.copy(out, HEADER);
  const tail = cipher.final();
  if (tail.length > 0) tail.copy(out, HEADER + body.length);
  cipher.getAuthTag().copy(out, HEADER + plaintext.length);
  return out;
}

export function open(keys: DataKeyLookup, sealed: Uint8Array, aad: Uint8Array, what: string): Buffer {
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (buf.length < SEAL_OVERHEAD || buf[0] !== SEAL_VERSION) {
    throw new IntegrityError('malformed', `${what} is damaged: not a sealed object`);
  }
  const keyId = buf.readUInt32BE(1);
  const dataKey = keys(keyId);
  if (!dataKey) throw new IntegrityError('unknown_key', `${what} is sealed with unknown data key ${keyId.toString(16)}`);
  const decipher = createDecipheriv('aes-256-gcm', dataKey.key, buf.subarray(5, HEADER));
  decipher.setAAD(aad);
  decipher.setAuthTag(buf.subarray(buf.length - TAG));
  try {
    const body = decipher.update(buf.subarray(HEADER, buf.length - TAG));
    decipher.final();
    return body;
  } catch (error) {
    throw new IntegrityError('authentication_failed', `${what} is damaged: authentication failed`, { cause: error });
  }
}

/** Blob id: HMAC-SHA256 of the plaintext under the repository id key, so ids reveal nothing about content. */
export function blobId(idKey: Buffer, plaintext: Uint8Array): Buffer {
  return createHmac('sha256', idKey).update(plaintext).digest();
}
