/**
 * The choices the API accepts. Where the server's list lives in a browser-safe module it is imported, so
 * the two cannot drift; the rest (defined next to server-only code) are listed here and checked against
 * the OpenAPI document by the browser tests.
 */
export { PLAN_RUN_TYPES } from '../../src/domain/plan.js';
export { RETENTION_RULES } from '../../src/domain/retention.js';
export { STORAGE_BACKEND_TYPES } from '../../src/ports/catalog.js';
export { ROLES } from '../../src/domain/user.js';

export const RECOVERY_TYPES = ['full_restore', 'database_only', 'redis_only', 'files_only', 'config_only'] as const;
export const VERIFY_LEVELS = ['structure', 'read', 'full'] as const;
export const AUDIT_EXPORT_FORMATS = ['json', 'csv', 'pdf'] as const;
export const SCHEDULE_KINDS = ['backup', 'retention'] as const;
export const MISSED_RUN_POLICIES = ['skip', 'catch_up_once'] as const;
export const HISTORY_STATUSES = ['running', 'succeeded', 'failed', 'interrupted'] as const;
