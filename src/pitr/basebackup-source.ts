import { spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import type { BackupSource } from '../app/backup-sources.js';
import { TreeStreamSink } from '../app/stream-snapshot.js';
import { SourceError } from '../domain/errors.js';
import type { PhysicalBackupDetails, PhysicalTablespace } from '../domain/snapshot.js';
import { exited } from '../sources/child-output.js';
import { withPg } from '../sources/postgres/pg-client.js';
import { describePgTarget, libpqEnvironment, type PgTarget } from '../sources/postgres/pg-target.js';
import { pgToolsFor } from '../sources/postgres/pg-tools.js';
import { streamBaseBackup } from './basebackup-protocol.js';
import { listUserTablespaces, MANIFEST_FILE, tablespaceFileName, type UserTablespace } from './tablespaces.js';
import { formatLsn, parseLsn } from './wal-names.js';

/**
 * The main file of a `physical` snapshot: pg_basebackup's tar of the data directory with the WAL it
 * needs (and, without tablespaces, the backup manifest; with them the manifest and each tablespace's
 * tar are files of their own, see {@link MANIFEST_FILE} and tablespaceFileName).
 */
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
  tablespaces: UserTablespace[];
}

/**
 * A base backup for point-in-time recovery: `pg_basebackup -Ft -D - -X fetch` (tar on stdout, with the
 * WAL the backup needs, and the backup manifest PostgreSQL 13+ adds to the stream) written through a
 * named pipe into the run's workers, like a dump. The snapshot records where the backup sits in the
 * cluster's WAL (start/stop LSN, timeline, server time, next xid), read from pg_basebackup's report and
 * the server, so a restore can pick the newest backup that ends before its target. A cluster with user
 * tablespaces cannot go to stdout: see backupWithTablespaces; the snapshot then lists them in
 * `details.physical.tablespaces`.
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
      const label = `chrono-backup ${before.time}`;
      let positions: { startLsn: bigint; stopLsn: bigint; timeline: number };
      let tablespaces: PhysicalTablespace[] | undefined;
      if (before.tablespaces.length === 0) {
        let report = '';
        await sink.addFromPipe(BASE_TAR, async (path) => {
          const output = openSync(path, constants.O_WRONLY);
          // The child has its own copy once spawned (synchronously, in runBaseBackup): ours closes now,
          // so the reader sees end-of-file when pg_basebackup exits.
          let running: Promise<string>;
          try {
            running = runBaseBackup(tools.path('pg_basebackup'), target, env, label, output);
          } finally {
            closeSync(output);
          }
          report = await running;
        });
        positions = parseBaseBackupReport(report);
      } else {
        if (before.serverMajor < 15) throw new SourceError('postgres.basebackup_failed', `${describePgTarget(target)} has tablespaces (${before.tablespaces.map((t) => t.name).join(', ')}): base backups of clusters with tablespaces need PostgreSQL 15 or later`);
        ({ tablespaces, ...positions } = await streamWithTablespaces(sink, before.tablespaces, target, env, label));
      }
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
        ...(tablespaces ? { tablespaces } : {}),
      };
      const stored = sink.storeTree();
      for (const warning of warnings) context.progress.note(warning);
      return { ...stored, bytesRead: stored.totalBytes, warnings, details: { method: tablespaces ? 'BASE_BACKUP' : 'pg_basebackup', pointInTime: true, serverVersion: before.serverVersion, physical } };
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
      tablespaces: await listUserTablespaces(client),
    };
  });
}

/**
 * Runs pg_basebackup in tar format with the WAL it needs, the tar on `stdout`; returns its --verbose
 * report. `stdout` is handed to the child, the caller keeps (and closes) its own descriptor.
 */
async function runBaseBackup(program: string, target: PgTarget, env: NodeJS.ProcessEnv, label: string, stdout: number): Promise<string> {
  // --checkpoint=fast: start now rather than after a spread checkpoint; -v reports the LSNs.
  const child = spawn(program, ['--pgdata=-', '--format=tar', '--wal-method=fetch', '--checkpoint=fast', '--verbose', '--no-password', `--label=${label}`], {
    env: libpqEnvironment(target, target.database ?? 'postgres', env),
    stdio: ['ignore', stdout, 'pipe'],
  });
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const status = await exited(child).catch((error: Error) => {
    throw new SourceError('postgres.basebackup_failed', `pg_basebackup of ${describePgTarget(target)}: could not run (${error.message})`, { cause: error });
  });
  if (status.code !== 0) {
    const how = status.signal ? `was killed (${status.signal})` : `exited with code ${status.code}`;
    throw new SourceError('postgres.basebackup_failed', `pg_basebackup of ${describePgTarget(target)} ${how}: ${text.trim().slice(-2000)}`);
  }
  return text;
}

