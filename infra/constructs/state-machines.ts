import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Arn, ArnFormat, Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  LAMBDA_FUNCTIONS,
  STATE_MACHINES,
  SUBSTITUTION_KEYS,
  type DefinitionSubstitutions,
  type FunctionKey,
  type WorkflowName,
} from '../../src/workflows/substitutions.js';
import { acknowledgeTracing, acknowledgeWildcardResource } from './acknowledgements.js';
import type { ChronoFunction } from './workflow-functions.js';
import { encryptedLogGroup, type LogSettings } from './log-groups.js';
import type { WorkerTask } from './worker-task.js';
import type { StageConfig } from '../config/stages.js';

export interface StateMachinesProps {
  readonly repositoryRoot: string;
  readonly stage: string;
  readonly functions: Record<FunctionKey, ChronoFunction>;
  readonly worker: WorkerTask;
  readonly workerSubnetIds: readonly string[];
  readonly logs: LogSettings;
  /** RDS instances and Aurora clusters the restore workflow may restore to a point in time (none: no RDS permission). */
  readonly managedRestore?: StageConfig['managedRestore'];
}

/**
 * The five workflows, loaded from statemachines/*.asl.json — the same files the local runner executes —
 * with `definitionSubstitutions` for every `${Key}` of src/workflows/substitutions.ts. Each role may
 * invoke only the functions its definition names, and run only the worker task.
 */
export class StateMachines extends Construct {
  readonly machines: Record<WorkflowName, sfn.StateMachine>;
  readonly substitutions: DefinitionSubstitutions;

  constructor(scope: Construct, id: string, props: StateMachinesProps) {
    super(scope, id);
    this.substitutions = substitutionsFor(props);
    const names = Object.keys(STATE_MACHINES) as WorkflowName[];
    this.machines = Object.fromEntries(names.map((name) => [name, this.machine(name, props)])) as Record<WorkflowName, sfn.StateMachine>;
  }

