/**
 * The API as the AWS Lambda runs it (functions/api.ts → awsApiHandler): the real DynamoDB catalog and
 * stores on DynamoDB Local, and Cognito, KMS, Step Functions and EventBridge Scheduler mocked with
 * aws-sdk-client-mock (they cannot run here). Claims come from the authorizer part of the event.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateScheduleCommand, ResourceNotFoundException, SchedulerClient, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { randomBytes } from 'node:crypto';

import { apiGatewayHandler, type ApiGatewayProxyEvent, type ApiGatewayProxyResult } from '../../src/api/lambda-adapter.js';
import { DynamoDbCatalog } from '../../src/catalog/dynamodb-catalog.js';
import { createCatalogTable } from '../../src/catalog/dynamodb-table.js';
import { validatePlan } from '../../src/domain/plan.js';
import { awsApiHandler } from '../../src/runtime/aws-api.js';
import { awsStores } from '../../src/runtime/aws-stores.js';
import { startDynamoDbLocal, type DynamoDbLocalHandle } from '../harness/dynamodb-local.js';

const kms = mockClient(KMSClient);
const cognito = mockClient(CognitoIdentityProviderClient);
const sfn = mockClient(SFNClient);
const scheduler = mockClient(SchedulerClient);
const ARN = 'arn:aws:states:eu-west-1:111122223333:stateMachine:';
const auditKey = randomBytes(32);
const saved = { ...process.env };
let dynamo: DynamoDbLocalHandle;
let handle: (event: ApiGatewayProxyEvent) => Promise<ApiGatewayProxyResult>;
let table: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
  table = `catalog-${randomBytes(4).toString('hex')}`;
  await createCatalogTable(dynamo.client(), table);
  // The SDK's own variables point every DynamoDB client of the composition at DynamoDB Local.
  Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_REGION: dynamo.region, AWS_ACCESS_KEY_ID: dynamo.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: dynamo.credentials.secretAccessKey });
  // KMS makes the audit key once; the table keeps its ciphertext, and later cold starts decrypt it.
  kms.on(GenerateDataKeyCommand, { KeyId: 'alias/chrono', EncryptionContext: { purpose: 'chrono-backup-audit' } }).resolves({ Plaintext: auditKey, CiphertextBlob: Buffer.from('sealed audit key') });
  kms.on(DecryptCommand, { CiphertextBlob: Buffer.from('sealed audit key'), EncryptionContext: { purpose: 'chrono-backup-audit' } }).resolves({ Plaintext: auditKey });
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn', startDate: new Date() });
  scheduler.on(UpdateScheduleCommand).rejects(new ResourceNotFoundException({ Message: 'none', message: 'none', $metadata: {} }));
  scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn' });
  const catalog = new DynamoDbCatalog({ tableName: table, region: dynamo.region });
  await catalog.putPlan(validatePlan('shop', { files: { paths: ['/srv/shop'] } }));
  await catalog.close();
  env = {
      ...process.env,
      CHRONO_CATALOG_TABLE: table,
      CHRONO_COGNITO_CLIENT_ID: 'client',
      CHRONO_STATE_MACHINES: JSON.stringify({ backup: `${ARN}backup`, restore: `${ARN}restore`, verify: `${ARN}verify`, retention: `${ARN}retention`, replicate: `${ARN}replicate` }),
      CHRONO_SCHEDULE_GROUP: 'chrono-backup-test',
      CHRONO_SCHEDULER_ROLE_ARN: 'arn:aws:iam::111122223333:role/scheduler',
      CHRONO_REPOSITORY_BUCKET: 'backups',
      CHRONO_KMS_KEY_ID: 'alias/chrono',
  };
  handle = apiGatewayHandler(await awsApiHandler(env));
}, 60_000);

afterAll(async () => {
  process.env = saved;
  kms.restore();
  cognito.restore();
  sfn.restore();
  scheduler.restore();
  await dynamo?.stop();
});

const as = (groups: string[], request: Partial<ApiGatewayProxyEvent>): ApiGatewayProxyEvent => ({
  httpMethod: 'GET',
  path: '/',
  headers: { 'content-type': 'application/json' },
  requestContext: { identity: { sourceIp: '198.51.100.4' }, authorizer: { claims: { sub: `sub-${groups.join('-')}`, email: `${groups[0]}@example.com`, 'cognito:groups': groups } } },
  ...request,
});

it('starts a backup as a Step Functions execution and records the call in the DynamoDB audit trail', async () => {
  const started = await handle(as(['operator'], { httpMethod: 'POST', path: '/api/v1/backup/manual', body: JSON.stringify({ backup_type: 'full' }) }));
  expect(started.statusCode).toBe(202);
  const job = JSON.parse(started.body) as { job_id: string; poll_url: string };
  const call = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
  expect(call).toMatchObject({ stateMachineArn: `${ARN}backup`, name: job.job_id });
  expect(JSON.parse(call.input!)).toEqual({ plan: 'shop', type: 'full', requestedBy: 'operator@example.com' });
  // The job can be polled at its URL while Step Functions runs it (nothing recorded yet: queued).
  sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING', startDate: new Date(), input: call.input });
  const polled = await handle(as(['viewer'], { path: job.poll_url }));
  expect([polled.statusCode, JSON.parse(polled.body).status]).toEqual([200, 'queued']);
  const refused = await handle(as(['viewer'], { httpMethod: 'POST', path: '/api/v1/backup/manual', body: '{}' }));
  expect(refused.statusCode).toBe(403);

  const entries = await handle(as(['auditor'], { path: '/api/v1/backup/audit/entries' }));
  const actions = (JSON.parse(entries.body) as { items: { action: string; result: string; source: string }[] }).items.map((entry) => [entry.action, entry.result, entry.source]);
  expect(actions).toEqual([
    ['backup.manual', 'success', '198.51.100.4'],
    ['backup.manual', 'denied', '198.51.100.4'],
  ]);
  const verified = JSON.parse((await handle(as(['auditor'], { path: '/api/v1/backup/audit/verify' }))).body) as { ok: boolean; entries: number };
  expect(verified).toMatchObject({ ok: true, entries: 2 });
  // The same chain, read straight from the table with the same key, verifies too; the table holds only
  // the key's ciphertext, and a second cold start decrypts the same key instead of making another.
  await expect(awsStores({ tableName: table, region: dynamo.region, auditKey }).audit.verify()).resolves.toMatchObject({ ok: true, entries: 2 });
  expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(1);
  const again = apiGatewayHandler(await awsApiHandler(env));
  expect(JSON.parse((await again(as(['auditor'], { path: '/api/v1/backup/audit/verify' }))).body)).toMatchObject({ ok: true, entries: 2 });
  expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(1);
  expect(kms.commandCalls(DecryptCommand)).toHaveLength(1);
});

it('starts a managed RDS restore as an execution of the restore state machine, and refuses a bad one with a 400', async () => {
  const body = { source_cluster: 'ledger', target_identifier: 'chrono-restore-ledger', target_time: '2026-11-20T10:00:00Z', instance_class: 'db.r6g.large' };
  const started = await handle(as(['operator'], { httpMethod: 'POST', path: '/api/v1/backup/recovery/managed', body: JSON.stringify(body) }));
  expect(started.statusCode).toBe(202);
  const job = JSON.parse(started.body) as { job_id: string };
  const call = sfn.commandCalls(StartExecutionCommand).find((each) => each.args[0].input.name === job.job_id)!.args[0].input;
  expect(call.stateMachineArn).toBe(`${ARN}restore`);
  expect(JSON.parse(call.input!)).toEqual({ rds: { sourceCluster: 'ledger', target: 'chrono-restore-ledger', targetTime: '2026-11-20T10:00:00Z', instanceClass: 'db.r6g.large' }, requestedBy: 'operator@example.com' });

  const executions = sfn.commandCalls(StartExecutionCommand).length;
  const bad = await handle(as(['operator'], { httpMethod: 'POST', path: '/api/v1/backup/recovery/managed', body: JSON.stringify({ ...body, instance_class: undefined }) }));
  expect(bad.statusCode).toBe(400);
  expect(JSON.parse(bad.body).error.fields).toEqual([expect.objectContaining({ field: 'body.instance_class' })]);
  expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(executions);
});

it('stores a schedule in DynamoDB and creates its EventBridge Scheduler schedule', async () => {
  const created = await handle(as(['admin'], { httpMethod: 'POST', path: '/api/v1/backup/schedules', body: JSON.stringify({ name: 'nightly', plan: 'shop', cron_expression: '0 2 * * *', time_zone: 'Europe/Paris' }) }));
  expect(created.statusCode).toBe(201);
  const schedule = JSON.parse(created.body) as { id: string };
  expect(scheduler.commandCalls(CreateScheduleCommand)[0]!.args[0].input).toMatchObject({ Name: schedule.id, ScheduleExpression: 'cron(0 2 * * ? *)', ScheduleExpressionTimezone: 'Europe/Paris' });
  const listed = JSON.parse((await handle(as(['viewer'], { path: '/api/v1/backup/schedules' }))).body) as { items: { name: string }[] };
  expect(listed.items.map((item) => item.name)).toEqual(['nightly']);
});

it('logs in through Cognito, and leaves user management to the user pool', async () => {
  const claims = Buffer.from(JSON.stringify({ sub: 'u1', email: 'admin@example.com', 'cognito:groups': ['admin'] })).toString('base64url');
  cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: { IdToken: `e30.${claims}.sig`, ExpiresIn: 3600 } });
  const login = await handle({ httpMethod: 'POST', path: '/api/v1/auth/login', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: 'admin@example.com', password: 'pw' }) });
  expect(JSON.parse(login.body)).toMatchObject({ token_type: 'bearer', user: { role: 'admin' } });
  expect((await handle(as(['admin'], { path: '/api/v1/users' }))).statusCode).toBe(404);
  const history = await handle(as(['viewer'], { path: '/api/v1/backup/history', queryStringParameters: { limit: '5' } }));
  expect(JSON.parse(history.body)).toEqual({ items: [], next_cursor: null });
});
