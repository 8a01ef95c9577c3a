import type { RecoveryWindowRecord } from '../ports/recovery-window-store.js';
import type { MetricDefinition, Sample } from './computed-metric.js';

/** What a scrape reads for the PostgreSQL point-in-time recovery metrics: the recorded windows. */
export interface PitrScrape {
  recoveryWindows: readonly RecoveryWindowRecord[];
}

/**
 * The recoverability window of each PostgreSQL cluster, labelled by repository id and cluster (system
 * identifier), from the windows recorded in the catalog (src/ports/recovery-window-store.ts): a scrape
 * reads records, never the repository. `chrono_backup_pitr_window_computed_timestamp_seconds` says how
 * old the other values are. A cluster without a usable base backup has no start or end sample.
 */
export const PITR_METRICS: readonly MetricDefinition<PitrScrape>[] = [
  perCluster(
    'chrono_backup_pitr_window_start_timestamp_seconds',
    'The earliest moment the PostgreSQL cluster can be restored to (the end of its oldest usable base backup), seconds since the epoch.',
    (record) => seconds(record.earliest),
  ),
  perCluster(
    'chrono_backup_pitr_window_end_timestamp_seconds',
    'The latest moment the PostgreSQL cluster can be restored to (when the last segment of its unbroken WAL chain was archived), seconds since the epoch. time() minus this is the data a restore would lose now.',
    (record) => seconds(record.latest),
  ),
  perCluster(
    'chrono_backup_pitr_window_computed_timestamp_seconds',
    'When the recoverability window of the PostgreSQL cluster was computed from the repository (the other chrono_backup_pitr_* values are as of then), seconds since the epoch.',
    (record) => seconds(record.computedAt),
  ),
  perCluster(
    'chrono_backup_pitr_wal_gaps',
    "Gaps in the PostgreSQL cluster's WAL archive that restores would need: runs of missing segments and missing timeline history files. Anything but 0 cuts the window short.",
    (record) => record.gaps.length,
  ),
  perCluster('chrono_backup_pitr_wal_missing_segments', 'WAL segments missing from the gaps of the PostgreSQL cluster\'s archive.', (record) =>
    record.gaps.reduce((sum, gap) => sum + (gap.kind === 'missing-segment' ? gap.count : 0), 0),
  ),
  perCluster('chrono_backup_pitr_wal_segments', 'WAL segments archived for the PostgreSQL cluster (0: its WAL is gone, and restores reach only the ends of its base backups).', (record) => record.segments),
  perCluster('chrono_backup_pitr_wal_archived_bytes', 'Bytes of WAL archived for the PostgreSQL cluster (compressed and encrypted, as stored).', (record) => record.archivedBytes),
  perCluster('chrono_backup_pitr_base_backups', 'Base backups of the PostgreSQL cluster in the repository, usable or not.', (record) => record.baseBackups),
  perCluster('chrono_backup_pitr_timeline', 'The newest timeline of the PostgreSQL cluster in its WAL archive (restores follow it).', (record) => record.timeline),
];

function perCluster(name: string, help: string, value: (record: RecoveryWindowRecord) => number | undefined): MetricDefinition<PitrScrape> {
  return {
    name,
    help,
    type: 'gauge',
    samples: ({ recoveryWindows }) =>
      recoveryWindows.flatMap((record): Sample[] => {
        const sample = value(record);
        return sample === undefined || !Number.isFinite(sample) ? [] : [{ labels: { repository: record.repository, cluster: record.systemIdentifier }, value: sample }];
      }),
  };
}

function seconds(iso: string | undefined): number | undefined {
  return iso === undefined ? undefined : Date.parse(iso) / 1000;
}
