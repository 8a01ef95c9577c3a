/**
 * `POST /api/v1/backup/recovery/managed` on the local server: the request becomes the restore state
 * machine's managed branch, run by the local runner with the server's AWS settings; RDS is mocked
 * (aws-sdk-client-mock), everything else is real. A bad request is a 400 naming the API's field.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DescribeDBInstancesCommand, InvalidRestoreFault, RDSClient, RestoreDBInstanceToPointInTimeCommand } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { ADMIN_EMAIL, ADMIN_PASSWORD, ApiTestServer } from '../helpers/api-server.js';

const rds = mockClient(RDSClient);
let server: ApiTestServer;
let operator: string;
let viewer: string;

beforeAll(async () => {
  server = await ApiTestServer.start({ AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDMANAGED', AWS_SECRET_ACCESS_KEY: 'managed-secret-value' });
  const tokens = await server.tokensByRole(await server.login(ADMIN_EMAIL, ADMIN_PASSWORD));
  operator = tokens.operator;
  viewer = tokens.viewer;
}, 60_000);

afterAll(async () => {
  rds.restore();
  await server?.stop();
});

describe('managed point-in-time restore through the API', () => {
  it('an operator restores an RDS instance to a time into a new one, and the job reports the endpoint', async () => {
    rds.reset();
    rds.on(RestoreDBInstanceToPointInTimeCommand).resolves({ DBInstance: { DBInstanceIdentifier: 'orders-drill', DBInstanceStatus: 'creating' } });
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: 'orders-drill', DBInstanceStatus: 'available', Endpoint: { Address: 'orders-drill.x.eu-west-1.rds.amazonaws.com', Port: 5432 } }] });

    const started = await server.request('POST', '/api/v1/backup/recovery/managed', {
      token: operator,
      body: { source_instance: 'orders', target_identifier: 'orders-drill', target_time: '2026-11-28T06:00:00Z', instance_class: 'db.t4g.small', poll_seconds: 0 },
    });
    expect(started.status).toBe(202);
    const job = await server.waitForJob(operator, started.body.job_id);

    expect(job.status).toBe('succeeded');
    expect(job.run_id).toMatch(/^api-restore-/);
    expect(job.result).toMatchObject({ run_id: job.run_id, target: 'orders-drill', status: 'available', endpoint: { Address: 'orders-drill.x.eu-west-1.rds.amazonaws.com', Port: 5432 } });
    expect(rds.commandCalls(RestoreDBInstanceToPointInTimeCommand)[0]!.args[0].input).toMatchObject({ SourceDBInstanceIdentifier: 'orders', RestoreTime: new Date('2026-11-28T06:00:00Z'), DBInstanceClass: 'db.t4g.small' });
    // The restore is in the recovery history, as the run of the job.
    const history = await server.request('GET', '/api/v1/backup/recovery/history', { token: viewer });
    expect(history.body.items.map((item: { run_id: string }) => item.run_id)).toContain(job.result.run_id);
    // The AWS secret given to the server is in no log line.
    expect(server.logLines.join('\n')).not.toContain('managed-secret-value');
  });

  it('a restore RDS refuses ends the job failed with RDS\'s reason', async () => {
    rds.reset();
    rds.on(RestoreDBInstanceToPointInTimeCommand).rejects(new InvalidRestoreFault({ message: 'Automated backups are not enabled for this instance.', $metadata: {} }));
    const started = await server.request('POST', '/api/v1/backup/recovery/managed', { token: operator, body: { source_instance: 'orders', target_identifier: 'orders-drill2', latest: true, poll_seconds: 0 } });
    expect(started.status).toBe(202);
    const job = await server.waitForJob(operator, started.body.job_id);
    expect(job.status).toBe('failed');
    expect(job.error).toEqual({ code: 'workflow.Rds.InvalidRestoreException', message: 'Automated backups are not enabled for this instance.' });
  });

  it.each([
    [{ target_identifier: 'x-copy', latest: true }, 'body.source_instance'],
    [{ source_instance: 'orders', source_cluster: 'ledger', target_identifier: 'x-copy', latest: true }, 'body.source_instance'],
    [{ source_instance: 'orders', target_identifier: 'x-copy', target_time: 'yesterday' }, 'body.target_time'],
    [{ source_instance: 'orders', target_identifier: 'x-copy', target_time: '2999-01-01T00:00:00Z' }, 'body.target_time'],
    [{ source_cluster: 'ledger', target_identifier: 'x-copy', latest: true }, 'body.instance_class'],
    [{ source_instance: 'orders', target_identifier: 'x-copy', latest: true, security_group_ids: ['open'] }, 'body.security_group_ids[0]'],
    [{ source_instance: 'orders', latest: true }, 'body.target_identifier'],
    [{ source_instance: 'orders', target_identifier: 'x-copy', latest: true, publicly_accessible: true }, 'body.publicly_accessible'],
  ])('%j is a 400 naming %s', async (body, field) => {
    rds.reset();
    const response = await server.request('POST', '/api/v1/backup/recovery/managed', { token: operator, body });
    expect(response.status).toBe(400);
    expect(response.body.error.fields.map((each: { field: string }) => each.field)).toContain(field);
    expect(rds.calls()).toHaveLength(0);
  });

  it('a viewer may not start one', async () => {
    const response = await server.request('POST', '/api/v1/backup/recovery/managed', { token: viewer, body: { source_instance: 'orders', target_identifier: 'x-copy', latest: true } });
    expect(response.status).toBe(403);
  });
});
