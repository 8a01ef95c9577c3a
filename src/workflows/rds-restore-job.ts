import { ValidationError } from '../domain/errors.js';

/**
 * The request of a managed point-in-time restore (Amazon RDS instance or Aurora cluster) and the plan the
 * restore state machine executes: the parameters of each RDS call, already in the shape Step Functions'
 * AWS SDK integration takes them, so the definition only passes them on (`InputPath`) and no step has to
 * build API calls at run time.
 *
 * Step Functions names parameters as the AWS SDK for Java does (`SourceDbInstanceIdentifier`,
 * `DbInstanceClass`, `MultiAZ`), not as the RDS API reference (`SourceDBInstanceIdentifier`); the local
 * runner translates (aws-sdk-tasks.ts). The restore always goes to a new instance or cluster: RDS
 * cannot restore in place, and replacing a live database is a decision for an operator, after checking.
 */
export interface RdsRestorePlan {
  /** An RDS instance (`restoreDBInstanceToPointInTime`) or an Aurora cluster (`restoreDBClusterToPointInTime` + `createDBInstance`). */
  engine: 'instance' | 'cluster';
  /** The source instance or cluster. */
  source: string;
  /** The new instance or cluster. */
  target: string;
  /** The instance whose status the workflow waits on: the target instance, or the cluster's first instance. */
  instance: string;
  /** The moment restored to (ISO 8601, UTC), or null for the latest restorable time. */
  targetTime: string | null;
  /** Parameters of the restore call. */
  restoreRequest: Record<string, unknown>;
  /** Parameters of `createDBInstance` for a cluster's first instance, without `Engine` (taken from the restored cluster). */
  instanceRequest: Record<string, unknown> | null;
  /** Seconds between two status checks of the new instance. */
  pollSeconds: number;
  /** Status checks before the workflow gives up waiting (the instance is left as it is). */
  maxPolls: number;
}

/** RDS's rule for instance and cluster identifiers. */
const IDENTIFIER = /^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}$/;
const INSTANCE_CLASS = /^db\.[a-z0-9]+(\.[a-z0-9-]+)?$/;
const SECURITY_GROUP = /^sg-[0-9a-f]{8,17}$/;
const DEFAULT_POLL_SECONDS = 60;
const DEFAULT_MAX_POLLS = 240;
/** Suffix of the first instance of a restored Aurora cluster. */
const CLUSTER_INSTANCE_SUFFIX = '-1';
/** Tag put on what the restore creates, naming the run that created it. */
export const RUN_TAG = 'chrono-backup:run';

const FIELDS = ['sourceInstance', 'sourceCluster', 'target', 'targetTime', 'latest', 'instanceClass', 'subnetGroup', 'securityGroupIds', 'multiAz', 'deletionProtection', 'pollSeconds', 'maxPolls'];

/**
 * Checks the `rds` part of a restore request and builds the plan. Exactly one source (`sourceInstance`
 * or `sourceCluster`) and exactly one point (`targetTime` or `latest: true`); a cluster needs
 * `instanceClass` for its first instance. Every error names the field as `rds.<field>`.
 */
