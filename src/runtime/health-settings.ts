import { parseDuration } from '../domain/duration.js';

/**
 * The recovery point objective of WAL archiving, in minutes: `--rpo`, else CHRONO_BACKUP_PITR_RPO (a
 * duration such as `15m`). Absent: no `recovery_point` health check.
 */
export function rpoSetting(option: string | undefined, env: NodeJS.ProcessEnv): number | undefined {
  const text = option ?? env.CHRONO_BACKUP_PITR_RPO;
  return text === undefined || text === '' ? undefined : parseDuration(text, option !== undefined ? 'rpo' : 'CHRONO_BACKUP_PITR_RPO') / 60_000;
}

/** Default of CHRONO_BACKUP_PITR_WINDOW_TTL: a scrape every 15 s recomputes the windows once a minute. */
export const DEFAULT_PITR_WINDOW_TTL_MS = 60_000;

/**
 * How old the recorded recoverability windows may be before a metrics scrape refreshes them (ms):
 * CHRONO_BACKUP_PITR_WINDOW_TTL, a duration such as `60s` (`0`: at every scrape), default 60 s.
 */
export function pitrWindowTtlSetting(env: NodeJS.ProcessEnv): number {
  const text = env.CHRONO_BACKUP_PITR_WINDOW_TTL;
  return text === undefined || text === '' ? DEFAULT_PITR_WINDOW_TTL_MS : parseDuration(text, 'CHRONO_BACKUP_PITR_WINDOW_TTL');
}
