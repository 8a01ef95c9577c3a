import { join } from 'node:path';
import { NotFoundError } from '../domain/errors.js';
import { readConfigFile } from './config-file.js';
import { validatePlanFile, type Plan } from '../domain/plan.js';

/** Where plans are read from: `--plans`, else CHRONO_BACKUP_PLANS, else `<home>/plans.yaml`. */
export function planFilePath(home: string, env: NodeJS.ProcessEnv = process.env, override?: string): string {
  return override ?? env.CHRONO_BACKUP_PLANS ?? join(home, 'plans.yaml');
}

/** Reads and validates a plan file (YAML, or JSON — a subset of YAML). */
export async function loadPlanFile(path: string): Promise<Plan[]> {
  return validatePlanFile(await readConfigFile(path, 'plan file', '--plans'));
}

export async function findPlan(path: string, name: string): Promise<Plan> {
  const plan = (await loadPlanFile(path)).find((candidate) => candidate.name === name);
  if (!plan) throw new NotFoundError('plan', `${name} in ${path}`);
  return plan;
}