  private machine(name: WorkflowName, props: StateMachinesProps): sfn.StateMachine {
    const { file, keys } = STATE_MACHINES[name];
    const definition = readFileSync(path.join(props.repositoryRoot, 'statemachines', file), 'utf8');
    const used = keys as readonly string[];
    const machine = new sfn.StateMachine(this, name, {
      stateMachineName: `chrono-backup-${props.stage}-${name}`,
      definitionBody: sfn.DefinitionBody.fromString(definition),
      definitionSubstitutions: Object.fromEntries(Object.entries(this.substitutions).filter(([key]) => used.includes(key))),
      logs: { destination: encryptedLogGroup(this, `${name}Logs`, props.logs), level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
      timeout: Duration.hours(13),
    });
    const invoked = (Object.keys(LAMBDA_FUNCTIONS) as FunctionKey[]).filter((key) => used.includes(key));
    machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: invoked.map((key) => props.functions[key].function.functionArn) }));
    if (used.includes('WorkerTaskDefinitionArn')) this.allowWorker(machine, props.worker);
    if (name === 'restore' && props.managedRestore) this.allowManagedRestore(machine, props.managedRestore);
    acknowledgeTracing(machine.role, ', nor do the CloudWatch Logs delivery actions of Step Functions logging');
    return machine;
  }

  /** `ecs:runTask.sync`: run and watch the worker task through the managed EventBridge rule. */
  private allowWorker(machine: sfn.StateMachine, worker: WorkerTask): void {
    const stack = Stack.of(this);
    const cluster = worker.cluster;
    machine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:RunTask'],
        resources: [worker.taskDefinition.taskDefinitionArn],
        conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
      }),
    );
    const tasks = stack.formatArn({ service: 'ecs', resource: 'task', resourceName: `${cluster.clusterName}/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['ecs:StopTask', 'ecs:DescribeTasks'], resources: [tasks] }));
    // The definitions run the task with PropagateTags, which tags it at creation: RunTask needs TagResource for that.
    machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['ecs:TagResource'], resources: [tasks], conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } } }));
    const roles = [worker.taskDefinition.taskRole.roleArn, worker.taskDefinition.obtainExecutionRole().roleArn];
    machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['iam:PassRole'], resources: roles, conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } } }));
    const rule = Arn.format({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForECSTaskRule' }, stack);
    machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'], resources: [rule] }));
    acknowledgeWildcardResource(
      machine.role,
      `arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${stack.getLogicalId(cluster.node.defaultChild as CfnElement)}>/*`,
      'Task ids are assigned at run time; StopTask/DescribeTasks are limited to tasks of the worker cluster.',
    );
  }
  /**
   * The AWS SDK Tasks of a managed restore (statemachines/restore.asl.json): restore the named sources,
   * into new instances and clusters under the target prefix only, create a restored cluster's first
   * instance, tag what is created, and watch its status. Restoring also touches the subnet, option and
   * parameter groups the new instance gets; those are named at restore time, hence their wildcards.
   */
  private allowManagedRestore(machine: sfn.StateMachine, managed: NonNullable<StageConfig['managedRestore']>): void {
    const stack = Stack.of(this);
    const rds = (resource: string, resourceName: string) => stack.formatArn({ service: 'rds', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const newInstances = rds('db', `${managed.targetPrefix}*`);
    const newClusters = rds('cluster', `${managed.targetPrefix}*`);
    const groups = [rds('subgrp', '*'), rds('og', '*'), rds('pg', '*')];
    const add = (actions: string[], resources: string[]) => machine.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
    if (managed.instances.length > 0) {
      add(['rds:RestoreDBInstanceToPointInTime'], [...managed.instances.map((id) => rds('db', id)), newInstances, ...groups]);
    }
    if (managed.clusters.length > 0) {
      add(['rds:RestoreDBClusterToPointInTime'], [...managed.clusters.map((id) => rds('cluster', id)), newClusters, rds('subgrp', '*'), rds('cluster-pg', '*'), rds('og', '*')]);
      add(['rds:CreateDBInstance'], [newInstances, newClusters, ...groups]);
    }
    add(['rds:AddTagsToResource'], managed.clusters.length > 0 ? [newInstances, newClusters] : [newInstances]);
    add(['rds:DescribeDBInstances'], [newInstances]);
    const clusters = managed.clusters.length > 0;
    const acknowledge = (resources: string[], name: string, reason: string) => {
      for (const resource of resources) acknowledgeWildcardResource(machine.role, `arn:<AWS::Partition>:rds:<AWS::Region>:<AWS::AccountId>:${resource}:${name}`, reason);
    };
    acknowledge(clusters ? ['db', 'cluster'] : ['db'], `${managed.targetPrefix}*`, 'A restore creates a new instance or cluster named per request; the prefix is what limits them.');
    acknowledge(['subgrp', 'og', 'pg', ...(clusters ? ['cluster-pg'] : [])], '*', 'Subnet, option and parameter groups are chosen per restore; RDS checks them against the instance it creates.');
  }
}

function substitutionsFor(props: StateMachinesProps): DefinitionSubstitutions {
  const functionArns = Object.fromEntries((Object.keys(LAMBDA_FUNCTIONS) as FunctionKey[]).map((key) => [key, props.functions[key].function.functionArn]));
  const values: Record<string, string> = {
    ...functionArns,
    ClusterArn: props.worker.cluster.clusterArn,
    WorkerTaskDefinitionArn: props.worker.taskDefinition.taskDefinitionArn,
    WorkerContainerName: props.worker.container.containerName,
    SubnetIds: props.workerSubnetIds.join(','),
    SecurityGroupIds: props.worker.securityGroup.securityGroupId,
  };
  const missing = SUBSTITUTION_KEYS.filter((key) => values[key] === undefined);
  const extra = Object.keys(values).filter((key) => !(SUBSTITUTION_KEYS as readonly string[]).includes(key));
  if (missing.length > 0 || extra.length > 0) throw new Error(`definitionSubstitutions out of step with src/workflows/substitutions.ts: missing ${missing.join(', ') || '-'}, unknown ${extra.join(', ') || '-'}`);
  return values as DefinitionSubstitutions;
}
