import { existsSync } from 'node:fs';
import { SqliteCatalog } from '../catalog/sqlite-catalog.js';
import { NotFoundError } from '../domain/errors.js';
import type { Plan } from '../domain/plan.js';
import { localSettings } from './local-settings.js';
import { findPlan, planFilePath } from './plan-file.js';

/**
 * Finds a plan for a command before its dependencies exist (a plan may name the repository). An
 * explicit `--plans FILE` is read alone; otherwise the catalog (plans stored by `plan import` or the
 * API) comes first, then the default plan file.
 */
export async function lookupPlan(name: string, planFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Plan> {
  if (planFile) return findPlan(planFile, name);
  const settings = localSettings(env);
  if (existsSync(settings.catalogPath)) {
    const catalog = SqliteCatalog.open(settings.catalogPath);
    try {
      const stored = await catalog.getPlan(name);
      if (stored) return stored;
    } finally {
      await catalog.close();
    }
  }
  const path = planFilePath(settings.home, env);
  if (!existsSync(path)) throw new NotFoundError('plan', `${name} (not in the catalog, and there is no plan file at ${path}; run \`chrono-backup plan import FILE\` or pass --plans FILE)`);
  return findPlan(path, name);
}
