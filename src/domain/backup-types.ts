import { ValidationError } from './errors.js';

/** How a file-tree backup decides which files to read. Storage deduplicates under all three. */
export const BACKUP_TYPES = ['full', 'incremental', 'differential'] as const;
export type BackupType = (typeof BACKUP_TYPES)[number];

export const COMPRESSIONS = ['none', 'gzip', 'lz4', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export function parseBackupType(value: string, field = 'type'): BackupType {
  if ((BACKUP_TYPES as readonly string[]).includes(value)) return value as BackupType;
  throw new ValidationError(`${field} must be one of ${BACKUP_TYPES.join(', ')} (got "${value}")`, field);
}

export function parseCompression(value: string, field = 'compression'): Compression {
  if ((COMPRESSIONS as readonly string[]).includes(value)) return value as Compression;
  throw new ValidationError(`${field} must be one of ${COMPRESSIONS.join(', ')} (got "${value}")`, field);
}
