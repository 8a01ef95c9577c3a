import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, test } from '@jest/globals';
import { CATALOG_TABLE } from '../../src/catalog/dynamodb-table.js';
import { EMF_NAMESPACE } from '../../src/metrics/embedded-metric-format.js';
import { LAMBDA_FUNCTIONS, STATE_MACHINES, type WorkflowName } from '../../src/workflows/substitutions.js';
import { STAGE_NAMES, type StageName } from '../../infra/config/stages.js';
import {
  REPOSITORY_ROOT,
  actionsOf,
  onlyResource,
  referencedId,
  resourcesOf,
  roleStatements,
  synthStage,
  type CloudFormationTemplate,
  type PolicyStatementJson,
  type SynthesizedStage,
} from './synth-stage.js';

/*
 * Template assertions of intent, on one in-process synth per stage (cdk-nag runs in each: a finding
 * without an acknowledgement makes synthStage throw).
 */

const stages = {} as Record<StageName, SynthesizedStage>;
beforeAll(() => {
  for (const stage of STAGE_NAMES) stages[stage] = synthStage({ stage });
});

const keyOf = (json: CloudFormationTemplate): string => onlyResource(json, 'AWS::KMS::Key')[0];
const isKey = (json: CloudFormationTemplate, value: unknown): boolean => referencedId(value) === keyOf(json);

