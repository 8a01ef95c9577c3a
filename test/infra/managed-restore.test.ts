import { describe, expect, test } from '@jest/globals';
import { resolveStageConfig } from '../../infra/config/stages.js';
import { actionsOf, referencedId, resourcesOf, roleStatements, synthStage, type CloudFormationTemplate } from './synth-stage.js';

/*
 * Managed point-in-time restores (statemachines/restore.asl.json's RDS branch): with sources named in
 * context, only the restore state machine's role gets RDS permissions, limited to those sources and to
 * new instances and clusters under the target prefix; without them, no role has any RDS action.
 */
const rdsActionsByMachine = (json: CloudFormationTemplate) =>
  Object.fromEntries(
    resourcesOf(json, 'AWS::StepFunctions::StateMachine').map(([, machine]) => [
      String(machine.StateMachineName),
      roleStatements(json, referencedId(machine.RoleArn)!).filter((statement) => actionsOf(statement).some((action) => action.startsWith('rds:'))),
    ]),
  );

/** An ARN as the template writes it (Fn::Join of partition, region, account) back to text. */
const arnText = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const ref = (value as { Ref?: string }).Ref;
  if (ref !== undefined) return `<${ref.replace(/^AWS::/, '')}>`;
  const [separator, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return parts.map(arnText).join(separator);
};

describe('managed restore permissions', () => {
  test('only the restore role may restore the named sources, into names under the prefix', () => {
    const { json } = synthStage({ stage: 'dev', rdsInstances: 'orders', rdsClusters: 'ledger', rdsTargetPrefix: 'drill-' });
    const byMachine = rdsActionsByMachine(json);
    for (const [name, statements] of Object.entries(byMachine)) if (name !== 'chrono-backup-dev-restore') expect({ name, statements }).toEqual({ name, statements: [] });
    const grants = Object.fromEntries(byMachine['chrono-backup-dev-restore']!.map((statement) => [actionsOf(statement).join(','), [statement.Resource].flat().map(arnText).sort()]));
    const arn = (resource: string) => `arn:<Partition>:rds:<Region>:<AccountId>:${resource}`;
    expect(grants).toEqual({
      'rds:RestoreDBInstanceToPointInTime': [arn('db:drill-*'), arn('db:orders'), arn('og:*'), arn('pg:*'), arn('subgrp:*')],
      'rds:RestoreDBClusterToPointInTime': [arn('cluster-pg:*'), arn('cluster:drill-*'), arn('cluster:ledger'), arn('og:*'), arn('subgrp:*')],
      'rds:CreateDBInstance': [arn('cluster:drill-*'), arn('db:drill-*'), arn('og:*'), arn('pg:*'), arn('subgrp:*')],
      'rds:AddTagsToResource': [arn('cluster:drill-*'), arn('db:drill-*')],
      'rds:DescribeDBInstances': [arn('db:drill-*')],
    });
  });

  test('without managed sources no role has an RDS action', () => {
    const { json } = synthStage({ stage: 'dev' });
    expect(Object.values(rdsActionsByMachine(json)).flat()).toEqual([]);
  });

  test.each([
    [{ rdsTargetPrefix: 'x-' }, 'context rdsTargetPrefix'],
    [{ rdsInstances: 'bad_name' }, 'stages.dev.managedRestore.instances[0]'],
    [{ rdsClusters: 'ledger', rdsTargetPrefix: 'le' }, 'stages.dev.managedRestore.targetPrefix'],
    [{ rdsInstances: 'chrono-restore-orders' }, 'stages.dev.managedRestore.targetPrefix'],
    [{ rdsInstances: ',' }, 'stages.dev.managedRestore'],
  ])('a bad setting is named (%j)', (overrides, named) => {
    expect(() => resolveStageConfig('dev', overrides)).toThrow(named);
  });
});
