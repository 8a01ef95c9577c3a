import { NotFoundError, ValidationError } from '../domain/errors.js';
import type { PhysicalBackupDetails } from '../domain/snapshot.js';
import { formatLsn, parseLsn } from './wal-names.js';

/** Where a point-in-time restore stops (PostgreSQL's recovery_target_*), or the end of the archive. */
export type RecoveryTarget =
  /** `text` as given (to the microsecond) goes to the server; `time` (to the millisecond) picks the base backup. */
  | { kind: 'time'; time: Date; text: string }
  | { kind: 'xid'; xid: bigint }
  | { kind: 'lsn'; lsn: bigint }
  | { kind: 'name'; name: string }
  | { kind: 'latest' };

export interface RecoveryTargetOptions {
  targetTime?: string;
  targetXid?: string;
  targetLsn?: string;
  targetName?: string;
  latest?: boolean;
}

/** Exactly one target; a time must say its time zone, or the server and we could read it differently. */
export function parseRecoveryTarget(options: RecoveryTargetOptions): RecoveryTarget {
  const given = (['targetTime', 'targetXid', 'targetLsn', 'targetName', 'latest'] as const).filter((key) => options[key] !== undefined && options[key] !== false);
  if (given.length !== 1) throw new ValidationError('give exactly one of --target-time, --target-xid, --target-lsn, --target-name or --latest', 'target');
  if (options.targetTime !== undefined) {
    const text = options.targetTime.trim();
    const time = new Date(text);
    if (!/(Z|[+-]\d{2}(:?\d{2})?)$/i.test(text) || Number.isNaN(time.getTime())) throw new ValidationError('--target-time must be an ISO 8601 time with a time zone, e.g. 2024-12-24T12:00:00Z or 2024-12-24 13:00:00+01:00', 'target-time');
    return { kind: 'time', time, text };
  }
  if (options.targetXid !== undefined) {
    if (!/^\d{1,20}$/.test(options.targetXid.trim())) throw new ValidationError('--target-xid must be a transaction id (a whole number)', 'target-xid');
    return { kind: 'xid', xid: BigInt(options.targetXid.trim()) };
  }
  if (options.targetLsn !== undefined) return { kind: 'lsn', lsn: parseLsn(options.targetLsn, 'target-lsn') };
  if (options.targetName !== undefined) {
    const name = options.targetName;
    // PostgreSQL's limit for restore point names (MAXFNAMELEN - 1).
    if (name.length === 0 || Buffer.byteLength(name) > 63) throw new ValidationError('--target-name must be a restore point name of 1 to 63 bytes', 'target-name');
    return { kind: 'name', name };
  }
  return { kind: 'latest' };
}

export function describeRecoveryTarget(target: RecoveryTarget): string {
  switch (target.kind) {
    case 'time':
      return `time ${target.text}`;
    case 'xid':
      return `transaction ${target.xid}`;
    case 'lsn':
      return `LSN ${formatLsn(target.lsn)}`;
    case 'name':
      return `restore point "${target.name}"`;
    case 'latest':
      return 'the end of the archived WAL';
  }
}

/** PostgreSQL settings that make recovery stop at the target and promote there. */
export function recoverySettings(target: RecoveryTarget): Record<string, string> {
  const stop: Record<string, string> = {};
  // The server refuses `Z` in recovery_target_time (its checker has no such zone; checked on 15): `+00` is the same instant.
  if (target.kind === 'time') stop.recovery_target_time = target.text.replace(/Z$/i, '+00');
  if (target.kind === 'xid') stop.recovery_target_xid = target.xid.toString();
  if (target.kind === 'lsn') stop.recovery_target_lsn = formatLsn(target.lsn);
  if (target.kind === 'name') stop.recovery_target_name = target.name;
  return { ...stop, recovery_target_timeline: 'latest', ...(target.kind === 'latest' ? {} : { recovery_target_action: 'promote' }) };
}

export interface CandidateBackup {
  id: string;
  physical: PhysicalBackupDetails;
}

/**
 * The newest base backup that ends before the target: recovery can only stop after the backup's end.
 * A restore point we have no record of (made with plain SQL) could be anywhere: the oldest backup is
 * the only safe pick. `restorePointLsn` is the recorded position of a named target.
 */
export function chooseBaseBackup<T extends CandidateBackup>(backups: readonly T[], target: RecoveryTarget, restorePointLsn?: bigint): T {
  const sorted = [...backups].sort((a, b) => a.physical.stopTime.localeCompare(b.physical.stopTime));
  const fits = (backup: T): boolean => {
    switch (target.kind) {
      case 'latest':
        return true;
      case 'time':
        return new Date(backup.physical.stopTime).getTime() < target.time.getTime();
      case 'xid':
        return BigInt(backup.physical.nextXid) <= target.xid;
      case 'lsn':
        return parseLsn(backup.physical.stopLsn) <= target.lsn;
      case 'name':
        return restorePointLsn === undefined ? backup === sorted[0] : parseLsn(backup.physical.stopLsn) <= restorePointLsn;
    }
  };
  const chosen = sorted.filter(fits).at(-1);
  if (!chosen) {
    const oldest = sorted[0];
    throw new NotFoundError('base backup', `one that ends before ${describeRecoveryTarget(target)}${oldest ? ` (the oldest ends at ${oldest.physical.stopTime}, LSN ${oldest.physical.stopLsn})` : ' (there is none: run `chrono-backup basebackup` first)'}`);
  }
  return chosen;
}
