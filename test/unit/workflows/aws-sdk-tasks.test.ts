import { describe, expect, it } from '@jest/globals';
import { DBInstanceNotFoundFault, PointInTimeRestoreNotEnabledFault } from '@aws-sdk/client-rds';
import { fromSdkResponse, rdsClientConfig, stepFunctionsError, toSdkRequest } from '../../../src/workflows/aws-sdk-tasks.js';

describe('the local runner\'s AWS SDK Tasks speak Step Functions\' names', () => {
  it('turns a request into the JavaScript SDK\'s names, with timestamps as dates', () => {
    expect(toSdkRequest({ SourceDbInstanceIdentifier: 'a', DbSubnetGroupName: 'g', RestoreTime: '2026-11-27T08:30:00.000Z', MultiAZ: true, Tags: [{ Key: 'k', Value: 'DbX' }] })).toEqual({
      SourceDBInstanceIdentifier: 'a', DBSubnetGroupName: 'g', RestoreTime: new Date('2026-11-27T08:30:00.000Z'), MultiAZ: true, Tags: [{ Key: 'k', Value: 'DbX' }],
    });
  });

  it('turns a response into Step Functions\' names', () => {
    expect(fromSdkResponse({ DBInstances: [{ DBInstanceStatus: 'available', DBSubnetGroup: { DBSubnetGroupName: 'g' }, MultiAZ: false }] })).toEqual({
      DbInstances: [{ DbInstanceStatus: 'available', DbSubnetGroup: { DbSubnetGroupName: 'g' }, MultiAZ: false }],
    });
  });

  it('names errors as a Catch sees them', () => {
    expect(stepFunctionsError('rds', new DBInstanceNotFoundFault({ message: 'gone', $metadata: {} }))).toMatchObject({ name: 'Rds.DbInstanceNotFoundException', message: 'gone' });
    expect(stepFunctionsError('rds', new PointInTimeRestoreNotEnabledFault({ message: 'off', $metadata: {} })).name).toBe('Rds.PointInTimeRestoreNotEnabledException');
    expect(stepFunctionsError('rds', Object.assign(new Error('slow down'), { name: 'Throttling' })).name).toBe('Rds.ThrottlingException');
  });

  it('builds a client from the given environment, not the process\'s', () => {
    expect(rdsClientConfig({ AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret', CHRONO_BACKUP_RDS_ENDPOINT: 'http://127.0.0.1:9' })).toEqual({
      region: 'eu-west-1', credentials: { accessKeyId: 'id', secretAccessKey: 'secret' }, endpoint: 'http://127.0.0.1:9',
    });
    expect(rdsClientConfig({})).toEqual({});
  });
});
