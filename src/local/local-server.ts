import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { raiseAlerts } from '../alerts/raise-alerts.js';
import { createApiApp } from '../api/api-app.js';
import { scheduleRoutes } from '../api/routes/schedule-routes.js';
import { scheduledJob } from '../app/scheduled-job.js';
import { LocalScheduler } from '../app/scheduler.js';
import { SqliteScheduleStore } from '../catalog/sqlite-schedule-store.js';
import { lookupPlan } from '../runtime/plan-lookup.js';
import { lookupPolicy } from '../runtime/policy-lookup.js';
import { apiRoutes, type RouteGroup } from '../api/api-routes.js';
import type { ApiServices } from '../api/api-services.js';
import { auditLogSink } from '../api/audit-log-sink.js';
import type { AppDeps } from '../app/deps.js';
import { healthReport } from '../app/health-report.js';
import { refreshArchivedWindows, type BaseBackupMemo } from '../app/pitr.js';
import { LocalAuthenticator } from '../auth/local-authenticator.js';
import { LocalLoginService } from '../auth/local-login.js';
import { DEFAULT_LOGIN_THROTTLE, LoginThrottle } from '../auth/login-throttle.js';
import { TokenIssuer } from '../auth/token-issuer.js';
import { SqliteAlertStateStore } from '../catalog/sqlite-alert-state-store.js';
import { SqliteCatalog } from '../catalog/sqlite-catalog.js';
import { SqliteRecoveryWindowStore } from '../catalog/sqlite-recovery-window-store.js';
import { SqliteRetentionPolicyStore } from '../catalog/sqlite-retention-policy-store.js';
import { SqliteUserStore } from '../catalog/sqlite-user-store.js';
import { parseDuration } from '../domain/duration.js';
import { asBackupError } from '../domain/errors.js';
import { createBackupMetricsRegistry, METRICS_CONTENT_TYPE } from '../metrics/backup-metrics.js';
import { refreshingRecoveryWindows } from '../metrics/recovery-window-refresh.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import { silentProgress } from '../ports/progress.js';
import { loadSecretKeyFile } from '../runtime/secret-key-file.js';
import { openLocalAuditLog } from '../runtime/local-audit.js';
import { localRuntime } from '../runtime/local-runtime.js';
import { localSettings } from '../runtime/local-settings.js';
import { jsonLogger } from '../util/json-logger.js';
import { pitrWindowTtlSetting, rpoSetting } from '../runtime/health-settings.js';
import { ensureFirstAdmin } from './first-admin.js';
import { startHealthMonitor } from './health-monitor.js';
import { dashboardAssets } from './dashboard-assets.js';
import { createHttpServer } from './http-adapter.js';
import { LocalJobRunner, repositoryLocation } from './job-runner.js';

export interface LocalServerOptions {
  env: NodeJS.ProcessEnv;
  /** Default: $PORT, else 8000. 0 picks a free port (tests). */
  port?: number;
  /** Default: $HOST, else 127.0.0.1 (the API is not exposed beyond this machine unless asked). */
  host?: string;
  clock?: Clock;
  logger?: Logger;
  /** Where the one-time first-run message goes (the generated admin password). Default: stdout. */
  announce?: (line: string) => void;
}

export interface LocalServer {
  url: string;
  port: number;
  /** Stops accepting requests, lets running jobs finish for up to `graceMs` (then marks them interrupted), closes the catalog. */
  close(graceMs?: number): Promise<{ interrupted: number }>;
}

export const DEFAULT_PORT = 8000;

