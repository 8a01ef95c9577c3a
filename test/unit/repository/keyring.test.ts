import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError, KeyAccessError } from '../../../src/domain/errors.js';
import { PassphraseKeyProvider } from '../../../src/keys/local-key-provider.js';
import { open, seal } from '../../../src/repository/crypto.js';
import { formatKeyId, Keyring, listSlots } from '../../../src/repository/keyring.js';
import { LocalObjectStorage } from '../../../src/storage/local-object-storage.js';

const REPO_ID = 'repo-0123456789abcdef';
const T0 = new Date('2024-12-24T12:00:00.000Z');
const T1 = new Date('2025-01-10T08:30:00.000Z');
const T2 = new Date('2025-02-01T00:00:00.000Z');

function passphrase(secret: string): PassphraseKeyProvider {
  return new PassphraseKeyProvider(secret, { scrypt: { N: 1024 } });
}

async function keyAccessCode(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(KeyAccessError);
  return (error as KeyAccessError).code;
}

describe('Keyring', () => {
  let root: string;
  let storage: LocalObjectStorage;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'chrono-keyring-'));
    storage = new LocalObjectStorage(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates one key slot and one data key, and opens again with the same passphrase', async () => {
    const created = await Keyring.create(storage, passphrase('correct horse'), REPO_ID, T0);
    expect(await readdir(join(root, 'keys'))).toHaveLength(1);
    expect(await readdir(join(root, 'datakeys'))).toEqual([formatKeyId(created.writeKey.id)]);

    const opened = await Keyring.open(storage, passphrase('correct horse'), REPO_ID);
    expect(opened.repositoryId).toBe(REPO_ID);
    expect(opened.writeKey.id).toBe(created.writeKey.id);
    expect(opened.writeKey.key.equals(created.writeKey.key)).toBe(true);
    expect(opened.idKey.equals(created.idKey)).toBe(true);
    expect(opened.chunkerSecret.equals(created.chunkerSecret)).toBe(true);
  });

  it('derives distinct 32-byte secrets for blob ids, chunking and data', async () => {
    const keyring = await Keyring.create(storage, passphrase('pw'), REPO_ID, T0);
    expect(keyring.idKey).toHaveLength(32);
    expect(keyring.chunkerSecret).toHaveLength(32);
    expect(keyring.writeKey.key).toHaveLength(32);
    expect(keyring.idKey.equals(keyring.chunkerSecret)).toBe(false);
    expect(keyring.idKey.equals(keyring.writeKey.key)).toBe(false);
    // Data key id 0 is reserved for the key that seals data keys.
    expect(keyring.writeKey.id).not.toBe(0);
  });

  it('gives two repositories unrelated keys', async () => {
    const one = await Keyring.create(storage, passphrase('pw'), REPO_ID, T0);
    const otherRoot = await mkdtemp(join(tmpdir(), 'chrono-keyring-other-'));
    try {
      const two = await Keyring.create(new LocalObjectStorage(otherRoot), passphrase('pw'), REPO_ID, T0);
      expect(one.idKey.equals(two.idKey)).toBe(false);
      expect(one.chunkerSecret.equals(two.chunkerSecret)).toBe(false);
    } finally {
      await rm(otherRoot, { recursive: true, force: true });
    }
  });

  it('stores no key material in the clear', async () => {
    const secret = 'a long and distinctive passphrase';
    const keyring = await Keyring.create(storage, passphrase(secret), REPO_ID, T0);
    const secrets = [keyring.writeKey.key, keyring.idKey, keyring.chunkerSecret];
    const forms = secrets.flatMap((key) => [key, Buffer.from(key.toString('base64')), Buffer.from(key.toString('hex'))]);
    for (const directory of ['keys', 'datakeys']) {
      for (const name of await readdir(join(root, directory))) {
        const bytes = await readFile(join(root, directory, name));
        for (const form of forms) expect(bytes.includes(form)).toBe(false);
        expect(bytes.includes(Buffer.from('distinctive'))).toBe(false);
      }
    }
  });

  it('refuses a wrong passphrase with key.mismatch', async () => {
    await Keyring.create(storage, passphrase('right'), REPO_ID, T0);
    expect(await keyAccessCode(Keyring.open(storage, passphrase('wrong'), REPO_ID))).toBe('key.mismatch');
  });

  it('refuses to open under another repository id (slot context) with key.mismatch', async () => {
    await Keyring.create(storage, passphrase('right'), REPO_ID, T0);
    expect(await keyAccessCode(Keyring.open(storage, passphrase('right'), 'another-repository'))).toBe('key.mismatch');
  });

  it('refuses a provider of a kind no slot has with key.mismatch', async () => {
    await Keyring.create(storage, passphrase('right'), REPO_ID, T0);
    const keyFileLike = { kind: 'key-file', description: 'x', wrap: () => Promise.reject(new Error('unused')), unwrap: () => Promise.reject(new Error('unused')) };
    expect(await keyAccessCode(Keyring.open(storage, keyFileLike, REPO_ID))).toBe('key.mismatch');
  });

  it('refuses an empty repository with key.mismatch', async () => {
    expect(await keyAccessCode(Keyring.open(storage, passphrase('any'), REPO_ID))).toBe('key.mismatch');
  });

  it('passes on provider errors other than a mismatch (e.g. key.unavailable)', async () => {
    await Keyring.create(storage, passphrase('right'), REPO_ID, T0);
    expect(await keyAccessCode(Keyring.open(storage, new PassphraseKeyProvider(undefined, { scrypt: { N: 1024 } }), REPO_ID))).toBe('key.unavailable');
  });

  it('fails when the data keys are missing', async () => {
    const keyring = await Keyring.create(storage, passphrase('pw'), REPO_ID, T0);
    await storage.delete(`datakeys/${formatKeyId(keyring.writeKey.id)}`);
    expect(await keyAccessCode(Keyring.open(storage, passphrase('pw'), REPO_ID))).toBe('key.no_data_key');
  });

  it('detects a tampered data key object', async () => {
    const keyring = await Keyring.create(storage, passphrase('pw'), REPO_ID, T0);
    const path = join(root, 'datakeys', formatKeyId(keyring.writeKey.id));
    const bytes = await readFile(path);
    bytes[bytes.length - 3]! ^= 0x10;
    await writeFile(path, bytes);
    await expect(Keyring.open(storage, passphrase('pw'), REPO_ID)).rejects.toBeInstanceOf(IntegrityError);
  });

  it('detects a data key object renamed to another key id', async () => {
    const keyring = await Keyring.create(storage, passphrase('pw'), REPO_ID, T0);
    const name = formatKeyId(keyring.writeKey.id);
    await storage.put('datakeys/0badc0de', await storage.get(`datakeys/${name}`));
    await storage.delete(`datakeys/${name}`);
    await expect(Keyring.open(storage, passphrase('pw'), REPO_ID)).rejects.toBeInstanceOf(IntegrityError);
  });

  it('addSlot lets a second passphrase open the same keys, and the first still works', async () => {
    const keyring = await Keyring.create(storage, passphrase('first'), REPO_ID, T0);
    const slot = await keyring.addSlot(storage, passphrase('second'), T1);
    expect(slot).toMatchObject({ version: 1, kind: 'passphrase', description: 'passphrase', created: T1.toISOString() });
    expect(slot.id).toMatch(/^[0-9a-f]{16}$/);

    const slots = await listSlots(storage);
    expect(slots).toHaveLength(2);
    expect(slots[1]!.id).toBe(slot.id); // sorted by creation time

    for (const secret of ['first', 'second']) {
      const opened = await Keyring.open(storage, passphrase(secret), REPO_ID);
      expect(opened.writeKey.key.equals(keyring.writeKey.key)).toBe(true);
      expect(opened.idKey.equals(keyring.idKey)).toBe(true);
    }
    expect(await keyAccessCode(Keyring.open(storage, passphrase('third'), REPO_ID))).toBe('key.mismatch');
  });

  it('rotate adds a data key that becomes the write key; old keys still open old data', async () => {
    const keyring = await Keyring.create(storage, passphrase('pw'), REPO_ID, T0);
    const first = keyring.writeKey;
    const oldSealed = seal(first, Buffer.from('written before rotation'), Buffer.from('aad'));

    const info = await keyring.rotate(storage, T1);
    expect(info).toEqual({ id: formatKeyId(keyring.writeKey.id), created: T1.toISOString(), active: true });
    const second = keyring.writeKey;
    expect(second.id).not.toBe(first.id);
    expect(second.key.equals(first.key)).toBe(false);
    expect(open(keyring.lookup, oldSealed, Buffer.from('aad'), 'old').toString()).toBe('written before rotation');
    const newSealed = seal(second, Buffer.from('written after rotation'), Buffer.from('aad'));

    const reopened = await Keyring.open(storage, passphrase('pw'), REPO_ID);
    expect(reopened.writeKey.id).toBe(second.id);
    expect(open(reopened.lookup, oldSealed, Buffer.from('aad'), 'old').toString()).toBe('written before rotation');
    expect(open(reopened.lookup, newSealed, Buffer.from('aad'), 'new').toString()).toBe('written after rotation');
    expect(reopened.allDataKeys().map((key) => key.id).sort()).toEqual([first.id, second.id].sort());
    expect(reopened.listDataKeys()).toEqual([
      { id: formatKeyId(first.id), created: T0.toISOString(), active: false },
      { id: formatKeyId(second.id), created: T1.toISOString(), active: true },
    ]);
  });

  it('keeps idKey and chunkerSecret across rotations and reopening', async () => {
    const keyring = await Keyring.create(storage, passphrase('pw'), REPO_ID, T0);
    const idKey = Buffer.from(keyring.idKey);
    const chunkerSecret = Buffer.from(keyring.chunkerSecret);
    await keyring.rotate(storage, T1);
    await keyring.rotate(storage, T2);
    expect(keyring.idKey.equals(idKey)).toBe(true);
    expect(keyring.chunkerSecret.equals(chunkerSecret)).toBe(true);
    await keyring.addSlot(storage, passphrase('other'), T2);
    const reopened = await Keyring.open(storage, passphrase('other'), REPO_ID);
    expect(reopened.idKey.equals(idKey)).toBe(true);
    expect(reopened.chunkerSecret.equals(chunkerSecret)).toBe(true);
    expect(reopened.allDataKeys()).toHaveLength(3);
    expect(reopened.listDataKeys().filter((key) => key.active)).toHaveLength(1);
  });

  it('makes the newest key the write key even when a rotation happens in the same millisecond', async () => {
    const keyring = await Keyring.create(storage, passphrase('pw'), REPO_ID, T0);
    const first = keyring.writeKey.id;
    const info = await keyring.rotate(storage, T0);
    expect(info.active).toBe(true);
    expect(formatKeyId(keyring.writeKey.id)).toBe(info.id);
    expect(keyring.writeKey.id).not.toBe(first);
    // And the same key is chosen after reopening, whatever order storage lists the keys in.
    const reopened = await Keyring.open(storage, passphrase('pw'), REPO_ID);
    expect(formatKeyId(reopened.writeKey.id)).toBe(info.id);
  });

  it('makes a rotated key the write key even if the clock went backwards', async () => {
    const keyring = await Keyring.create(storage, passphrase('pw'), REPO_ID, T1);
    const info = await keyring.rotate(storage, T0);
    expect(formatKeyId(keyring.writeKey.id)).toBe(info.id);
    expect(formatKeyId((await Keyring.open(storage, passphrase('pw'), REPO_ID)).writeKey.id)).toBe(info.id);
  });
});

describe('formatKeyId', () => {
  it('formats ids as 8 hex digits', () => {
    expect(formatKeyId(0)).toBe('00000000');
    expect(formatKeyId(0xabc)).toBe('00000abc');
    expect(formatKeyId(0xffffffff)).toBe('ffffffff');
  });
});
