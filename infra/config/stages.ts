import { ValidationError } from '../../src/domain/errors.js';

/*
 * Per-stage settings of the CDK app. A stage is chosen with `-c stage=dev|staging|prod`; a few settings
 * can be overridden from the command line (`-c vpcId=…`, see CONTEXT_OVERRIDES) so an operator points a
 * stage at an existing VPC and database without editing this file. Everything is validated before any
 * construct is built, and each error names the setting (`stages.prod.worker.memoryMiB`).
 */

export const STAGE_NAMES = ['dev', 'staging', 'prod'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** Where the worker runs: a VPC created by the stack, or an existing one imported by ids (no lookup: synth stays offline). */
export type NetworkConfig =
  | { readonly kind: 'create'; readonly maxAzs: number; readonly natGateways: number }
  | { readonly kind: 'import'; readonly vpcId: string; readonly availabilityZones: readonly string[]; readonly privateSubnetIds: readonly string[] };

export interface StageConfig {
  readonly stage: StageName;
  /** `retain` keeps the bucket, table and key when the stack is deleted; `destroy` removes them (dev only). */
  readonly removalPolicy: 'retain' | 'destroy';
  /** Retention of every log group, in days (one of CloudWatch's allowed values). */
  readonly logRetentionDays: number;
  /** How long overwritten or deleted repository objects stay as noncurrent versions. */
  readonly noncurrentVersionDays: number;
  /** Repositories under this key prefix are archives: their objects move to Glacier Instant Retrieval. */
  readonly archive: { readonly prefix: string; readonly transitionDays: number };
  /** Object Lock default retention for new objects (the bucket is created with Object Lock when set). */
  readonly objectLock?: { readonly mode: 'governance' | 'compliance'; readonly days: number };
  /** Fargate size of the worker task. */
  readonly worker: { readonly cpu: number; readonly memoryMiB: number; readonly ephemeralStorageGiB: number };
  readonly alarms: {
    /** Failed backups per day that raise the failure alarm (≥ 1). */
    readonly maxFailuresPerDay: number;
    /** Share of successful backups per day below which the success-rate alarm fires. */
    readonly minSuccessRatePercent: number;
    /** No successful backup for this many hours (1–24) raises the overdue alarm. */
    readonly overdueHours: number;
  };
  readonly network: NetworkConfig;
  /** Source CIDRs allowed to call the API (resource policy); empty: any address (Cognito still required). */
  readonly allowedSourceCidrs: readonly string[];
  readonly alerts: {
    /** Subscribed to the alarm topic (confirmation mail at deploy). */
    readonly email?: string;
    /** SES identity (address or domain) that sends alert mail; created by the stack. */
    readonly sesSender?: string;
  };
  /** The database the worker backs up: its password secret and the security group that guards it. */
  readonly database?: { readonly secretArn: string; readonly securityGroupId?: string; readonly port: number };
  /**
   * Managed databases the restore workflow may have RDS restore to a point in time: the source RDS
   * instances and Aurora clusters, and the prefix every new instance or cluster must carry — the state
   * machine's role may create nothing else. Absent: no RDS permission at all.
   */
  readonly managedRestore?: { readonly instances: readonly string[]; readonly clusters: readonly string[]; readonly targetPrefix: string };
}

const BASE = {
  archive: { prefix: 'archive/', transitionDays: 30 },
  allowedSourceCidrs: [],
  alerts: {},
} as const;

/** The settings of each stage as shipped. */
export const STAGES: Readonly<Record<StageName, StageConfig>> = {
  dev: {
    ...BASE,
    stage: 'dev',
    removalPolicy: 'destroy',
    logRetentionDays: 7,
    noncurrentVersionDays: 1,
    worker: { cpu: 1024, memoryMiB: 2048, ephemeralStorageGiB: 21 },
    alarms: { maxFailuresPerDay: 3, minSuccessRatePercent: 50, overdueHours: 24 },
    network: { kind: 'create', maxAzs: 2, natGateways: 1 },
  },
  staging: {
    ...BASE,
    stage: 'staging',
    removalPolicy: 'retain',
    logRetentionDays: 30,
    noncurrentVersionDays: 7,
    worker: { cpu: 2048, memoryMiB: 4096, ephemeralStorageGiB: 21 },
    alarms: { maxFailuresPerDay: 1, minSuccessRatePercent: 90, overdueHours: 24 },
    network: { kind: 'create', maxAzs: 2, natGateways: 1 },
  },
  prod: {
    ...BASE,
    stage: 'prod',
    removalPolicy: 'retain',
    logRetentionDays: 365,
    noncurrentVersionDays: 30,
    objectLock: { mode: 'governance', days: 30 },
    worker: { cpu: 2048, memoryMiB: 4096, ephemeralStorageGiB: 30 },
    alarms: { maxFailuresPerDay: 1, minSuccessRatePercent: 95, overdueHours: 24 },
    network: { kind: 'create', maxAzs: 2, natGateways: 2 },
  },
};

/** Context keys (`-c key=value`) that override a stage's settings. */
export const CONTEXT_OVERRIDES = {
  vpcId: 'import this VPC instead of creating one (with privateSubnetIds and availabilityZones)',
  privateSubnetIds: 'comma-separated private subnet ids of the imported VPC',
  availabilityZones: 'comma-separated availability zones of those subnets, in the same order',
  allowedSourceCidrs: 'comma-separated CIDRs allowed to call the API',
  alertEmail: 'address subscribed to the alarm topic',
  sesSender: 'SES identity that sends alert mail',
  databaseSecretArn: 'Secrets Manager secret whose `password` field becomes PGPASSWORD in the worker',
  databaseSecurityGroupId: 'security group of the database: the worker is allowed in on databasePort',
  databasePort: 'database port (default 5432)',
  rdsInstances: 'comma-separated RDS instance identifiers the restore workflow may restore to a point in time',
  rdsClusters: 'comma-separated Aurora cluster identifiers the restore workflow may restore to a point in time',
  rdsTargetPrefix: 'prefix of the instances and clusters such restores create (default chrono-restore-)',
} as const;

/** Default prefix of what a managed point-in-time restore creates. */
export const DEFAULT_RDS_TARGET_PREFIX = 'chrono-restore-';

export type ContextOverrides = Partial<Record<keyof typeof CONTEXT_OVERRIDES, string>>;

/** CloudWatch Logs' allowed retention periods in days. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** Fargate's CPU units and the memory sizes (MiB) each allows. */
const FARGATE_MEMORY: Readonly<Record<number, { min: number; max: number; step: number }>> = {
  256: { min: 512, max: 2048, step: 512 },
  512: { min: 1024, max: 4096, step: 1024 },
  1024: { min: 2048, max: 8192, step: 1024 },
  2048: { min: 4096, max: 16384, step: 1024 },
  4096: { min: 8192, max: 30720, step: 1024 },
  8192: { min: 16384, max: 61440, step: 4096 },
  16384: { min: 32768, max: 122880, step: 8192 },
};

/**
 * The validated settings of a stage: the shipped ones with the context overrides applied. Throws a
 * ValidationError naming the bad setting (and the context key, for an override).
 */
export function resolveStageConfig(stage: unknown, overrides: ContextOverrides = {}, stages: Readonly<Record<string, StageConfig>> = STAGES): StageConfig {
  if (typeof stage !== 'string' || !(STAGE_NAMES as readonly string[]).includes(stage)) {
    throw new ValidationError(`stage: context value "stage" must be one of ${STAGE_NAMES.join(', ')} (npx cdk synth -c stage=dev); got ${JSON.stringify(stage ?? null)}`, 'stage');
  }
  const base = stages[stage];
  if (!base) throw new ValidationError(`stage: no settings for stage ${stage}`, 'stage');
  const config = applyOverrides(base, overrides);
  validateStageConfig(config);
  return config;
}

function applyOverrides(base: StageConfig, overrides: ContextOverrides): StageConfig {
  let config: StageConfig = base;
  const list = (value: string | undefined): string[] => (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);
  if (overrides.vpcId !== undefined) {
    config = { ...config, network: { kind: 'import', vpcId: overrides.vpcId, privateSubnetIds: list(overrides.privateSubnetIds), availabilityZones: list(overrides.availabilityZones) } };
  } else if (overrides.privateSubnetIds !== undefined || overrides.availabilityZones !== undefined) {
    throw new ValidationError('context privateSubnetIds/availabilityZones: only valid together with -c vpcId=…', 'vpcId');
  }
  if (overrides.allowedSourceCidrs !== undefined) config = { ...config, allowedSourceCidrs: list(overrides.allowedSourceCidrs) };
  if (overrides.alertEmail !== undefined) config = { ...config, alerts: { ...config.alerts, email: overrides.alertEmail } };
  if (overrides.sesSender !== undefined) config = { ...config, alerts: { ...config.alerts, sesSender: overrides.sesSender } };
  if (overrides.databaseSecretArn !== undefined) {
    const port = overrides.databasePort === undefined ? 5432 : Number(overrides.databasePort);
    config = { ...config, database: { secretArn: overrides.databaseSecretArn, port, ...(overrides.databaseSecurityGroupId ? { securityGroupId: overrides.databaseSecurityGroupId } : {}) } };
  } else if (overrides.databaseSecurityGroupId !== undefined || overrides.databasePort !== undefined) {
    throw new ValidationError('context databaseSecurityGroupId/databasePort: only valid together with -c databaseSecretArn=…', 'databaseSecretArn');
  }
  if (overrides.rdsInstances !== undefined || overrides.rdsClusters !== undefined) {
    config = { ...config, managedRestore: { instances: list(overrides.rdsInstances), clusters: list(overrides.rdsClusters), targetPrefix: overrides.rdsTargetPrefix ?? DEFAULT_RDS_TARGET_PREFIX } };
  } else if (overrides.rdsTargetPrefix !== undefined) {
    throw new ValidationError('context rdsTargetPrefix: only valid together with -c rdsInstances=… or -c rdsClusters=…', 'rdsInstances');
  }
  return config;
}

/** Checks every setting of a stage; the error names it as `stages.<stage>.<path>`. */
export function validateStageConfig(config: StageConfig): void {
  const at = (path: string): string => `stages.${config.stage}.${path}`;
  const fail = (path: string, problem: string): never => {
    throw new ValidationError(`${at(path)}: ${problem}`, at(path));
  };
  const integer = (path: string, value: number, min: number, max: number): void => {
    if (!Number.isInteger(value) || value < min || value > max) fail(path, `must be an integer from ${min} to ${max}, got ${value}`);
  };

  if (config.removalPolicy !== 'retain' && config.removalPolicy !== 'destroy') fail('removalPolicy', `must be retain or destroy, got ${String(config.removalPolicy)}`);
  if (config.stage === 'prod' && config.removalPolicy !== 'retain') fail('removalPolicy', 'prod must retain its data (retain)');
  if (!LOG_RETENTION_DAYS.includes(config.logRetentionDays)) fail('logRetentionDays', `must be one of ${LOG_RETENTION_DAYS.join(', ')}, got ${config.logRetentionDays}`);
  integer('noncurrentVersionDays', config.noncurrentVersionDays, 1, 3650);
  if (!/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*\/$/.test(config.archive.prefix)) fail('archive.prefix', `must be an S3 key prefix ending in "/", got ${JSON.stringify(config.archive.prefix)}`);
  // Glacier IR bills at least 90 days per object; a transition soon after writing keeps fresh packs warm for the first verify.
  integer('archive.transitionDays', config.archive.transitionDays, 1, 3650);
  if (config.objectLock) {
    if (config.objectLock.mode !== 'governance' && config.objectLock.mode !== 'compliance') fail('objectLock.mode', `must be governance or compliance, got ${String(config.objectLock.mode)}`);
    integer('objectLock.days', config.objectLock.days, 1, 36500);
  }

  const { cpu, memoryMiB, ephemeralStorageGiB } = config.worker;
  const memory = FARGATE_MEMORY[cpu];
  if (!memory) fail('worker.cpu', `must be one of Fargate's CPU sizes ${Object.keys(FARGATE_MEMORY).join(', ')}, got ${cpu}`);
  else if (!Number.isInteger(memoryMiB) || memoryMiB < memory.min || memoryMiB > memory.max || memoryMiB % memory.step !== 0) {
    fail('worker.memoryMiB', `with cpu ${cpu}, must be ${memory.min}–${memory.max} MiB in steps of ${memory.step}, got ${memoryMiB}`);
  }
  integer('worker.ephemeralStorageGiB', ephemeralStorageGiB, 21, 200);

  integer('alarms.maxFailuresPerDay', config.alarms.maxFailuresPerDay, 1, 1000);
  if (!(config.alarms.minSuccessRatePercent > 0 && config.alarms.minSuccessRatePercent <= 100)) fail('alarms.minSuccessRatePercent', `must be above 0 and at most 100, got ${config.alarms.minSuccessRatePercent}`);
  // A CloudWatch alarm evaluates at most one day of data.
  integer('alarms.overdueHours', config.alarms.overdueHours, 1, 24);

  const network = config.network;
  if (network.kind === 'create') {
    integer('network.maxAzs', network.maxAzs, 2, 6);
    integer('network.natGateways', network.natGateways, 1, network.maxAzs);
  } else if (network.kind === 'import') {
    if (!/^vpc-[0-9a-f]{8,17}$/.test(network.vpcId)) fail('network.vpcId', `must be a VPC id (vpc-…), got ${JSON.stringify(network.vpcId)}`);
    if (network.privateSubnetIds.length === 0) fail('network.privateSubnetIds', 'an imported VPC needs its private subnet ids (-c privateSubnetIds=subnet-a,subnet-b)');
    network.privateSubnetIds.forEach((id, index) => {
      if (!/^subnet-[0-9a-f]{8,17}$/.test(id)) fail(`network.privateSubnetIds[${index}]`, `must be a subnet id (subnet-…), got ${JSON.stringify(id)}`);
    });
    if (network.availabilityZones.length !== network.privateSubnetIds.length) {
      fail('network.availabilityZones', `needs one zone per private subnet (${network.privateSubnetIds.length}), got ${network.availabilityZones.length}`);
    }
  } else {
    fail('network.kind', 'must be create or import');
  }

  config.allowedSourceCidrs.forEach((cidr, index) => {
    if (!isCidr(cidr)) fail(`allowedSourceCidrs[${index}]`, `must be an IPv4 or IPv6 CIDR (203.0.113.0/24), got ${JSON.stringify(cidr)}`);
  });
  if (config.alerts.email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(config.alerts.email)) fail('alerts.email', 'must be an e-mail address');
  if (config.alerts.sesSender !== undefined && !/^([^@\s]+@)?[^@\s]+\.[^@\s]+$/.test(config.alerts.sesSender)) fail('alerts.sesSender', 'must be an e-mail address or a domain');
  if (config.database) {
    if (!/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(config.database.secretArn)) fail('database.secretArn', 'must be a Secrets Manager secret ARN');
    if (config.database.securityGroupId !== undefined && !/^sg-[0-9a-f]{8,17}$/.test(config.database.securityGroupId)) fail('database.securityGroupId', 'must be a security group id (sg-…)');
    integer('database.port', config.database.port, 1, 65535);
  }
  if (config.managedRestore) {
    const { instances, clusters, targetPrefix } = config.managedRestore;
    if (instances.length + clusters.length === 0) fail('managedRestore', 'names no RDS instance or Aurora cluster');
    const identifier = /^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}$/;
    instances.forEach((id, index) => {
      if (!identifier.test(id) || id.endsWith('-')) fail(`managedRestore.instances[${index}]`, `must be an RDS instance identifier, got ${JSON.stringify(id)}`);
    });
    clusters.forEach((id, index) => {
      if (!identifier.test(id) || id.endsWith('-')) fail(`managedRestore.clusters[${index}]`, `must be an Aurora cluster identifier, got ${JSON.stringify(id)}`);
    });
    // Short enough to leave room for a name; a prefix is what scopes the role's create permissions.
    if (!/^[A-Za-z][A-Za-z0-9-]{2,39}$/.test(targetPrefix) || targetPrefix.includes('--')) fail('managedRestore.targetPrefix', `must be 3-40 letters, digits or hyphens starting with a letter, got ${JSON.stringify(targetPrefix)}`);
    const sources = [...instances, ...clusters].find((id) => id.toLowerCase().startsWith(targetPrefix.toLowerCase()));
    if (sources !== undefined) fail('managedRestore.targetPrefix', `must not match a source (${sources}): the workflow may only create under it`);
  }
}

function isCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split('/');
  if (rest.length > 0 || address === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const prefix = Number(bits);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) return prefix <= 32 && address.split('.').every((octet) => Number(octet) <= 255);
  return /^[0-9a-fA-F:]+$/.test(address) && address.includes(':') && prefix <= 128;
}
