import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { WORKFLOW_LEASE_PREFIX } from '../../src/workflows/workflow-lease.js';
import { acknowledgeWildcardResource, arnToken } from './acknowledgements.js';

/*
 * What each compute role may do with the data stores, as exact IAM action names (never `s3:*` or
 * `s3:Get*`): one table, so the stack grants exactly this and the template tests compare each role's
 * policy with it. The per-entry needs come from the workflow handlers (notes of functions/*.ts).
 *
 * DynamoDB transactions have no IAM action of their own: TransactWriteItems is authorized per item
 * (PutItem, UpdateItem, DeleteItem, ConditionCheckItem).
 */

export type S3Action = 's3:GetObject' | 's3:PutObject' | 's3:DeleteObject' | 's3:AbortMultipartUpload' | 's3:ListBucket';
export type DynamoAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:Query'
  | 'dynamodb:BatchWriteItem'
  | 'dynamodb:ConditionCheckItem';
/** Direct KMS calls of the key provider (wrapping the repository master key). */
export type RepositoryKeyAction = 'kms:GenerateDataKey' | 'kms:Decrypt';

export interface AccessProfile {
  /** Object actions on the backup bucket, optionally limited to a key prefix. */
  readonly s3?: { readonly actions: readonly S3Action[]; readonly prefix?: string };
  readonly dynamodb?: readonly DynamoAction[];
  readonly repositoryKey?: readonly RepositoryKeyAction[];
  /** Creates and decrypts the audit chain's key (kept KMS-encrypted in the catalog table). */
  readonly auditKey?: boolean;
}

const REPOSITORY_WRITE: readonly S3Action[] = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListBucket'];
const RUN_RECORDS: readonly DynamoAction[] = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'];

/** The access of each workflow Lambda, by its entry file's base name, and of the worker task. */
export const ACCESS_PROFILES = {
  prepare: { s3: { actions: REPOSITORY_WRITE }, dynamodb: RUN_RECORDS, repositoryKey: ['kms:Decrypt', 'kms:GenerateDataKey'] },
  record: { dynamodb: RUN_RECORDS },
  'record-failure': { dynamodb: RUN_RECORDS },
  verify: { s3: { actions: REPOSITORY_WRITE }, dynamodb: RUN_RECORDS, repositoryKey: ['kms:Decrypt'] },
  replicate: { s3: { actions: REPOSITORY_WRITE }, dynamodb: RUN_RECORDS, repositoryKey: ['kms:Decrypt'] },
  retention: {
    s3: { actions: REPOSITORY_WRITE },
    dynamodb: [...RUN_RECORDS, 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
    repositoryKey: ['kms:Decrypt'],
  },
  notify: { dynamodb: ['dynamodb:GetItem', 'dynamodb:Query'] },
  release: { s3: { actions: ['s3:DeleteObject'], prefix: WORKFLOW_LEASE_PREFIX } },
  worker: { s3: { actions: REPOSITORY_WRITE }, dynamodb: RUN_RECORDS, repositoryKey: ['kms:Decrypt', 'kms:GenerateDataKey'] },
  api: {
    s3: { actions: REPOSITORY_WRITE },
    dynamodb: [...RUN_RECORDS, 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
    repositoryKey: ['kms:Decrypt', 'kms:GenerateDataKey'],
    auditKey: true,
  },
} as const satisfies Record<string, AccessProfile>;

export type ProfileName = keyof typeof ACCESS_PROFILES;

export interface DataStores {
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  readonly key: kms.IKey;
}

/**
 * Grants a profile: the S3 and DynamoDB actions, the KMS actions those services need on the project key
 * (only through that service, `kms:ViaService`), and the key provider's direct calls, limited to
 * requests whose encryption context names nothing but the repository and slot.
 */
export function grantProfile(role: iam.IRole, stores: DataStores, profile: AccessProfile): void {
  const region = Stack.of(stores.bucket).region;
  const policy = (statement: iam.PolicyStatement): void => {
    role.addToPrincipalPolicy(statement);
  };
  if (profile.s3) {
    const objectActions = profile.s3.actions.filter((action) => action !== 's3:ListBucket');
    const prefix = profile.s3.prefix ?? '';
    if (objectActions.length > 0) {
      policy(new iam.PolicyStatement({ actions: [...objectActions], resources: [stores.bucket.arnForObjects(`${prefix}*`)] }));
      acknowledgeWildcardResource(
        role,
        `${arnToken(stores.bucket)}/${prefix}*`,
        prefix
          ? `Object names under ${prefix} are created at run time (one per workflow run).`
          : 'Repository object names (packs, indexes, snapshots, leases) are content-addressed and created at run time; the grant is limited to the backup bucket.',
      );
    }
    if (profile.s3.actions.includes('s3:ListBucket')) {
      policy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [stores.bucket.bucketArn], ...(prefix ? { conditions: { StringLike: { 's3:prefix': `${prefix}*` } } } : {}) }));
    }
    // SSE-KMS: reads decrypt the object's data key; writes (and multipart completion) also generate one.
    const writes = objectActions.includes('s3:PutObject');
    const reads = objectActions.includes('s3:GetObject');
    if (reads || writes) {
      policy(keyViaService(stores.key, 's3', region, writes ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt']));
    }
  }
  if (profile.dynamodb && profile.dynamodb.length > 0) {
    policy(new iam.PolicyStatement({ actions: [...profile.dynamodb], resources: [stores.table.tableArn, `${stores.table.tableArn}/index/*`] }));
    acknowledgeWildcardResource(role, `${arnToken(stores.table)}/index/*`, "The catalog's listings query its local secondary indexes (byTime, byScope, bySubScope) of this one table.");
    const writes = profile.dynamodb.some((action) => action !== 'dynamodb:GetItem' && action !== 'dynamodb:Query');
    policy(keyViaService(stores.key, 'dynamodb', region, writes ? ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt', 'kms:DescribeKey']));
  }
  if (profile.repositoryKey && profile.repositoryKey.length > 0) {
    policy(
      new iam.PolicyStatement({
        actions: [...profile.repositoryKey],
        resources: [stores.key.keyArn],
        conditions: { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['repository', 'slot'] } },
      }),
    );
  }
  if (profile.auditKey) {
    // Only under the audit key's own encryption context (src/catalog/dynamodb-audit-key.ts).
    policy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [stores.key.keyArn], conditions: { StringEquals: { 'kms:EncryptionContext:purpose': 'chrono-backup-audit' } } }));
  }
}

function keyViaService(key: kms.IKey, service: 's3' | 'dynamodb', region: string, actions: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ actions, resources: [key.keyArn], conditions: { StringEquals: { 'kms:ViaService': `${service}.${region}.amazonaws.com` } } });
}