export function parseRdsRestore(raw: unknown, runId: string): RdsRestorePlan {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('rds', 'must be an object');
  const request = raw as Record<string, unknown>;
  const unknown = Object.keys(request).find((key) => !FIELDS.includes(key));
  if (unknown !== undefined) throw invalid(`rds.${unknown}`, `is not a field of an RDS restore (fields: ${FIELDS.join(', ')})`);
  if ((request.sourceInstance === undefined) === (request.sourceCluster === undefined)) throw invalid('rds.sourceInstance', 'give exactly one of sourceInstance (an RDS instance) or sourceCluster (an Aurora cluster)');
  const engine = request.sourceInstance !== undefined ? 'instance' : 'cluster';
  const source = identifier(engine === 'instance' ? request.sourceInstance : request.sourceCluster, engine === 'instance' ? 'rds.sourceInstance' : 'rds.sourceCluster');
  const target = identifier(request.target, 'rds.target');
  if (target.toLowerCase() === source.toLowerCase()) throw invalid('rds.target', 'must differ from the source: the restore creates a new instance or cluster');
  const latest = request.latest === undefined ? false : flag(request.latest, 'rds.latest');
  if (latest === (request.targetTime !== undefined)) throw invalid('rds.targetTime', 'give exactly one of targetTime (ISO 8601) or latest: true');
  const targetTime = latest ? null : isoTime(request.targetTime, 'rds.targetTime');
  const instanceClass = request.instanceClass === undefined ? undefined : matching(request.instanceClass, 'rds.instanceClass', INSTANCE_CLASS, 'an instance class such as db.r6g.large');
  const subnetGroup = request.subnetGroup === undefined ? undefined : matching(request.subnetGroup, 'rds.subnetGroup', /^[A-Za-z0-9 ._-]{1,255}$/, 'a DB subnet group name');
  const securityGroupIds = request.securityGroupIds === undefined ? undefined : securityGroups(request.securityGroupIds);
  const multiAz = request.multiAz === undefined ? undefined : flag(request.multiAz, 'rds.multiAz');
  const deletionProtection = request.deletionProtection === undefined ? undefined : flag(request.deletionProtection, 'rds.deletionProtection');
  const pollSeconds = request.pollSeconds === undefined ? DEFAULT_POLL_SECONDS : integer(request.pollSeconds, 'rds.pollSeconds', 0, 3600);
  const maxPolls = request.maxPolls === undefined ? DEFAULT_MAX_POLLS : integer(request.maxPolls, 'rds.maxPolls', 1, 10_000);

  const tags = [{ Key: RUN_TAG, Value: runId }];
  const point = targetTime === null ? { UseLatestRestorableTime: true } : undefined;
  const network = { ...(subnetGroup ? { DbSubnetGroupName: subnetGroup } : {}), ...(securityGroupIds ? { VpcSecurityGroupIds: securityGroupIds } : {}) };
  const protection = deletionProtection === undefined ? {} : { DeletionProtection: deletionProtection };
  const polling = { pollSeconds, maxPolls, targetTime };
  if (engine === 'instance') {
    return {
      engine, source, target, instance: target, ...polling, instanceRequest: null,
      restoreRequest: {
        SourceDbInstanceIdentifier: source, TargetDbInstanceIdentifier: target, ...(point ?? { RestoreTime: targetTime }),
        ...(instanceClass ? { DbInstanceClass: instanceClass } : {}), ...network, ...(multiAz === undefined ? {} : { MultiAZ: multiAz }), ...protection,
        // A restored copy is for inspection or cut-over inside the network, never on the internet by default.
        PubliclyAccessible: false, Tags: tags,
      },
    };
  }
  if (instanceClass === undefined) throw invalid('rds.instanceClass', 'an Aurora cluster is restored without instances: give the class of its first instance (e.g. db.r6g.large or db.serverless)');
  if (multiAz !== undefined) throw invalid('rds.multiAz', 'applies to an RDS instance only; an Aurora cluster spreads its storage across zones by itself');
  const instance = `${target}${CLUSTER_INSTANCE_SUFFIX}`;
  if (!IDENTIFIER.test(instance)) throw invalid('rds.target', `is too long to name the cluster's first instance ${instance} (at most ${63 - CLUSTER_INSTANCE_SUFFIX.length} characters)`);
  return {
    engine, source, target, instance, ...polling,
    restoreRequest: {
      SourceDbClusterIdentifier: source, DbClusterIdentifier: target, ...(point ?? { RestoreToTime: targetTime }), RestoreType: 'full-copy',
      ...network, ...protection, Tags: tags,
    },
    instanceRequest: { DbInstanceIdentifier: instance, DbClusterIdentifier: target, DbInstanceClass: instanceClass, PubliclyAccessible: false, Tags: tags },
  };
}

/**
 * A target time must be in the past: RDS refuses a time after the source's latest restorable time (a
 * few minutes behind now) itself, with its own message; a future time is a mistake worth naming early.
 */
export function checkRdsTargetTime(plan: RdsRestorePlan, now: Date): void {
  if (plan.targetTime !== null && Date.parse(plan.targetTime) > now.getTime()) throw invalid('rds.targetTime', `${plan.targetTime} is in the future`);
}

function invalid(field: string, problem: string): ValidationError {
  return new ValidationError(`${field} ${problem}`, field);
}

function identifier(value: unknown, field: string): string {
  return matching(value, field, IDENTIFIER, '1-63 letters, digits or hyphens, starting with a letter, without "--" or a trailing hyphen', (text) => !text.endsWith('-'));
}

function matching(value: unknown, field: string, pattern: RegExp, what: string, extra: (text: string) => boolean = () => true): string {
  if (typeof value !== 'string' || !pattern.test(value) || !extra(value)) throw invalid(field, `must be ${what}`);
  return value;
}

function flag(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw invalid(field, 'must be true or false');
  return value;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalid(field, `must be a whole number from ${min} to ${max}`);
  return value;
}

function isoTime(value: unknown, field: string): string {
  // A zone is required: a time without one would be read in the server's zone, and RDS takes UTC.
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw invalid(field, 'must be an ISO 8601 time with a zone, e.g. 2026-11-28T14:05:00Z');
  }
  return new Date(value).toISOString();
}

function securityGroups(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 5) throw invalid('rds.securityGroupIds', 'must be a list of 1 to 5 security group ids');
  value.forEach((id, index) => {
    if (typeof id !== 'string' || !SECURITY_GROUP.test(id)) throw invalid(`rds.securityGroupIds[${index}]`, 'must be a security group id (sg-…)');
  });
  return value as string[];
}
