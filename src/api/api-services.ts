import type { AppDeps } from '../app/deps.js';
import type { HealthReport } from '../app/health-report.js';
import type { AuditLog } from '../ports/audit-log.js';
import type { Catalog } from '../ports/catalog.js';
import type { Clock } from '../ports/clock.js';
import type { RetentionPolicyStore } from '../ports/retention-policy-store.js';
import type { UserStore } from '../ports/user-store.js';
import type { LoginService } from './api-types.js';
import type { JobService } from './job-service.js';

/**
 * Everything the routes use, built by a composition root (the local server, or the API Lambda in AWS).
 * Routes know nothing of SQLite, DynamoDB, files or processes.
 */
export interface ApiServices {
  clock: Clock;
  catalog: Catalog;
  /** Local users; absent in AWS, where the Cognito user pool holds them (the /users routes are then not served). */
  users?: UserStore;
  login: LoginService;
  jobs: JobService;
  policies: RetentionPolicyStore;
  audit: AuditLog;
  /**
   * Runs short work (health, cleanup, a storage test) with dependencies for the repository on a storage
   * backend, or the default repository when `storageBackendId` is absent.
   */
  withRepository<T>(storageBackendId: number | undefined, work: (deps: AppDeps) => Promise<T>): Promise<T>;
  /** Every health check with its numbers (the server decides thresholds, quota and schedules). */
  health(): Promise<HealthReport>;
  /** The Prometheus exposition of the metrics, and its content type. */
  metrics(): Promise<{ contentType: string; body: string }>;
}
