import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export interface LogSettings {
  readonly key: kms.IKey;
  readonly retentionDays: number;
  readonly removalPolicy: RemovalPolicy;
}

/** A log group encrypted with the project key and kept for the stage's retention. */
export function encryptedLogGroup(scope: Construct, id: string, settings: LogSettings): logs.LogGroup {
  return new logs.LogGroup(scope, id, {
    encryptionKey: settings.key,
    retention: settings.retentionDays as logs.RetentionDays,
    removalPolicy: settings.removalPolicy,
  });
}
