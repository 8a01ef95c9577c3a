import { describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { IntegrityError } from '../../../src/domain/errors.js';
import { blobId, open, seal, sealParts, SEAL_OVERHEAD, SEAL_VERSION, type DataKey, type DataKeyLookup } from '../../../src/repository/crypto.js';
import { thrownBy } from '../../helpers/thrown.js';

/** The code of the IntegrityError `fn` throws. */
const thrownCode = (fn: () => unknown): string => thrownBy(fn, IntegrityError).code;

const keyA: DataKey = { id: 0x0a0b0c0d, key: randomBytes(32) };
const keyB: DataKey = { id: 0x11223344, key: randomBytes(32) };
const lookup: DataKeyLookup = (id) => [keyA, keyB].find((key) => key.id === id);
const aad = Buffer.from('blob-id-0123456789');

describe('seal / open', () => {
  it.each([
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([7])],
    ['text', Buffer.from('the quick brown fox')],
    ['1 MiB of random data', randomBytes(1024 * 1024)],
  ])('round-trips %s', (_label, plaintext) => {
    const sealed = seal(keyA, plaintext, aad);
    expect(sealed.length).toBe(plaintext.length + SEAL_OVERHEAD);
    expect(open(lookup, sealed, aad, 'blob').equals(plaintext)).toBe(true);
  });

  it('lays out version, big-endian key id and nonce in front', () => {
    const sealed = seal(keyA, Buffer.from('hello'), aad);
    expect(sealed[0]).toBe(SEAL_VERSION);
    expect(sealed.readUInt32BE(1)).toBe(keyA.id);
    expect(SEAL_OVERHEAD).toBe(1 + 4 + 12 + 16);
  });

  it('uses a fresh nonce each time, so equal plaintexts seal differently', () => {
    const plaintext = Buffer.from('same plaintext');
    const one = seal(keyA, plaintext, aad);
    const two = seal(keyA, plaintext, aad);
    expect(one.equals(two)).toBe(false);
    expect(one.subarray(5, 17).equals(two.subarray(5, 17))).toBe(false);
  });

  it('does not contain the plaintext in the clear', () => {
    const plaintext = Buffer.from('a very recognisable secret string, repeated: '.repeat(4));
    expect(seal(keyA, plaintext, aad).includes(Buffer.from('recognisable'))).toBe(false);
  });

  it('opens data sealed with any key the lookup knows', () => {
    const sealed = seal(keyB, Buffer.from('by key B'), aad);
    expect(open(lookup, sealed, aad, 'blob').toString()).toBe('by key B');
  });

  it('opens a sealed object that sits at an offset inside a larger buffer', () => {
    const sealed = seal(keyA, Buffer.from('inside'), aad);
    const container = Buffer.concat([Buffer.alloc(13, 1), sealed, Buffer.alloc(9, 2)]);
    expect(open(lookup, container.subarray(13, 13 + sealed.length), aad, 'blob').toString()).toBe('inside');
  });

  it('rejects another associated data with integrity.authentication_failed', () => {
    const sealed = seal(keyA, Buffer.from('bound to its id'), aad);
    expect(thrownCode(() => open(lookup, sealed, Buffer.from('another-id'), 'blob'))).toBe('integrity.authentication_failed');
    expect(thrownCode(() => open(lookup, sealed, Buffer.alloc(0), 'blob'))).toBe('integrity.authentication_failed');
  });

  it('detects a flipped bit at every position', () => {
    const sealed = seal(keyA, Buffer.from('0123456789abcdef0123'), aad);
    for (let at = 0; at < sealed.length; at++) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 0x01;
      const code = thrownCode(() => open(lookup, bad, aad, 'blob'));
      if (at === 0) expect(code).toBe('integrity.malformed'); // version byte
      else if (at < 5) expect(code).toBe('integrity.unknown_key'); // key id names no known key
      else expect(code).toBe('integrity.authentication_failed'); // nonce, ciphertext, tag
    }
  });

  it('detects a key id changed to another known key', () => {
    const sealed = seal(keyA, Buffer.from('sealed by A'), aad);
    sealed.writeUInt32BE(keyB.id, 1);
    expect(thrownCode(() => open(lookup, sealed, aad, 'blob'))).toBe('integrity.authentication_failed');
  });

  it('rejects truncated objects', () => {
    const sealed = seal(keyA, Buffer.from('some plaintext to truncate'), aad);
    for (const length of [0, 1, 5, SEAL_OVERHEAD - 1]) {
      expect(thrownCode(() => open(lookup, sealed.subarray(0, length), aad, 'blob'))).toBe('integrity.malformed');
    }
    for (const length of [SEAL_OVERHEAD, SEAL_OVERHEAD + 3, sealed.length - 1]) {
      expect(thrownCode(() => open(lookup, sealed.subarray(0, length), aad, 'blob'))).toBe('integrity.authentication_failed');
    }
  });

  it('rejects appended bytes', () => {
    const sealed = seal(keyA, Buffer.from('no trailing bytes allowed'), aad);
    expect(thrownCode(() => open(lookup, Buffer.concat([sealed, Buffer.from([0])]), aad, 'blob'))).toBe('integrity.authentication_failed');
  });

  it('rejects an unknown key id with integrity.unknown_key and names the id', () => {
    const stranger: DataKey = { id: 0xdeadbeef, key: randomBytes(32) };
    const sealed = seal(stranger, Buffer.from('from elsewhere'), aad);
    try {
      open(lookup, sealed, aad, 'snapshot x');
      throw new Error('not thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(IntegrityError);
      expect((error as IntegrityError).code).toBe('integrity.unknown_key');
      expect((error as IntegrityError).message).toContain('deadbeef');
      expect((error as IntegrityError).message).toContain('snapshot x');
    }
  });

  it('rejects the right key id with the wrong key bytes', () => {
    const sealed = seal(keyA, Buffer.from('secret'), aad);
    const impostor: DataKeyLookup = (id) => (id === keyA.id ? { id, key: randomBytes(32) } : undefined);
    expect(thrownCode(() => open(impostor, sealed, aad, 'blob'))).toBe('integrity.authentication_failed');
  });

  it('rejects an unsupported version byte', () => {
    const sealed = seal(keyA, Buffer.from('v1'), aad);
    sealed[0] = SEAL_VERSION + 1;
    expect(thrownCode(() => open(lookup, sealed, aad, 'blob'))).toBe('integrity.malformed');
  });
});

