import { createHash } from 'node:crypto';
import { ValidationError } from '../domain/errors.js';
import { parsePlanRunType, type PlanRunType } from '../domain/plan.js';
import { validateRetentionPolicy, type RetentionPolicy } from '../domain/retention.js';
import { SOURCE_KINDS, type SourceKind } from '../domain/snapshot.js';
import { VERIFY_LEVELS, type VerifyLevel } from '../app/verify-repository.js';
import type { RunKind } from '../ports/catalog.js';
import { parseRdsRestore, type RdsRestorePlan } from './rds-restore-job.js';
import type { WorkflowName } from './substitutions.js';

/**
 * What each workflow does, as its *prepare* step resolves it from the execution input (the request of
 * the scheduler or the API) into a job that every later state reads from `$.job`: the Fargate worker
 * receives it as JSON in `CHRONO_WORKER_JOB`. A job holds names, ids and locations, never secrets.
 *
 * The run id is the execution name. Callers make it deterministic — the scheduler and the API start
 * `plan-<plan>-<occurrence as yyyymmddThhmmssZ>` — so a double fire of the same occurrence is refused by
 * Step Functions (an execution name is unique per state machine for 90 days) instead of backing up twice.
 */
export type WorkflowJob = BackupJob | RestoreJob | RdsRestoreJob | VerifyJob | RetentionJob | ReplicateJob;

interface JobBase {
  runId: string;
  /** What the workflow lease excludes (see workflow-lease.ts). */
  scope: string;
}

export interface BackupJob extends JobBase {
  workflow: 'backup';
  plan: string;
  type: PlanRunType;
  /** Replica locations (URLs or `@backend`) copied to after the backup is verified; may be empty. */
  replicas: string[];
  /** `replicas` is not empty: the state machine's Choice reads this flag. */
  replicate: boolean;
}

export interface RestoreJob extends JobBase {
  workflow: 'restore';
  snapshotId: string;
  target?: string;
  force: boolean;
  only?: SourceKind[];
  include?: string[];
}

/**
 * A point-in-time restore of an Amazon RDS instance or Aurora cluster by the service itself, into a new
 * instance or cluster: the restore state machine calls RDS through its AWS SDK integration instead of
 * running the worker. `rds` carries the API parameters as Step Functions spells them (the AWS SDK for
 * Java's names: `DbInstanceIdentifier`, not `DBInstanceIdentifier`) — see rds-restore-job.ts.
 */
export interface RdsRestoreJob extends JobBase {
  workflow: 'restore';
  rds: RdsRestorePlan;
}

export interface VerifyJob extends JobBase {
  workflow: 'verify';
  level: VerifyLevel;
  /** null: every snapshot (explicit, so the state machine's paths always resolve). */
  snapshotId: string | null;
  /** `full` reads every pack: that runs on the worker, the lighter levels in a Lambda. */
  onWorker: boolean;
}

export interface RetentionJob extends JobBase {
  workflow: 'retention';
  policy: RetentionPolicy;
  holds: string[];
}

export interface ReplicateJob extends JobBase {
  workflow: 'replicate';
  destinations: string[];
  /** Empty: every snapshot. */
  snapshots: string[];
}

/** The kind of the run record each workflow leaves in the catalog. */
export const WORKFLOW_RUN_KINDS: Readonly<Record<WorkflowName, RunKind>> = {
  backup: 'backup',
  restore: 'restore',
  verify: 'verify',
  retention: 'prune',
  replicate: 'replicate',
};

/** Run ids are object key segments (the lease key) and catalog ids. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

/**
 * The execution name (and run id) of a backup of `plan` for the schedule occurrence at `occurrence`:
 * `plan-<plan>-<yyyymmddThhmmssZ>`. The same occurrence always gives the same name, so a second start of
 * it (a retried EventBridge delivery, a double click) is refused by Step Functions instead of running
 * twice. Names over the 80 characters Step Functions allows keep a prefix of the plan and a digest of it.
 */
