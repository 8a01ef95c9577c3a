import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDIT_EXPORT_FORMATS, exportAuditToBuffer } from '../../../src/audit/audit-export.js';
import { csvCell } from '../../../src/audit/csv-export.js';
import { FileAuditAnchor } from '../../../src/catalog/file-audit-anchor.js';
import { SqliteAuditLog } from '../../../src/catalog/sqlite-audit-log.js';
import { SqliteCatalog } from '../../../src/catalog/sqlite-catalog.js';
import { ValidationError } from '../../../src/domain/errors.js';

let dir: string;
let catalog: SqliteCatalog;
let log: SqliteAuditLog;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chrono-audit-export-'));
  catalog = SqliteCatalog.open(':memory:');
  log = catalog.sibling((db) => new SqliteAuditLog(db, { key: randomBytes(32), anchor: new FileAuditAnchor(join(dir, 'audit-head.json')) }));
  for (let i = 0; i < 600; i++) {
    await log.append({ time: new Date(Date.UTC(2026, 4, 1) + i * 60_000).toISOString(), actor: { kind: 'user', id: 'u1', email: 'a@example.com', role: 'admin' }, action: i % 2 ? 'restore' : 'backup.manual', source: '127.0.0.1', result: 'success' });
  }
});

afterAll(async () => {
  await catalog.close();
  await rm(dir, { recursive: true, force: true });
});

describe('csvCell', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=1+2', "'=1+2"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
    ['=A1,"x"', `"'=A1,""x"""`],
    ['', ''],
  ])('%j → %j', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });
});

describe('exportAuditToBuffer (the API path)', () => {
  // 550 of the 600 minutes: more than one page of the listing (500)
  const range = { from: '2026-05-01T00:00:00Z', to: '2026-05-01T09:10:00Z' };

  it.each(AUDIT_EXPORT_FORMATS)('%s: the whole range, across listing pages', async (format) => {
    const { body, result } = await exportAuditToBuffer(log, { ...range, format, generatedAt: new Date('2026-06-01T00:00:00Z') });
    expect(result).toMatchObject({ format, entries: 550, generatedAt: '2026-06-01T00:00:00.000Z', verification: { ok: true, entries: 600 } });
    if (format === 'json') {
      const document = JSON.parse(body.toString()) as { count: number; entries: { seq: number }[] };
      expect(document.count).toBe(550);
      expect(document.entries.map((entry) => entry.seq)).toEqual(Array.from({ length: 550 }, (_, i) => i + 1));
    } else if (format === 'csv') {
      expect(body.toString().split('\r\n')).toHaveLength(552); // header, 550 lines, the empty rest after the last CRLF
    } else {
      expect(body.subarray(0, 5).toString()).toBe('%PDF-');
      expect(body.subarray(-6).toString()).toContain('%%EOF');
    }
  });

  it('refuses an unknown format and a reversed range', async () => {
    await expect(exportAuditToBuffer(log, { ...range, format: 'xml' as 'json' })).rejects.toMatchObject({ details: { field: 'format' } });
    await expect(exportAuditToBuffer(log, { from: range.to, to: range.from, format: 'csv' })).rejects.toThrow(ValidationError);
  });
});