describe.each(STAGE_NAMES)('stage %s', (stage) => {
  const get = (): SynthesizedStage => stages[stage];

  test('synthesizes with zero unacknowledged cdk-nag findings, every acknowledgement with a reason', () => {
    const { acknowledgements, stack } = get();
    expect(stack.stackName).toBe(`ChronoBackup-${stage}`);
    expect(acknowledgements.filter(({ id }) => /^[A-Za-z]+::AwsSolutions-/.test(id)).length).toBeGreaterThan(10);
    for (const { id, reason, path: at } of acknowledgements) {
      expect({ id, at, reason: typeof reason === 'string' && reason.trim().length >= 20 }).toEqual({ id, at, reason: true });
      // Ours are cdk-nag's; aws-cdk-lib acknowledges a few CloudFormation lint warnings of its own constructs.
      expect(id).toMatch(/^([A-Za-z]+::AwsSolutions-|CloudFormation-Validate::)/);
    }
  });

  test('the project key rotates, and every data store is encrypted with it', () => {
    const { json } = get();
    const [, key] = onlyResource(json, 'AWS::KMS::Key');
    expect(key.EnableKeyRotation).toBe(true);

    const repository = resourcesOf(json, 'AWS::S3::Bucket').filter(([, bucket]) => (bucket.VersioningConfiguration as { Status?: string } | undefined)?.Status === 'Enabled');
    expect(repository).toHaveLength(1);
    const [, bucket] = repository[0]!;
    const sse = (bucket.BucketEncryption as { ServerSideEncryptionConfiguration: { ServerSideEncryptionByDefault: { SSEAlgorithm: string; KMSMasterKeyID: unknown }; BucketKeyEnabled: boolean }[] })
      .ServerSideEncryptionConfiguration[0]!;
    expect(sse.ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
    expect(isKey(json, sse.ServerSideEncryptionByDefault.KMSMasterKeyID)).toBe(true);
    expect(sse.BucketKeyEnabled).toBe(true);
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });

    const [, table] = onlyResource(json, 'AWS::DynamoDB::Table');
    const tableSse = table.SSESpecification as { SSEEnabled: boolean; SSEType: string; KMSMasterKeyId: unknown };
    expect(tableSse.SSEEnabled && tableSse.SSEType).toBe('KMS');
    expect(isKey(json, tableSse.KMSMasterKeyId)).toBe(true);

    const [, topic] = onlyResource(json, 'AWS::SNS::Topic');
    expect(isKey(json, topic.KmsMasterKeyId)).toBe(true);

    const logGroups = resourcesOf(json, 'AWS::Logs::LogGroup');
    expect(logGroups.length).toBeGreaterThanOrEqual(15);
    for (const [id, group] of logGroups) expect({ id, encrypted: isKey(json, group.KmsKeyId) }).toEqual({ id, encrypted: true });

    // The two other buckets hold no backup data (access logs, the dashboard's static files): SSE-S3.
    for (const [id, other] of resourcesOf(json, 'AWS::S3::Bucket')) {
      const algorithm = (other.BucketEncryption as { ServerSideEncryptionConfiguration: { ServerSideEncryptionByDefault: { SSEAlgorithm: string } }[] })
        .ServerSideEncryptionConfiguration[0]!.ServerSideEncryptionByDefault.SSEAlgorithm;
      expect({ id, algorithm }).toEqual({ id, algorithm: other === bucket ? 'aws:kms' : 'AES256' });
    }
  });

  test('every bucket and the topic refuse plain HTTP', () => {
    const { json } = get();
    const denies = (policy: Record<string, unknown>): boolean =>
      (policy.PolicyDocument as { Statement: PolicyStatementJson[] }).Statement.some(
        (statement) => statement.Effect === 'Deny' && JSON.stringify(statement.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
      );
    const buckets = resourcesOf(json, 'AWS::S3::Bucket').map(([id]) => id);
    const bucketPolicies = resourcesOf(json, 'AWS::S3::BucketPolicy');
    for (const id of buckets) {
      const policy = bucketPolicies.find(([, candidate]) => referencedId(candidate.Bucket) === id);
      expect({ id, tlsOnly: policy !== undefined && denies(policy[1]) }).toEqual({ id, tlsOnly: true });
    }
    expect(denies(onlyResource(json, 'AWS::SNS::TopicPolicy')[1])).toBe(true);
  });

  test('the catalog table mirrors CATALOG_TABLE, with point-in-time recovery and a TTL attribute', () => {
    const [, table] = onlyResource(get().json, 'AWS::DynamoDB::Table');
    expect(table.BillingMode).toBe(CATALOG_TABLE.BillingMode);
    expect(table.KeySchema).toEqual(CATALOG_TABLE.KeySchema);
    const byName = (items: { AttributeName?: string; IndexName?: string }[]): unknown[] => [...items].sort((a, b) => String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName)));
    expect(byName(table.AttributeDefinitions as never)).toEqual(byName(CATALOG_TABLE.AttributeDefinitions as never));
    expect(byName(table.LocalSecondaryIndexes as never)).toEqual(byName(CATALOG_TABLE.LocalSecondaryIndexes as never));
    expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  test('no IAM policy grants wildcard actions on S3, DynamoDB or KMS, except the CDK dashboard upload handler on the site bucket', () => {
    const { json } = get();
    const dataStores = new Set([
      keyOf(json),
      onlyResource(json, 'AWS::DynamoDB::Table')[0],
      ...resourcesOf(json, 'AWS::S3::Bucket')
        .filter(([, bucket]) => (bucket.VersioningConfiguration as { Status?: string } | undefined)?.Status === 'Enabled')
        .map(([id]) => id),
    ]);
    let checked = 0;
    for (const [id, policy] of resourcesOf(json, 'AWS::IAM::Policy')) {
      const uploadHandler = id.startsWith('CustomCDKBucketDeployment');
      for (const statement of (policy.PolicyDocument as { Statement: PolicyStatementJson[] }).Statement) {
        for (const action of actionsOf(statement)) {
          checked += 1;
          expect(action).not.toBe('*');
          expect(action).not.toMatch(/^(s3|dynamodb|kms):\*$/);
          if (/^(s3|dynamodb|kms):/.test(action) && action.includes('*')) {
            expect({ id, action, uploadHandler }).toEqual({ id, action, uploadHandler: true });
            const touched = [...JSON.stringify(statement.Resource).matchAll(/"(?:Ref|Fn::GetAtt)":\["?([A-Za-z0-9]+)/g)].map((match) => match[1]);
            for (const resource of touched) expect({ id, resource, dataStore: dataStores.has(resource!) }).toEqual({ id, resource, dataStore: false });
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  test('each workflow function and the worker task get exactly the grants they use', () => {
    const { json } = get();
    for (const [name, expected] of Object.entries(EXPECTED_GRANTS)) {
      const statements = roleStatements(json, roleOf(json, name));
      const actions = new Set(statements.flatMap(actionsOf));
      const dataActions = (service: string): string[] => [...actions].filter((action) => action.startsWith(`${service}:`)).sort();
      expect({ name, s3: dataActions('s3'), dynamodb: dataActions('dynamodb'), kms: dataActions('kms') }).toEqual({
        name,
        s3: [...(expected.s3 ?? [])].sort(),
        dynamodb: [...(expected.dynamodb ?? [])].sort(),
        kms: [...kmsFor(expected)].sort(),
      });
      // The key provider's own calls (no kms:ViaService) are exactly the expected ones, and limited to repository key contexts.
      const direct = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('kms:')) && !JSON.stringify(statement.Condition ?? {}).includes('kms:ViaService'));
      expect({ name, direct: direct.flatMap(actionsOf).sort() }).toEqual({ name, direct: [...(expected.repositoryKey ?? [])].sort() });
      for (const statement of direct) expect(statement.Condition).toEqual({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['repository', 'slot'] } });
      // Everything else is logging, tracing or (for the worker's image pull) nothing at all.
      const others = [...actions].filter((action) => !/^(s3|dynamodb|kms):/.test(action));
      for (const action of others) expect({ name, action, allowed: OTHER_ACTIONS.has(action) }).toEqual({ name, action, allowed: true });
      // Data actions touch only the project's key, table and repository bucket.
      for (const statement of statements.filter((candidate) => actionsOf(candidate).some((action) => /^(s3|dynamodb|kms):/.test(action)))) {
        const ids = [...JSON.stringify(statement.Resource).matchAll(/"(?:Ref|Fn::GetAtt)":\["?([A-Za-z0-9]+)/g)].map((match) => match[1]!);
        expect(ids.length).toBeGreaterThan(0);
        for (const id of ids) expect(json.Resources[id]?.Type).toMatch(/^AWS::(KMS::Key|DynamoDB::Table|S3::Bucket)$/);
      }
    }
    const release = roleStatements(json, roleOf(json, 'release')).find((statement) => actionsOf(statement).includes('s3:DeleteObject'));
    expect(JSON.stringify(release?.Resource)).toContain('/workflow-locks/*');
  });

  test('each state machine is its ASL file with every substitution key supplied, and may invoke only the functions it names', () => {
    const { json } = get();
    const machines = resourcesOf(json, 'AWS::StepFunctions::StateMachine');
    expect(machines).toHaveLength(Object.keys(STATE_MACHINES).length);
    for (const [name, { file, keys }] of Object.entries(STATE_MACHINES) as [WorkflowName, (typeof STATE_MACHINES)[WorkflowName]][]) {
      const [, machine] = machines.find(([, candidate]) => candidate.StateMachineName === `chrono-backup-${stage}-${name}`) ?? [];
      expect(machine).toBeDefined();
      const definition = readFileSync(path.join(REPOSITORY_ROOT, 'statemachines', file), 'utf8');
      expect(machine!.DefinitionString).toBe(definition);
      const placeholders = new Set([...definition.matchAll(/\$\{([A-Za-z]+)\}/g)].map((match) => match[1]));
      const substitutions = machine!.DefinitionSubstitutions as Record<string, unknown>;
      expect(Object.keys(substitutions).sort()).toEqual([...placeholders].sort());
      expect(Object.keys(substitutions).sort()).toEqual([...keys].sort());
      expect(machine!.TracingConfiguration).toEqual({ Enabled: true });
      expect((machine!.LoggingConfiguration as { Level: string }).Level).toBe('ALL');

      const statements = roleStatements(json, referencedId(machine!.RoleArn)!);
      const invoked = statements.filter((statement) => actionsOf(statement).includes('lambda:InvokeFunction')).flatMap((statement) => [statement.Resource].flat());
      const named = keys.filter((key) => key in LAMBDA_FUNCTIONS).map((key) => substitutions[key]);
      expect(new Set(invoked.map((arn) => JSON.stringify(arn)))).toEqual(new Set(named.map((arn) => JSON.stringify(arn))));
      const runsWorker = (keys as readonly string[]).includes('WorkerTaskDefinitionArn');
      expect(statements.some((statement) => actionsOf(statement).includes('ecs:RunTask'))).toBe(runsWorker);
    }
  });

  test('the scheduler role may only start the backup state machine', () => {
    const { json } = get();
    const [roleId] = resourcesOf(json, 'AWS::IAM::Role').find(([, role]) => JSON.stringify(role.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'))!;
    const statements = roleStatements(json, roleId);
    expect(statements.flatMap(actionsOf)).toEqual(['states:StartExecution']);
    const [backupId] = resourcesOf(json, 'AWS::StepFunctions::StateMachine').find(([, machine]) => machine.StateMachineName === `chrono-backup-${stage}-backup`)!;
    expect(statements[0]!.Resource).toEqual({ Ref: backupId });
    expect(onlyResource(json, 'AWS::Scheduler::ScheduleGroup')[1].Name).toBe(`chrono-backup-${stage}`);
  });

  test('the API: Cognito authorizer on every method but CORS preflights, the four groups, one Lambda proxy', () => {
    const { json } = get();
    const groups = resourcesOf(json, 'AWS::Cognito::UserPoolGroup').map(([, group]) => group.GroupName).sort();
    expect(groups).toEqual(['admin', 'auditor', 'operator', 'viewer']);
    const methods = resourcesOf(json, 'AWS::ApiGateway::Method');
    expect(methods.length).toBeGreaterThanOrEqual(3);
    for (const [id, method] of methods) {
      const expected = method.HttpMethod === 'OPTIONS' ? 'NONE' : 'COGNITO_USER_POOLS';
      expect({ id, auth: method.AuthorizationType }).toEqual({ id, auth: expected });
    }
    const [, pool] = onlyResource(json, 'AWS::Cognito::UserPool');
    expect(pool.MfaConfiguration).toBe('ON');
    expect((pool.AdminCreateUserConfig as { AllowAdminCreateUserOnly: boolean }).AllowAdminCreateUserOnly).toBe(true);
    // The dashboard's config.json gets the API's URL and the user pool at deploy time (deploy-time values are markers).
    const markers = JSON.stringify(onlyResource(json, 'Custom::CDKBucketDeployment')[1].SourceMarkers);
    expect(markers).toContain(JSON.stringify({ Ref: onlyResource(json, 'AWS::ApiGateway::RestApi')[0] }));
    expect(markers).toContain(JSON.stringify({ Ref: onlyResource(json, 'AWS::ApiGateway::Stage')[0] }));
    expect(markers).toContain(JSON.stringify({ Ref: onlyResource(json, 'AWS::Cognito::UserPool')[0] }));
  });

  test('alarms on the ChronoBackup EMF metrics and on backup executions notify the alert topic; the stage thresholds apply', () => {
    const { json, config } = get();
    const alarms = resourcesOf(json, 'AWS::CloudWatch::Alarm');
    const byName = Object.fromEntries(alarms.map(([, alarm]) => [String(alarm.AlarmName).replace(`chrono-backup-${stage}-`, ''), alarm]));
    expect(Object.keys(byName).sort()).toEqual(['backup-failed', 'backup-overdue', 'failures-per-day', 'low-success-rate']);
    const [topicId] = onlyResource(json, 'AWS::SNS::Topic');
    for (const alarm of Object.values(byName)) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
    expect(JSON.stringify(byName['backup-failed']!.Metrics)).toContain(`SCHEMA(\\"${EMF_NAMESPACE}\\"`);
    expect(byName['failures-per-day']!.Threshold).toBe(config.alarms.maxFailuresPerDay);
    expect(byName['low-success-rate']!.Threshold).toBe(config.alarms.minSuccessRatePercent);
    expect(byName['backup-overdue']!.Period).toBe(config.alarms.overdueHours * 3600);
    expect(byName['backup-overdue']!.TreatMissingData).toBe('breaching');
  });

  test('every log group keeps the stage retention', () => {
    const { json, config } = get();
    for (const [id, group] of resourcesOf(json, 'AWS::Logs::LogGroup')) expect({ id, days: group.RetentionInDays }).toEqual({ id, days: config.logRetentionDays });
  });

  test('the worker task: stage size, the worker image asset, no plain secrets', () => {
    const { json, config } = get();
    const [, task] = onlyResource(json, 'AWS::ECS::TaskDefinition');
    expect(task.Cpu).toBe(String(config.worker.cpu));
    expect(task.Memory).toBe(String(config.worker.memoryMiB));
    expect(task.EphemeralStorage).toEqual({ SizeInGiB: config.worker.ephemeralStorageGiB });
    const [container] = task.ContainerDefinitions as { Name: string; Environment: { Name: string }[] }[];
    expect(container!.Name).toBe('worker');
    expect(container!.Environment.map((variable) => variable.Name).sort()).toEqual(['CHRONO_CATALOG_TABLE', 'CHRONO_KMS_KEY_ID', 'CHRONO_REPOSITORY_BUCKET']);
  });

  test('snapshot of a normalized summary (asset hashes blanked)', () => {
    expect(summarize(get().json)).toMatchSnapshot();
  });
});

test('every Task state of every state machine (including those inside Map and Parallel) has Retry and Catch', () => {
  interface AslState {
    Type: string;
    Retry?: unknown[];
    Catch?: unknown[];
    ItemProcessor?: { States: Record<string, AslState> };
    Iterator?: { States: Record<string, AslState> };
    Branches?: { States: Record<string, AslState> }[];
  }
  const tasks = (states: Record<string, AslState>, at: string): { at: string; state: AslState }[] =>
    Object.entries(states).flatMap(([name, state]) => [
      ...(state.Type === 'Task' ? [{ at: `${at}.${name}`, state }] : []),
      ...[state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])].flatMap((inner) => (inner ? tasks(inner.States, `${at}.${name}`) : [])),
    ]);
  let count = 0;
  for (const { file } of Object.values(STATE_MACHINES)) {
    const definition = JSON.parse(readFileSync(path.join(REPOSITORY_ROOT, 'statemachines', file), 'utf8')) as { States: Record<string, AslState> };
    for (const { at, state } of tasks(definition.States, file)) {
      count += 1;
      expect({ at, retry: (state.Retry ?? []).length > 0, catch: (state.Catch ?? []).length > 0 }).toEqual({ at, retry: true, catch: true });
    }
  }
  expect(count).toBeGreaterThanOrEqual(25);
});

test('stages differ where their settings say so', () => {
  const bucketOf = (stage: StageName): Record<string, unknown> =>
    resourcesOf(stages[stage].json, 'AWS::S3::Bucket').find(([, bucket]) => (bucket.VersioningConfiguration as { Status?: string } | undefined)?.Status === 'Enabled')![1];
  expect(bucketOf('prod').ObjectLockEnabled).toBe(true);
  expect(bucketOf('prod').ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } } });
  expect(bucketOf('dev').ObjectLockEnabled).toBeUndefined();
  const policyOf = (stage: StageName): unknown => stages[stage].json.Resources[onlyResource(stages[stage].json, 'AWS::DynamoDB::Table')[0]] as unknown;
  expect(policyOf('prod')).toMatchObject({ DeletionPolicy: 'Retain' });
  expect(policyOf('dev')).toMatchObject({ DeletionPolicy: 'Delete' });
  const rules = (bucketOf('dev').LifecycleConfiguration as { Rules: { Id: string; Prefix?: string; Transitions?: unknown }[] }).Rules;
  expect(rules.find((rule) => rule.Id === 'archive-repositories')).toMatchObject({ Prefix: 'archive/', Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }] });
});

/** Expected data-plane grants, written out from the handlers' needs (notes of functions/*.ts), not derived from infra. */
interface ExpectedGrants {
  s3?: string[];
  dynamodb?: string[];
  repositoryKey?: string[];
}
const REPOSITORY_RW = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListBucket'];
const RUN_RECORDS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'];
const EXPECTED_GRANTS: Record<string, ExpectedGrants> = {
  prepare: { s3: REPOSITORY_RW, dynamodb: RUN_RECORDS, repositoryKey: ['kms:Decrypt', 'kms:GenerateDataKey'] },
  record: { dynamodb: RUN_RECORDS },
  recordFailure: { dynamodb: RUN_RECORDS },
  verify: { s3: REPOSITORY_RW, dynamodb: RUN_RECORDS, repositoryKey: ['kms:Decrypt'] },
  replicate: { s3: REPOSITORY_RW, dynamodb: RUN_RECORDS, repositoryKey: ['kms:Decrypt'] },
  retention: { s3: REPOSITORY_RW, dynamodb: [...RUN_RECORDS, 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'], repositoryKey: ['kms:Decrypt'] },
  notify: { dynamodb: ['dynamodb:GetItem', 'dynamodb:Query'] },
  release: { s3: ['s3:DeleteObject'] },
  worker: { s3: REPOSITORY_RW, dynamodb: RUN_RECORDS, repositoryKey: ['kms:Decrypt', 'kms:GenerateDataKey'] },
};
const OTHER_ACTIONS = new Set(['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords']);

/** KMS actions a role needs for its grants: SSE-KMS on S3, the table's key via DynamoDB, and the key provider's own calls. */
function kmsFor(expected: ExpectedGrants): Set<string> {
  const kms = new Set(expected.repositoryKey ?? []);
  if (expected.s3?.includes('s3:GetObject')) kms.add('kms:Decrypt');
  if (expected.s3?.includes('s3:PutObject')) ['kms:Decrypt', 'kms:GenerateDataKey'].forEach((action) => kms.add(action));
  if (expected.dynamodb?.length) ['kms:Decrypt', 'kms:DescribeKey'].forEach((action) => kms.add(action));
  if (expected.dynamodb?.some((action) => !['dynamodb:GetItem', 'dynamodb:Query'].includes(action))) ['kms:Encrypt', 'kms:GenerateDataKey'].forEach((action) => kms.add(action));
  return kms;
}

/** The role of a workflow step (by its function description) or of the worker task. */
function roleOf(json: CloudFormationTemplate, name: string): string {
  if (name === 'worker') return referencedId(onlyResource(json, 'AWS::ECS::TaskDefinition')[1].TaskRoleArn)!;
  const found = resourcesOf(json, 'AWS::Lambda::Function').find(([, fn]) => fn.Description === `Chrono Backup workflow step ${name}`);
  if (!found) throw new Error(`no function for step ${name}`);
  return referencedId(found[1].Role)!;
}

/**
 * A small, stable picture of a template: resource counts by type, each role's actions, alarms, outputs.
 * Asset hashes and logical-id hash suffixes are blanked so unrelated code changes do not churn it.
 */
function summarize(json: CloudFormationTemplate): unknown {
  const blank = (text: string): string => text.replace(/[0-9a-f]{64}/g, '<hash>').replace(/([A-Za-z])[0-9A-F]{8}\b/g, '$1<id>');
  const counts: Record<string, number> = {};
  for (const resource of Object.values(json.Resources)) counts[resource.Type] = (counts[resource.Type] ?? 0) + 1;
  const roles = Object.fromEntries(
    resourcesOf(json, 'AWS::IAM::Role')
      .map(([id]) => [blank(id), [...new Set(roleStatements(json, id).flatMap(actionsOf))].sort()] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  const alarms = resourcesOf(json, 'AWS::CloudWatch::Alarm')
    .map(([, alarm]) => ({ name: alarm.AlarmName, threshold: alarm.Threshold, comparison: alarm.ComparisonOperator, period: alarm.Period ?? null }))
    .sort((a, b) => String(a.name).localeCompare(String(b.name)));
  return JSON.parse(blank(JSON.stringify({ counts: Object.fromEntries(Object.entries(counts).sort()), roles, alarms, outputs: Object.keys(json.Outputs ?? {}).sort() })));
}
