import { describe, expect, it } from '@jest/globals';
import type { PhysicalBackupDetails } from '../../../src/domain/snapshot.js';
import { computeRecoveryWindow } from '../../../src/pitr/recovery-window.js';
import { chooseBaseBackup, parseRecoveryTarget, recoverySettings } from '../../../src/pitr/recovery-target.js';
import type { ArchivedWalFile } from '../../../src/pitr/wal-archive.js';
import { parseLsn, parseTimelineHistory, parseWalFileName, segmentFileName } from '../../../src/pitr/wal-names.js';

const MiB = 1024 * 1024;
const SYSID = '7000000000000000001';

/** Archived segments `from`..`to` of a timeline, archived one second apart starting at `second`. */
function segments(timeline: number, from: number, to: number, second = from): ArchivedWalFile[] {
  const files: ArchivedWalFile[] = [];
  for (let n = from; n <= to; n++) {
    const name = segmentFileName(timeline, BigInt(n), MiB);
    files.push({ file: parseWalFileName(name)!, key: `wal/${SYSID}/${name}`, size: 100, archivedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, second + n - from)) });
  }
  return files;
}

function backup(id: string, stopSegment: number, second: number, timeline = 1): { id: string; physical: PhysicalBackupDetails } {
  const lsn = `0/${(stopSegment * MiB + 0x100).toString(16).toUpperCase()}`;
  const time = new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
  return { id, physical: { systemIdentifier: SYSID, timeline, startLsn: lsn, stopLsn: lsn, startTime: time, stopTime: time, nextXid: String(1000 + second), walSegmentSize: MiB, serverMajor: 15 } };
}

describe('recovery window', () => {
  it('runs from the end of the oldest base backup to the last segment of an unbroken chain', () => {
    const window = computeRecoveryWindow(SYSID, segments(1, 2, 10), new Map(), [backup('b1', 3, 3), backup('b2', 8, 8)]);
    expect(window.gaps).toEqual([]);
    expect(window.earliest).toBe('2026-01-01T00:00:03.000Z');
    expect(window.latest).toBe('2026-01-01T00:00:10.000Z');
    expect(window.latestSegment).toBe(segmentFileName(1, 10n, MiB));
    expect(window.latestLsn).toBe('0/B00000');
    expect(window.ranges).toHaveLength(1);
  });

  it('reports a missing segment as a gap and ends the window of older backups there', () => {
    const files = segments(1, 2, 10).filter((f) => f.file.name !== segmentFileName(1, 6n, MiB));
    const window = computeRecoveryWindow(SYSID, files, new Map(), [backup('b1', 3, 3), backup('b2', 8, 8)]);
    expect(window.gaps).toEqual([{ kind: 'missing-segment', from: segmentFileName(1, 6n, MiB), to: segmentFileName(1, 6n, MiB), count: 1 }]);
    // b1 reaches segment 5 only; b2 (after the gap) from its end to 10: two ranges.
    expect(window.ranges.map((r) => [r.baseBackup, r.from.slice(17, 19), r.to.slice(17, 19)])).toEqual([
      ['b1', '03', '05'],
      ['b2', '08', '10'],
    ]);
    expect(window.baseBackups.find((b) => b.id === 'b1')?.restorableUntil).toBe('2026-01-01T00:00:05.000Z');
  });

  it('ignores holes older than every base backup', () => {
    const files = [...segments(1, 1, 3), ...segments(1, 5, 10)];
    expect(computeRecoveryWindow(SYSID, files, new Map(), [backup('b1', 6, 6)]).gaps).toEqual([]);
    expect(computeRecoveryWindow(SYSID, files, new Map(), []).gaps).toHaveLength(1);
  });

  it('narrows the window when the last segments are missing, and needs no gap for it', () => {
    const window = computeRecoveryWindow(SYSID, segments(1, 2, 7), new Map(), [backup('b1', 3, 3)]);
    expect(window.latest).toBe('2026-01-01T00:00:07.000Z');
    expect(window.gaps).toEqual([]);
  });

  it('follows a timeline switch through its history file', () => {
    // Timeline 2 branched in segment 5; the old timeline's later segments are an abandoned future.
    const files = [...segments(1, 2, 7), ...segments(2, 5, 9, 20)];
    const histories = new Map([[2, parseTimelineHistory('1\t0/500100\tbefore\n')]]);
    const window = computeRecoveryWindow(SYSID, files, histories, [backup('b1', 3, 3)]);
    expect(window.timeline).toBe(2);
    expect(window.timelineSwitches).toEqual([{ from: 1, to: 2, lsn: '0/500100' }]);
    expect(window.gaps).toEqual([]);
    expect(window.latestSegment).toBe(segmentFileName(2, 9n, MiB));
  });

  it('reports a missing history file', () => {
    const window = computeRecoveryWindow(SYSID, [...segments(1, 2, 5), ...segments(2, 5, 6)], new Map(), [backup('b1', 3, 3)]);
    expect(window.gaps).toContainEqual({ kind: 'missing-history', from: '00000002.history', to: '00000002.history', count: 1 });
  });

  it('has no window without a base backup', () => {
    const window = computeRecoveryWindow(SYSID, segments(1, 2, 5), new Map(), []);
    expect(window.earliest).toBeUndefined();
    expect(window.segments).toBe(4);
  });
});

describe('recovery targets', () => {
  const backups = [backup('b1', 3, 3), backup('b2', 8, 8)];

  it('takes exactly one target, with a time zone for times', () => {
    expect(() => parseRecoveryTarget({})).toThrow(/exactly one/);
    expect(() => parseRecoveryTarget({ latest: true, targetXid: '5' })).toThrow(/exactly one/);
    expect(() => parseRecoveryTarget({ targetTime: '2026-01-01 00:00:05' })).toThrow(/time zone/);
    expect(parseRecoveryTarget({ targetTime: '2026-01-01T00:00:05.123456Z' })).toMatchObject({ kind: 'time', text: '2026-01-01T00:00:05.123456Z' });
    expect(recoverySettings(parseRecoveryTarget({ targetTime: '2026-01-01T00:00:05.123456Z' })).recovery_target_time).toBe('2026-01-01T00:00:05.123456+00');
    expect(recoverySettings(parseRecoveryTarget({ latest: true }))).toEqual({ recovery_target_timeline: 'latest' });
  });

  it('picks the newest base backup that ends before the target', () => {
    expect(chooseBaseBackup(backups, parseRecoveryTarget({ targetTime: '2026-01-01T00:00:05Z' })).id).toBe('b1');
    expect(chooseBaseBackup(backups, parseRecoveryTarget({ targetTime: '2026-01-01T00:00:09Z' })).id).toBe('b2');
    expect(chooseBaseBackup(backups, parseRecoveryTarget({ targetXid: '1005' })).id).toBe('b1');
    expect(chooseBaseBackup(backups, parseRecoveryTarget({ targetLsn: '0/900000' })).id).toBe('b2');
    expect(chooseBaseBackup(backups, parseRecoveryTarget({ latest: true })).id).toBe('b2');
    expect(() => chooseBaseBackup(backups, parseRecoveryTarget({ targetTime: '2026-01-01T00:00:01Z' }))).toThrow(/ends before/);
  });

  it('for a restore point: by its recorded position, else the oldest backup', () => {
    const target = parseRecoveryTarget({ targetName: 'before-upgrade' });
    expect(chooseBaseBackup(backups, target, parseLsn('0/A00000')).id).toBe('b2');
    expect(chooseBaseBackup(backups, target).id).toBe('b1');
  });
});
