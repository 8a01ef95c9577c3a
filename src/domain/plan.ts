import { COMPRESSIONS, type BackupType, type Compression } from './backup-types.js';
import { ValidationError } from './errors.js';

/**
 * A backup plan: the sources of one application stack backed up together as a group of snapshots
 * sharing a backup id, and where each is restored to in a full system recovery. Plans name servers by
 * URL and never hold passwords: those come from the usual environment variables at run time.
 */
export interface Plan {
  name: string;
  /** Repository location (folder, URL or `@backend`); absent: the command's --repo / default. */
  repository?: string;
  compression?: Compression;
  /** `password_env` names the environment variable holding the password (a secret reference). */
  postgres?: { url: string; fingerprint?: 'checksums' | 'counts' | 'objects' | 'none'; globals?: boolean; password_env?: string };
  redis?: { url: string; password_env?: string };
  files?: { paths: string[]; exclude?: string[] };
  config?: { files?: string[]; environment?: string[] };
  /** Restore targets for `restore BACKUP_ID --plan NAME`, and scratch servers for restore tests. */
  /** `files` is a directory: each file-like snapshot (files, config) goes into a folder named after its source. */
  restore?: { postgres?: string; redis?: string; files?: string };
  verify?: { postgres?: string; redis?: string };
}

/** The run types a plan accepts: the three backup types (all sources) and one per source. */
export const PLAN_RUN_TYPES = ['full', 'incremental', 'differential', 'database_only', 'redis_only', 'files_only', 'config_only'] as const;
export type PlanRunType = (typeof PLAN_RUN_TYPES)[number];
export type PlanSourceKind = 'postgres' | 'redis' | 'files' | 'config';

/** Which sources a run type takes, and how file sources decide what to read. */
export function planRunSelection(type: PlanRunType): { sources: readonly PlanSourceKind[]; backupType: BackupType } {
  switch (type) {
    case 'database_only':
      return { sources: ['postgres'], backupType: 'full' };
    case 'redis_only':
      return { sources: ['redis'], backupType: 'full' };
    case 'files_only':
      return { sources: ['files'], backupType: 'full' };
    case 'config_only':
      return { sources: ['config'], backupType: 'full' };
    default:
      return { sources: ['config', 'postgres', 'redis', 'files'], backupType: type };
  }
}

export function parsePlanRunType(value: string, field = 'type'): PlanRunType {
  if ((PLAN_RUN_TYPES as readonly string[]).includes(value)) return value as PlanRunType;
  throw new ValidationError(`${field} must be one of ${PLAN_RUN_TYPES.join(', ')} (got "${value}")`, field);
}

const PLAN_KEYS = ['repository', 'compression', 'postgres', 'redis', 'files', 'config', 'restore', 'verify'];

/**
 * Checks a plan read from a file or the API. Every message names the bad field by its path
 * (`plans.web.postgres.url`), and unknown fields are refused so a typo cannot silently drop a source.
 */
