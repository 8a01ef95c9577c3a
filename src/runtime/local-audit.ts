import { existsSync } from 'node:fs';
import { FileAuditAnchor } from '../catalog/file-audit-anchor.js';
import type { SqliteCatalog } from '../catalog/sqlite-catalog.js';
import { SqliteAuditLog } from '../catalog/sqlite-audit-log.js';
import type { Clock } from '../ports/clock.js';
import { auditPaths, loadAuditKey } from './audit-key.js';
import type { LocalSettings } from './local-settings.js';

/**
 * The embedded audit trail: the catalog's `audit_log` table, keyed by the local audit key, anchored in
 * `<home>/audit-head.json`. The key is created on first use only while no anchor exists, i.e. before
 * anything was ever recorded: once there is history, a missing key is an error, not a reason to start a
 * new key that could never verify that history.
 */
export async function openLocalAuditLog(catalog: SqliteCatalog, settings: Pick<LocalSettings, 'home'>, options: { env?: NodeJS.ProcessEnv; clock?: Clock } = {}): Promise<SqliteAuditLog> {
  const paths = auditPaths(settings, options.env ?? process.env);
  const key = await loadAuditKey(paths.keyPath, !existsSync(paths.anchorPath));
  const anchor = new FileAuditAnchor(paths.anchorPath);
  return catalog.sibling((db) => new SqliteAuditLog(db, { key, anchor, ...(options.clock ? { clock: options.clock } : {}) }));
}
