/**
 * Several processes on one repository: concurrent backups share it safely, and prune (exclusive) never
 * runs beside a backup — it refuses at once, or waits with --lock-wait.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertTreesEqual } from '../helpers/compare-trees.js';
import {
  cleanupAll,
  createHome,
  errorJson,
  EXIT,
  expectExit,
  listObjects,
  parseJson,
  sleep,
  waitFor,
  writeTree,
  type BackupJson,
  type CliHome,
  type PruneJson,
  type RunningCli,
  type VerifyJson,
} from './cli-harness.js';

const TREE_OPTIONS = { mtimeToleranceNs: 999n };
const MiB = 1024 * 1024;

let home: CliHome;
let north: string;
let south: string;
let west: string;

beforeAll(async () => {
  home = await createHome('concurrency');
  north = home.path('north');
  south = home.path('south');
  west = home.path('west');
  await writeTree(north, { 'n1.bin': 24 * MiB, 'n2.bin': 8 * MiB, 'deep/n3.txt': 'north\n' });
  await writeTree(south, { 's1.bin': 20 * MiB, 's2.bin': 12 * MiB, 'deep/s3.txt': 'south\n' });
  await writeTree(west, { 'w1.bin': 40 * MiB, 'w2.bin': 24 * MiB, 'docs/readme.txt': 'west\n' });
  await home.json(['init']);
}, 60_000);

afterAll(cleanupAll);

/** The live lease objects of the repository, parsed (their format is plain JSON). */
async function leases(): Promise<{ id: string; kind: string; operation: string; pid: number }[]> {
  const names = await listObjects(home.repo, 'locks');
  const parsed = await Promise.all(names.map(async (name) => JSON.parse(await readFile(join(home.repo, 'locks', name), 'utf8').catch(() => 'null'))));
  return parsed.filter((lease) => lease !== null);
}

/** Starts a backup and stops it (SIGSTOP) once it holds its lease: a backup that is reliably "running". */
async function startPausedBackup(paths: string[]): Promise<RunningCli> {
  const backup = home.start(['backup', ...paths, '--json'], { timeoutMs: 120_000 });
  await waitFor('the backup to take its lease', async () => (await leases()).some((lease) => lease.pid === backup.pid && lease.operation === 'backup'));
  backup.signal('SIGSTOP');
  return backup;
}

describe('two backups at the same time', () => {
  it('both succeed with distinct ids, and both restore byte-identical', async () => {
    const [first, second] = await Promise.all([home.run(['backup', north, '--json']), home.run(['backup', south, '--json'])]);
    const a = parseJson<BackupJson>(expectExit(first, EXIT.ok));
    const b = parseJson<BackupJson>(expectExit(second, EXIT.ok));
    // they really overlapped
    expect(Math.max(first.startedAt, second.startedAt)).toBeLessThan(Math.min(first.endedAt, second.endedAt));
    expect(a.id).not.toBe(b.id);
    expect((await home.snapshots()).map((s) => s.id).sort()).toEqual([a.id, b.id].sort());

    for (const [id, source, name] of [[a.id, north, 'north'], [b.id, south, 'south']] as const) {
      const target = home.path(`restore-${name}`);
      expectExit(await home.run(['restore', id, '--target', target, '--json']), EXIT.ok);
      await assertTreesEqual(source, join(target, name), TREE_OPTIONS);
    }
    const verify = parseJson<VerifyJson>(expectExit(await home.run(['verify', '--level', 'full', '--json']), EXIT.ok));
    expect(verify.ok).toBe(true);
    expect(await leases()).toEqual([]);
  }, 90_000);
});

describe('prune while a backup is running', () => {
  it('exits 7 (locked) at once, naming the backup that holds the repository', async () => {
    const backup = await startPausedBackup([west]);
    try {
      const prune = expectExit(await home.run(['prune', '--grace', '0s', '--json']), EXIT.locked);
      const error = errorJson(prune);
      expect(error.code).toBe('locked');
      expect(error.message).toContain('backup (shared)');
      expect(error.message).toContain(`pid ${backup.pid}`);
      expect(error.details).toMatchObject({ holder: 'backup', kind: 'shared' });
      expect(prune.stderr).toContain(`pid ${backup.pid}`);
      expect(prune.durationMs).toBeLessThan(20_000);
    } finally {
      backup.signal('SIGCONT');
    }
    const done = parseJson<BackupJson>(expectExit(await backup.result, EXIT.ok));
    expect(done.snapshots[0]!.stats.totalBytes).toBe(64 * MiB + 'west\n'.length);
  }, 90_000);

  it('prune --lock-wait 2m waits for the backup, then succeeds and keeps everything the backup wrote', async () => {
    await writeTree(west, { 'w3.bin': 16 * MiB });
    const backup = await startPausedBackup([west]);
    const prune = home.start(['prune', '--grace', '0s', '--lock-wait', '2m', '--json'], { timeoutMs: 150_000 });
    try {
      // The prune is waiting, not failing: give it a few polls while the backup holds its lease.
      await sleep(2500);
      expect(prune.exited).toBe(false);
      expect((await leases()).filter((lease) => lease.kind === 'exclusive')).toEqual([]);
    } finally {
      backup.signal('SIGCONT');
    }
    const backupResult = expectExit(await backup.result, EXIT.ok);
    const pruneResult = expectExit(await prune.result, EXIT.ok);
    expect(pruneResult.endedAt).toBeGreaterThan(backupResult.endedAt);
    const pruned = parseJson<PruneJson>(pruneResult);
    expect(pruned.dryRun).toBe(false);

    // With a grace of 0 s the prune still kept every pack the finished backup references.
    const id = parseJson<BackupJson>(backupResult).id;
    const verify = parseJson<VerifyJson>(expectExit(await home.run(['verify', '--level', 'full', '--json']), EXIT.ok));
    expect(verify).toMatchObject({ ok: true, damagedSnapshots: [] });
    const target = home.path('restore-west');
    expectExit(await home.run(['restore', id, '--target', target, '--json']), EXIT.ok);
    await assertTreesEqual(west, join(target, 'west'), TREE_OPTIONS);
    expect(await leases()).toEqual([]);
  }, 150_000);
});
