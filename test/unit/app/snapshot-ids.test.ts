import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocateBackupId } from '../../../src/app/snapshot-ids.js';
import type { Clock } from '../../../src/ports/clock.js';
import { snapshotKey } from '../../../src/repository/layout.js';
import { listLiveLocks, RepositoryLock, type LockInfo } from '../../../src/repository/locks.js';
import { LocalObjectStorage } from '../../../src/storage/local-object-storage.js';

const STARTED = new Date('2024-12-24T12:00:00.999Z');
const BASE = 'full_20241224_120000';
const SUFFIXED = /^full_20241224_120000_[0-9a-f]{4}$/;

/** `<type>_<YYYYMMDD>_<HHMMSS>`, with `_<4 hex>` when the second is taken. */
const BACKUP_ID = /^[a-z]+_\d{8}_\d{6}(?:_[0-9a-f]{4})?$/;

describe('allocateBackupId', () => {
  let root: string;
  let storage: LocalObjectStorage;
  let clock: Clock;
  const locks: RepositoryLock[] = [];

  async function lock(): Promise<RepositoryLock> {
    const acquired = await RepositoryLock.acquire(storage, 'shared', { operation: 'backup', clock });
    locks.push(acquired);
    return acquired;
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'chrono-ids-'));
    storage = new LocalObjectStorage(root);
    clock = { now: () => new Date(STARTED.getTime() + 5000) };
  });

  afterEach(async () => {
    await Promise.all(locks.splice(0).map((held) => held.release()));
    await rm(root, { recursive: true, force: true });
  });

  it('gives type_YYYYMMDD_HHMMSS in UTC when nothing clashes', async () => {
    const id = await allocateBackupId(storage, await lock(), clock, 'full', STARTED);
    expect(id).toBe(BASE);
    expect(id).toMatch(BACKUP_ID);
  });

  it('uses the type and UTC, whatever the local time zone of the date', async () => {
    const started = new Date('2025-03-01T23:59:59+02:00');
    expect(await allocateBackupId(storage, await lock(), clock, 'incremental', started)).toBe('incremental_20250301_215959');
  });

  it('reserves the id in its own lease', async () => {
    const mine = await lock();
    const id = await allocateBackupId(storage, mine, clock, 'full', STARTED);
    const info = (await listLiveLocks(storage, clock)).find((other) => other.id === mine.id);
    expect(info?.reservation).toBe(id);
  });

  it('moves to a suffixed id when a snapshot with that id exists', async () => {
    await storage.put(snapshotKey(BASE), Buffer.from('sealed snapshot'));
    const mine = await lock();
    const id = await allocateBackupId(storage, mine, clock, 'full', STARTED);
    expect(id).toMatch(SUFFIXED);
    expect(id).toMatch(BACKUP_ID);
    expect((await listLiveLocks(storage, clock)).find((other) => other.id === mine.id)?.reservation).toBe(id);
  });

  it('treats a multi-source backup with that id (full_X.files) as taken', async () => {
    await storage.put(snapshotKey(`${BASE}.files`), Buffer.from('sealed snapshot'));
    expect(await allocateBackupId(storage, await lock(), clock, 'full', STARTED)).toMatch(SUFFIXED);
  });

  it('moves to a suffixed id when another live lease reserved it', async () => {
    const other = await lock();
    await other.reserve(BASE);
    const id = await allocateBackupId(storage, await lock(), clock, 'full', STARTED);
    expect(id).toMatch(SUFFIXED);
  });

  it('ignores the reservation of an expired lease', async () => {
    const expired: LockInfo = {
      id: 'crashed-backup',
      kind: 'shared',
      operation: 'backup',
      host: 'elsewhere',
      pid: 1,
      created: new Date(STARTED.getTime() - 600_000).toISOString(),
      expires: new Date(STARTED.getTime() - 1).toISOString(),
      reservation: BASE,
    };
    await storage.put('locks/crashed-backup', Buffer.from(JSON.stringify(expired)));
    expect(await allocateBackupId(storage, await lock(), clock, 'full', STARTED)).toBe(BASE);
  });

  it('does not clash with snapshots of another type or second', async () => {
    await storage.put(snapshotKey('incremental_20241224_120000'), Buffer.from('x'));
    await storage.put(snapshotKey('full_20241224_120001'), Buffer.from('x'));
    expect(await allocateBackupId(storage, await lock(), clock, 'full', STARTED)).toBe(BASE);
  });

  it('gives two concurrent backups of the same second distinct ids', async () => {
    const [a, b] = await Promise.all([lock(), lock()]);
    const ids = await Promise.all([allocateBackupId(storage, a, clock, 'full', STARTED), allocateBackupId(storage, b, clock, 'full', STARTED)]);
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(id === BASE || SUFFIXED.test(id)).toBe(true);
  });

  it('gives many suffixed ids that are all distinct from existing ones', async () => {
    await storage.put(snapshotKey(BASE), Buffer.from('x'));
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const id = await allocateBackupId(storage, await lock(), clock, 'full', STARTED);
      expect(id).toMatch(SUFFIXED);
      expect(ids.has(id)).toBe(false);
      ids.add(id);
      await storage.put(snapshotKey(id), Buffer.from('x'));
    }
  });
});
