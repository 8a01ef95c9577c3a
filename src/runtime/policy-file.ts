import { join } from 'node:path';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { validateRetentionPolicy, type RetentionPolicy } from '../domain/retention.js';
import { readConfigFile } from './config-file.js';

/** Where named retention policies are read from: `--policy-file`, else CHRONO_BACKUP_POLICIES, else `<home>/policies.yaml`. */
export function policyFilePath(home: string, env: NodeJS.ProcessEnv = process.env, override?: string): string {
  return override ?? env.CHRONO_BACKUP_POLICIES ?? join(home, 'policies.yaml');
}

/** Reads `policies.NAME` from a YAML or JSON policy file; every other policy in it is validated too. */
export async function loadPolicy(path: string, name: string): Promise<RetentionPolicy> {
  const raw = await readConfigFile(path, 'policy file', '--policy-file');
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError(`policy file ${path} must hold a policies map`, 'policies');
  const unknown = Object.keys(raw).find((key) => key !== 'policies');
  if (unknown !== undefined) throw new ValidationError(`policy file.${unknown} is not a known field (expected policies)`, unknown);
  const policies = (raw as { policies?: unknown }).policies;
  if (policies === null || typeof policies !== 'object' || Array.isArray(policies)) throw new ValidationError(`policies in ${path} must be a map of named policies`, 'policies');
  const all = Object.fromEntries(Object.entries(policies).map(([key, value]) => [key, validateRetentionPolicy(value, `policies.${key}`)]));
  const policy = all[name];
  if (!policy) throw new NotFoundError('policy', `${name} in ${path} (it has ${Object.keys(all).join(', ') || 'none'})`);
  return policy;
}
