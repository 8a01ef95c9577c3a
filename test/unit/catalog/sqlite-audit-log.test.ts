import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileAuditAnchor } from '../../../src/catalog/file-audit-anchor.js';
import { SqliteAuditLog } from '../../../src/catalog/sqlite-audit-log.js';
import { SqliteCatalog } from '../../../src/catalog/sqlite-catalog.js';
import type { NewAuditEntry } from '../../../src/domain/audit.js';
import { IntegrityError, ValidationError } from '../../../src/domain/errors.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let dir: string;
let catalog: SqliteCatalog;
let key: Buffer;
let now: Date;

function open(file = join(dir, 'catalog.sqlite')): { catalog: SqliteCatalog; log: SqliteAuditLog } {
  const opened = SqliteCatalog.open(file);
  return { catalog: opened, log: opened.sibling((db) => new SqliteAuditLog(db, { key, anchor: new FileAuditAnchor(join(dir, 'audit-head.json')), clock: { now: () => now } })) };
}

function event(action: string, overrides: Partial<NewAuditEntry> = {}): NewAuditEntry {
  return { actor: { kind: 'user', id: 'u1', email: 'ops@example.com', role: 'operator' }, action, target: 'backup:b1', source: '192.0.2.7', result: 'success', ...overrides };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chrono-audit-log-'));
  key = randomBytes(32);
  now = new Date('2026-03-01T12:00:00.000Z');
});

afterEach(async () => {
  await catalog?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('SqliteAuditLog', () => {
  it('appends a chain: seq 1, 2, 3, each linked to the one before, the anchor at the head', async () => {
    const { catalog: opened, log } = open();
    catalog = opened;
    const first = await log.append(event('backup.manual', { details: { backup_type: 'full' } }));
    now = new Date('2026-03-01T12:00:05.000Z');
    const second = await log.append(event('restore', { result: 'denied' }));
    const third = await log.append(event('user.create', { actor: { kind: 'system', name: 'scheduler' }, target: undefined, time: '2026-03-02T00:00:00Z' }));
    expect(first).toMatchObject({ seq: 1, time: '2026-03-01T12:00:00.000Z', prevHash: '0'.repeat(64), action: 'backup.manual', details: { backup_type: 'full' } });
    expect(second).toMatchObject({ seq: 2, time: '2026-03-01T12:00:05.000Z', prevHash: first.hash, result: 'denied' });
    expect(third).toMatchObject({ seq: 3, time: '2026-03-02T00:00:00.000Z', prevHash: second.hash, actor: { kind: 'system', name: 'scheduler' } });
    expect(third).not.toHaveProperty('target');
    await expect(log.verify()).resolves.toEqual({ ok: true, entries: 3, head: { seq: 3, hash: third.hash } });
    const anchor = JSON.parse(await readFile(join(dir, 'audit-head.json'), 'utf8')) as Record<string, unknown>;
    expect(anchor).toMatchObject({ version: 1, seq: 3, hash: third.hash });
    expect(statSync(join(dir, 'audit-head.json')).mode & 0o777).toBe(0o600);
    // The key itself is stored nowhere in the catalog.
    const raw = new Database(join(dir, 'catalog.sqlite'), { readonly: true });
    const dump = JSON.stringify(raw.prepare('SELECT * FROM audit_log').all());
    raw.close();
    expect(dump).not.toContain(key.toString('hex'));
  });

  it('refuses invalid entries without recording anything', async () => {
    const { catalog: opened, log } = open();
    catalog = opened;
    await expect(log.append(event('Backup!'))).rejects.toThrow(ValidationError);
    await expect(log.append(event('backup.manual', { details: { token: 'x' } }))).rejects.toMatchObject({ details: { field: 'details.token' } });
    await expect(log.verify()).resolves.toEqual({ ok: true, entries: 0, head: null });
    expect(existsSync(join(dir, 'audit-head.json'))).toBe(false);
    expect(() => opened.sibling((db) => new SqliteAuditLog(db, { key: randomBytes(16), anchor: new FileAuditAnchor(join(dir, 'x')) }))).toThrow(ValidationError);
  });

  it('lists a time range in seq order, a page at a time', async () => {
    const { catalog: opened, log } = open();
    catalog = opened;
    for (let day = 1; day <= 9; day++) await log.append(event('backup.manual', { time: `2026-03-0${day}T10:00:00Z`, details: { day } }));
    const range = { from: '2026-03-03T00:00:00Z', to: '2026-03-08T10:00:00Z' }; // end exclusive: day 8 is out
    const first = await log.list({ ...range, limit: 2 });
    expect(first.records.map((r) => r.details?.day)).toEqual([3, 4]);
    expect(first.nextCursor).toBeDefined();
    const second = await log.list({ ...range, limit: 2, cursor: first.nextCursor! });
    const third = await log.list({ ...range, limit: 2, cursor: second.nextCursor! });
    expect(second.records.map((r) => r.details?.day)).toEqual([5, 6]);
    expect(third.records.map((r) => r.details?.day)).toEqual([7]);
    expect(third.nextCursor).toBeUndefined();
    expect((await log.list()).records).toHaveLength(9);
    await expect(log.list({ limit: 0 })).rejects.toMatchObject({ details: { field: 'limit' } });
    await expect(log.list({ from: 'last week' })).rejects.toMatchObject({ details: { field: 'from' } });
    await expect(log.list({ cursor: 'abc' })).rejects.toMatchObject({ details: { field: 'cursor' } });
  });

  it('verify locates a changed row, and a listing refuses an unreadable one', async () => {
    const { catalog: opened, log } = open();
    catalog = opened;
    for (let i = 0; i < 5; i++) await log.append(event('backup.manual', { details: { i } }));
    const raw = new Database(join(dir, 'catalog.sqlite'));
    raw.prepare(`UPDATE audit_log SET data = replace(data, '"success"', '"failure"') WHERE seq = 4`).run();
    await expect(log.verify()).resolves.toMatchObject({ ok: false, seq: 4, reason: 'content_changed', entries: 4 });
    raw.prepare(`UPDATE audit_log SET data = 'garbage' WHERE seq = 2`).run();
    raw.close();
    await expect(log.verify()).resolves.toMatchObject({ ok: false, seq: 2, reason: 'content_changed' });
    await expect(log.list()).rejects.toThrow(IntegrityError);
  });

  it('accepts an anchor left behind by a crash, but not a missing or damaged one', async () => {
    const { catalog: opened, log } = open();
    catalog = opened;
    await log.append(event('backup.manual'));
    const anchorText = await readFile(join(dir, 'audit-head.json'), 'utf8');
    await log.append(event('restore'));
    await writeFile(join(dir, 'audit-head.json'), anchorText); // as if the process died before moving it
    await expect(log.verify()).resolves.toMatchObject({ ok: true, entries: 2 });
    await writeFile(join(dir, 'audit-head.json'), '{"version":1');
    await expect(log.verify()).resolves.toMatchObject({ ok: false, reason: 'anchor_mismatch' });
    await rm(join(dir, 'audit-head.json'));
    await expect(log.verify()).resolves.toMatchObject({ ok: false, reason: 'anchor_missing' });
  });

  it('keeps one chain when two processes append to the same file at once', async () => {
    const file = join(dir, 'catalog.sqlite');
    SqliteCatalog.open(file).close(); // create and migrate once, before the race
    const perWriter = 150;
    const writers = ['a', 'b'].map((name) => appendInChild(file, join(dir, 'audit-head.json'), key, name, perWriter));
    await Promise.all(writers.map((writer) => writer.ready));
    writers.forEach((writer) => writer.go());
    await Promise.all(writers.map((writer) => writer.done));

    const { catalog: opened, log } = open(file);
    catalog = opened;
    await expect(log.verify()).resolves.toMatchObject({ ok: true, entries: 2 * perWriter, head: { seq: 2 * perWriter } });
    const records = (await log.list({ limit: 1000 })).records;
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 2 * perWriter }, (_, i) => i + 1));
    const order = records.map((r) => (r.actor.kind === 'system' ? r.actor.name : ''));
    expect(order.filter((name) => name === 'writer-a')).toHaveLength(perWriter);
    // They really ran at the same time: the writers' entries alternate somewhere in the middle.
    const switches = order.slice(1).filter((name, i) => name !== order[i]).length;
    expect(switches).toBeGreaterThan(1);
    const anchor = JSON.parse(await readFile(join(dir, 'audit-head.json'), 'utf8')) as { seq: number };
    expect(anchor.seq).toBe(2 * perWriter);
  }, 60_000);
});

