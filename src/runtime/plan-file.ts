import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { validatePlanFile, type Plan } from '../domain/plan.js';

/** Where plans are read from: `--plans`, else CHRONO_BACKUP_PLANS, else `<home>/plans.yaml`. */
export function planFilePath(home: string, env: NodeJS.ProcessEnv = process.env, override?: string): string {
  return override ?? env.CHRONO_BACKUP_PLANS ?? join(home, 'plans.yaml');
}

/** Reads and validates a plan file (YAML, or JSON — a subset of YAML). */
export async function loadPlanFile(path: string): Promise<Plan[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('plan file', `${path} (write one, or pass --plans FILE)`);
    throw error;
  }
  let raw: unknown;
  try {
    // Loaded on demand: every command would otherwise pay for the YAML parser at startup.
    const { parse } = await import('yaml');
    raw = parse(text);
  } catch (error) {
    throw new ValidationError(`plan file ${path} is not valid YAML or JSON: ${(error as Error).message}`, 'plans');
  }
  return validatePlanFile(raw);
}

export async function findPlan(path: string, name: string): Promise<Plan> {
  const plan = (await loadPlanFile(path)).find((candidate) => candidate.name === name);
  if (!plan) throw new NotFoundError('plan', `${name} in ${path}`);
  return plan;
}
