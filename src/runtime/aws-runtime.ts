import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { hostname } from 'node:os';
import type { AppDeps } from '../app/deps.js';
import { DynamoDbCatalog, dynamoDbClient } from '../catalog/dynamodb-catalog.js';
import { DynamoDbRecoveryWindowStore } from '../catalog/dynamodb-recovery-window-store.js';
import { ValidationError } from '../domain/errors.js';
import { KmsKeyProvider } from '../keys/kms-key-provider.js';
import { systemClock } from '../ports/clock.js';
import { silentProgress } from '../ports/progress.js';
import { S3_STORAGE_CLASSES, type S3StorageClass } from '../storage/remote-storage-support.js';
import { RetryingObjectStorage } from '../storage/retrying-object-storage.js';
import { S3ObjectStorage } from '../storage/s3-object-storage.js';
import { jsonLogger } from '../util/json-logger.js';
import { DEFAULT_LEASE_TTL_MS, type WorkflowRuntime } from '../workflows/workflow-runtime.js';
import { LOG_LEVELS, type LogLevel } from './local-settings.js';
import { openLocation } from './open-location.js';

/**
 * A storage call still running after this long is abandoned and retried: the local runtime's
 * STORAGE_ATTEMPT_TIMEOUT_MS (a 16 MiB pack over 0.5 Mbit/s), repeated here so that the Lambda bundles
 * do not pull in the local runtime and with it the SQLite catalog's native module.
 */
const STORAGE_ATTEMPT_TIMEOUT_MS = 5 * 60_000;

/**
 * The composition root of the AWS deployment, for the Lambda steps and the Fargate worker: the
 * repository in S3, the DynamoDB catalog, the KMS key provider, all named by environment variables that
 * the CDK stack sets (infra/stacks):
 * - `CHRONO_REPOSITORY_BUCKET` (required), `CHRONO_REPOSITORY_PREFIX`, `CHRONO_PACK_STORAGE_CLASS`;
 * - `CHRONO_CATALOG_TABLE` (required);
 * - `CHRONO_KMS_KEY_ID` (required): key id, ARN or alias;
 * - `AWS_REGION` (set by Lambda and ECS), `BACKUP_LOG_LEVEL`, `CHRONO_WORKFLOW_LEASE_SECONDS`.
 * Credentials come from the function's or task's role through the SDK's default chain, never from here.
 *
 * The clients are built once per process and shared by every invocation a warm Lambda serves, so `close`
 * of a step leaves them open. `clients` replaces the SDK clients the runtime would build (emulators in
 * tests; a deployment passes none).
 */
export function awsWorkflowRuntime(env: NodeJS.ProcessEnv = process.env, clients: AwsClients = {}): WorkflowRuntime {
  const settings = awsSettings(env);
  let deps: AppDeps | undefined;
  const build = (): AppDeps => {
    const region = env.AWS_REGION;
    const logger = jsonLogger(settings.logLevel);
    const s3 = new S3ObjectStorage({
      bucket: settings.bucket,
      ...(settings.prefix ? { prefix: settings.prefix } : {}),
      ...(region ? { region } : {}),
      ...(settings.storageClass ? { storageClass: settings.storageClass } : {}),
      ...(clients.s3 ? { client: clients.s3 } : {}),
    });
    // One client for the catalog and the store beside it on its table.
    const dynamodb = clients.dynamodb ?? dynamoDbClient(region ? { region } : {});
    return {
      // As the local runtime: retries of transient failures with a per-attempt timeout on top of the SDK's own.
      storage: new RetryingObjectStorage(s3, { attemptTimeoutMs: STORAGE_ATTEMPT_TIMEOUT_MS, onRetry: (retry) => logger.warn('storage call failed, retrying', { ...retry }) }),
      keys: new KmsKeyProvider({ keyId: settings.kmsKeyId, ...(region ? { region } : {}), ...(clients.kms ? { client: clients.kms } : {}) }),
      catalog: new DynamoDbCatalog({ tableName: settings.table, client: dynamodb }),
      recoveryWindowStore: new DynamoDbRecoveryWindowStore({ tableName: settings.table, client: dynamodb }),
      clock: systemClock,
      progress: silentProgress,
      hostname: hostname(),
      logger,
    };
  };
  return {
    env,
    leaseTtlMs: settings.leaseTtlMs,
    open() {
      deps ??= build();
      return Promise.resolve({ deps, close: () => Promise.resolve() });
    },
    async openReplica(location, catalog) {
      const logger = jsonLogger(settings.logLevel);
      const storage = await openLocation(location, { catalog, env, retry: { attemptTimeoutMs: STORAGE_ATTEMPT_TIMEOUT_MS, onRetry: (retry) => logger.warn('replica storage call failed, retrying', { ...retry }) } });
      return { storage, close: () => storage.close() };
    },
  };
}

export interface AwsClients {
  s3?: S3Client;
  dynamodb?: DynamoDBClient;
  kms?: KMSClient;
}

interface AwsSettings {
  bucket: string;
  prefix?: string;
  storageClass?: S3StorageClass;
  table: string;
  kmsKeyId: string;
  logLevel: LogLevel;
  leaseTtlMs: number;
}

/** Reads and checks the variables; a missing or bad one is a ValidationError naming it. */
export function awsSettings(env: NodeJS.ProcessEnv): AwsSettings {
  const storageClass = optional(env, 'CHRONO_PACK_STORAGE_CLASS');
  if (storageClass !== undefined && !(S3_STORAGE_CLASSES as readonly string[]).includes(storageClass)) {
    throw new ValidationError(`CHRONO_PACK_STORAGE_CLASS must be one of ${S3_STORAGE_CLASSES.join(', ')}`, 'CHRONO_PACK_STORAGE_CLASS');
  }
  const level = (optional(env, 'BACKUP_LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new ValidationError(`BACKUP_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`, 'BACKUP_LOG_LEVEL');
  const leaseSeconds = optional(env, 'CHRONO_WORKFLOW_LEASE_SECONDS');
  if (leaseSeconds !== undefined && !/^[1-9]\d{0,6}$/.test(leaseSeconds)) throw new ValidationError('CHRONO_WORKFLOW_LEASE_SECONDS must be a whole number of seconds', 'CHRONO_WORKFLOW_LEASE_SECONDS');
  const prefix = optional(env, 'CHRONO_REPOSITORY_PREFIX');
  return {
    bucket: required(env, 'CHRONO_REPOSITORY_BUCKET'),
    ...(prefix !== undefined ? { prefix } : {}),
    ...(storageClass !== undefined ? { storageClass: storageClass as S3StorageClass } : {}),
    table: required(env, 'CHRONO_CATALOG_TABLE'),
    kmsKeyId: required(env, 'CHRONO_KMS_KEY_ID'),
    logLevel: level as LogLevel,
    leaseTtlMs: leaseSeconds === undefined ? DEFAULT_LEASE_TTL_MS : Number(leaseSeconds) * 1000,
  };
}

function optional(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = optional(env, name);
  if (value === undefined) throw new ValidationError(`${name} must be set`, name);
  return value;
}