/**
 * A separate node process appending through the compiled adapter (dist/, as the worker threads of the
 * repository do under Jest): a real second connection in a real second process, so the two appends
 * contend for SQLite's lock. It prints "ready" once loaded and starts when its stdin says go.
 */
function appendInChild(file: string, anchorPath: string, key: Buffer, name: string, count: number) {
  const script = `
    import { SqliteCatalog } from ${JSON.stringify(join(PROJECT_ROOT, 'dist/catalog/sqlite-catalog.js'))};
    import { SqliteAuditLog } from ${JSON.stringify(join(PROJECT_ROOT, 'dist/catalog/sqlite-audit-log.js'))};
    import { FileAuditAnchor } from ${JSON.stringify(join(PROJECT_ROOT, 'dist/catalog/file-audit-anchor.js'))};
    const [file, anchorPath, keyHex, name, count] = process.argv.slice(1);
    const catalog = SqliteCatalog.open(file);
    const log = catalog.sibling((db) => new SqliteAuditLog(db, { key: Buffer.from(keyHex, 'hex'), anchor: new FileAuditAnchor(anchorPath) }));
    process.stdout.write('ready\\n');
    process.stdin.once('data', async () => {
      for (let i = 0; i < Number(count); i++) await log.append({ actor: { kind: 'system', name: 'writer-' + name }, action: 'backup.manual', source: 'local', result: 'success', details: { i } });
      await catalog.close();
      process.exit(0);
    });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, file, anchorPath, key.toString('hex'), name, String(count)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', () => reject(new Error(`writer ${name} exited before it was ready: ${stderr}`)));
  });
  const done = new Promise<void>((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${name} exited ${code}: ${stderr}`)))));
  return { ready, done, go: () => child.stdin.write('go\n') };
}
