import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface ProjectKeyProps {
  readonly stage: string;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The project's customer managed KMS key: it encrypts the backup bucket, the catalog table, the alarm
 * topic and every log group, and wraps the repository master keys. Rotation is on. The key policy lets
 * the account administer it through IAM (the AWS default statement) and lets exactly two services use it
 * directly: CloudWatch Logs, only for this account's log groups, and CloudWatch alarms, only to publish
 * to the encrypted topic. Compute roles get their rights in IAM (see access.ts), never here.
 */
export class ProjectKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: ProjectKeyProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      alias: `alias/chrono-backup-${props.stage}`,
      description: `Chrono Backup ${props.stage}: repository master keys, bucket, catalog, topic and logs`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*` } },
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
  }
}
