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

/**
 * Seals plaintext given in parts (a codec byte and a payload, say) and returns the sealed object in
 * parts: header, ciphertext pieces, tag. Nothing is copied; a caller that writes or transfers the parts
 * avoids allocating the whole object twice.
 */
export function sealParts(dataKey: DataKey, plaintext: readonly Uint8Array[], aad: Uint8Array): Buffer[] {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey.key, nonce);
  cipher.setAAD(aad);
  const header = Buffer.alloc(HEADER);
  header[0] = SEAL_VERSION;
  header.writeUInt32BE(dataKey.id, 1);
  nonce.copy(header, 5);
  const out = [header];
  for (const part of plaintext) if (part.length > 0) out.push(cipher.update(part));
  const tail = cipher.final();
  out.push(tail.length > 0 ? Buffer.concat([tail, cipher.getAuthTag()]) : cipher.getAuthTag());
  return out;
}

export function seal(dataKey: DataKey, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  return Buffer.concat(sealParts(dataKey, [plaintext], aad));
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
