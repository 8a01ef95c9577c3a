/**
 * A managed point-in-time restore (RDS instance, Aurora cluster) through the restore state machine as
 * deployed, run by the local runner over the local runtime (folder repository, SQLite catalog), with the
 * RDS client mocked (aws-sdk-client-mock): the SDK Tasks' requests, the wait for the new instance, and
 * what the run records when RDS succeeds, refuses or leaves the instance failed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateDBInstanceCommand,
  DBInstanceNotFoundFault,
  DescribeDBInstancesCommand,
  InvalidRestoreFault,
  RDSClient,
  RDSServiceException,
  RestoreDBClusterToPointInTimeCommand,
  RestoreDBInstanceToPointInTimeCommand,
  type DBInstance,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { systemClock } from '../../src/ports/clock.js';
import { localSettings, type LocalSettings } from '../../src/runtime/local-settings.js';
import { LocalObjectStorage } from '../../src/storage/local-object-storage.js';
import { runLocalWorkflow } from '../../src/workflows/local-runner.js';
import { localWorkflowRuntime } from '../../src/workflows/local-workflow-runtime.js';
import { listWorkflowLeases } from '../../src/workflows/workflow-lease.js';
import type { WorkflowRuntime } from '../../src/workflows/workflow-runtime.js';

const rds = mockClient(RDSClient);
const client = new RDSClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' } });
let root: string;
let settings: LocalSettings;
let runtime: WorkflowRuntime;
let catalog: SqliteCatalog;
let badRequests = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'chrono-rds-restore-'));
  const env = { CHRONO_BACKUP_HOME: join(root, 'home'), BACKUP_LOG_LEVEL: 'error' };
  settings = localSettings(env);
  runtime = localWorkflowRuntime(settings, { env });
  await mkdir(settings.repository, { recursive: true });
  catalog = SqliteCatalog.open(settings.catalogPath);
});

afterEach(() => {
  rds.reset();
});

afterAll(async () => {
  rds.restore();
  await catalog?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const run = (input: unknown, executionName: string) => runLocalWorkflow('restore', input, { runtime, executionName, retryDelayMs: 1, awsClients: { rds: client } });
const statesEntered = (events: { type: string; state?: string }[]) => events.filter((event) => event.type === 'StateEntered').map((event) => event.state);
const instance = (identifier: string, status: string): DBInstance => ({
  DBInstanceIdentifier: identifier,
  DBInstanceStatus: status,
  ...(status === 'available' ? { Endpoint: { Address: `${identifier}.abc123.us-east-1.rds.amazonaws.com`, Port: 5432 } } : {}),
});
const sdkError = <T extends RDSServiceException>(Type: new (options: { message: string; $metadata: object }) => T, message: string): T => new Type({ message, $metadata: {} });
const leases = () => listWorkflowLeases(new LocalObjectStorage(settings.repository), systemClock);

describe('managed point-in-time restore through the restore state machine', () => {
  it('restores an RDS instance to a target time into a new instance, waits until it is available and records its endpoint', async () => {
    rds.on(RestoreDBInstanceToPointInTimeCommand).resolves({ DBInstance: instance('orders-restored', 'creating') });
    rds.on(DescribeDBInstancesCommand)
      .resolvesOnce({ DBInstances: [instance('orders-restored', 'creating')] })
      .resolvesOnce({ DBInstances: [instance('orders-restored', 'backing-up')] })
      .resolves({ DBInstances: [instance('orders-restored', 'available')] });

    const request = { rds: { sourceInstance: 'orders', target: 'orders-restored', targetTime: '2026-11-27T09:30:00+01:00', instanceClass: 'db.t4g.medium', subnetGroup: 'private-db', securityGroupIds: ['sg-0123456789abcdef0'], pollSeconds: 0 } };
    const result = await run(request, 'api-restore-rds1');

    expect(result.error).toBeUndefined();
    expect(result.status).toBe('succeeded');
    expect(statesEntered(result.events)).toEqual([
      'Prepare', 'RestoreKind', 'RestoreRdsInstance', 'StartRdsWait',
      'WaitForRds', 'DescribeRdsInstance', 'CountRdsPoll', 'RdsReady',
      'WaitForRds', 'DescribeRdsInstance', 'CountRdsPoll', 'RdsReady',
      'WaitForRds', 'DescribeRdsInstance', 'CountRdsPoll', 'RdsReady',
      'RecordRds', 'Notify', 'Release', 'Done',
    ]);
    // The request RDS received, in its own names; the time in UTC; never public; tagged with the run.
    const restores = rds.commandCalls(RestoreDBInstanceToPointInTimeCommand);
    expect(restores).toHaveLength(1);
    expect(restores[0]!.args[0].input).toEqual({
      SourceDBInstanceIdentifier: 'orders',
      TargetDBInstanceIdentifier: 'orders-restored',
      RestoreTime: new Date('2026-11-27T08:30:00.000Z'),
      DBInstanceClass: 'db.t4g.medium',
      DBSubnetGroupName: 'private-db',
      VpcSecurityGroupIds: ['sg-0123456789abcdef0'],
      PubliclyAccessible: false,
      Tags: [{ Key: 'chrono-backup:run', Value: 'api-restore-rds1' }],
    });
    expect(rds.commandCalls(DescribeDBInstancesCommand).map((call) => call.args[0].input)).toEqual(Array(3).fill({ DBInstanceIdentifier: 'orders-restored' }));
    expect(rds.commandCalls(RestoreDBClusterToPointInTimeCommand)).toHaveLength(0);

    const recorded = await catalog.getRun('api-restore-rds1');
    expect(recorded).toMatchObject({
      kind: 'restore',
      status: 'succeeded',
      summary: {
        workflow: 'restore',
        rds: { engine: 'instance', source: 'orders', target: 'orders-restored', targetTime: '2026-11-27T08:30:00.000Z' },
        results: {
          engine: 'instance', source: 'orders', target: 'orders-restored', instance: 'orders-restored', status: 'available', statusChecks: 3,
          endpoint: { Address: 'orders-restored.abc123.us-east-1.rds.amazonaws.com', Port: 5432 },
        },
      },
    });
    expect(await leases()).toEqual([]);
  });

  it('restores an Aurora cluster to its latest restorable time and creates its first instance with the cluster engine', async () => {
    rds.on(RestoreDBClusterToPointInTimeCommand).resolves({ DBCluster: { DBClusterIdentifier: 'ledger-copy', Engine: 'aurora-postgresql', Status: 'creating' } });
    rds.on(CreateDBInstanceCommand).resolves({ DBInstance: instance('ledger-copy-1', 'creating') });
    // Just created, the instance may not be listed yet: not found is retried.
    rds.on(DescribeDBInstancesCommand)
      .rejectsOnce(sdkError(DBInstanceNotFoundFault, 'DBInstance ledger-copy-1 not found.'))
      .resolves({ DBInstances: [instance('ledger-copy-1', 'available')] });

    const result = await run({ rds: { sourceCluster: 'ledger', target: 'ledger-copy', latest: true, instanceClass: 'db.serverless', pollSeconds: 0 } }, 'api-restore-rds2');

    expect(result.error).toBeUndefined();
    expect(statesEntered(result.events)).toEqual(['Prepare', 'RestoreKind', 'RestoreRdsCluster', 'CreateRdsClusterInstance', 'StartRdsWait', 'WaitForRds', 'DescribeRdsInstance', 'CountRdsPoll', 'RdsReady', 'RecordRds', 'Notify', 'Release', 'Done']);
    expect(result.events.filter((event) => event.type === 'StateRetried').map((event) => event.state)).toEqual(['DescribeRdsInstance']);
    expect(rds.commandCalls(RestoreDBClusterToPointInTimeCommand)[0]!.args[0].input).toEqual({
      SourceDBClusterIdentifier: 'ledger',
      DBClusterIdentifier: 'ledger-copy',
      UseLatestRestorableTime: true,
      RestoreType: 'full-copy',
      Tags: [{ Key: 'chrono-backup:run', Value: 'api-restore-rds2' }],
    });
    expect(rds.commandCalls(CreateDBInstanceCommand)[0]!.args[0].input).toEqual({
      DBInstanceIdentifier: 'ledger-copy-1',
      DBClusterIdentifier: 'ledger-copy',
      DBInstanceClass: 'db.serverless',
      Engine: 'aurora-postgresql',
      PubliclyAccessible: false,
      Tags: [{ Key: 'chrono-backup:run', Value: 'api-restore-rds2' }],
    });
    expect(await catalog.getRun('api-restore-rds2')).toMatchObject({ status: 'succeeded', summary: { rds: { engine: 'cluster', targetTime: 'latest' }, results: { instance: 'ledger-copy-1', targetTime: null } } });
  });

  it('a restore RDS refuses fails the run with the service error name and message, and releases the lease', async () => {
    rds.on(RestoreDBInstanceToPointInTimeCommand).rejects(sdkError(InvalidRestoreFault, 'The restore time is after the latest restorable time 2026-11-27T09:25:00Z.'));

    const result = await run({ rds: { sourceInstance: 'orders', target: 'orders-late', targetTime: '2026-11-27T09:29:00Z', pollSeconds: 0 } }, 'api-restore-rds3');

    expect(result.status).toBe('failed');
    expect(result.error).toEqual({ Error: 'Rds.InvalidRestoreException', Cause: 'The restore time is after the latest restorable time 2026-11-27T09:25:00Z.' });
    expect(statesEntered(result.events)).toEqual(['Prepare', 'RestoreKind', 'RestoreRdsInstance', 'RecordFailure', 'NotifyFailure', 'ReleaseAfterFailure', 'Failed']);
    expect(await catalog.getRun('api-restore-rds3')).toMatchObject({ status: 'failed', error: { code: 'workflow.Rds.InvalidRestoreException', message: expect.stringContaining('latest restorable time') } });
    expect(rds.commandCalls(DescribeDBInstancesCommand)).toHaveLength(0);
    expect(await leases()).toEqual([]);
  });

  it('throttling of the restore call is retried', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: {} });
    rds.on(RestoreDBInstanceToPointInTimeCommand).rejectsOnce(throttled).resolves({ DBInstance: instance('orders-t', 'creating') });
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [instance('orders-t', 'available')] });

    const result = await run({ rds: { sourceInstance: 'orders', target: 'orders-t', latest: true, pollSeconds: 0 } }, 'api-restore-rds4');

    expect(result.status).toBe('succeeded');
    // Only Rds.ThrottlingException is retried there: a second call means the name matched.
    expect(result.events.filter((event) => event.type === 'StateRetried').map((event) => event.state)).toEqual(['RestoreRdsInstance']);
    expect(rds.commandCalls(RestoreDBInstanceToPointInTimeCommand)).toHaveLength(2);
  });

  it('an instance RDS leaves in a failed status fails the run, naming the status', async () => {
    rds.on(RestoreDBInstanceToPointInTimeCommand).resolves({ DBInstance: instance('orders-bad', 'creating') });
    rds.on(DescribeDBInstancesCommand).resolvesOnce({ DBInstances: [instance('orders-bad', 'creating')] }).resolves({ DBInstances: [instance('orders-bad', 'incompatible-restore')] });

    const result = await run({ rds: { sourceInstance: 'orders', target: 'orders-bad', latest: true, pollSeconds: 0 } }, 'api-restore-rds5');

    expect(result.status).toBe('failed');
    expect(result.error?.Error).toBe('RdsRestoreFailed');
    expect(await catalog.getRun('api-restore-rds5')).toMatchObject({ status: 'failed', error: { code: 'workflow.RdsRestoreFailed', message: 'the restored instance orders-bad ended in status incompatible-restore' } });
  });

  it('stops waiting after maxPolls status checks and says the instance is left as it is', async () => {
    rds.on(RestoreDBInstanceToPointInTimeCommand).resolves({ DBInstance: instance('orders-slow', 'creating') });
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [instance('orders-slow', 'creating')] });

    const result = await run({ rds: { sourceInstance: 'orders', target: 'orders-slow', latest: true, pollSeconds: 0, maxPolls: 3 } }, 'api-restore-rds6');

    expect(result.error?.Error).toBe('RdsRestoreTimeout');
    expect(rds.commandCalls(DescribeDBInstancesCommand)).toHaveLength(3);
    expect(await catalog.getRun('api-restore-rds6')).toMatchObject({ status: 'failed', error: { message: 'the restored instance orders-slow was still creating after 3 status checks; it is left as it is' } });
  });

  it.each([
    [{ target: 'x-copy', latest: true }, 'rds.sourceInstance'],
    [{ sourceInstance: 'orders', sourceCluster: 'ledger', target: 'x-copy', latest: true }, 'rds.sourceInstance'],
    [{ sourceInstance: 'orders', target: 'orders', latest: true }, 'rds.target'],
    [{ sourceInstance: 'orders', target: 'bad--name', latest: true }, 'rds.target'],
    [{ sourceInstance: 'orders', target: 'x-copy' }, 'rds.targetTime'],
    [{ sourceInstance: 'orders', target: 'x-copy', targetTime: '2026-11-27 09:30' }, 'rds.targetTime'],
    [{ sourceInstance: 'orders', target: 'x-copy', targetTime: '2999-01-01T00:00:00Z' }, 'rds.targetTime'],
    [{ sourceCluster: 'ledger', target: 'x-copy', latest: true }, 'rds.instanceClass'],
    [{ sourceInstance: 'orders', target: 'x-copy', latest: true, securityGroupIds: ['default'] }, 'rds.securityGroupIds[0]'],
    [{ sourceInstance: 'orders', target: 'x-copy', latest: true, publiclyAccessible: true }, 'rds.publiclyAccessible'],
  ])('refuses a bad request before calling RDS (%j → %s)', async (rdsRequest, field) => {
    const name = `api-restore-bad-${(badRequests += 1)}`;
    const result = await run({ rds: rdsRequest }, name);

    expect(result.status).toBe('failed');
    expect(result.error?.Error).toBe('ValidationError');
    expect(result.error?.Cause).toContain(field);
    expect(statesEntered(result.events)[0]).toBe('Prepare');
    expect(statesEntered(result.events)).not.toContain('RestoreKind');
    expect(rds.calls()).toHaveLength(0);
    expect(await catalog.getRun(name)).toMatchObject({ status: 'failed', error: { code: 'workflow.ValidationError', message: expect.stringContaining(field) } });
  });
});
