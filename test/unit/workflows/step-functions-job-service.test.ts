/** API jobs as Step Functions executions (aws-sdk-client-mock: Step Functions cannot run here), with run records in a real catalog. */
import { afterEach, beforeEach, expect, it } from '@jest/globals';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';

import { SqliteCatalog } from '../../../src/catalog/sqlite-catalog.js';
import { StepFunctionsJobService } from '../../../src/workflows/step-functions-job-service.js';

const sfn = mockClient(SFNClient);
let catalog: SqliteCatalog;
const machines = { backup: 'arn:aws:states:eu-west-1:111122223333:stateMachine:backup', restore: 'arn:aws:states:eu-west-1:111122223333:stateMachine:restore', verify: 'arn:aws:states:eu-west-1:111122223333:stateMachine:verify' };
const service = () => new StepFunctionsJobService({ client: new SFNClient({ region: 'eu-west-1' }), catalog, clock: { now: () => new Date('2026-01-01T00:00:00Z') }, stateMachines: machines });

beforeEach(() => {
  catalog = SqliteCatalog.open(':memory:');
});
afterEach(async () => {
  sfn.reset();
  await catalog.close();
});

it('starts the backup workflow with the job id as execution name and the input prepare parses', async () => {
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn', startDate: new Date() });
  const job = await service().startBackup({ plan: 'shop', type: 'database_only', verify: true, requestedBy: 'ops@example.com' });
  expect(job).toMatchObject({ id: expect.stringMatching(/^api-backup-[0-9a-f]{16}$/), kind: 'backup', status: 'queued' });
  const input = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
  expect(input).toMatchObject({ stateMachineArn: machines.backup, name: job.id });
  expect(JSON.parse(input.input!)).toEqual({ plan: 'shop', type: 'database_only', requestedBy: 'ops@example.com' });
});

it('reports a job from its execution until the run is recorded, then from the run record', async () => {
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn' });
  const job = await service().startVerify({ backupId: 'full_20260101_000000', level: 'read', requestedBy: 'ops@example.com' });
  sfn.on(DescribeExecutionCommand).rejects(Object.assign(new Error('no such execution'), { name: 'ExecutionDoesNotExist' }));
  // Only the verify machine is asked: the job id names its workflow.
  sfn.on(DescribeExecutionCommand, { executionArn: `arn:aws:states:eu-west-1:111122223333:execution:verify:${job.id}` }).resolves({ status: 'RUNNING', startDate: new Date('2026-01-01T00:00:01Z'), input: JSON.stringify({ requestedBy: 'ops@example.com' }) });
  await expect(service().getJob(job.id)).resolves.toMatchObject({ status: 'queued', kind: 'verify', requestedBy: 'ops@example.com' });
  await catalog.startRun({ id: job.id, kind: 'verify', repository: 'r', status: 'running', startedAt: '2026-01-01T00:00:02.000Z' });
  await catalog.finishRun(job.id, { status: 'failed', finishedAt: '2026-01-01T00:01:00.000Z', error: { code: 'integrity.blob_damaged', message: 'a pack is damaged' } });
  await expect(service().getJob(job.id)).resolves.toMatchObject({ status: 'failed', runId: job.id, error: { code: 'integrity.blob_damaged' } });
  expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(1);
  await expect(service().getJob('api-verify-0000000000000000')).resolves.toBeUndefined();
  await expect(service().getJob('job-0000000000000000')).resolves.toBeUndefined();
});

it('refuses what the AWS workflows cannot do, naming the field, and reports Step Functions outages as retryable', async () => {
  await expect(service().startBackup({ plan: 'shop', type: 'full', verify: false, storageBackendId: 3, requestedBy: 'x' })).rejects.toMatchObject({ name: 'NotFoundError', details: { field: 'body.storage_backend_id' } });
  await expect(service().startRestore({ backupId: 'b', overwrite: false, validate: false, targetPostgres: 'postgres://db/x', requestedBy: 'x' })).rejects.toMatchObject({ name: 'ValidationError' });
  sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
  await expect(service().startRestore({ backupId: 'b', overwrite: false, validate: false, targetDirectory: '/restore', requestedBy: 'x' })).rejects.toMatchObject({ code: 'storage.workflow_unavailable', retryable: true });
});
