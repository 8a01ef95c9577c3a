import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { KMSClient } from '@aws-sdk/client-kms';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SFNClient } from '@aws-sdk/client-sfn';

import { createApiApp, type ApiHandler } from '../api/api-app.js';
import { apiRoutes } from '../api/api-routes.js';
import type { ApiServices } from '../api/api-services.js';
import { auditLogSink } from '../api/audit-log-sink.js';
import { scheduleRoutes } from '../api/routes/schedule-routes.js';
import { healthReport } from '../app/health-report.js';
import { refreshArchivedWindows, type BaseBackupMemo } from '../app/pitr.js';
import { CognitoAuthenticator } from '../auth/cognito-authenticator.js';
import { CognitoLoginService } from '../auth/cognito-login.js';
import { DynamoDbAuditKey } from '../catalog/dynamodb-audit-key.js';
import { DynamoDbCatalog, dynamoDbClient } from '../catalog/dynamodb-catalog.js';
import { asBackupError, NotFoundError, ValidationError } from '../domain/errors.js';
import { createBackupMetricsRegistry, METRICS_CONTENT_TYPE } from '../metrics/backup-metrics.js';
import { refreshingRecoveryWindows } from '../metrics/recovery-window-refresh.js';
import { systemClock } from '../ports/clock.js';
import { EventBridgeScheduleTriggers } from '../schedules/eventbridge-schedule-triggers.js';
import { jsonLogger } from '../util/json-logger.js';
import { StepFunctionsJobService } from '../workflows/step-functions-job-service.js';
import { awsWorkflowRuntime } from './aws-runtime.js';
import { awsStores } from './aws-stores.js';
import { pitrWindowTtlSetting } from './health-settings.js';

/** The variables the API Lambda reads (the CDK stack sets them); each missing one is named. */
const REQUIRED = ['CHRONO_CATALOG_TABLE', 'CHRONO_KMS_KEY_ID', 'CHRONO_COGNITO_CLIENT_ID', 'CHRONO_STATE_MACHINES', 'CHRONO_SCHEDULE_GROUP', 'CHRONO_SCHEDULER_ROLE_ARN'] as const;
const MACHINES = ['backup', 'restore', 'verify', 'retention'] as const;

/**
 * The API's composition root in AWS: the same application as the local server, over the DynamoDB
 * catalog and stores, Cognito for identity, Step Functions for long work (`CHRONO_STATE_MACHINES`: JSON
 * of the state machine ARNs by workflow, as the CDK stack sets it), EventBridge Scheduler for schedules
 * and the repository in S3 (src/runtime/aws-runtime.ts). The audit key is a KMS data key kept encrypted in
 * the catalog table (src/catalog/dynamodb-audit-key.ts), decrypted once per cold start.
 */
export async function awsApiHandler(env: NodeJS.ProcessEnv = process.env): Promise<ApiHandler> {
  const missing = REQUIRED.find((name) => !env[name]);
  if (missing) throw new ValidationError(`${missing} must be set for the API function`, missing);
  const region = env.AWS_REGION;
  const settings = { tableName: env.CHRONO_CATALOG_TABLE as string, ...(region ? { region } : {}) };
  const logger = jsonLogger('info');
  const clock = systemClock;
  const machines = stateMachines(env.CHRONO_STATE_MACHINES as string);
  // One DynamoDB client (and connection pool) for the catalog and the stores on its table.
  const tableClient = dynamoDbClient(settings);
  const catalog = new DynamoDbCatalog({ ...settings, client: tableClient });
  const auditKey = await new DynamoDbAuditKey({ tableName: settings.tableName, client: tableClient }, new KMSClient(region ? { region } : {}), env.CHRONO_KMS_KEY_ID as string).load();
  const stores = awsStores({ ...settings, client: tableClient, auditKey, clock, ...(env.CHRONO_AUDIT_ANCHOR_TABLE ? { anchorTableName: env.CHRONO_AUDIT_ANCHOR_TABLE } : {}) });
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
  const memo: BaseBackupMemo = new Map();
  const metrics = createBackupMetricsRegistry({
    catalog,
    recoveryWindows: refreshingRecoveryWindows({
      store: stores.recoveryWindows,
      maxAgeMs: pitrWindowTtlSetting(env),
      refresh: () => withRepository(undefined, (deps) => refreshArchivedWindows(deps, { memo })),
      onError: (error) => logger.warn('recoverability window refresh failed', { error: asBackupError(error).message }),
    }),
  });
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
      stateMachines: { backup: machines.backup, restore: machines.restore, verify: machines.verify },
    }),
    withRepository,
    health: () => withRepository(undefined, (deps) => healthReport(deps, { schedules: stores.schedules })),
    metrics: async () => ({ contentType: METRICS_CONTENT_TYPE, body: await metrics.metrics() }),
  };
  const triggers = new EventBridgeScheduleTriggers({
    client: new SchedulerClient(region ? { region } : {}),
    groupName: env.CHRONO_SCHEDULE_GROUP as string,
    backupStateMachineArn: machines.backup,
    retentionStateMachineArn: machines.retention,
    roleArn: env.CHRONO_SCHEDULER_ROLE_ARN as string,
  });
  return createApiApp({ routes: apiRoutes(services, [scheduleRoutes(stores.schedules, triggers)]), authenticator: new CognitoAuthenticator(), audit: auditLogSink(stores.audit), logger });
}

/** `{"backup": arn, …}` with every workflow the API starts; a missing or malformed one is named. */
function stateMachines(json: string): Record<(typeof MACHINES)[number], string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ValidationError('CHRONO_STATE_MACHINES must be JSON: {"backup": "arn:…", …}', 'CHRONO_STATE_MACHINES');
  }
  const value = (parsed ?? {}) as Record<string, unknown>;
  const missing = MACHINES.find((name) => typeof value[name] !== 'string' || !String(value[name]).startsWith('arn:'));
  if (missing) throw new ValidationError(`CHRONO_STATE_MACHINES lacks the ARN of the ${missing} state machine`, 'CHRONO_STATE_MACHINES');
  return value as Record<(typeof MACHINES)[number], string>;
}
