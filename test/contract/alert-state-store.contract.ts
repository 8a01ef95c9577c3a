import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import type { AlertCondition, AlertStateStore } from '../../src/ports/alert-state-store.js';
import type { StoreFixture } from './store-fixture.js';

const condition = (key: string, lastSentAt: number, suppressed = 0): AlertCondition => ({
  lastSentAt,
  suppressed,
  lastAlert: { type: 'backup_failed', severity: 'critical', state: 'firing', key, title: 'Backup failed', details: { plan: 'shop', code: 'storage.unavailable' }, time: new Date(lastSentAt).toISOString() },
});

/** The AlertStateStore contract of src/ports/alert-state-store.ts. */
export function describeAlertStateStoreContract(name: string, create: () => Promise<StoreFixture<AlertStateStore>>): void {
  describe(`AlertStateStore contract: ${name}`, () => {
    let fixture: StoreFixture<AlertStateStore>;
    let store: AlertStateStore;

    beforeEach(async () => {
      fixture = await create();
      store = fixture.connect();
    });

    afterEach(() => fixture.cleanup());

    it('returns what was put under a key, undefined for another, and lists the open keys', async () => {
      await expect(store.keys()).resolves.toEqual([]);
      const failed = condition('backup_failed:plan=shop', 1_767_225_600_000);
      await store.put(failed.lastAlert.key, failed);
      await store.put('overdue_backup:plan=db', condition('overdue_backup:plan=db', 1_767_225_660_000, 2));
      await expect(store.get(failed.lastAlert.key)).resolves.toStrictEqual(failed);
      await expect(store.get('storage_issue:repo')).resolves.toBeUndefined();
      expect((await store.keys()).sort()).toEqual(['backup_failed:plan=shop', 'overdue_backup:plan=db']);
      // Another process (the next `health` run) sees the same conditions.
      await expect(fixture.connect().get(failed.lastAlert.key)).resolves.toStrictEqual(failed);
    });

    it('put replaces, and delete removes (a missing key included)', async () => {
      const key = 'backup_failed:plan=shop';
      await store.put(key, condition(key, 1_000));
      const throttled = condition(key, 1_000, 3);
      await store.put(key, throttled);
      await expect(store.get(key)).resolves.toStrictEqual(throttled);
      await store.delete(key);
      await expect(store.get(key)).resolves.toBeUndefined();
      await expect(store.delete(key)).resolves.toBeUndefined();
      await expect(store.keys()).resolves.toEqual([]);
    });
  });
}
