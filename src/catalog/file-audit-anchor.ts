import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { AuditAnchor } from '../domain/audit.js';
import { IntegrityError, StorageError } from '../domain/errors.js';
import type { AuditAnchorStore } from '../ports/audit-log.js';

/**
 * The audit anchor as a small JSON file (mode 0600) beside the catalog: `audit-head.json` under the
 * settings home. A separate file rather than another table, because the point of the anchor is to
 * survive an edit of the catalog file: deleting the newest rows and vacuuming leaves a consistent
 * database, but not a consistent pair of files. Replaced by write-to-temp, fsync, rename, so a reader
 * sees the old or the new head, never a torn one.
 */
export class FileAuditAnchor implements AuditAnchorStore {
  constructor(readonly path: string) {}

  read(): AuditAnchor | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StorageError('audit_anchor_failed', `cannot read the audit anchor ${this.path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
    }
    const anchor = parseAnchor(text);
    if (anchor === undefined) throw new IntegrityError('audit_anchor_unreadable', `the audit anchor ${this.path} is not a valid anchor`, { details: { path: this.path } });
    return anchor;
  }

  write(anchor: AuditAnchor): void {
    const temp = join(dirname(this.path), `.${basename(this.path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const fd = openSync(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
      try {
        writeSync(fd, `${anchorText(anchor)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, this.path);
    } catch (error) {
      try {
        unlinkSync(temp);
      } catch {
        // already renamed or never created
      }
      throw new StorageError('audit_anchor_failed', `cannot write the audit anchor ${this.path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
    }
  }
}

/** The stored form of an anchor (versioned JSON), shared by every AuditAnchorStore. */
export function anchorText(anchor: AuditAnchor): string {
  return JSON.stringify({ version: 1, seq: anchor.seq, hash: anchor.hash, keyId: anchor.keyId, mac: anchor.mac });
}

/** The anchor in `text` (as written by {@link anchorText}), or undefined when it is not one. */
export function parseAnchor(text: string): AuditAnchor | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { version, seq, hash, keyId, mac } = value as Record<string, unknown>;
  if (version !== 1 || typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1) return undefined;
  if (typeof hash !== 'string' || typeof keyId !== 'string' || typeof mac !== 'string') return undefined;
  return { seq, hash, keyId, mac };
}
