import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import {
  anchorFor,
  auditKeyId,
  canonicalJson,
  chainHash,
  GENESIS_HASH,
  parseRow,
  sealEntry,
  serializeEntry,
  validateAuditEntry,
  verifyChain,
  type AuditEntry,
  type StoredAuditRow,
} from '../../../src/domain/audit.js';
import { ValidationError } from '../../../src/domain/errors.js';

const key = randomBytes(32);

function entry(index: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return validateAuditEntry({
    time: new Date(Date.UTC(2026, 0, 1, 0, index)).toISOString(),
    actor: { kind: 'user', id: `u${index % 3}`, email: `user${index % 3}@example.com`, role: 'admin' },
    action: index % 2 === 0 ? 'backup.manual' : 'restore',
    target: `backup:b${index}`,
    source: '10.0.0.1',
    result: 'success',
    details: { index, nested: { list: [1, 'two', null] } },
    ...overrides,
  });
}

/** A valid chain of `n` rows and its anchor. */
function chain(n: number, withKey = key): { rows: StoredAuditRow[]; anchor: ReturnType<typeof anchorFor> } {
  const rows: StoredAuditRow[] = [];
  for (let i = 1; i <= n; i++) rows.push(sealEntry(withKey, rows.at(-1), entry(i)));
  const last = rows.at(-1)!;
  return { rows, anchor: anchorFor(withKey, last) };
}

describe('canonical serialization', () => {
  it('sorts keys at every level and is independent of construction order', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[true,{"y":2,"z":1}]},"b":1}');
    const one = serializeEntry(7, entry(1));
    const reordered = JSON.parse(one) as Record<string, unknown>;
    const { seq, ...rest } = reordered;
    expect(serializeEntry(seq as number, Object.fromEntries(Object.entries(rest).reverse()) as unknown as AuditEntry)).toBe(one);
  });

  it('puts the seq into the hashed text, and the hash depends on the previous hash and the key', () => {
    const data = serializeEntry(3, entry(3));
    expect(JSON.parse(data)).toMatchObject({ seq: 3, action: 'restore' });
    const hash = chainHash(key, GENESIS_HASH, data);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(chainHash(key, 'f'.repeat(64), data)).not.toBe(hash);
    expect(chainHash(randomBytes(32), GENESIS_HASH, data)).not.toBe(hash);
  });
});

describe('entry validation', () => {
  it('normalises the time and keeps only known fields', () => {
    const valid = validateAuditEntry({ ...entry(1), time: '2026-01-01T01:00:00+01:00', extra: 'dropped' } as AuditEntry);
    expect(valid.time).toBe('2026-01-01T00:00:00.000Z');
    expect(valid).not.toHaveProperty('extra');
  });

  it.each([
    ['action', { action: 'Backup Manual' }],
    ['result', { result: 'ok' }],
    ['source', { source: '' }],
    ['time', { time: 'yesterday' }],
    ['actor.email', { actor: { kind: 'user', id: 'u1', email: '', role: 'admin' } }],
    ['actor.kind', { actor: { kind: 'robot' } }],
    ['details.password', { details: { password: 'hunter2' } }],
    ['details.backend.secretAccessKey', { details: { backend: { secretAccessKey: 'x' } } }],
    ['details.list[0].apiKey', { details: { list: [{ apiKey: 'x' }] } }],
    ['details', { details: { blob: 'x'.repeat(5000) } }],
  ])('refuses a bad %s, naming it', (field, overrides) => {
    const attempt = () => validateAuditEntry({ ...entry(1), ...overrides } as AuditEntry);
    expect(attempt).toThrow(ValidationError);
    try {
      attempt();
    } catch (error) {
      expect((error as ValidationError).details).toMatchObject({ field });
    }
  });

  it('accepts details that merely mention keys in harmless names', () => {
    expect(validateAuditEntry({ ...entry(1), details: { storage_backend_id: 3, encrypt_backup: true, key_id: 'abc' } }).details).toEqual({ encrypt_backup: true, key_id: 'abc', storage_backend_id: 3 });
  });
});

