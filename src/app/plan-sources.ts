import type { BackupType, Compression } from '../domain/backup-types.js';
import { ValidationError } from '../domain/errors.js';
import { planRunSelection, type Plan, type PlanRunType } from '../domain/plan.js';
import { parsePgTarget } from '../sources/postgres/pg-target.js';
import { parseRedisTarget } from '../sources/redis/redis-target.js';
import { configSource, filesSource, postgresSource, redisSource, type BackupSource } from './backup-sources.js';

/** What one run of a plan backs up. */
export interface PlanRun {
  sources: BackupSource[];
  backupType: BackupType;
  /** The backup id's prefix: the run type (`database_only_20241224_120000`). */
  label: string;
  compression?: Compression;
}

/**
 * The sources a plan backs up for a run type, in recovery order (configuration, database, cache,
 * files). Servers are parsed here, so a bad URL in a plan fails before anything runs.
 */
export function planRun(plan: Plan, type: PlanRunType, env: NodeJS.ProcessEnv = process.env): PlanRun {
  const selection = planRunSelection(type);
  const sources: BackupSource[] = [];
  for (const kind of selection.sources) {
    if (kind === 'config' && plan.config) sources.push(configSource(plan.config.files ?? [], plan.config.environment ?? []));
    if (kind === 'postgres' && plan.postgres) {
      const pgEnv = withSecret(env, 'PGPASSWORD', plan.postgres.password_env, `plans.${plan.name}.postgres.password_env`);
      sources.push(postgresSource(parsePgTarget(plan.postgres.url, `plans.${plan.name}.postgres.url`), { ...plan.postgres, env: pgEnv }));
    }
    if (kind === 'redis' && plan.redis) {
      const redisEnv = withSecret(env, 'REDISCLI_AUTH', plan.redis.password_env, `plans.${plan.name}.redis.password_env`);
      sources.push(redisSource(parseRedisTarget(plan.redis.url, {}, `plans.${plan.name}.redis.url`), { env: redisEnv }));
    }
    if (kind === 'files' && plan.files) sources.push(filesSource(plan.files.paths, plan.files.exclude ?? []));
  }
  if (sources.length === 0) throw new ValidationError(`plan ${plan.name} has no source that a ${type} run backs up`, 'type');
  return { sources, backupType: selection.backupType, label: type, ...(plan.compression ? { compression: plan.compression } : {}) };
}

/**
 * The environment a source runs with when its plan names the variable that holds the password: that
 * value under the name the client reads (PGPASSWORD, REDISCLI_AUTH), so several servers can each have
 * their own password in one environment.
 */
function withSecret(env: NodeJS.ProcessEnv, clientVariable: string, reference: string | undefined, field: string): NodeJS.ProcessEnv {
  if (reference === undefined) return env;
  const value = env[reference];
  if (value === undefined || value === '') throw new ValidationError(`${field}: the environment variable ${reference} is not set`, field);
  return { ...env, [clientVariable]: value };
}
