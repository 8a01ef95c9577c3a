import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { ValidationError } from '../../src/domain/errors.js';
import type { RecoveryWindowRecord, RecoveryWindowStore } from '../../src/ports/recovery-window-store.js';
import type { StoreFixture } from './store-fixture.js';

/** A window as refreshRecoveryWindows records it; `overrides` change or drop (undefined) fields. */
export function windowRecord(repository: string, systemIdentifier: string, overrides: Partial<RecoveryWindowRecord> = {}): RecoveryWindowRecord {
  const record: RecoveryWindowRecord = {
    repository,
    systemIdentifier,
    earliest: '2026-01-01T00:00:05.000Z',
    latest: '2026-01-01T06:30:00.123Z',
    latestLsn: '0/5000000',
    latestSegment: '000000020000000000000004',
    timeline: 2,
    gaps: [{ kind: 'missing-segment', from: '000000010000000000000002', to: '000000010000000000000002', count: 1 }],
    timelineSwitches: [{ from: 1, to: 2, lsn: '0/3000060' }],
    baseBackups: 2,
    segments: 40,
    archivedBytes: 41_943_040,
    computedAt: '2026-01-01T06:31:00.000Z',
    ...overrides,
  };
  for (const [key, value] of Object.entries(record)) if (value === undefined) delete (record as unknown as Record<string, unknown>)[key];
  return record;
}

const A = '7400000000000000001';
const B = '7400000000000000002';
const C = '7400000000000000003';

/** The RecoveryWindowStore contract of src/ports/recovery-window-store.ts. */
export function describeRecoveryWindowStoreContract(name: string, create: () => Promise<StoreFixture<RecoveryWindowStore>>): void {
  describe(`RecoveryWindowStore contract: ${name}`, () => {
    let fixture: StoreFixture<RecoveryWindowStore>;
    let store: RecoveryWindowStore;

    beforeEach(async () => {
      fixture = await create();
      store = fixture.connect();
    });

    afterEach(() => fixture.cleanup());

    it('reads back what was put, field for field, ordered by repository and cluster, and per repository', async () => {
      await expect(store.listWindows()).resolves.toEqual([]);
      const whole = windowRecord('repo-b', B);
      // No usable base backup yet: no earliest, latest or LSN; no gaps or switches.
      const bare = windowRecord('repo-a', A, { earliest: undefined, latest: undefined, latestLsn: undefined, latestSegment: undefined, timeline: 1, gaps: [], timelineSwitches: [], baseBackups: 0, segments: 3, archivedBytes: 3 * 16_777_216 });
      const other = windowRecord('repo-b', A, { gaps: [{ kind: 'missing-history', from: '00000002.history', to: '00000002.history', count: 1 }] });
      for (const record of [whole, bare, other]) await store.putWindow(record);
      await expect(store.listWindows()).resolves.toStrictEqual([bare, other, whole]);
      await expect(store.listWindows('repo-b')).resolves.toStrictEqual([other, whole]);
      await expect(store.listWindows('repo')).resolves.toEqual([]);
      // Another process (the metrics of the server) reads the same records.
      await expect(fixture.connect().listWindows('repo-a')).resolves.toStrictEqual([bare]);
    });

    it('putWindow replaces the record of its repository and cluster; deleteWindow removes it, a missing one included', async () => {
      await store.putWindow(windowRecord('repo', A));
      const later = windowRecord('repo', A, { latest: '2026-01-01T07:00:00.000Z', gaps: [], segments: 41, computedAt: '2026-01-01T07:00:10.000Z' });
      await store.putWindow(later);
      await expect(store.listWindows()).resolves.toStrictEqual([later]);
      await store.deleteWindow('repo', A);
      await expect(store.listWindows()).resolves.toEqual([]);
      await expect(store.deleteWindow('repo', A)).resolves.toBeUndefined();
    });

    it('replaceWindows leaves the repository with exactly the given clusters and leaves other repositories alone', async () => {
      const elsewhere = windowRecord('other-repo', A);
      await store.putWindow(elsewhere);
      await store.replaceWindows('repo', [windowRecord('repo', A), windowRecord('repo', B)]);
      // Cluster A's WAL and base backups are gone; C appeared.
      const c = windowRecord('repo', C, { baseBackups: 1 });
      const b = windowRecord('repo', B, { segments: 50, computedAt: '2026-01-01T08:00:00.000Z' });
      await store.replaceWindows('repo', [c, b]);
      await expect(store.listWindows('repo')).resolves.toStrictEqual([b, c]);
      await store.replaceWindows('repo', []);
      await expect(store.listWindows()).resolves.toStrictEqual([elsewhere]);
    });

    it('refuses records of another repository, without a system identifier, or a cluster twice, writing nothing', async () => {
      await store.putWindow(windowRecord('repo', A));
      await expect(store.replaceWindows('repo', [windowRecord('repo', B), windowRecord('other', C)])).rejects.toBeInstanceOf(ValidationError);
      await expect(store.replaceWindows('repo', [windowRecord('repo', B), windowRecord('repo', B)])).rejects.toBeInstanceOf(ValidationError);
      await expect(store.putWindow(windowRecord('repo', ''))).rejects.toBeInstanceOf(ValidationError);
      await expect(store.replaceWindows('', [])).rejects.toBeInstanceOf(ValidationError);
      await expect(store.listWindows()).resolves.toStrictEqual([windowRecord('repo', A)]);
    });
  });
}
