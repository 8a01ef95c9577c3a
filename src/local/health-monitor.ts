import { healthAlerts, healthRecoveries, raiseAlerts } from '../alerts/raise-alerts.js';
import type { HealthReport } from '../app/health-report.js';
import { asBackupError } from '../domain/errors.js';
import type { AlertStateStore } from '../ports/alert-state-store.js';
import type { Logger } from '../ports/logger.js';

export interface HealthMonitorOptions {
  intervalMs: number;
  report: () => Promise<HealthReport>;
  /** The repository location the checks are about (part of each alert's condition key). */
  location: string;
  alertState: AlertStateStore;
  env: NodeJS.ProcessEnv;
  logger: Logger;
}

/**
 * Runs the health checks on an interval (hourly by default, SPEC.md) and alerts on every check that is
 * not ok; a check that is ok again sends its recovery message. Throttling keeps a standing problem to
 * one message an hour. A failing run is logged and the next one still happens.
 */
export function startHealthMonitor(options: HealthMonitorOptions): { stop(): void; runOnce(): Promise<HealthReport | undefined> } {
  const runOnce = async (): Promise<HealthReport | undefined> => {
    try {
      const report = await options.report();
      await raiseAlerts(healthAlerts(report.checks, options.location), options.logger, { env: options.env, state: options.alertState, resolved: healthRecoveries(report.checks, options.location) });
      options.logger.info('health checked', { status: report.status, failing: report.checks.filter((check) => check.status !== 'ok').map((check) => check.name) });
      return report;
    } catch (error) {
      options.logger.error('health check run failed', { error: asBackupError(error).message });
      return undefined;
    }
  };
  const timer = setInterval(() => void runOnce(), options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}
