import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stages.js';

export interface BackupBucketProps {
  readonly config: StageConfig;
  readonly key: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
  /** Where S3 server access logs go. */
  readonly accessLogs: s3.IBucket;
}

/**
 * The bucket that holds the backup repositories. Versioned (an overwritten or deleted object stays
 * recoverable for `noncurrentVersionDays`), SSE-KMS with the project key and an S3 Bucket Key (one KMS
 * call per bucket key, not per object: this is what keeps KMS requests negligible with 16 MiB packs),
 * TLS only, no public access. Repositories under the archive prefix move to Glacier Instant Retrieval,
 * which still serves ranged reads in milliseconds, so restore and verify work unchanged. Object Lock
 * (default retention) when the stage asks for it.
 */
export class BackupBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: BackupBucketProps) {
    super(scope, id);
    const { config } = props;
    const lock = config.objectLock;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: false,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'backup-bucket/',
      ...(lock
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention:
              lock.mode === 'compliance' ? s3.ObjectLockRetention.compliance(Duration.days(lock.days)) : s3.ObjectLockRetention.governance(Duration.days(lock.days)),
          }
        : {}),
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(2) },
        { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(config.noncurrentVersionDays), expiredObjectDeleteMarker: true },
        {
          id: 'archive-repositories',
          prefix: config.archive.prefix,
          transitions: [{ storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(config.archive.transitionDays) }],
        },
      ],
    });
  }
}