describe('verifyChain', () => {
  it('accepts an intact chain and reports its head', () => {
    const { rows, anchor } = chain(5);
    expect(verifyChain(rows, key, anchor)).toEqual({ ok: true, entries: 5, head: { seq: 5, hash: rows[4]!.hash } });
    expect(rows[0]!.prevHash).toBe(GENESIS_HASH);
    expect(rows[3]!.prevHash).toBe(rows[2]!.hash);
    expect(parseRow(rows[2]!)).toMatchObject({ seq: 3, action: 'restore', target: 'backup:b3', prevHash: rows[1]!.hash });
  });

  it('accepts an empty chain without an anchor, and an anchor that lags behind the table', () => {
    expect(verifyChain([], key, undefined)).toEqual({ ok: true, entries: 0, head: null });
    const { rows } = chain(4);
    expect(verifyChain(rows, key, anchorFor(key, rows[1]!))).toMatchObject({ ok: true, entries: 4 });
  });

  const cases: [string, (rows: StoredAuditRow[]) => StoredAuditRow[], number, string][] = [
    ['changed text', (rows) => rows.map((row) => (row.seq === 3 ? { ...row, data: row.data.replace('"success"', '"denied"') } : row)), 3, 'content_changed'],
    ['changed hash', (rows) => rows.map((row) => (row.seq === 4 ? { ...row, hash: 'a'.repeat(64) } : row)), 4, 'content_changed'],
    ['changed time column', (rows) => rows.map((row) => (row.seq === 2 ? { ...row, timeMs: row.timeMs + 1 } : row)), 2, 'content_changed'],
    ['unreadable text', (rows) => rows.map((row) => (row.seq === 5 ? { ...row, data: '{not json' } : row)), 5, 'content_changed'],
    ['changed prev_hash', (rows) => rows.map((row) => (row.seq === 2 ? { ...row, prevHash: 'b'.repeat(64) } : row)), 2, 'link_broken'],
    ['deleted middle row', (rows) => rows.filter((row) => row.seq !== 3), 3, 'sequence_gap'],
    ['deleted first row', (rows) => rows.slice(1), 1, 'sequence_gap'],
    ['swapped contents of two rows', (rows) => rows.map((row, i) => (row.seq === 2 ? { ...rows[2]!, seq: 2 } : row.seq === 3 ? { ...rows[1]!, seq: 3 } : rows[i]!)), 2, 'reordered'],
    ['deleted newest row', (rows) => rows.slice(0, -1), 6, 'missing_tail'],
    ['deleted every row', () => [], 1, 'missing_tail'],
  ];
  it.each(cases)('locates %s', (_name, tamper, seq, reason) => {
    const { rows, anchor } = chain(6);
    expect(verifyChain(tamper(rows), key, anchor)).toMatchObject({ ok: false, seq, reason });
  });

  it('detects a chain recomputed without the key: every hash consistent, but not under our key', () => {
    const { rows, anchor } = chain(3);
    const forged: StoredAuditRow[] = [];
    for (const row of rows) {
      const data = row.seq === 2 ? row.data.replace('"success"', '"failure"') : row.data;
      const prevHash = forged.at(-1)?.hash ?? GENESIS_HASH;
      forged.push({ ...row, data, prevHash, hash: chainHash(randomBytes(32), prevHash, data) });
    }
    expect(verifyChain(forged, key, anchor)).toMatchObject({ ok: false, seq: 1, reason: 'content_changed' });
  });

  it('checks the anchor: missing, rewritten to an older head, from a rebuilt table, or from another key', () => {
    const { rows, anchor } = chain(4);
    expect(verifyChain(rows, key, undefined)).toMatchObject({ ok: false, reason: 'anchor_missing' });
    // Dropping the newest entry and pointing the anchor at the new head needs the key for its MAC.
    expect(verifyChain(rows.slice(0, 3), key, { ...anchor, seq: 3, hash: rows[2]!.hash })).toMatchObject({ ok: false, seq: 3, reason: 'anchor_mismatch' });
    // The newest entry replaced by another one (as by the key holder rewriting history): same length.
    const other = [...rows.slice(0, 3), sealEntry(key, rows[2], entry(99))];
    expect(verifyChain(other, key, anchor)).toMatchObject({ ok: false, seq: 4, reason: 'anchor_mismatch' });
    const foreign = chain(2, randomBytes(32));
    expect(verifyChain(foreign.rows, key, foreign.anchor)).toMatchObject({ ok: false, seq: 1, reason: 'wrong_key' });
    expect(foreign.anchor.keyId).not.toBe(auditKeyId(key));
  });

  it('consumes rows lazily and stops at the first break', () => {
    const { rows, anchor } = chain(5);
    let read = 0;
    function* counted() {
      for (const row of rows) {
        read++;
        yield row.seq === 2 ? { ...row, hash: '0'.repeat(64) } : row;
      }
    }
    expect(verifyChain(counted(), key, anchor)).toMatchObject({ ok: false, seq: 2, entries: 2 });
    expect(read).toBe(2);
  });
});
