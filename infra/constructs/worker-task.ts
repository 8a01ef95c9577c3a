import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stages.js';
import { acknowledgeWildcardResource } from './acknowledgements.js';
import { ACCESS_PROFILES, grantProfile, type DataStores } from './access.js';
import { encryptedLogGroup, type LogSettings } from './log-groups.js';
import { WORKER_DOCKERFILE, WORKER_IMAGE_CONTEXT } from './worker-image.js';

/** The container's name in the task definition (the state machines override its environment). */
export const WORKER_CONTAINER_NAME = 'worker';

export interface WorkerTaskProps {
  readonly config: StageConfig;
  readonly vpc: ec2.IVpc;
  readonly stores: DataStores;
  readonly logs: LogSettings;
  readonly repositoryRoot: string;
  /** Plain (non-secret) environment shared with the Lambdas. */
  readonly environment: Record<string, string>;
}

/**
 * The ECS cluster and the Fargate task definition of the streaming worker. The image is a
 * `ContainerImage.fromAsset` of containers/worker/Dockerfile: synth only stages the build context; the
 * image is built and pushed by `cdk deploy` (which needs Docker there, not here). The task role gets
 * exactly the worker's access profile; the database password comes from Secrets Manager as a task
 * secret, never as plain environment.
 */
export class WorkerTask extends Construct {
  readonly cluster: ecs.Cluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: WorkerTaskProps) {
    super(scope, id);
    const { config } = props;
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: props.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: config.worker.cpu,
      memoryLimitMiB: config.worker.memoryMiB,
      ephemeralStorageGiB: config.worker.ephemeralStorageGiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const image = ecs.ContainerImage.fromAsset(props.repositoryRoot, {
      file: WORKER_DOCKERFILE,
      exclude: ['*', ...WORKER_IMAGE_CONTEXT.map((entry) => `!${entry}`)],
    });
    const database = config.database;
    this.container = this.taskDefinition.addContainer(WORKER_CONTAINER_NAME, {
      containerName: WORKER_CONTAINER_NAME,
      image,
      essential: true,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'worker', logGroup: encryptedLogGroup(this, 'Logs', props.logs) }),
      environment: props.environment,
      ...(database
        ? { secrets: { PGPASSWORD: ecs.Secret.fromSecretsManager(secretsmanager.Secret.fromSecretCompleteArn(this, 'DatabaseSecret', database.secretArn), 'password') } }
        : {}),
    });
    grantProfile(this.taskDefinition.taskRole, props.stores, ACCESS_PROFILES.worker);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Chrono Backup worker: no inbound; outbound to the sources and AWS APIs',
      allowAllOutbound: true,
    });
    if (database?.securityGroupId) {
      const databaseGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'DatabaseSecurityGroup', database.securityGroupId, { mutable: true });
      databaseGroup.addIngressRule(this.securityGroup, ec2.Port.tcp(database.port), 'Chrono Backup worker');
    }

    acknowledgeWildcardResource(this.taskDefinition.obtainExecutionRole(), '*', 'ecr:GetAuthorizationToken (pulling the worker image) supports no resource-level permissions.');
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds only resource names (bucket, table, key ARN); secrets come from Secrets Manager task secrets.',
    });
  }
}
