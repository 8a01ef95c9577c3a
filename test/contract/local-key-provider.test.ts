import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConflictError, KeyAccessError, ValidationError } from '../../src/domain/errors.js';
import {
  KeyFileKeyProvider,
  PassphraseKeyProvider,
  keyFingerprint,
  type KeyFileWrappedKey,
  type PassphraseWrappedKey,
} from '../../src/keys/local-key-provider.js';
import { describeKeyProviderContract } from './key-provider.contract.js';

/** Cheap scrypt for tests; the production default is 2^15. */
const FAST = { scrypt: { N: 2 ** 10 } };
const context = { repository: 'repo-1' };

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'chrono-keys-'));
}

describeKeyProviderContract('PassphraseKeyProvider', async () => {
  const passphrase = 'correct horse battery staple';
  return {
    provider: new PassphraseKeyProvider(passphrase, FAST),
    other: new PassphraseKeyProvider('correct horse battery stapler', FAST),
    secrets: [passphrase],
    cleanup: async () => {},
  };
});

describeKeyProviderContract('KeyFileKeyProvider', async () => {
  const dir = await tempDir();
  const provider = await KeyFileKeyProvider.create(join(dir, 'a', 'repo.key'));
  const other = await KeyFileKeyProvider.create(join(dir, 'b', 'repo.key'));
  const contents = await Promise.all([readFile(provider.description, 'utf8'), readFile(other.description, 'utf8')]);
  return {
    provider,
    other,
    secrets: contents.map((text) => text.trim()),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

/** Awaits `action` and returns what it rejected with (failing when it resolves). */
async function rejection(action: Promise<unknown>): Promise<KeyAccessError> {
  const outcome = await action.then(
    () => 'resolved' as const,
    (error: unknown) => error,
  );
  expect(outcome).not.toBe('resolved');
  return outcome as KeyAccessError;
}

describe('PassphraseKeyProvider', () => {
  it('describes itself as "passphrase" and stores salt and scrypt parameters in the WrappedKey', async () => {
    const provider = new PassphraseKeyProvider('s3cret-passphrase', FAST);
    expect(provider.kind).toBe('passphrase');
    expect(provider.description).toBe('passphrase');

    const first = (await provider.wrap(randomBytes(32), context)) as PassphraseWrappedKey;
    const second = (await provider.wrap(randomBytes(32), context)) as PassphraseWrappedKey;
    expect(first.kdf).toMatchObject({ name: 'scrypt', N: 2 ** 10, r: 8, p: 1 });
    expect(Buffer.from(first.kdf.salt, 'base64')).toHaveLength(16);
    expect(first.kdf.salt).not.toBe(second.kdf.salt);
    expect(Buffer.from(first.nonce, 'base64')).toHaveLength(12);
  });

  it('uses N = 2^15, r = 8, p = 1 by default and unwraps with the parameters stored in the slot', async () => {
    const key = randomBytes(32);
    const wrapped = (await new PassphraseKeyProvider('pass-phrase').wrap(key, context)) as PassphraseWrappedKey;
    expect(wrapped.kdf).toMatchObject({ N: 2 ** 15, r: 8, p: 1 });
    // A provider configured with other costs still opens the slot.
    expect((await new PassphraseKeyProvider('pass-phrase', FAST).unwrap(wrapped, context)).equals(key)).toBe(true);
  });

  it('reports an empty or unset passphrase as key.unavailable', async () => {
    for (const missing of ['', undefined]) {
      const provider = new PassphraseKeyProvider(missing, FAST);
      const onWrap = await rejection(provider.wrap(randomBytes(32), context));
      expect(onWrap).toBeInstanceOf(KeyAccessError);
      expect(onWrap.code).toBe('key.unavailable');
      const wrapped = await new PassphraseKeyProvider('x-passphrase', FAST).wrap(randomBytes(32), context);
      expect((await rejection(provider.unwrap(wrapped, context))).code).toBe('key.unavailable');
    }
  });

  it('refuses forged scrypt parameters instead of running them', async () => {
    const provider = new PassphraseKeyProvider('pass-phrase', FAST);
    const wrapped = (await provider.wrap(randomBytes(32), context)) as PassphraseWrappedKey;
    const huge = { ...wrapped, kdf: { ...wrapped.kdf, N: 2 ** 30 } };
    const started = Date.now();
    expect((await rejection(provider.unwrap(huge, context))).code).toBe('key.mismatch');
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await rejection(provider.unwrap({ ...wrapped, kdf: { ...wrapped.kdf, N: 1000 } }, context))).code).toBe('key.mismatch');
  });

  it('rejects invalid scrypt options at construction', () => {
    expect(() => new PassphraseKeyProvider('pass-phrase', { scrypt: { N: 3000 } })).toThrow(ValidationError);
    expect(() => new PassphraseKeyProvider('pass-phrase', { scrypt: { r: 0 } })).toThrow(ValidationError);
  });
});

describe('KeyFileKeyProvider', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await tempDir();
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a 0600 file of 32 random bytes in hex with a trailing newline, leaving no temp file', async () => {
    const path = join(dir, 'nested', 'repo.key');
    const provider = await KeyFileKeyProvider.create(path);

    expect(provider.kind).toBe('key-file');
    expect(provider.description).toBe(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const text = await readFile(path, 'utf8');
    expect(text).toMatch(/^[0-9a-f]{64}\n$/);
    expect(await readdir(join(dir, 'nested'))).toEqual(['repo.key']);

    const another = await KeyFileKeyProvider.create(join(dir, 'other.key'));
    expect(await readFile(join(dir, 'other.key'), 'utf8')).not.toBe(text);
    expect(another.description).toBe(join(dir, 'other.key'));
  });

  it('refuses to overwrite an existing file and leaves it unchanged', async () => {
    const path = join(dir, 'repo.key');
    await KeyFileKeyProvider.create(path);
    const before = await readFile(path, 'utf8');

    const attempt = KeyFileKeyProvider.create(path);
    await expect(attempt).rejects.toBeInstanceOf(ConflictError);
    await expect(attempt).rejects.toMatchObject({ code: 'conflict.key_file_exists' });
    expect(await readFile(path, 'utf8')).toBe(before);
    expect(await readdir(dir)).toEqual(['repo.key']);

    // Any existing file counts, not just key files.
    const notes = join(dir, 'notes.txt');
    await writeFile(notes, 'hello');
    await expect(KeyFileKeyProvider.create(notes)).rejects.toBeInstanceOf(ConflictError);
    expect(await readFile(notes, 'utf8')).toBe('hello');
  });

  it('reports a missing key file as key.unavailable naming the path, when the key is first needed', async () => {
    const path = join(dir, 'missing.key');
    const provider = new KeyFileKeyProvider(path); // constructing reads nothing
    const error = await rejection(provider.wrap(randomBytes(32), context));
    expect(error).toBeInstanceOf(KeyAccessError);
    expect(error.code).toBe('key.unavailable');
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/does not exist/);

    // A failure is not cached: once the file exists the same provider works.
    await KeyFileKeyProvider.create(path);
    const key = randomBytes(32);
    expect((await provider.unwrap(await provider.wrap(key, context), context)).equals(key)).toBe(true);
  });

  it('reports a malformed key file as key.unavailable without echoing its contents', async () => {
    const path = join(dir, 'bad.key');
    const contents = `${'zz'.repeat(32)}\n`;
    await writeFile(path, contents, { mode: 0o600 });
    const error = await rejection(new KeyFileKeyProvider(path).wrap(randomBytes(32), context));
    expect(error.code).toBe('key.unavailable');
    expect(error.message).toContain(path);
    expect(error.message).not.toContain('zz');

    const short = join(dir, 'short.key');
    await writeFile(short, `${randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
    expect((await rejection(new KeyFileKeyProvider(short).wrap(randomBytes(32), context))).code).toBe('key.unavailable');

    expect((await rejection(new KeyFileKeyProvider(dir).wrap(randomBytes(32), context))).code).toBe('key.unavailable');
  });

  it('refuses a key file readable by group or others with key.insecure, saying to chmod 600', async () => {
    const path = join(dir, 'repo.key');
    await KeyFileKeyProvider.create(path);
    const secret = (await readFile(path, 'utf8')).trim();

    for (const mode of [0o644, 0o640, 0o604]) {
      await chmod(path, mode);
      const error = await rejection(new KeyFileKeyProvider(path).unwrap({ kind: 'key-file' }, context));
      expect(error).toBeInstanceOf(KeyAccessError);
      expect(error.code).toBe('key.insecure');
      expect(error.message).toContain(path);
      expect(error.message).toContain('chmod 600');
      expect(error.message).not.toContain(secret);
    }

    await chmod(path, 0o600);
    const key = randomBytes(32);
    const provider = new KeyFileKeyProvider(path);
    expect((await provider.unwrap(await provider.wrap(key, context), context)).equals(key)).toBe(true);
  });

  it('records the key file fingerprint and names a different key file on mismatch', async () => {
    const pathA = join(dir, 'a.key');
    const pathB = join(dir, 'b.key');
    const a = await KeyFileKeyProvider.create(pathA);
    const b = await KeyFileKeyProvider.create(pathB);
    const secretA = Buffer.from((await readFile(pathA, 'utf8')).trim(), 'hex');

    const wrapped = (await a.wrap(randomBytes(32), context)) as KeyFileWrappedKey;
    expect(wrapped.fingerprint).toBe(keyFingerprint(secretA));
    expect(wrapped.fingerprint).toMatch(/^[0-9a-f]{16}$/);

    const error = await rejection(b.unwrap(wrapped, context));
    expect(error.code).toBe('key.mismatch');
    expect(error.message).toMatch(/different key file/);

    // A slot relabelled with the right fingerprint still fails authentication rather than opening.
    const relabelled = { ...wrapped, fingerprint: keyFingerprint(Buffer.from((await readFile(pathB, 'utf8')).trim(), 'hex')) };
    const forged = await rejection(b.unwrap(relabelled, context));
    expect(forged.code).toBe('key.mismatch');
    expect(forged.message).not.toMatch(/different key file/);
  });

  it('reads a key file written by hand with uppercase hex and no trailing newline', async () => {
    const path = join(dir, 'hand.key');
    const secret = randomBytes(32);
    await writeFile(path, secret.toString('hex').toUpperCase(), { mode: 0o600 });
    const provider = new KeyFileKeyProvider(path);
    const wrapped = (await provider.wrap(randomBytes(32), context)) as KeyFileWrappedKey;
    expect(wrapped.fingerprint).toBe(keyFingerprint(secret));
  });
});

describe('keyFingerprint', () => {
  it('is the first 8 bytes of HMAC-SHA256(key, "chrono-backup key fingerprint") in hex', () => {
    // Vector from: printf 'chrono-backup key fingerprint' | openssl dgst -sha256 -mac HMAC -macopt hexkey:0707…07
    expect(keyFingerprint(Buffer.alloc(32, 7))).toBe('0169795440e97204');
  });
});
