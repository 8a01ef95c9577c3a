import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';

import type { NewAuditEntry } from '../../src/domain/audit.js';
import { IntegrityError, ValidationError } from '../../src/domain/errors.js';
import type { AuditLog } from '../../src/ports/audit-log.js';
import type { Clock } from '../../src/ports/clock.js';

/**
 * What the AuditLog contract needs from an adapter: instances on one storage, and the hooks of an
 * attacker (or a crash) who edits the storage behind the log's back.
 */
export interface AuditLogFixture {
  /** An instance on the storage, with this key and clock (another process when called again). */
  open: (options: { key: Buffer; clock: Clock }) => AuditLog;
  /** Replaces the stored text of entry `seq`. */
  rewriteEntry: (seq: number, change: (data: string) => string) => Promise<void>;
  /** Captures the anchor as stored now; the function returned puts it back (an anchor left behind). */
  saveAnchor: () => Promise<() => Promise<void>>;
  /** Replaces the anchor with something that is not an anchor. */
  damageAnchor: () => Promise<void>;
  removeAnchor: () => Promise<void>;
  cleanup: () => Promise<void>;
}

function event(action: string, overrides: Partial<NewAuditEntry> = {}): NewAuditEntry {
  return { actor: { kind: 'user', id: 'u1', email: 'ops@example.com', role: 'operator' }, action, target: 'backup:b1', source: '192.0.2.7', result: 'success', ...overrides };
}

/** The AuditLog contract of src/ports/audit-log.ts (the chain itself is tested in test/unit/domain/audit.test.ts). */
export function describeAuditLogContract(name: string, create: () => Promise<AuditLogFixture>): void {
  describe(`AuditLog contract: ${name}`, () => {
    let fixture: AuditLogFixture;
    let key: Buffer;
    let now: Date;
    let log: AuditLog;
    const clock: Clock = { now: () => now };

    beforeEach(async () => {
      fixture = await create();
      key = randomBytes(32);
      now = new Date('2026-03-01T12:00:00.000Z');
      log = fixture.open({ key, clock });
    });

    afterEach(() => fixture.cleanup());

    it('appends a chain: seq 1, 2, 3, each linked to the one before, times from the clock unless given', async () => {
      const first = await log.append(event('backup.manual', { details: { backup_type: 'full' } }));
      now = new Date('2026-03-01T12:00:05.000Z');
      const second = await log.append(event('restore', { result: 'denied' }));
      const third = await log.append(event('user.create', { actor: { kind: 'system', name: 'scheduler' }, target: undefined, time: '2026-03-02T00:00:00Z' }));
      expect(first).toMatchObject({ seq: 1, time: '2026-03-01T12:00:00.000Z', prevHash: '0'.repeat(64), action: 'backup.manual', details: { backup_type: 'full' } });
      expect(second).toMatchObject({ seq: 2, time: '2026-03-01T12:00:05.000Z', prevHash: first.hash, result: 'denied' });
      expect(third).toMatchObject({ seq: 3, time: '2026-03-02T00:00:00.000Z', prevHash: second.hash, actor: { kind: 'system', name: 'scheduler' } });
      expect(third).not.toHaveProperty('target');
      await expect(log.verify()).resolves.toEqual({ ok: true, entries: 3, head: { seq: 3, hash: third.hash } });
      await expect(fixture.open({ key, clock }).list()).resolves.toEqual({ records: [first, second, third] });
    });

    it('refuses invalid entries and short keys without recording anything', async () => {
      await expect(log.append(event('Backup!'))).rejects.toThrow(ValidationError);
      await expect(log.append(event('backup.manual', { details: { token: 'x' } }))).rejects.toMatchObject({ details: { field: 'details.token' } });
      await expect(log.verify()).resolves.toEqual({ ok: true, entries: 0, head: null });
      expect(() => fixture.open({ key: randomBytes(16), clock })).toThrow(ValidationError);
    });

    it('lists a time range in seq order, a page at a time', async () => {
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
      expect((await log.list()).records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      await expect(log.list({ limit: 0 })).rejects.toMatchObject({ details: { field: 'limit' } });
      await expect(log.list({ from: 'last week' })).rejects.toMatchObject({ details: { field: 'from' } });
      await expect(log.list({ cursor: 'abc' })).rejects.toMatchObject({ details: { field: 'cursor' } });
    });

    it('keeps one chain when two instances append at once', async () => {
      const writers = ['a', 'b'].map((writer) => ({ writer, log: fixture.open({ key, clock }) }));
      const perWriter = 12;
      await Promise.all(
        writers.map(async ({ writer, log: each }) => {
          for (let i = 0; i < perWriter; i++) await each.append(event('backup.manual', { actor: { kind: 'system', name: `writer-${writer}` }, details: { i } }));
        }),
      );
      await expect(log.verify()).resolves.toMatchObject({ ok: true, entries: 2 * perWriter, head: { seq: 2 * perWriter } });
      const records = (await log.list({ limit: 1000 })).records;
      expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 2 * perWriter }, (_, i) => i + 1));
      expect(records.filter((r) => r.actor.kind === 'system' && r.actor.name === 'writer-a')).toHaveLength(perWriter);
    });

    it('verify reports another key, locates a changed entry, and a listing refuses an unreadable one', async () => {
      for (let i = 0; i < 5; i++) await log.append(event('backup.manual', { details: { i } }));
      await expect(fixture.open({ key: randomBytes(32), clock }).verify()).resolves.toMatchObject({ ok: false, seq: 1, reason: 'wrong_key' });
      await fixture.rewriteEntry(4, (data) => data.replace('"success"', '"failure"'));
      await expect(log.verify()).resolves.toMatchObject({ ok: false, seq: 4, reason: 'content_changed', entries: 4 });
      await fixture.rewriteEntry(2, () => 'garbage');
      await expect(log.verify()).resolves.toMatchObject({ ok: false, seq: 2, reason: 'content_changed' });
      await expect(log.list()).rejects.toThrow(IntegrityError);
      await expect(log.list()).rejects.toMatchObject({ code: 'integrity.audit_unreadable' });
    });

    it('accepts an anchor left behind by a crash, but not a missing or damaged one', async () => {
      await log.append(event('backup.manual'));
      const restore = await fixture.saveAnchor();
      await log.append(event('restore'));
      await restore(); // as if the process died before moving it
      await expect(log.verify()).resolves.toMatchObject({ ok: true, entries: 2 });
      await fixture.damageAnchor();
      await expect(log.verify()).resolves.toMatchObject({ ok: false, reason: 'anchor_mismatch' });
      await fixture.removeAnchor();
      await expect(log.verify()).resolves.toMatchObject({ ok: false, reason: 'anchor_missing' });
    });
  });
}
