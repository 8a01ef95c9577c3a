import { describe, expect, it } from '@jest/globals';
import { ValidationError } from '../../../src/domain/errors.js';
import { formatLsn, isValidSegmentSize, parseLsn, parseTimelineHistory, parseWalFileName, requireWalFileName, segmentFileName, segmentNumber, segmentOf } from '../../../src/pitr/wal-names.js';
import { readSegmentHeader } from '../../../src/pitr/cluster-identity.js';

const MiB = 1024 * 1024;

describe('WAL file names', () => {
  it('classifies what PostgreSQL archives', () => {
    expect(parseWalFileName('000000010000000A000000FF')).toEqual({ name: '000000010000000A000000FF', kind: 'segment', timeline: 1, segmentName: '000000010000000A000000FF' });
    expect(parseWalFileName('00000002.history')).toEqual({ name: '00000002.history', kind: 'history', timeline: 2 });
    expect(parseWalFileName('000000010000000000000003.partial')?.kind).toBe('partial');
    expect(parseWalFileName('000000010000000000000002.00000028.backup')).toMatchObject({ kind: 'backup', timeline: 1, segmentName: '000000010000000000000002' });
    for (const bad of ['00000001000000000000000', '000000010000000000000002.tmp', '../etc/passwd', 'RECOVERYXLOG', '0000000100000000000000zz']) expect(parseWalFileName(bad)).toBeUndefined();
    expect(() => requireWalFileName('00000000.history', 'file')).toThrow(ValidationError);
  });

  it('computes segment names and numbers for any segment size', () => {
    // 16 MiB: 256 segments per log id; 1 MiB: 4096.
    expect(segmentFileName(1, 256n, 16 * MiB)).toBe('000000010000000100000000');
    expect(segmentNumber('000000010000000100000000', 16 * MiB)).toBe(256n);
    expect(segmentFileName(3, 4097n, MiB)).toBe('000000030000000100000001');
    expect(segmentNumber('000000030000000100000001', MiB)).toBe(4097n);
    expect(segmentOf(parseLsn('1/2000028'), 16 * MiB)).toBe(258n);
    expect(isValidSegmentSize(16 * MiB)).toBe(true);
    expect(isValidSegmentSize(3 * MiB)).toBe(false);
  });

  it('parses and formats LSNs', () => {
    expect(formatLsn(parseLsn('0/16B3748'))).toBe('0/16B3748');
    expect(parseLsn('1/0')).toBe(1n << 32n);
    expect(() => parseLsn('16B3748', 'target-lsn')).toThrow(/target-lsn/);
  });

  it('reads a timeline history file', () => {
    expect(parseTimelineHistory('1\t0/3000000\tno recovery target specified\n\n2\t0/5000A8\tat restore point "x"\n')).toEqual([
      { parent: 1, switchLsn: parseLsn('0/3000000'), reason: 'no recovery target specified' },
      { parent: 2, switchLsn: parseLsn('0/5000A8'), reason: 'at restore point "x"' },
    ]);
  });

  it("reads a segment's long page header", () => {
    const page = Buffer.alloc(64);
    page.writeUInt16LE(0xd110, 0);
    page.writeUInt16LE(0x0002, 2);
    page.writeUInt32LE(3, 4);
    page.writeBigUInt64LE(7312345678901234567n, 24);
    page.writeUInt32LE(MiB, 32);
    expect(readSegmentHeader(page)).toEqual({ timeline: 3, systemIdentifier: '7312345678901234567', segmentSize: MiB });
    page.writeUInt16LE(0, 2);
    expect(readSegmentHeader(page)).toBeUndefined();
  });
});
