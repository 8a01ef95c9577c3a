/**
 * KeyProvider: protects the repository master key at rest. The repository never stores the master key
 * in the clear; it stores one or more *key slots*, each the master key wrapped by a provider (a local key
 * file, a passphrase through scrypt, or AWS KMS).
 *
 * Contract (checked by test/contract/key-provider.contract.ts):
 * - `wrap(key, context)` returns an opaque, JSON-serialisable WrappedKey that contains no key material
 *   in the clear; `unwrap(wrapped, context)` returns the same bytes.
 * - `unwrap` with another context, a wrapped key from another provider instance (other passphrase, other
 *   key file, other KMS key) or a tampered WrappedKey throws KeyAccessError with code `key.mismatch`,
 *   never returns wrong bytes.
 * - A missing or unreadable credential (no key file, unset passphrase) throws KeyAccessError with code
 *   `key.unavailable` before anything is written.
 * - Messages never contain the passphrase, key bytes or key file contents.
 */
export interface KeyProvider {
  /** e.g. `passphrase`, `key-file`, `kms`: recorded in the slot so `keys list` can show it. */
  readonly kind: string;
  /** A non-secret description of the credential (key file path, KMS key id) for `keys list`. */
  readonly description: string;

  wrap(key: Buffer, context: KeyContext): Promise<WrappedKey>;
  unwrap(wrapped: WrappedKey, context: KeyContext): Promise<Buffer>;
}

/** Binds a wrapped key to its repository (KMS encryption context; AAD for local providers). */
export type KeyContext = Readonly<Record<string, string>>;

/** Provider-specific, JSON-serialisable; `kind` must equal the provider's kind. */
export interface WrappedKey {
  kind: string;
  [field: string]: unknown;
}
