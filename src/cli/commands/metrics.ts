import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { repositoryStats } from '../../app/repository-stats.js';
import type { AppDeps } from '../../app/deps.js';
import { asBackupError } from '../../domain/errors.js';
import { randomId } from '../../domain/ids.js';
import { pitrWindowTtlSetting } from '../../runtime/health-settings.js';
import { withDeps } from '../command-support.js';

/**
 * `chrono-backup metrics`: the Prometheus exposition of the catalog's metrics, on stdout or into a file
 * for node_exporter's textfile collector. Needs only the catalog (no key), unless `--repository-stats`
 * asks for the exact storage used, which opens the repository and lists its storage, or a recorded
 * PostgreSQL window is due for a refresh (see recordedWindows).
 */
export function registerMetricsCommand(program: Command): void {
  program
    .command('metrics')
    .description('print Prometheus metrics (backup counts, durations, bytes, last success, verifications, storage used)')
    .option('--output <file>', "write to this file instead (atomically, for node_exporter's textfile collector: name it *.prom)")
    .option('--repository-stats', 'also measure the repository (opens it with its key and lists its storage) for the exact storage used')
    .action(async (opts: { output?: string; repositoryStats?: boolean }, command: Command) =>
      withDeps(command, false, async (deps) => {
        const measured = opts.repositoryStats ? { stats: await repositoryStats(deps), measuredAt: deps.clock.now() } : undefined;
        // prom-client is loaded by this command only (about 70 ms), not at every CLI start.
        const { createBackupMetricsRegistry } = await import('../../metrics/backup-metrics.js');
        const recoveryWindows = await recordedWindows(deps);
        const registry = createBackupMetricsRegistry({ catalog: deps.catalog, ...(measured ? { repositoryStats: () => Promise.resolve(measured) } : {}), ...(recoveryWindows ? { recoveryWindows } : {}) });
        const text = withoutEmptyFamilies(await registry.metrics());
        if (opts.output) await writeAtomically(resolve(opts.output), text);
        else process.stdout.write(text);
      }),
    );
}

/**
 * The PostgreSQL recoverability windows as recorded, first recomputed (and recorded) when the oldest is
 * older than CHRONO_BACKUP_PITR_WINDOW_TTL and the repository archives WAL, as the server does at a
 * scrape — but waiting for it: this command runs from cron, not under a scraper's timeout. A refresh
 * that fails (no key here, storage down) is a warning, and the records are reported as they are.
 */
async function recordedWindows(deps: AppDeps) {
  const store = deps.recoveryWindowStore;
  if (!store) return undefined;
  const [{ refreshingRecoveryWindows }, { refreshArchivedWindows }] = await Promise.all([import('../../metrics/recovery-window-refresh.js'), import('../../app/pitr.js')]);
  return refreshingRecoveryWindows({
    store,
    maxAgeMs: pitrWindowTtlSetting(process.env),
    waitMs: Number.POSITIVE_INFINITY,
    refresh: () => refreshArchivedWindows(deps),
    onError: (error) => deps.logger?.warn('could not refresh the recoverability windows; reporting them as recorded', { error: asBackupError(error).message }),
  });
}

/**
 * Writes a temporary file beside `path` and renames it over `path`, so a reader (the textfile
 * collector scrapes at any moment) sees the old file or the new one, never half a file. The temporary
 * name starts with a dot and does not end in `.prom`, so the collector never picks it up.
 */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomId(6)}.tmp`);
  try {
    await writeFile(temporary, text, { mode: 0o644 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Drops the HELP and TYPE lines of metric families that have no sample in this output (no
 * verification yet, no measured stats): a file for the textfile collector then holds only series it
 * will export. prom-client separates families with a blank line.
 */
function withoutEmptyFamilies(text: string): string {
  const families = text.split('\n\n').filter((family) => family.split('\n').some((line) => line.trim() !== '' && !line.startsWith('#')));
  return families.length === 0 ? '' : `${families.map((family) => family.trimEnd()).join('\n\n')}\n`;
}