export function scheduledExecutionName(plan: string, occurrence: Date): string {
  const stamp = occurrence.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  const name = `plan-${plan}-${stamp}`;
  if (name.length <= 80) return name;
  const digest = createHash('sha256').update(plan).digest('hex').slice(0, 12);
  return `plan-${plan.slice(0, 80 - 'plan-'.length - digest.length - stamp.length - 2)}-${digest}-${stamp}`;
}

export function parseRunId(value: unknown): string {
  if (typeof value !== 'string' || !RUN_ID.test(value)) throw new ValidationError('runId (the execution name) must be 1-80 letters, digits, ".", "_" or "-"', 'runId');
  return value;
}

export function parseWorkflowName(value: unknown): WorkflowName {
  const names: readonly string[] = Object.keys(WORKFLOW_RUN_KINDS);
  if (typeof value === 'string' && names.includes(value)) return value as WorkflowName;
  throw new ValidationError(`workflow must be one of ${names.join(', ')}`, 'workflow');
}

/** Checks an execution input and resolves it into the job of `workflow`. Every message names the field. */
export function parseJob(workflow: WorkflowName, runId: string, raw: unknown): WorkflowJob {
  const request = record(raw, 'input');
  switch (workflow) {
    case 'backup': {
      const plan = text(request.plan, 'plan');
      const replicas = strings(request.replicas, 'replicas') ?? [];
      const type = request.type === undefined ? 'full' : parsePlanRunType(text(request.type, 'type'));
      return { workflow, runId, scope: `backup:${plan}`, plan, type, replicas, replicate: replicas.length > 0 };
    }
    case 'restore': {
      if (request.rds !== undefined) {
        const rds = parseRdsRestore(request.rds, runId);
        return { workflow, runId, scope: `restore:rds:${rds.target}`, rds };
      }
      const snapshotId = text(request.snapshotId, 'snapshotId');
      const target = request.target === undefined ? undefined : text(request.target, 'target');
      const only = strings(request.only, 'only');
      for (const kind of only ?? []) if (!(SOURCE_KINDS as readonly string[]).includes(kind)) throw new ValidationError(`only: unknown source ${JSON.stringify(kind)}`, 'only');
      const include = strings(request.include, 'include');
      return {
        workflow, runId, scope: `restore:${target ?? snapshotId}`, snapshotId, force: request.force === true,
        ...(target !== undefined ? { target } : {}), ...(only ? { only: only as SourceKind[] } : {}), ...(include ? { include } : {}),
      };
    }
    case 'verify': {
      const level = request.level === undefined ? 'read' : text(request.level, 'level');
      if (!(VERIFY_LEVELS as readonly string[]).includes(level)) throw new ValidationError(`level must be one of ${VERIFY_LEVELS.join(', ')}`, 'level');
      const snapshotId = request.snapshotId === undefined || request.snapshotId === null ? null : text(request.snapshotId, 'snapshotId');
      return { workflow, runId, scope: 'verify', level: level as VerifyLevel, onWorker: level === 'full', snapshotId };
    }
    case 'retention':
      return { workflow, runId, scope: 'retention', policy: validateRetentionPolicy(request.policy, 'policy'), holds: strings(request.holds, 'holds') ?? [] };
    case 'replicate': {
      const destinations = strings(request.destinations, 'destinations') ?? [];
      if (destinations.length === 0) throw new ValidationError('destinations must name at least one replica location', 'destinations');
      return { workflow, runId, scope: 'replicate', destinations, snapshots: strings(request.snapshots, 'snapshots') ?? [] };
    }
  }
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(`${field} must be an object`, field);
  return value as Record<string, unknown>;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(`${field} must be a non-empty string`, field);
  return value;
}

function strings(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) throw new ValidationError(`${field} must be a list of non-empty strings`, field);
  return value as string[];
}
