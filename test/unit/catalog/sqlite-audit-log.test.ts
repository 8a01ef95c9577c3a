import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileAuditAnchor } from '../../../src/catalog/file-audit-anchor.js';
import { SqliteAuditLog } from '../../../src/catalog/sqlite-audit-log.js';
import { SqliteCatalog } from '../../../src/catalog/sqlite-catalog.js';
import type { NewAuditEntry } from '../../../src/domain/audit.js';
import { ValidationError } from '../../../src/domain/errors.js';

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

// What every AuditLog does is in test/contract/audit-log.contract.ts (run on this adapter by
// test/contract/sqlite-stores.test.ts); here, what is particular to SQLite and the anchor file.
describe('SqliteAuditLog', () => {
  it('keeps the anchor in a private file beside the catalog, and the key nowhere in the catalog', async () => {
    const { catalog: opened, log } = open();
    catalog = opened;
    await log.append(event('backup.manual', { details: { backup_type: 'full' } }));
    const second = await log.append(event('restore', { result: 'denied' }));
    const anchor = JSON.parse(await readFile(join(dir, 'audit-head.json'), 'utf8')) as Record<string, unknown>;
    expect(anchor).toMatchObject({ version: 1, seq: 2, hash: second.hash });
    expect(statSync(join(dir, 'audit-head.json')).mode & 0o777).toBe(0o600);
    const raw = new Database(join(dir, 'catalog.sqlite'), { readonly: true });
    const dump = JSON.stringify(raw.prepare('SELECT * FROM audit_log').all());
    raw.close();
    expect(dump).not.toContain(key.toString('hex'));
  });

  it('writes no anchor file until something is recorded', async () => {
    const { catalog: opened, log } = open();
    catalog = opened;
    await expect(log.append(event('Backup!'))).rejects.toThrow(ValidationError);
    expect(existsSync(join(dir, 'audit-head.json'))).toBe(false);
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
      // A breath between appends: on a loaded machine one writer could otherwise finish before the
      // other is scheduled at all, and the race this test is about would not happen.
      for (let i = 0; i < Number(count); i++) {
        await log.append({ actor: { kind: 'system', name: 'writer-' + name }, action: 'backup.manual', source: 'local', result: 'success', details: { i } });
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
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
