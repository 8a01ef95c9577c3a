/**
 * The audit trail through the real CLI: `audit verify` detects and locates every kind of tampering with
 * the SQLite file (a changed entry, hash or link, a deleted middle or newest row, swapped rows, a
 * missing or replaced key), and `audit export` writes JSON, CSV and a PDF that renders, each export
 * being recorded in the trail itself. Entries are seeded through the same local composition the server
 * uses (runtime/local-audit.ts), since the CLI only ever appends `audit.export` entries.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import type { AuditResult, ChainVerification, NewAuditEntry } from '../../src/domain/audit.js';
import { openLocalAuditLog } from '../../src/runtime/local-audit.js';
import { mapLimit } from '../../src/util/concurrency.js';
import { cleanupAll, createHome, describeRun, EXIT, expectExit, parseJson, type CliHome } from './cli-harness.js';

const run = promisify(execFile);

/** A target that a spreadsheet would run as a formula, with a comma, quotes and a line break. */
const FORMULA_TARGET = '=HYPERLINK("http://attacker.example/?q=1","click"),\nsecond line';
const ACTIONS = ['backup.manual', 'restore', 'user.create', 'storage_backend.create', 'auth.login'];
const RESULTS: AuditResult[] = ['success', 'success', 'failure', 'denied'];
const BASE_MS = Date.parse('2026-02-01T00:00:00Z');

function seedEntry(i: number): NewAuditEntry & { time: string } {
  return {
    time: new Date(BASE_MS + i * 90 * 60_000).toISOString(), // every 1.5 h: 120 entries span Feb 1–8
    actor: i % 7 === 0 ? { kind: 'system', name: 'scheduler' } : { kind: 'user', id: `user-${i % 3}`, email: `person${i % 3}@example.com`, role: ['admin', 'operator', 'auditor'][i % 3]! },
    action: ACTIONS[i % ACTIONS.length]!,
    target: i === 5 ? FORMULA_TARGET : `backup:seed-${String(i).padStart(3, '0')}`,
    source: `198.51.100.${i % 250}`,
    result: RESULTS[i % RESULTS.length]!,
    details: { i, note: i === 6 ? 'zoë → ☃' : 'plain' },
  };
}

/** Records `entries` the way the API server will: the local audit log of that home. */
async function seed(home: CliHome, entries: NewAuditEntry[]): Promise<void> {
  const catalog = SqliteCatalog.open(join(home.home, 'catalog.sqlite'));
  try {
    const log = await openLocalAuditLog(catalog, { home: home.home }, { env: {} });
    for (const entry of entries) await log.append(entry);
  } finally {
    await catalog.close();
  }
}

function sql(home: CliHome, statements: string): void {
  const db = new Database(join(home.home, 'catalog.sqlite'));
  try {
    db.exec(statements);
  } finally {
    db.close();
  }
}

async function verify(home: CliHome): Promise<{ code: number | null; result: ChainVerification }> {
  const outcome = await home.run(['audit', 'verify', '--json']);
  return { code: outcome.code, result: parseJson<ChainVerification>(outcome) };
}

async function expectBroken(home: CliHome, seq: number, reason: string): Promise<void> {
  const outcome = await home.run(['audit', 'verify', '--json']);
  expect({ code: outcome.code, ...parseJson<Record<string, unknown>>(outcome) }).toMatchObject({ code: EXIT.integrity, ok: false, seq, reason });
}

/** Each case on its own copy of `home`, two CLI runs at a time (the CLI's start-up dominates). */
async function tamperCases(home: CliHome, cases: { name: string; sql: string; seq: number; reason: string }[]): Promise<void> {
  await mapLimit(cases, 2, async (each) => {
    const copy = await home.clone(`audit-${each.name}`);
    sql(copy, each.sql);
    await expectBroken(copy, each.seq, each.reason);
  });
}

let small: CliHome; // 6 entries: 4 seeded, 2 written by `audit export`
let large: CliHome; // 120 seeded entries for the exports
const seeded = Array.from({ length: 120 }, (_, i) => seedEntry(i + 1));

beforeAll(async () => {
  small = await createHome('audit-small');
  await seed(small, seeded.slice(0, 4));
  for (const format of ['json', 'csv']) {
    expectExit(await small.run(['audit', 'export', '--from', '2026-02-01', '--to', '2026-02-02', '--format', format, '--output', small.path(`e.${format}`)]), EXIT.ok);
  }
  large = await createHome('audit-large');
  await seed(large, seeded);
}, 60_000);

