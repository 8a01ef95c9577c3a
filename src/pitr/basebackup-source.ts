import { spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import type { BackupSource } from '../app/backup-sources.js';
import { TreeStreamSink } from '../app/stream-snapshot.js';
import { SourceError } from '../domain/errors.js';
import type { PhysicalBackupDetails } from '../domain/snapshot.js';
import { exited } from '../sources/child-output.js';
import { withPg } from '../sources/postgres/pg-client.js';
import { describePgTarget, libpqEnvironment, type PgTarget } from '../sources/postgres/pg-target.js';
import { pgToolsFor } from '../sources/postgres/pg-tools.js';
import { formatLsn, parseLsn } from './wal-names.js';

/** The one file of a `physical` snapshot: pg_basebackup's tar stream (data directory, WAL, manifest). */
export const BASE_TAR = 'base.tar';

export interface PhysicalSourceOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the client programs are (default: chosen by the server's version). */
  binDir?: string;
}

interface ClusterFacts {
  systemIdentifier: string;
  serverVersion: string;
  serverMajor: number;
  walSegmentSize: number;
  archiveMode: string;
  time: string;
}

/**
 * A base backup for point-in-time recovery: `pg_basebackup -Ft -D - -X fetch` (tar on stdout, with the
 * WAL the backup needs, and the backup manifest PostgreSQL 13+ adds to the stream) written through a
 * named pipe into the run's workers, like a dump. The snapshot records where the backup sits in the
 * cluster's WAL (start/stop LSN, timeline, server time, next xid), read from pg_basebackup's report and
 * the server, so a restore can pick the newest backup that ends before its target.
 */
export function physicalSource(target: PgTarget, options: PhysicalSourceOptions = {}): BackupSource {
  const env = options.env ?? process.env;
  return {
    kind: 'physical',
    paths: [describePgTarget(target)],
    async run(context) {
      const before = await clusterFacts(target, env);
      const tools = await pgToolsFor(before.serverMajor, options.binDir);
      const warnings: string[] = [];
      if (before.archiveMode === 'off') warnings.push('physical: archive_mode is off: this base backup restores only to its own end (set archive_command to `chrono-backup wal-push %p` for point-in-time recovery)');
      const sink = new TreeStreamSink(context.pool, context.writer, context.progress);
      context.progress.phase(`backup physical ${describePgTarget(target)}`);
      let report = '';
      await sink.addFromPipe(BASE_TAR, async (path) => {
        const output = openSync(path, constants.O_WRONLY);
        // --checkpoint=fast: start now rather than after a spread checkpoint; -v reports the LSNs.
        const child = spawn(tools.path('pg_basebackup'), ['--pgdata=-', '--format=tar', '--wal-method=fetch', '--checkpoint=fast', '--verbose', '--no-password', `--label=chrono-backup ${before.time}`], {
          env: libpqEnvironment(target, target.database ?? 'postgres', env),
          stdio: ['ignore', output, 'pipe'],
        });
        closeSync(output);
        let text = '';
        child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        const status = await exited(child).catch((error: Error) => {
          throw new SourceError('postgres.basebackup_failed', `pg_basebackup of ${describePgTarget(target)}: could not run (${error.message})`, { cause: error });
        });
        report = text;
        if (status.code !== 0) {
          const how = status.signal ? `was killed (${status.signal})` : `exited with code ${status.code}`;
          throw new SourceError('postgres.basebackup_failed', `pg_basebackup of ${describePgTarget(target)} ${how}: ${text.trim().slice(-2000)}`);
        }
      });
      const positions = parseBaseBackupReport(report);
      const after = await withPg(target, target.database ?? 'postgres', env, async (client) =>
        (await client.query<{ time: Date; next_xid: string }>('SELECT now() AS time, pg_snapshot_xmax(pg_current_snapshot())::text AS next_xid')).rows[0]!,
      );
      const physical: PhysicalBackupDetails = {
        systemIdentifier: before.systemIdentifier,
        timeline: positions.timeline,
        startLsn: formatLsn(positions.startLsn),
        stopLsn: formatLsn(positions.stopLsn),
        startTime: before.time,
        stopTime: after.time.toISOString(),
        nextXid: after.next_xid,
        walSegmentSize: before.walSegmentSize,
        serverMajor: before.serverMajor,
      };
      const stored = sink.storeTree();
      for (const warning of warnings) context.progress.note(warning);
      return { ...stored, bytesRead: stored.totalBytes, warnings, details: { method: 'pg_basebackup', pointInTime: true, serverVersion: before.serverVersion, physical } };
    },
  };
}

async function clusterFacts(target: PgTarget, env: NodeJS.ProcessEnv): Promise<ClusterFacts> {
  return withPg(target, target.database ?? 'postgres', env, async (client) => {
    const row = (
      await client.query<{ system_identifier: string; version: string; version_num: string; segment_size: number; archive_mode: string; time: Date }>(
        `SELECT (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
                current_setting('server_version') AS version, current_setting('server_version_num') AS version_num,
                (SELECT bytes_per_wal_segment FROM pg_control_init()) AS segment_size,
                current_setting('archive_mode') AS archive_mode, now() AS time`,
      )
    ).rows[0]!;
    return {
      systemIdentifier: row.system_identifier,
      serverVersion: row.version,
      serverMajor: Math.floor(Number(row.version_num) / 10000),
      walSegmentSize: Number(row.segment_size),
      archiveMode: row.archive_mode,
      time: row.time.toISOString(),
    };
  });
}

/** Start and end of the backup in the WAL, from `pg_basebackup --verbose` (its wording is stable since 10). */
export function parseBaseBackupReport(report: string): { startLsn: bigint; stopLsn: bigint; timeline: number } {
  const start = /write-ahead log start point: ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/i.exec(report);
  const stop = /write-ahead log end point: ([0-9A-F]+\/[0-9A-F]+)/i.exec(report);
  if (!start || !stop) throw new SourceError('postgres.basebackup_failed', `pg_basebackup did not report the backup's WAL start and end points: ${report.slice(-500)}`);
  return { startLsn: parseLsn(start[1]!), stopLsn: parseLsn(stop[1]!), timeline: Number(start[2]) };
}
