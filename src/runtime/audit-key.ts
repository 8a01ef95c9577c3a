import { join, resolve } from 'node:path';
import { loadSecretKeyFile } from './secret-key-file.js';
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

/** The audit key (see {@link loadSecretKeyFile}); `mayCreate` only while no history exists. */
export function loadAuditKey(path: string, mayCreate: boolean): Promise<Buffer> {
  return loadSecretKeyFile(path, mayCreate, 'audit key');
}