/**
 * A cluster with user tablespaces. pg_basebackup writes one tar per tablespace and then refuses
 * `--pgdata=-`; with `--pgdata=DIR` it refuses a directory that is not empty, so named pipes cannot be
 * laid out for it beforehand (PostgreSQL 15: "directory ... exists but is not empty"), and it writes the
 * manifest as backup_manifest.tmp and renames it. So this path speaks the replication protocol's
 * BASE_BACKUP itself (see basebackup-protocol.ts), which sends the archives one after the other on one
 * connection, and streams each into its own snapshot file as it arrives: `tablespace-<oid>.tar` per
 * tablespace, `base.tar` (with the WAL and the tablespace_map file), then `backup_manifest`. Nothing
 * touches the local disk. PostgreSQL 15+ only (the option syntax and terminated tar archives).
 */
async function streamWithTablespaces(
  sink: TreeStreamSink,
  known: readonly UserTablespace[],
  target: PgTarget,
  env: NodeJS.ProcessEnv,
  label: string,
): Promise<{ startLsn: bigint; stopLsn: bigint; timeline: number; tablespaces: PhysicalTablespace[] }> {
  const events = streamBaseBackup(target, env, label);
  const tablespaces: PhysicalTablespace[] = [];
  let start: { lsn: string; timeline: number } | undefined;
  let end: { lsn: string } | undefined;
  let pending = await events.next();
  // The data events up to the next other event, which is left in `pending` for the loop below.
  async function* contents(): AsyncGenerator<Buffer> {
    for (;;) {
      pending = await events.next();
      if (pending.done || pending.value.kind !== 'data') return;
      yield pending.value.chunk;
    }
  }
  try {
    while (!pending.done) {
      const event = pending.value;
      if (event.kind === 'start' || event.kind === 'end') {
        if (event.kind === 'start') start = event;
        else end = event;
        pending = await events.next();
      } else if (event.kind === 'manifest') {
        await sink.add(MANIFEST_FILE, contents());
      } else if (event.kind === 'archive') {
        await sink.add(await archiveFile(event, known, tablespaces, target, env), contents());
      } else {
        throw new SourceError('postgres.basebackup_failed', `BASE_BACKUP on ${describePgTarget(target)} sent data before naming its archive`);
      }
    }
  } finally {
    await events.return(undefined);
  }
  if (!start || !end || !tablespaces.length) throw new SourceError('postgres.basebackup_failed', `BASE_BACKUP on ${describePgTarget(target)} ended without ${!start ? 'its start position' : !end ? 'its end position' : 'the tablespaces it listed'}`);
  return { startLsn: parseLsn(start.lsn), stopLsn: parseLsn(end.lsn), timeline: start.timeline, tablespaces };
}

/** The snapshot file for an archive the server announces; a tablespace's is recorded in `tablespaces`. */
async function archiveFile(archive: { name: string; location: string }, known: readonly UserTablespace[], tablespaces: PhysicalTablespace[], target: PgTarget, env: NodeJS.ProcessEnv): Promise<string> {
  if (archive.name === BASE_TAR) return BASE_TAR;
  const oid = /^(\d+)\.tar$/.exec(archive.name)?.[1];
  if (oid === undefined) throw new SourceError('postgres.basebackup_failed', `BASE_BACKUP on ${describePgTarget(target)} sent an unexpected archive "${archive.name}"`);
  // Created after the backup began: ask the server for its name.
  const found = known.find((t) => t.oid === Number(oid)) ?? (await withPg(target, target.database ?? 'postgres', env, listUserTablespaces)).find((t) => t.oid === Number(oid));
  const tablespace: PhysicalTablespace = { oid: Number(oid), name: found?.name ?? `pg_tblspc/${oid}`, location: archive.location, file: tablespaceFileName(Number(oid)) };
  tablespaces.push(tablespace);
  return tablespace.file;
}

/** Start and end of the backup in the WAL, from `pg_basebackup --verbose` (its wording is stable since 10). */
export function parseBaseBackupReport(report: string): { startLsn: bigint; stopLsn: bigint; timeline: number } {
  const start = /write-ahead log start point: ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/i.exec(report);
  const stop = /write-ahead log end point: ([0-9A-F]+\/[0-9A-F]+)/i.exec(report);
  if (!start || !stop) throw new SourceError('postgres.basebackup_failed', `pg_basebackup did not report the backup's WAL start and end points: ${report.slice(-500)}`);
  return { startLsn: parseLsn(start[1]!), stopLsn: parseLsn(stop[1]!), timeline: Number(start[2]) };
}