afterAll(cleanupAll);

describe('audit verify', () => {
  it('reports an intact trail, keeps the key in a 0600 file outside the catalog', async () => {
    const { code, result } = await verify(small);
    expect(code).toBe(EXIT.ok);
    expect(result).toMatchObject({ ok: true, entries: 6, head: { seq: 6 } });
    expect(statSync(join(small.home, 'audit.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(small.home, 'audit-head.json')).mode & 0o777).toBe(0o600);
    const human = await small.run(['audit', 'verify']);
    expect(human.stdout).toContain('audit trail intact (6 entries');
  }, 30_000);

  it('an empty trail on a fresh installation verifies', async () => {
    const fresh = await createHome('audit-fresh');
    const { code, result } = await verify(fresh);
    expect({ code, result }).toEqual({ code: EXIT.ok, result: { ok: true, entries: 0, head: null } });
  }, 30_000);

  it('locates a changed entry and a changed hash, whichever entry it is', async () => {
    const seqs = [1, 2, 3, 4, 5, 6];
    await tamperCases(small, [
      ...seqs.map((seq) => ({ name: `data-${seq}`, sql: `UPDATE audit_log SET data = replace(data, '"result":"', '"result":"x') WHERE seq = ${seq}`, seq, reason: 'content_changed' })),
      // A changed hash is seen at its own entry: it no longer matches the content.
      ...seqs.map((seq) => ({ name: `hash-${seq}`, sql: `UPDATE audit_log SET hash = '${'e'.repeat(64)}' WHERE seq = ${seq}`, seq, reason: 'content_changed' })),
    ]);
  }, 120_000);

  it('locates a broken link, a moved time, a deleted middle row, a deleted newest row and swapped rows', async () => {
    await tamperCases(small, [
      { name: 'link', sql: `UPDATE audit_log SET prev_hash = '${'a'.repeat(64)}' WHERE seq = 4`, seq: 4, reason: 'link_broken' },
      { name: 'time', sql: 'UPDATE audit_log SET time_ms = time_ms - 86400000 WHERE seq = 2', seq: 2, reason: 'content_changed' },
      { name: 'middle', sql: 'DELETE FROM audit_log WHERE seq = 3', seq: 3, reason: 'sequence_gap' },
      { name: 'newest', sql: 'DELETE FROM audit_log WHERE seq = 6', seq: 6, reason: 'missing_tail' },
      { name: 'two-newest', sql: 'DELETE FROM audit_log WHERE seq >= 5', seq: 5, reason: 'missing_tail' },
      { name: 'swap', sql: 'UPDATE audit_log SET seq = -1 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 5; UPDATE audit_log SET seq = 5 WHERE seq = -1', seq: 2, reason: 'reordered' },
    ]);
  }, 120_000);

  it('says where it is broken in plain text too', async () => {
    const copy = await small.clone('audit-human');
    sql(copy, 'DELETE FROM audit_log WHERE seq = 3');
    const human = await copy.run(['audit', 'verify']);
    expect(human.code).toBe(EXIT.integrity);
    expect(human.stdout).toContain('audit trail BROKEN at entry 3: sequence_gap');
  }, 60_000);

  it('a deleted newest row cannot be hidden by deleting or rewriting the anchor', async () => {
    const copy = await small.clone('audit-anchor');
    sql(copy, 'DELETE FROM audit_log WHERE seq = 6');
    const anchor = JSON.parse(await readFile(join(copy.home, 'audit-head.json'), 'utf8')) as Record<string, unknown>;
    const db = new Database(join(copy.home, 'catalog.sqlite'), { readonly: true });
    const head = db.prepare('SELECT seq, hash FROM audit_log WHERE seq = 5').get() as { seq: number; hash: string };
    db.close();
    await writeFile(join(copy.home, 'audit-head.json'), JSON.stringify({ ...anchor, seq: head.seq, hash: head.hash }));
    await expectBroken(copy, 5, 'anchor_mismatch');
    await rm(join(copy.home, 'audit-head.json'));
    await expectBroken(copy, 1, 'anchor_missing');
  }, 60_000);

  it('without its key the trail cannot be checked; with another key it is reported as such', async () => {
    const copy = await small.clone('audit-nokey');
    await rm(join(copy.home, 'audit.key'));
    const missing = await copy.run(['audit', 'verify', '--json']);
    expect(missing.code).toBe(EXIT.keyAccess);
    expect(missing.stderr).toContain('audit key');
    const other = await createHome('audit-other-key');
    await seed(other, seeded.slice(0, 1)); // creates another key
    await writeFile(join(copy.home, 'audit.key'), readFileSync(join(other.home, 'audit.key')));
    await expectBroken(copy, 1, 'wrong_key');
  }, 60_000);
});

describe('audit export', () => {
  const inRange = (from: string, toExclusive: string) => seeded.filter((entry) => entry.time >= new Date(from).toISOString() && entry.time < new Date(toExclusive).toISOString());

  it('JSON: the entries of the range (the end date inclusive), the chain status, and the export is recorded', async () => {
    const file = large.path('audit.json');
    const before = await verify(large);
    const summary = await large.json<{ entries: number; from: string; to: string; file: string }>(['audit', 'export', '--from', '2026-02-03', '--to', '2026-02-05', '--format', 'json', '--output', file]);
    const expected = inRange('2026-02-03T00:00:00Z', '2026-02-06T00:00:00Z');
    expect(summary).toMatchObject({ entries: expected.length, from: '2026-02-03T00:00:00.000Z', to: '2026-02-06T00:00:00.000Z', file });
    const document = JSON.parse(await readFile(file, 'utf8')) as { report: { chain: { ok: boolean; entries: number } }; entries: { seq: number; time: string; target: string; hash: string; prev_hash: string }[]; count: number };
    expect(document.report.chain).toMatchObject({ ok: true, entries: before.result.entries });
    expect(document.count).toBe(expected.length);
    expect(document.entries.map((entry) => entry.target)).toEqual(expected.map((entry) => entry.target));
    expect(document.entries.map((entry) => entry.time)).toEqual(expected.map((entry) => entry.time));
    expect(document.entries[1]!.prev_hash).toBe(document.entries[0]!.hash);

    const after = await verify(large);
    expect(after.result).toMatchObject({ ok: true, entries: before.result.entries + 1 });
    const recent = large.path('recent.json');
    await large.json(['audit', 'export', '--from', new Date(Date.now() - 3600_000).toISOString(), '--format', 'json', '--output', recent]);
    const recorded = (JSON.parse(await readFile(recent, 'utf8')) as { entries: { action: string; result: string; actor: { kind: string; name: string }; details: Record<string, unknown>; source: string }[] }).entries;
    expect(recorded[0]).toMatchObject({ action: 'audit.export', result: 'success', source: 'local', actor: { kind: 'system' }, details: { format: 'json', entries: expected.length, file } });
    expect(recorded[0]!.actor.name).toMatch(/^cli:/);
  }, 60_000);

  it('CSV: RFC 4180 quoting, and cells a spreadsheet would run as formulas are neutralised', async () => {
    const file = large.path('audit.csv');
    expectExit(await large.run(['audit', 'export', '--from', '2026-02-01', '--to', '2026-02-08', '--format', 'csv', '--output', file]), EXIT.ok);
    const text = await readFile(file, 'utf8');
    const rows = parseCsv(text);
    const expected = inRange('2026-02-01T00:00:00Z', '2026-02-09T00:00:00Z');
    expect(rows[0]).toEqual(['seq', 'time', 'actor', 'actor_id', 'role', 'action', 'target', 'source', 'result', 'details', 'hash']);
    expect(rows).toHaveLength(expected.length + 1);
    expect(text.endsWith('\r\n')).toBe(true);
    const formula = rows.find((row) => row[0] === '5')!;
    expect(formula[6]).toBe(`'${FORMULA_TARGET}`);
    expect(text).toContain(`"'=HYPERLINK(""http://attacker.example/?q=1"",""click""),\nsecond line"`);
    expect(JSON.parse(rows.find((row) => row[0] === '6')![9]!)).toEqual({ i: 6, note: 'zoë → ☃' });
    expect(rows.slice(1).every((row) => row.length === 11 && row.every((cell) => !/^[=+\-@]/.test(cell)))).toBe(true);
  }, 60_000);

  it('PDF: opens, every page renders with ink, and the summary tables are there', async () => {
    const file = large.path('audit.pdf');
    const outcome = await large.run(['audit', 'export', '--from', '2026-02-01', '--to', '2026-02-08', '--format', 'pdf', '--output', file, '--json']);
    expectExit(outcome, EXIT.ok);
    expect(readFileSync(file).subarray(0, 5).toString()).toBe('%PDF-');
    const info = (await run('pdfinfo', [file])).stdout;
    const pages = Number(/Pages:\s+(\d+)/.exec(info)?.[1]);
    expect(pages).toBeGreaterThanOrEqual(3); // 120 entries at one line each need several pages

    for (const page of [1, pages]) {
      const prefix = large.path(`page-${page}`);
      await run('pdftoppm', ['-gray', '-r', '40', '-f', String(page), '-l', String(page), file, prefix]);
      const rendered = (await readdir(large.work)).find((name) => name.startsWith(`page-${page}`) && name.endsWith('.pgm'));
      expect(rendered).toBeDefined();
      const { dark, total } = darkPixels(readFileSync(join(large.work, rendered!)));
      expect(dark).toBeGreaterThan(100);
      expect(dark / total).toBeLessThan(0.5); // text on a white page, not a black one
    }

    const text = (await run('pdftotext', ['-layout', file, '-'])).stdout;
    for (const heading of ['Chrono Backup audit report', 'Entries by action and result', 'Entries by actor', 'Success', 'Failure', 'Denied', 'Total', 'Chain verification: intact', 'Page 2']) {
      expect(text).toContain(heading);
    }
    for (const action of ACTIONS) expect(text).toContain(action);
    expect(text).toContain('person1@example.com');
    expect(text).toContain('backup:seed-001');
    expect(text).toContain('backup:seed-120');
    const summaryRow = text.split('\n').find((line) => line.trim().startsWith('scheduler'));
    const schedulerCount = inRange('2026-02-01T00:00:00Z', '2026-02-09T00:00:00Z').filter((entry) => entry.actor.kind === 'system').length;
    expect(summaryRow?.trim().split(/\s+/).at(-1)).toBe(String(schedulerCount));
  }, 60_000);

  it('an export of a tampered trail says where it is broken', async () => {
    const copy = await large.clone('audit-broken-pdf');
    sql(copy, 'UPDATE audit_log SET data = replace(data, \'"denied"\', \'"success"\') WHERE seq = 7');
    const file = copy.path('broken.pdf');
    const outcome = await copy.run(['audit', 'export', '--from', '2026-02-01', '--format', 'pdf', '--output', file]);
    expect(outcome.code).toBe(EXIT.ok);
    expect(outcome.stderr).toContain('BROKEN at entry 7');
    const text = (await run('pdftotext', [file, '-'])).stdout;
    expect(text).toContain('BROKEN at entry 7: content_changed');
  }, 60_000);

  it('refuses bad options without writing or recording anything', async () => {
    const before = await verify(large);
    const refused = [
      ['--from', 'yesterday', '--format', 'json'],
      ['--from', '2026-02-05', '--to', '2026-02-01', '--format', 'json'],
      ['--from', '2026-02-01', '--format', 'xml'],
    ];
    await mapLimit(refused, 2, async (args) => {
      const outcome = await large.run(['audit', 'export', ...args, '--output', large.path('refused.out')]);
      expect(outcome.code === EXIT.usage ? 'usage' : describeRun(outcome)).toBe('usage');
    });
    expect((await readdir(large.work)).filter((name) => name.includes('refused'))).toEqual([]);
    expect((await verify(large)).result).toEqual(before.result);
  }, 60_000);
});

/** Pixels darker than mid-grey in a binary PGM (P5, 8-bit) from pdftoppm -gray. */
function darkPixels(pgm: Buffer): { dark: number; total: number } {
  const header = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(pgm.subarray(0, 64).toString('latin1'));
  if (!header) throw new Error('not a binary PGM');
  const pixels = pgm.subarray(header[0].length);
  let dark = 0;
  for (const value of pixels) if (value < 128) dark++;
  return { dark, total: pixels.length };
}

/** A strict RFC 4180 reader, independent of the writer under test. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += char;
  }
  if (cell !== '' || row.length > 0) throw new Error('CSV does not end with CRLF');
  return rows;
}
