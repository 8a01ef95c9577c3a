import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConflictError, KeyAccessError } from '../domain/errors.js';
import { KeyFileKeyProvider } from '../keys/local-key-provider.js';
import type { LocalSettings } from './local-settings.js';

/**
 * Where the local audit key and anchor live. The key is a 0600 file under the settings home, beside but
 * outside the catalog: copying or editing `catalog.sqlite` does not carry the key, so the chain's
 * hashes cannot be recomputed from the catalog alone. CHRONO_BACKUP_AUDIT_KEY_FILE puts the key
 * elsewhere (a mounted secret, another disk, a path only the server's user can read).
 */
export interface AuditPaths {
  keyPath: string;
  anchorPath: string;
}

export function auditPaths(settings: Pick<LocalSettings, 'home'>, env: NodeJS.ProcessEnv = process.env): AuditPaths {
  return {
    keyPath: env.CHRONO_BACKUP_AUDIT_KEY_FILE ? resolve(env.CHRONO_BACKUP_AUDIT_KEY_FILE) : join(settings.home, 'audit.key'),
    anchorPath: join(settings.home, 'audit-head.json'),
  };
}

const KEY_TEXT = /^([0-9a-f]{64})\r?\n?$/i;

/**
 * Reads the audit key (32 bytes, stored as 64 hex characters and a newline: the format of a repository
 * key file, so it is created by the same code, atomically, 0600, never replacing a file). With
 * `mayCreate`, a missing key is created first; two processes racing to create it both end up with the
 * one that won.
 *
 * @throws KeyAccessError `key.unavailable` when the file is missing (and may not be created), unreadable
 *   or not a key.
 */
export async function loadAuditKey(path: string, mayCreate: boolean): Promise<Buffer> {
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
    throw new KeyAccessError('unavailable', `audit key ${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`}`, { details: { path } });
  }
  const match = KEY_TEXT.exec(text);
  if (!match) throw new KeyAccessError('unavailable', `audit key ${path} is not a valid key file (expected 64 hexadecimal characters)`, { details: { path } });
  return Buffer.from(match[1] as string, 'hex');
}
