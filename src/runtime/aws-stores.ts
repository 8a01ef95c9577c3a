import { dynamoDbClient, type DynamoDbCatalogOptions } from '../catalog/dynamodb-catalog.js';
import { DynamoDbAlertStateStore } from '../catalog/dynamodb-alert-state-store.js';
import { DynamoDbAuditAnchor } from '../catalog/dynamodb-audit-anchor.js';
import { DynamoDbAuditLog } from '../catalog/dynamodb-audit-log.js';
import { DynamoDbRecoveryWindowStore } from '../catalog/dynamodb-recovery-window-store.js';
import { DynamoDbRetentionPolicyStore } from '../catalog/dynamodb-retention-policy-store.js';
import { DynamoDbScheduleStore } from '../catalog/dynamodb-schedule-store.js';
import { requireText } from '../catalog/sqlite-store.js';
import type { AlertStateStore } from '../ports/alert-state-store.js';
import type { AuditLog } from '../ports/audit-log.js';
import type { Clock } from '../ports/clock.js';
import type { RecoveryWindowStore } from '../ports/recovery-window-store.js';
import type { RetentionPolicyStore } from '../ports/retention-policy-store.js';
import type { ScheduleStore } from '../ports/schedule-store.js';

/** Where the AWS stores live (as for DynamoDbCatalog), and the audit trail's key and anchor. */
export interface AwsStoresOptions extends DynamoDbCatalogOptions {
  /** The audit key (at least 32 bytes), from outside the table (a secret the function's role can read). */
  auditKey: Buffer;
  /**
   * The table holding the audit anchor; default: the catalog table. Production should name a table of
   * its own that operators cannot write (see DynamoDbAuditAnchor for why).
   */
  anchorTableName?: string;
  clock?: Clock;
}

/** The stores the API (and the scheduler) use beside the catalog, all on the catalog's DynamoDB table. */
export interface AwsStores {
  schedules: ScheduleStore;
  policies: RetentionPolicyStore;
  alertState: AlertStateStore;
  /** The last computed PostgreSQL recoverability windows (what the metrics report). */
  recoveryWindows: RecoveryWindowStore;
  audit: AuditLog;
}

/**
 * The DynamoDB stores for the AWS composition root, sharing one client. A client given in `options`
 * stays the caller's; one built here lives as long as the process (a warm Lambda reuses it), which is
 * why there is nothing to close.
 */
export function awsStores(options: AwsStoresOptions): AwsStores {
  requireText(options?.tableName, 'tableName');
  const client = options.client ?? dynamoDbClient(options);
  const onTable = { tableName: options.tableName, client };
  const anchor = new DynamoDbAuditAnchor({ tableName: options.anchorTableName ?? options.tableName, client });
  return {
    schedules: new DynamoDbScheduleStore(onTable),
    policies: new DynamoDbRetentionPolicyStore(onTable),
    alertState: new DynamoDbAlertStateStore(onTable),
    recoveryWindows: new DynamoDbRecoveryWindowStore(onTable),
    audit: new DynamoDbAuditLog({ ...onTable, key: options.auditKey, anchor, ...(options.clock ? { clock: options.clock } : {}) }),
  };
}
