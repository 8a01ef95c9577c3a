import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { CATALOG_TABLE } from '../../src/catalog/dynamodb-table.js';

/** TTL attribute (epoch seconds) for items that should expire, such as leases; the catalog's own records never set it. */
export const CATALOG_TTL_ATTRIBUTE = 'expiresAt';

export interface CatalogTableProps {
  readonly key: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The DynamoDB catalog, built from `CATALOG_TABLE` (src/catalog/dynamodb-table.ts) so the deployed table
 * and the one the adapter's tests create cannot drift: same keys, attribute types, local indexes and
 * projections, on-demand billing. Adds what only the deployment sets: point-in-time recovery, the
 * project key, deletion protection and the TTL attribute.
 */
export class CatalogTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: CatalogTableProps) {
    super(scope, id);
    const type = (name: string): dynamodb.AttributeType => {
      const definition = CATALOG_TABLE.AttributeDefinitions?.find((attribute) => attribute.AttributeName === name);
      if (definition?.AttributeType !== 'S') throw new Error(`catalog attribute ${name}: only string keys are mapped`);
      return dynamodb.AttributeType.STRING;
    };
    const key = (role: 'HASH' | 'RANGE', schema = CATALOG_TABLE.KeySchema): dynamodb.Attribute => {
      const name = schema?.find((element) => element.KeyType === role)?.AttributeName;
      if (!name) throw new Error(`catalog key schema has no ${role} key`);
      return { name, type: type(name) };
    };
    if (CATALOG_TABLE.BillingMode !== 'PAY_PER_REQUEST') throw new Error('catalog table: only on-demand billing is mapped');
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: key('HASH'),
      sortKey: key('RANGE'),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
      timeToLiveAttribute: CATALOG_TTL_ATTRIBUTE,
      removalPolicy: props.removalPolicy,
    });
    for (const index of CATALOG_TABLE.LocalSecondaryIndexes ?? []) {
      if (!index.IndexName || index.Projection?.ProjectionType !== 'INCLUDE') throw new Error('catalog table: only named INCLUDE local indexes are mapped');
      this.table.addLocalSecondaryIndex({
        indexName: index.IndexName,
        sortKey: key('RANGE', index.KeySchema),
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...(index.Projection.NonKeyAttributes ?? [])],
      });
    }
  }
}
