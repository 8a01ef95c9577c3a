import { expect, test } from '@jest/globals';
import { onlyResource, resourcesOf, synthStage } from './synth-stage.js';

/*
 * A stage pointed at an existing VPC and database, with a source-IP allow-list, all from context —
 * the setup docs/DEPLOY.md describes. Synthesizes offline (no VPC lookup) and passes cdk-nag.
 */
test('an imported VPC, database secret and IP allow-list synthesize offline into the expected resources', () => {
  const { json } = synthStage({
    stage: 'staging',
    vpcId: 'vpc-0123456789abcdef0',
    privateSubnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
    availabilityZones: 'eu-west-1a,eu-west-1b',
    allowedSourceCidrs: '203.0.113.0/24,2001:db8::/32',
    databaseSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:chrono/db-AbCdEf',
    databaseSecurityGroupId: 'sg-0123456789abcdef0',
    databasePort: '6432',
  });
  expect(resourcesOf(json, 'AWS::EC2::VPC')).toHaveLength(0);
  const backup = resourcesOf(json, 'AWS::StepFunctions::StateMachine').find(([, machine]) => String(machine.StateMachineName).endsWith('-backup'))![1];
  expect((backup.DefinitionSubstitutions as Record<string, unknown>).SubnetIds).toBe('subnet-0123456789abcdef0,subnet-0123456789abcdef1');

  const [, ingress] = onlyResource(json, 'AWS::EC2::SecurityGroupIngress');
  expect(ingress).toMatchObject({ GroupId: 'sg-0123456789abcdef0', FromPort: 6432, ToPort: 6432, IpProtocol: 'tcp' });

  const [, task] = onlyResource(json, 'AWS::ECS::TaskDefinition');
  const [container] = task.ContainerDefinitions as { Secrets: { Name: string; ValueFrom: string }[] }[];
  expect(container!.Secrets).toEqual([{ Name: 'PGPASSWORD', ValueFrom: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:chrono/db-AbCdEf:password::' }]);

  const [, api] = onlyResource(json, 'AWS::ApiGateway::RestApi');
  const statements = (api.Policy as { Statement: { Effect: string; Condition?: unknown }[] }).Statement;
  expect(statements.map((statement) => statement.Effect)).toEqual(['Allow', 'Deny']);
  expect(statements[1]!.Condition).toEqual({ NotIpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:db8::/32'] } });
});
