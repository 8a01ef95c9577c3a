import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { STATE_MACHINES, type WorkflowName } from '../../src/workflows/substitutions.js';
import type { StageConfig } from '../config/stages.js';
import { acknowledgeWildcardResource } from '../constructs/acknowledgements.js';
import { ACCESS_PROFILES, grantProfile, type DataStores } from '../constructs/access.js';
import { AccessLogsBucket } from '../constructs/access-logs-bucket.js';
import { AdminSite } from '../constructs/admin-site.js';
import { Alerts } from '../constructs/alerts.js';
import { ChronoApi } from '../constructs/api.js';
import { BackupBucket } from '../constructs/backup-bucket.js';
import { CatalogTable } from '../constructs/catalog-table.js';
import type { LogSettings } from '../constructs/log-groups.js';
import { Monitoring } from '../constructs/monitoring.js';
import { Network } from '../constructs/network.js';
import { ProjectKey } from '../constructs/project-key.js';
import { BackupSchedules } from '../constructs/schedules.js';
import { StateMachines } from '../constructs/state-machines.js';
import { ChronoFunction, WorkflowFunctions } from '../constructs/workflow-functions.js';
import { WorkerTask } from '../constructs/worker-task.js';

/** The API's entry (written with the REST API; an API Gateway proxy handler exporting `handler`). */
export const API_ENTRY = 'functions/api.ts';

/** The user-management calls the API makes on its own user pool. */
const USER_POOL_ACTIONS = [
  'cognito-idp:AdminCreateUser',
  'cognito-idp:AdminDeleteUser',
  'cognito-idp:AdminGetUser',
  'cognito-idp:AdminAddUserToGroup',
  'cognito-idp:AdminRemoveUserFromGroup',
  'cognito-idp:AdminListGroupsForUser',
  'cognito-idp:AdminDisableUser',
  'cognito-idp:AdminEnableUser',
  'cognito-idp:ListUsers',
  'cognito-idp:ListUsersInGroup',
];

export interface ChronoBackupStackProps extends StackProps {
  readonly config: StageConfig;
  /** The repository checkout: functions/, statemachines/, containers/ and dashboard/ are read from here. */
  readonly repositoryRoot: string;
  /** The API handler's entry relative to the repository root (default API_ENTRY). */
  readonly apiEntry?: string;
}

/** One deployment of Chrono Backup (one stage): storage, catalog, keys, workflows, worker, API, dashboard, alarms. */
export class ChronoBackupStack extends Stack {
  readonly stores: DataStores;

