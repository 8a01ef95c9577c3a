import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ConflictError, KeyAccessError } from '../domain/errors.js';
import { KeyFileKeyProvider } from '../keys/local-key-provider.js';

const KEY_TEXT = /^([0-9a-f]{64})\r?\n?$/i;

/**
 * Reads a 32-byte secret of the local server (the audit chain's key, the API token key), stored as 64
 * hex characters and a newline: the format of a repository key file, so it is created by the same code,
 * atomically, 0600, never replacing a file. With `mayCreate`, a missing key is created first; two
 * processes racing to create it both end up with the one that won. `what` names the key in errors.
 *
 * @throws KeyAccessError `key.unavailable` when the file is missing (and may not be created), unreadable
 *   or not a key.
 */
export async function loadSecretKeyFile(path: string, mayCreate: boolean, what: string): Promise<Buffer> {
  if (mayCreate && !existsSync(path)) {
    try {
      await KeyFileKeyProvider.create(path);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error; // another process created it: read theirs
    }
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KeyAccessError('unavailable', `${what} ${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`}`, { details: { path } });
  }
  const match = KEY_TEXT.exec(text);
  if (!match) throw new KeyAccessError('unavailable', `${what} ${path} is not a valid key file (expected 64 hexadecimal characters)`, { details: { path } });
  return Buffer.from(match[1] as string, 'hex');
}