export function validatePlan(name: string, raw: unknown, at = `plans.${name}`): Plan {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) throw new ValidationError(`${at}: a plan name is 1-64 letters, digits, '.', '_' or '-'`, at);
  const value = object(raw, at);
  unknownKeys(value, PLAN_KEYS, at);
  const plan: Plan = { name };
  if (value.repository !== undefined) plan.repository = text(value.repository, `${at}.repository`);
  if (value.compression !== undefined) {
    const compression = text(value.compression, `${at}.compression`);
    if (!(COMPRESSIONS as readonly string[]).includes(compression)) throw new ValidationError(`${at}.compression must be one of ${COMPRESSIONS.join(', ')}`, `${at}.compression`);
    plan.compression = compression as Compression;
  }
  if (value.postgres !== undefined) {
    const pg = object(value.postgres, `${at}.postgres`);
    unknownKeys(pg, ['url', 'fingerprint', 'globals', 'password_env'], `${at}.postgres`);
    plan.postgres = { url: text(pg.url, `${at}.postgres.url`) };
    if (pg.password_env !== undefined) plan.postgres.password_env = variableName(pg.password_env, `${at}.postgres.password_env`);
    if (pg.fingerprint !== undefined) {
      const level = text(pg.fingerprint, `${at}.postgres.fingerprint`);
      if (!['checksums', 'counts', 'objects', 'none'].includes(level)) throw new ValidationError(`${at}.postgres.fingerprint must be checksums, counts, objects or none`, `${at}.postgres.fingerprint`);
      plan.postgres.fingerprint = level as 'checksums' | 'counts' | 'objects' | 'none';
    }
    if (pg.globals !== undefined) plan.postgres.globals = flag(pg.globals, `${at}.postgres.globals`);
  }
  if (value.redis !== undefined) {
    const redis = object(value.redis, `${at}.redis`);
    unknownKeys(redis, ['url', 'password_env'], `${at}.redis`);
    plan.redis = { url: text(redis.url, `${at}.redis.url`) };
    if (redis.password_env !== undefined) plan.redis.password_env = variableName(redis.password_env, `${at}.redis.password_env`);
  }
  if (value.files !== undefined) {
    const files = object(value.files, `${at}.files`);
    unknownKeys(files, ['paths', 'exclude'], `${at}.files`);
    const paths = texts(files.paths, `${at}.files.paths`);
    if (paths.length === 0) throw new ValidationError(`${at}.files.paths must name at least one path`, `${at}.files.paths`);
    plan.files = { paths, ...(files.exclude !== undefined ? { exclude: texts(files.exclude, `${at}.files.exclude`) } : {}) };
  }
  if (value.config !== undefined) {
    const config = object(value.config, `${at}.config`);
    unknownKeys(config, ['files', 'environment'], `${at}.config`);
    plan.config = {
      ...(config.files !== undefined ? { files: texts(config.files, `${at}.config.files`) } : {}),
      ...(config.environment !== undefined ? { environment: texts(config.environment, `${at}.config.environment`) } : {}),
    };
  }
  for (const section of ['restore', 'verify'] as const) {
    if (value[section] === undefined) continue;
    const targets = object(value[section], `${at}.${section}`);
    const allowed = section === 'restore' ? ['postgres', 'redis', 'files'] : ['postgres', 'redis'];
    unknownKeys(targets, allowed, `${at}.${section}`);
    plan[section] = Object.fromEntries(Object.entries(targets).map(([key, target]) => [key, text(target, `${at}.${section}.${key}`)]));
  }
  if (!plan.postgres && !plan.redis && !plan.files && !plan.config) throw new ValidationError(`${at} names no source: give postgres, redis, files or config`, at);
  return plan;
}

/** Parses the `plans:` map of a plan file (already decoded from YAML or JSON). */
export function validatePlanFile(raw: unknown): Plan[] {
  const root = object(raw, 'plan file');
  unknownKeys(root, ['plans'], 'plan file');
  const plans = object(root.plans, 'plans');
  return Object.entries(plans).map(([name, plan]) => validatePlan(name, plan));
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(`${field} must be an object`, field);
  return value as Record<string, unknown>;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(`${field} must be a non-empty string`, field);
  return value.trim();
}

function texts(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw new ValidationError(`${field} must be a list of strings`, field);
  return value.map((item, i) => text(item, `${field}[${i}]`));
}

function variableName(value: unknown, field: string): string {
  const name = text(value, field);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ValidationError(`${field} must be the name of an environment variable (the password itself never goes into a plan)`, field);
  return name;
}

function flag(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(`${field} must be true or false`, field);
  return value;
}

function unknownKeys(value: Record<string, unknown>, allowed: readonly string[], at: string): void {
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) throw new ValidationError(`${at}.${unknown[0]} is not a known field (expected ${allowed.join(', ')})`, `${at}.${unknown[0]}`);
}
