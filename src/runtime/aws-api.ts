import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SFNClient } from '@aws-sdk/client-sfn';

import { createApiApp, type ApiHandler } from '../api/api-app.js';
import { apiRoutes } from '../api/api-routes.js';
import type { ApiServices } from '../api/api-services.js';
import { auditLogSink } from '../api/audit-log-sink.js';
import { scheduleRoutes } from '../api/routes/schedule-routes.js';
import { healthReport } from '../app/health-report.js';
import { CognitoAuthenticator } from '../auth/cognito-authenticator.js';
import { CognitoLoginService } from '../auth/cognito-login.js';
import { DynamoDbCatalog } from '../catalog/dynamodb-catalog.js';
import { KeyAccessError, NotFoundError, ValidationError } from '../domain/errors.js';
import { createBackupMetricsRegistry, METRICS_CONTENT_TYPE } from '../metrics/backup-metrics.js';
import { systemClock } from '../ports/clock.js';
import { EventBridgeScheduleTriggers } from '../schedules/eventbridge-schedule-triggers.js';
import { jsonLogger } from '../util/json-logger.js';
import { StepFunctionsJobService } from '../workflows/step-functions-job-service.js';
import { awsWorkflowRuntime } from './aws-runtime.js';
import { awsStores } from './aws-stores.js';

/** The variables the API Lambda reads (the CDK stack sets them); each missing one is named. */
const REQUIRED = [
  'CHRONO_CATALOG_TABLE',
  'CHRONO_COGNITO_CLIENT_ID',
  'CHRONO_AUDIT_KEY_CIPHERTEXT',
  'CHRONO_BACKUP_STATE_MACHINE_ARN',
  'CHRONO_RESTORE_STATE_MACHINE_ARN',
  'CHRONO_VERIFY_STATE_MACHINE_ARN',
  'CHRONO_RETENTION_STATE_MACHINE_ARN',
  'CHRONO_SCHEDULE_GROUP',
  'CHRONO_SCHEDULER_ROLE_ARN',
] as const;

/**
 * The API's composition root in AWS: the same application as the local server, over the DynamoDB
 * catalog and stores, Cognito for identity, Step Functions for long work, EventBridge Scheduler for
 * schedules and the repository in S3 (src/runtime/aws-runtime.ts). The audit key reaches the function
 * encrypted under the project KMS key (`CHRONO_AUDIT_KEY_CIPHERTEXT`, encryption context
 * `purpose=chrono-backup-audit`) and is decrypted once per cold start.
 */
export async function awsApiHandler(env: NodeJS.ProcessEnv = process.env): Promise<ApiHandler> {
  const missing = REQUIRED.find((name) => !env[name]);
  if (missing) throw new ValidationError(`${missing} must be set for the API function`, missing);
  const region = env.AWS_REGION;
  const settings = { tableName: env.CHRONO_CATALOG_TABLE as string, ...(region ? { region } : {}) };
  const logger = jsonLogger('info');
  const clock = systemClock;
  const catalog = new DynamoDbCatalog(settings);
  const auditKey = await decryptAuditKey(new KMSClient(region ? { region } : {}), env.CHRONO_AUDIT_KEY_CIPHERTEXT as string);
  const stores = awsStores({ ...settings, auditKey, clock, ...(env.CHRONO_AUDIT_ANCHOR_TABLE ? { anchorTableName: env.CHRONO_AUDIT_ANCHOR_TABLE } : {}) });
  const workflows = awsWorkflowRuntime(env);
  const withRepository: ApiServices['withRepository'] = async (storageBackendId, work) => {
    if (storageBackendId !== undefined) throw new NotFoundError('storage backend', String(storageBackendId), { details: { field: 'body.storage_backend_id' } });
    const opened = await workflows.open({ mayCreate: false });
    try {
      return await work(opened.deps);
    } finally {
      await opened.close();
    }
  };
  const metrics = createBackupMetricsRegistry({ catalog });
  const services: ApiServices = {
    clock,
    catalog,
    policies: stores.policies,
    audit: stores.audit,
    login: new CognitoLoginService(new CognitoIdentityProviderClient(region ? { region } : {}), env.CHRONO_COGNITO_CLIENT_ID as string),
    jobs: new StepFunctionsJobService({
      client: new SFNClient(region ? { region } : {}),
      catalog,
      clock,
      stateMachines: { backup: env.CHRONO_BACKUP_STATE_MACHINE_ARN as string, restore: env.CHRONO_RESTORE_STATE_MACHINE_ARN as string, verify: env.CHRONO_VERIFY_STATE_MACHINE_ARN as string },
    }),
    withRepository,
    health: () => withRepository(undefined, (deps) => healthReport(deps, { schedules: stores.schedules })),
    metrics: async () => ({ contentType: METRICS_CONTENT_TYPE, body: await metrics.metrics() }),
  };
  const triggers = new EventBridgeScheduleTriggers({
    client: new SchedulerClient(region ? { region } : {}),
    groupName: env.CHRONO_SCHEDULE_GROUP as string,
    backupStateMachineArn: env.CHRONO_BACKUP_STATE_MACHINE_ARN as string,
    retentionStateMachineArn: env.CHRONO_RETENTION_STATE_MACHINE_ARN as string,
    roleArn: env.CHRONO_SCHEDULER_ROLE_ARN as string,
  });
  return createApiApp({ routes: apiRoutes(services, [scheduleRoutes(stores.schedules, triggers)]), authenticator: new CognitoAuthenticator(), audit: auditLogSink(stores.audit), logger });
}

/** The audit key, decrypted by KMS under its encryption context; never logged. */
export async function decryptAuditKey(kms: KMSClient, ciphertextBase64: string): Promise<Buffer> {
  try {
    const result = await kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(ciphertextBase64, 'base64'), EncryptionContext: { purpose: 'chrono-backup-audit' } }));
    if (!result.Plaintext || result.Plaintext.length < 32) throw new KeyAccessError('unavailable', 'the audit key decrypted to fewer than 32 bytes');
    return Buffer.from(result.Plaintext);
  } catch (error) {
    if (error instanceof KeyAccessError) throw error;
    throw new KeyAccessError('unavailable', `the audit key could not be decrypted with KMS (${(error as Error).name})`, { cause: error });
  }
}
