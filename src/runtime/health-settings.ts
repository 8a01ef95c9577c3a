import { parseDuration } from '../domain/duration.js';

/**
 * The recovery point objective of WAL archiving, in minutes: `--rpo`, else CHRONO_BACKUP_PITR_RPO (a
 * duration such as `15m`). Absent: no `recovery_point` health check.
 */
export function rpoSetting(option: string | undefined, env: NodeJS.ProcessEnv): number | undefined {
  const text = option ?? env.CHRONO_BACKUP_PITR_RPO;
  return text === undefined || text === '' ? undefined : parseDuration(text, option !== undefined ? 'rpo' : 'CHRONO_BACKUP_PITR_RPO') / 60_000;
}
