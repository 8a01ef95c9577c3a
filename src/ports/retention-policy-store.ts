import type { RetentionPolicy } from '../domain/retention.js';

/** A retention policy under its name, as the API and `cleanup --policy NAME` find it. */
export interface NamedRetentionPolicy {
  name: string;
  policy: RetentionPolicy;
  updated: string;
}

/**
 * RetentionPolicyStore: named retention policies in the catalog.
 *
 * Contract: `putPolicy` is an upsert by name of a policy already validated by
 * `validateRetentionPolicy`; `getPolicy` of an unknown name returns undefined; `listPolicies` returns
 * every policy ordered by name; `deletePolicy` of an unknown name throws NotFoundError.
 */
export interface RetentionPolicyStore {
  putPolicy(policy: NamedRetentionPolicy): Promise<void>;
  getPolicy(name: string): Promise<NamedRetentionPolicy | undefined>;
  listPolicies(): Promise<NamedRetentionPolicy[]>;
  deletePolicy(name: string): Promise<void>;
}
