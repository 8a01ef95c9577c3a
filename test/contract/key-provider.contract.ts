import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';

import { KeyAccessError } from '../../src/domain/errors.js';
import type { KeyContext, KeyProvider, WrappedKey } from '../../src/ports/key-provider.js';

/** What a contract run needs from an adapter. */
export interface KeyProviderUnderTest {
  provider: KeyProvider;
  /** A provider of the same kind holding a different credential (other passphrase, key file, KMS key). */
  other: KeyProvider;
  /**
   * The credentials in text form (passphrases, key file contents) that must never appear in a
   * description, a WrappedKey or an error message. May be empty when the adapter never sees one (KMS).
   */
  secrets?: string[];
  cleanup: () => Promise<void>;
}

/**
 * The KeyProvider contract of src/ports/key-provider.ts, written once and run on every adapter.
 * `create` is called before every test.
 */
export function describeKeyProviderContract(name: string, create: () => Promise<KeyProviderUnderTest>): void {
  describe(`KeyProvider contract: ${name}`, () => {
    let provider: KeyProvider;
    let other: KeyProvider;
    let secrets: string[];
    let cleanup: () => Promise<void>;
    const context: KeyContext = { repository: 'repo-1234', purpose: 'master-key' };

    beforeEach(async () => {
      const underTest = await create();
      ({ provider, other, cleanup } = underTest);
      secrets = underTest.secrets ?? [];
      // A vacuous secrecy check would pass for any adapter; make sure the listed secrets are real text.
      for (const secret of secrets) expect(secret.length).toBeGreaterThanOrEqual(8);
    });

    afterEach(async () => {
      await cleanup();
    });

    /** Runs `action`, expecting KeyAccessError with `code`; returns it for further checks. */
    async function expectKeyError(action: Promise<unknown>, code: string): Promise<KeyAccessError> {
      const error = await action.then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(KeyAccessError);
      expect((error as KeyAccessError).code).toBe(code);
      return error as KeyAccessError;
    }

    it('round-trips a 32-byte key', async () => {
      const key = randomBytes(32);
      const wrapped = await provider.wrap(key, context);
      expect(wrapped.kind).toBe(provider.kind);
      const unwrapped = await provider.unwrap(wrapped, context);
      expect(Buffer.isBuffer(unwrapped)).toBe(true);
      expect(unwrapped.equals(key)).toBe(true);
    });

    it('produces a JSON-serialisable WrappedKey that still unwraps after a JSON round trip', async () => {
      const key = randomBytes(32);
      const wrapped = await provider.wrap(key, context);
      const revived = JSON.parse(JSON.stringify(wrapped)) as WrappedKey;
      expect(revived).toEqual(wrapped);
      expect((await provider.unwrap(revived, context)).equals(key)).toBe(true);
    });

    it('keeps the key and the credential out of the WrappedKey', async () => {
      const key = randomBytes(32);
      const text = JSON.stringify(await provider.wrap(key, context));
      for (const form of keyForms(key)) expect(text).not.toContain(form);
      for (const secret of secrets) expect(text).not.toContain(secret);
    });

    it('accepts the same context in another key order', async () => {
      const key = randomBytes(32);
      const wrapped = await provider.wrap(key, { a: '1', b: '2', c: '3' });
      expect((await provider.unwrap(wrapped, { c: '3', a: '1', b: '2' })).equals(key)).toBe(true);
    });

    it('refuses another context with key.mismatch', async () => {
      const wrapped = await provider.wrap(randomBytes(32), context);
      await expectKeyError(provider.unwrap(wrapped, { ...context, repository: 'repo-5678' }), 'key.mismatch');
      await expectKeyError(provider.unwrap(wrapped, { ...context, extra: 'x' }), 'key.mismatch');
      await expectKeyError(provider.unwrap(wrapped, { repository: context.repository as string }), 'key.mismatch');
      await expectKeyError(provider.unwrap(wrapped, {}), 'key.mismatch');
    });

    it('refuses a key wrapped with another credential with key.mismatch, both ways', async () => {
      const key = randomBytes(32);
      await expectKeyError(other.unwrap(await provider.wrap(key, context), context), 'key.mismatch');
      await expectKeyError(provider.unwrap(await other.wrap(key, context), context), 'key.mismatch');
    });

    it('refuses a tampered WrappedKey with key.mismatch', async () => {
      const wrapped = await provider.wrap(randomBytes(32), context);
      const ciphertext = wrapped.ciphertext;
      expect(typeof ciphertext).toBe('string');
      // 'a' and 'b' are digits in hex and in base64 alike, and the first character is fully significant.
      const text = ciphertext as string;
      const flipped = `${text[0] === 'a' ? 'b' : 'a'}${text.slice(1)}`;
      await expectKeyError(provider.unwrap({ ...wrapped, ciphertext: flipped }, context), 'key.mismatch');
      // The untouched slot still opens: the failure was the tampering, not the provider.
      await expect(provider.unwrap(wrapped, context)).resolves.toBeInstanceOf(Buffer);
    });

    it('refuses a WrappedKey of another kind or with fields missing with key.mismatch', async () => {
      const wrapped = await provider.wrap(randomBytes(32), context);
      await expectKeyError(provider.unwrap({ ...wrapped, kind: 'something-else' }, context), 'key.mismatch');
      await expectKeyError(provider.unwrap({ kind: provider.kind }, context), 'key.mismatch');
    });

    it('keeps secrets out of descriptions and error messages', async () => {
      const key = randomBytes(32);
      const wrapped = await provider.wrap(key, context);
      const failures = [
        await expectKeyError(provider.unwrap(wrapped, { repository: 'elsewhere' }), 'key.mismatch'),
        await expectKeyError(other.unwrap(wrapped, context), 'key.mismatch'),
        await expectKeyError(provider.unwrap({ ...wrapped, ciphertext: 'AAAA' }, context), 'key.mismatch'),
      ];
      const texts = [provider.description, other.description, ...failures.map((e) => `${e.message} ${JSON.stringify(e.details ?? {})}`)];
      for (const text of texts) {
        for (const form of keyForms(key)) expect(text).not.toContain(form);
        for (const secret of secrets) expect(text).not.toContain(secret);
      }
      expect(provider.description.length).toBeGreaterThan(0);
    });
  });
}

/** The encodings in which key bytes could leak. */
function keyForms(key: Buffer): string[] {
  return [key.toString('hex'), key.toString('hex').toUpperCase(), key.toString('base64'), key.toString('base64url')];
}
