import { describe, expect, test } from '@jest/globals';
import { ValidationError } from '../../src/domain/errors.js';
import { STAGES, resolveStageConfig, validateStageConfig, type StageConfig } from '../../infra/config/stages.js';

/** The ValidationError a call throws (fails the test when it does not throw one). */
function failure(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

const withChange = (change: Partial<StageConfig>): StageConfig => ({ ...STAGES.staging, ...change });

describe('stage settings', () => {
  test('every shipped stage is valid', () => {
    for (const config of Object.values(STAGES)) expect(() => validateStageConfig(config)).not.toThrow();
  });

  test('a missing or unknown stage names the context key and the choices', () => {
    expect(failure(() => resolveStageConfig(undefined)).message).toMatch(/^stage: .*dev, staging, prod.*-c stage=dev/);
    const unknown = failure(() => resolveStageConfig('qa'));
    expect(unknown.details).toEqual({ field: 'stage' });
    expect(unknown.message).toContain('"qa"');
  });

  test.each([
    [{ logRetentionDays: 10 }, 'stages.staging.logRetentionDays', /one of 1, 3, 5, 7/],
    [{ worker: { cpu: 1024, memoryMiB: 1024, ephemeralStorageGiB: 21 } }, 'stages.staging.worker.memoryMiB', /with cpu 1024, must be 2048–8192 MiB/],
    [{ worker: { cpu: 3000, memoryMiB: 4096, ephemeralStorageGiB: 21 } }, 'stages.staging.worker.cpu', /Fargate's CPU sizes/],
    [{ worker: { cpu: 1024, memoryMiB: 2048, ephemeralStorageGiB: 10 } }, 'stages.staging.worker.ephemeralStorageGiB', /from 21 to 200/],
    [{ alarms: { maxFailuresPerDay: 1, minSuccessRatePercent: 120, overdueHours: 24 } }, 'stages.staging.alarms.minSuccessRatePercent', /at most 100/],
    [{ alarms: { maxFailuresPerDay: 1, minSuccessRatePercent: 90, overdueHours: 36 } }, 'stages.staging.alarms.overdueHours', /from 1 to 24/],
    [{ archive: { prefix: 'archive', transitionDays: 30 } }, 'stages.staging.archive.prefix', /ending in "\/"/],
    [{ objectLock: { mode: 'governance' as const, days: 0 } }, 'stages.staging.objectLock.days', /from 1/],
    [{ allowedSourceCidrs: ['203.0.113.0/24', '10.0.0.300/8'] }, 'stages.staging.allowedSourceCidrs[1]', /CIDR/],
    [{ network: { kind: 'create' as const, maxAzs: 2, natGateways: 3 } }, 'stages.staging.network.natGateways', /from 1 to 2/],
    [{ network: { kind: 'import' as const, vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['eu-west-1a'], privateSubnetIds: [] } }, 'stages.staging.network.privateSubnetIds', /private subnet ids/],
  ])('a bad setting is refused with its name: %j', (change, field, problem) => {
    const error = failure(() => validateStageConfig(withChange(change as Partial<StageConfig>)));
    expect(error.details).toEqual({ field });
    expect(error.message).toMatch(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `));
    expect(error.message).toMatch(problem);
  });

  test('prod must retain its data', () => {
    expect(failure(() => validateStageConfig({ ...STAGES.prod, removalPolicy: 'destroy' })).details).toEqual({ field: 'stages.prod.removalPolicy' });
  });

  test('context overrides import a VPC, add an allow-list and a database, and are validated', () => {
    const config = resolveStageConfig('prod', {
      vpcId: 'vpc-0123456789abcdef0',
      privateSubnetIds: 'subnet-0123456789abcdef0, subnet-0123456789abcdef1',
      availabilityZones: 'eu-west-1a,eu-west-1b',
      allowedSourceCidrs: '203.0.113.0/24',
      databaseSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:chrono/db-AbCdEf',
      databaseSecurityGroupId: 'sg-0123456789abcdef0',
    });
    expect(config.network).toEqual({ kind: 'import', vpcId: 'vpc-0123456789abcdef0', privateSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'], availabilityZones: ['eu-west-1a', 'eu-west-1b'] });
    expect(config.allowedSourceCidrs).toEqual(['203.0.113.0/24']);
    expect(config.database).toEqual({ secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:chrono/db-AbCdEf', securityGroupId: 'sg-0123456789abcdef0', port: 5432 });
    expect(STAGES.prod.network.kind).toBe('create');

    expect(failure(() => resolveStageConfig('dev', { vpcId: 'vpc-123' })).details).toEqual({ field: 'stages.dev.network.vpcId' });
    expect(failure(() => resolveStageConfig('dev', { privateSubnetIds: 'subnet-0123456789abcdef0' })).details).toEqual({ field: 'vpcId' });
    expect(failure(() => resolveStageConfig('dev', { databaseSecretArn: 'not-an-arn' })).details).toEqual({ field: 'stages.dev.database.secretArn' });
    expect(failure(() => resolveStageConfig('dev', { databaseSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x', databasePort: '99999' })).details).toEqual({
      field: 'stages.dev.database.port',
    });
  });
});