describe('sealParts', () => {
  it('seals plaintext given in parts as one object that opens to their concatenation', () => {
    const parts = [Buffer.from([3]), randomBytes(10_000), Buffer.alloc(0), Buffer.from('tail')];
    const sealed = sealParts(keyA, parts, aad);
    expect(sealed[0]).toHaveLength(17); // version, key id, nonce
    const whole = Buffer.concat(sealed);
    expect(whole.length).toBe(10_005 + SEAL_OVERHEAD);
    expect(open(lookup, whole, aad, 'blob').equals(Buffer.concat(parts))).toBe(true);
  });

  it('seals an empty plaintext', () => {
    const whole = Buffer.concat(sealParts(keyA, [], aad));
    expect(whole.length).toBe(SEAL_OVERHEAD);
    expect(open(lookup, whole, aad, 'blob').length).toBe(0);
  });

  it('binds the parts to the associated data like seal', () => {
    const whole = Buffer.concat(sealParts(keyA, [Buffer.from('a'), Buffer.from('b')], aad));
    expect(thrownCode(() => open(lookup, whole, Buffer.from('other'), 'blob'))).toBe('integrity.authentication_failed');
  });
});

describe('blobId', () => {
  const idKey = randomBytes(32);

  it('is a 32-byte HMAC, deterministic for the same key and content', () => {
    const id = blobId(idKey, Buffer.from('content'));
    expect(id).toHaveLength(32);
    expect(blobId(idKey, Buffer.from('content')).equals(id)).toBe(true);
  });

  it('differs for different content', () => {
    expect(blobId(idKey, Buffer.from('content')).equals(blobId(idKey, Buffer.from('content!')))).toBe(false);
  });

  it('is keyed: another repository key gives another id for the same content', () => {
    const content = Buffer.from('identical content in two repositories');
    expect(blobId(idKey, content).equals(blobId(randomBytes(32), content))).toBe(false);
  });

  it('is not the plain SHA-256 of the content', () => {
    const content = Buffer.from('guessable content');
    expect(blobId(idKey, content).equals(createHash('sha256').update(content).digest())).toBe(false);
  });
});
