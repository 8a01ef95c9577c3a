import { NotFoundError } from '../domain/errors.js';
import type { RetentionPolicy } from '../domain/retention.js';
import type { RetentionPolicyStore } from '../ports/retention-policy-store.js';
import { loadPolicy, policyFilePath } from './policy-file.js';

export interface PolicySources {
  /** Policies in the catalog (the API's `retention-policies`). */
  store: RetentionPolicyStore;
  home: string;
  env?: NodeJS.ProcessEnv;
  /** `--policy-file`: when given, only that file is read. */
  file?: string;
}

/**
 * A named retention policy, the way every driver finds one: an explicit policy file when given, else the
 * catalog's policies (what the API stores), else the default policy file. Like plans (plan-lookup.ts).
 *
 * @throws NotFoundError naming where it looked.
 */
export async function lookupPolicy(name: string, sources: PolicySources): Promise<RetentionPolicy> {
  if (sources.file === undefined) {
    const stored = await sources.store.getPolicy(name);
    if (stored !== undefined) return stored.policy;
  }
  const path = policyFilePath(sources.home, sources.env ?? process.env, sources.file);
  try {
    return await loadPolicy(path, name);
  } catch (error) {
    if (sources.file === undefined && error instanceof NotFoundError) throw new NotFoundError('retention policy', `${name} (neither in the catalog nor in ${path})`, { details: { field: 'retention_policy' } });
    throw error;
  }
}