/**
 * `npm start`: the API on the embedded defaults (local repository, SQLite catalog, local key), with
 * local users and signed tokens, the audit trail, the job runner and metrics, on one HTTP port.
 */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const env = options.env;
  const clock = options.clock ?? systemClock;
  const settings = localSettings(env);
  const logger = options.logger ?? jsonLogger(env.BACKUP_LOG_LEVEL || env.CHRONO_BACKUP_LOG_LEVEL ? settings.logLevel : 'info');
  await mkdir(settings.home, { recursive: true, mode: 0o700 });
  const catalog = SqliteCatalog.open(settings.catalogPath);
  try {
    const users = catalog.sibling((db) => new SqliteUserStore(db));
    const policies = catalog.sibling((db) => new SqliteRetentionPolicyStore(db));
    const auditLog = await openLocalAuditLog(catalog, settings, { env, clock });
    const ttlSeconds = Math.round(parseDuration(env.CHRONO_BACKUP_TOKEN_TTL || '1h', 'CHRONO_BACKUP_TOKEN_TTL') / 1000);
    const tokens = new TokenIssuer(await loadSecretKeyFile(join(settings.home, 'api-token.key'), true, 'API token key'), ttlSeconds, () => clock.now());
    const admin = await ensureFirstAdmin(users, clock, env);
    if (admin) {
      const announce = options.announce ?? ((line: string) => process.stdout.write(`${line}\n`));
      announce(admin.generatedPassword ? `first run: created admin ${admin.email} with password ${admin.generatedPassword} (shown once; change it with PUT /api/v1/users/{id})` : `first run: created admin ${admin.email}`);
    }
    const alertState = catalog.sibling((db) => new SqliteAlertStateStore(db));
    const rpoMinutes = rpoSetting(undefined, env);
    const jobs = new LocalJobRunner({ catalog, settings, clock, logger, env, alertState });
    const withRepository = async <T>(storageBackendId: number | undefined, work: (deps: AppDeps) => Promise<T>): Promise<T> => {
      const repository = await repositoryLocation(catalog, storageBackendId, settings.repository);
      const deps = await localRuntime({ ...settings, repository }, { progress: silentProgress, mayCreate: false, catalog, env });
      return work({ ...deps, clock });
    };
    // The windows a scrape reports are records; one older than the TTL is recomputed from the default repository.
    const memo: BaseBackupMemo = new Map();
    const metrics = createBackupMetricsRegistry({
      catalog,
      recoveryWindows: refreshingRecoveryWindows({
        store: catalog.sibling((db) => new SqliteRecoveryWindowStore(db)),
        maxAgeMs: pitrWindowTtlSetting(env),
        now: () => clock.now().getTime(),
        refresh: () => withRepository(undefined, (deps) => refreshArchivedWindows(deps, { memo })),
        onError: (error) => logger.warn('recoverability window refresh failed', { error: asBackupError(error).message }),
      }),
    });
    const services: ApiServices = {
      clock,
      catalog,
      users,
      policies,
      audit: auditLog,
      jobs,
      login: new LocalLoginService(users, tokens, new LoginThrottle({ ...DEFAULT_LOGIN_THROTTLE, now: () => clock.now().getTime() })),
      withRepository,
      health: () => withRepository(undefined, (deps) => healthReport(deps, { schedules, ...(rpoMinutes !== undefined ? { rpoMinutes } : {}) })),
      metrics: async () => ({ contentType: METRICS_CONTENT_TYPE, body: await metrics.metrics() }),
    };
    const schedules = catalog.sibling((db) => new SqliteScheduleStore(db));
    const scheduler = new LocalScheduler({
      store: schedules,
      clock,
      logger,
      job: scheduledJob({
        withDeps: async (repository, work) => work({ ...(await localRuntime({ ...settings, repository: repository ?? settings.repository }, { progress: silentProgress, mayCreate: true, catalog, env })), clock }),
        findPlan: (name) => lookupPlan(name, undefined, env),
        findPolicy: (name) => lookupPolicy(name, { store: policies, home: settings.home, env }),
        alert: (alerts, deps) => raiseAlerts(alerts, deps.logger, { env, state: alertState }),
      }),
    });
    const extraRoutes: RouteGroup[] = [scheduleRoutes(schedules)];
    const handler = createApiApp({ routes: apiRoutes(services, extraRoutes), authenticator: new LocalAuthenticator(tokens, users), audit: auditLogSink(auditLog), logger });
    const server = createHttpServer({ handler, logger, fallback: dashboardAssets() });
    const port = options.port ?? (env.PORT ? Number(env.PORT) : DEFAULT_PORT);
    const host = options.host ?? env.HOST ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const bound = (server.address() as AddressInfo).port;
    logger.info('server listening', { url: `http://${host}:${bound}` });
    if (env.CHRONO_BACKUP_SCHEDULER !== 'off') scheduler.start();
    const monitor = startHealthMonitor({
      intervalMs: parseDuration(env.CHRONO_BACKUP_HEALTH_INTERVAL || '1h', 'CHRONO_BACKUP_HEALTH_INTERVAL'),
      report: services.health,
      location: settings.repository,
      alertState,
      env,
      logger,
    });
    return {
      url: `http://${host}:${bound}`,
      port: bound,
      async close(graceMs = 30_000) {
        monitor.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const [{ interrupted }, { stillRunning }] = await Promise.all([jobs.shutdown(graceMs), scheduler.stop(graceMs)]);
        if (stillRunning.length > 0) logger.warn('scheduled jobs still running at shutdown', { schedules: stillRunning.map((job) => job.name) });
        server.closeAllConnections();
        await closed;
        await catalog.close();
        logger.info('server stopped', { interrupted, scheduledStillRunning: stillRunning.length });
        return { interrupted: interrupted + stillRunning.length };
      },
    };
  } catch (error) {
    await catalog.close();
    throw error;
  }
}
