import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { NotFoundError } from '../../src/domain/errors.js';
import type { NamedRetentionPolicy, RetentionPolicyStore } from '../../src/ports/retention-policy-store.js';
import type { StoreFixture } from './store-fixture.js';

const policy = (name: string, days: number): NamedRetentionPolicy => ({ name, policy: { name: `${name} retention`, retention_days: days, keep_daily_for_days: 7, min_backups_to_keep: 2 }, updated: '2026-01-01T00:00:00.000Z' });

/** The RetentionPolicyStore contract of src/ports/retention-policy-store.ts. */
export function describeRetentionPolicyStoreContract(name: string, create: () => Promise<StoreFixture<RetentionPolicyStore>>): void {
  describe(`RetentionPolicyStore contract: ${name}`, () => {
    let fixture: StoreFixture<RetentionPolicyStore>;
    let store: RetentionPolicyStore;

    beforeEach(async () => {
      fixture = await create();
      store = fixture.connect();
    });

    afterEach(() => fixture.cleanup());

    it('stores policies by name, lists them ordered by name, and returns undefined for an unknown one', async () => {
      await expect(store.listPolicies()).resolves.toEqual([]);
      await expect(store.getPolicy('standard')).resolves.toBeUndefined();
      const standard = policy('standard', 30);
      const archive = policy('archive', 365);
      await store.putPolicy(standard);
      await store.putPolicy(archive);
      await expect(store.getPolicy('standard')).resolves.toStrictEqual(standard);
      await expect(store.listPolicies()).resolves.toStrictEqual([archive, standard]);
      await expect(fixture.connect().getPolicy('archive')).resolves.toStrictEqual(archive);
    });

    it('upserts by name: a second put replaces the policy', async () => {
      await store.putPolicy(policy('standard', 30));
      const changed = { ...policy('standard', 90), updated: '2026-02-01T00:00:00.000Z' };
      await store.putPolicy(changed);
      await expect(store.getPolicy('standard')).resolves.toStrictEqual(changed);
      await expect(store.listPolicies()).resolves.toHaveLength(1);
    });

    it('deletes a policy; deleting an unknown name is a NotFoundError', async () => {
      await store.putPolicy(policy('standard', 30));
      await store.putPolicy(policy('archive', 365));
      await store.deletePolicy('standard');
      await expect(store.getPolicy('standard')).resolves.toBeUndefined();
      await expect(store.listPolicies()).resolves.toStrictEqual([policy('archive', 365)]);
      await expect(store.deletePolicy('standard')).rejects.toBeInstanceOf(NotFoundError);
    });
  });
}