  constructor(scope: Construct, id: string, props: ChronoBackupStackProps) {
    super(scope, id, props);
    const { config, repositoryRoot } = props;
    const removalPolicy = config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    const key = new ProjectKey(this, 'ProjectKey', { stage: config.stage, removalPolicy }).key;
    const logs: LogSettings = { key, retentionDays: config.logRetentionDays, removalPolicy };
    const accessLogs = new AccessLogsBucket(this, 'AccessLogs', { removalPolicy, retentionDays: Math.max(config.logRetentionDays, 30) }).bucket;
    const bucket = new BackupBucket(this, 'Repository', { config, key, removalPolicy, accessLogs }).bucket;
    const table = new CatalogTable(this, 'Catalog', { key, removalPolicy }).table;
    this.stores = { bucket, table, key };
    // What every compute entry needs to build the AWS runtime (src/runtime/aws-runtime.ts).
    const runtimeEnvironment = { CHRONO_REPOSITORY_BUCKET: bucket.bucketName, CHRONO_CATALOG_TABLE: table.tableName, CHRONO_KMS_KEY_ID: key.keyArn };

    const alerts = new Alerts(this, 'Alerts', { stage: config.stage, key, ...config.alerts });
    const network = new Network(this, 'Network', { network: config.network, logs });
    const worker = new WorkerTask(this, 'Worker', { config, vpc: network.vpc, stores: this.stores, logs, repositoryRoot, environment: runtimeEnvironment });
    const steps = new WorkflowFunctions(this, 'Steps', {
      repositoryRoot,
      stores: this.stores,
      logs,
      environment: runtimeEnvironment,
      extraEnvironment: config.alerts.email ? { notify: notifyEmailEnvironment(config.alerts.email, config.alerts.sesSender) } : {},
    });
    // The notify function sends email through SES from the verified sender (src/alerts/ses-email-channel.ts).
    if (alerts.sender && config.alerts.email) alerts.sender.grantSendEmail(steps.functions.NotifyFunctionArn.role);
    const workflows = new StateMachines(this, 'Workflows', {
      repositoryRoot,
      stage: config.stage,
      functions: steps.functions,
      worker,
      workerSubnetIds: network.workerSubnets.map((subnet) => subnet.subnetId),
      logs,
      ...(config.managedRestore ? { managedRestore: config.managedRestore } : {}),
    });
    const schedules = new BackupSchedules(this, 'Schedules', { stage: config.stage, backup: workflows.machines.backup });

    const site = new AdminSite(this, 'Dashboard', { repositoryRoot, removalPolicy, accessLogs });
    const apiFunction = new ChronoFunction(this, 'ApiFunction', {
      repositoryRoot,
      entry: props.apiEntry ?? API_ENTRY,
      description: 'Chrono Backup REST API',
      logs,
      memorySize: 1024,
      // API Gateway's integration timeout.
      timeout: Duration.seconds(29),
      environment: {
        ...runtimeEnvironment,
        CHRONO_STATE_MACHINES: this.toJsonString(Object.fromEntries(Object.entries(workflows.machines).map(([name, machine]) => [name, machine.stateMachineArn]))),
        CHRONO_SCHEDULE_GROUP: schedules.group.scheduleGroupName,
        CHRONO_SCHEDULER_ROLE_ARN: schedules.role.roleArn,
        CHRONO_DASHBOARD_ORIGIN: site.origin,
      },
    });
    const api = new ChronoApi(this, 'Api', {
      stage: config.stage,
      handler: apiFunction.function,
      allowedSourceCidrs: config.allowedSourceCidrs,
      dashboardOrigin: site.origin,
      logs,
      removalPolicy,
    });
    apiFunction.function.addEnvironment('CHRONO_USER_POOL_ID', api.userPool.userPoolId);
    apiFunction.function.addEnvironment('CHRONO_COGNITO_CLIENT_ID', api.apiClient.userPoolClientId);
    this.grantApi(apiFunction.role, workflows.machines, schedules, api);
    // dashboard/src/api.ts reads `api_base_url` and prefixes it to `/api/v1/…` paths.
    site.deploy({
      api_base_url: `https://${api.api.restApiId}.execute-api.${this.region}.${this.urlSuffix}/${api.api.deploymentStage.stageName}`,
      region: this.region,
      user_pool_id: api.userPool.userPoolId,
      user_pool_client_id: api.dashboardClient.userPoolClientId,
      stage: config.stage,
    });

    const monitoring = new Monitoring(this, 'Monitoring', {
      config,
      topic: alerts.topic,
      backup: workflows.machines.backup,
      functions: [...Object.values(steps.functions).map((step) => step.function), apiFunction.function],
    });

    new CfnOutput(this, 'ApiUrl', { value: api.url });
    new CfnOutput(this, 'DashboardUrl', { value: site.origin });
    new CfnOutput(this, 'RepositoryBucket', { value: bucket.bucketName });
    new CfnOutput(this, 'CatalogTable', { value: table.tableName });
    new CfnOutput(this, 'KeyArn', { value: key.keyArn });
    new CfnOutput(this, 'AlarmTopic', { value: alerts.topic.topicArn });
    new CfnOutput(this, 'OperationsDashboard', { value: monitoring.dashboard.dashboardName });
  }

  /** The API's rights: its data access profile, starting and watching workflows, schedules, and its user pool. */
  private grantApi(role: iam.Role, machines: Record<WorkflowName, sfn.StateMachine>, schedules: BackupSchedules, api: ChronoApi): void {
    grantProfile(role, this.stores, ACCESS_PROFILES.api);
    for (const name of Object.keys(STATE_MACHINES) as WorkflowName[]) {
      const machine = machines[name];
      machine.grantStartExecution(role);
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['states:DescribeExecution', 'states:StopExecution'],
          resources: [this.formatArn({ service: 'states', resource: 'execution', resourceName: `${machine.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
        }),
      );
      const logicalId = this.getLogicalId(machine.node.defaultChild as sfn.CfnStateMachine);
      acknowledgeWildcardResource(
        role,
        `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${logicalId}.Name>:*`,
        'Execution names are chosen at run time (one per plan occurrence); the grant is limited to executions of this state machine.',
      );
    }
    schedules.grantManage(role);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: USER_POOL_ACTIONS, resources: [api.userPool.userPoolArn] }));
  }
}

/**
 * What the notify function needs to email alerts: the recipients, and with an SES sender the address it
 * sends from (`BACKUP_ALERT_SES_FROM`; a domain identity sends as chrono-backup@<domain>).
 */
function notifyEmailEnvironment(recipients: string, sesSender: string | undefined): Record<string, string> {
  if (sesSender === undefined) return { BACKUP_ALERT_EMAIL_RECIPIENTS: recipients };
  return { BACKUP_ALERT_EMAIL_RECIPIENTS: recipients, BACKUP_ALERT_SES_FROM: sesSender.includes('@') ? sesSender : `chrono-backup@${sesSender}` };
}
