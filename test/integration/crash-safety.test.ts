/**
 * `kill -9` of a backup at several moments never leaves a snapshot that is not fully durable, never
 * damages the repository, and costs little: the next backup reuses every pack that was indexed before
 * the kill, the dead run's lease does not block the next backup, and prune removes what was left.
 *
 * Two repositories get the same ~300 MB of incompressible files:
 * - A: created by `chrono-backup init` (default 16 MiB packs). A 300 MB run writes ~19 packs, fewer than
 *   the 32 after which the writer indexes them, so its packs are indexed only at the final flush: a kill
 *   before that leaves unindexed packs, which the next run cannot reuse and prune removes.
 * - B: created with the repository API and 2 MiB packs (same format, same code paths, the CLI opens it
 *   like any other), so a run writes index files on the way and a kill leaves reusable data behind.
 *
 * Observed lease behaviour (TTL 120 s): a killed run's shared lease stays live until it expires; other
 * backups (shared) are not blocked, while prune (exclusive) refuses with exit 7 naming the dead run's pid.
 * No supported command removes a dead lease early, so the final prune uses `--lock-wait` and waits for the
 * expiry — most of this file's ~2.5 minutes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyFileKeyProvider } from '../../src/keys/local-key-provider.js';
import { Repository } from '../../src/repository/repository.js';
import { LocalObjectStorage } from '../../src/storage/local-object-storage.js';
import { assertTreesEqual } from '../helpers/compare-trees.js';
import {
  cleanupAll,
  createHome,
  describeRun,
  EXIT,
  expectExit,
  listObjects,
  listPacks,
  listTemporaries,
  makeTempDir,
  parseJson,
  waitFor,
  writeTree,
  type BackupJson,
  type CliHome,
  type PruneJson,
  type StatsJson,
  type VerifyJson,
} from './cli-harness.js';

const MiB = 1024 * 1024;
const TREE_OPTIONS = { mtimeToleranceNs: 999n };
/** Tree blobs are the only bytes a run adds beyond file content: a few KiB here. */
const TREE_SLACK = 1 * MiB;

interface Lease {
  id: string;
  kind: string;
  operation: string;
  pid: number;
  expires: string;
}

interface RepoState {
  packs: number;
  packBytes: number;
  indexFiles: number;
  leases: Lease[];
}

interface Kill {
  pid: number;
  at: RepoState;
  /** Index files the killed run itself wrote. */
  indexFilesWritten: number;
  packsWritten: number;
  /** Files of interrupted writes left in the repository (not objects: `list` never shows them). */
  temporaries: string[];
}

let source: string;
let totalBytes: number;
let homeA: CliHome;
let homeB: CliHome;
const kills = new Map<CliHome, Kill[]>();

async function leases(repo: string): Promise<Lease[]> {
  const names = await listObjects(repo, 'locks');
  const parsed = await Promise.all(names.map(async (name) => JSON.parse(await readFile(join(repo, 'locks', name), 'utf8').catch(() => 'null')) as Lease | null));
  return parsed.filter((lease): lease is Lease => lease !== null);
}

async function repoState(repo: string): Promise<RepoState> {
  const packs = await listPacks(repo);
  return { packs: packs.length, packBytes: packs.reduce((sum, pack) => sum + pack.size, 0), indexFiles: (await listObjects(repo, 'index')).length, leases: await leases(repo) };
}

/**
 * Starts a backup of `source`, polls the repository every few ms and sends SIGKILL once `when` holds.
 * Fails if the backup finishes first (the moment was missed).
 */
async function killBackup(home: CliHome, moment: string, when: (now: RepoState, before: RepoState, pid: number) => boolean): Promise<Kill> {
  const before = await repoState(home.repo);
  const snapshotsBefore = (await home.snapshots()).map((s) => s.id);
  const run = home.start(['backup', source, '--json'], { timeoutMs: 120_000 });
  const at = await waitFor(
    moment,
    async () => {
      if (run.exited) throw new Error(`the backup ended before the kill point "${moment}": ${describeRun(await run.result)}`);
      const now = await repoState(home.repo);
      return when(now, before, run.pid) ? now : undefined;
    },
    90_000,
    5,
  );
  run.signal('SIGKILL');
  const result = await run.result;
  expect(result.signal).toBe('SIGKILL');

  // No snapshot of the killed run: the snapshot list is what it was.
  expect((await home.snapshots()).map((s) => s.id)).toEqual(snapshotsBefore);
  // Its lease outlives it (nobody released it) and is a shared backup lease.
  expect((await leases(home.repo)).filter((lease) => lease.pid === run.pid)).toEqual([expect.objectContaining({ kind: 'shared', operation: 'backup' })]);
  // Whatever it uploaded and indexed is sound.
  const verify = parseJson<VerifyJson>(expectExit(await home.run(['verify', '--level', 'full', '--json']), EXIT.ok));
  expect(verify).toMatchObject({ ok: true, problems: [], damagedSnapshots: [] });

  const after = await repoState(home.repo);
  const kill: Kill = { pid: run.pid, at, indexFilesWritten: after.indexFiles - before.indexFiles, packsWritten: after.packs - before.packs, temporaries: await listTemporaries(home.repo) };
  kills.set(home, [...(kills.get(home) ?? []), kill]);
  return kill;
}

beforeAll(async () => {
  const data = await makeTempDir('crash-source');
  source = join(data, 'tree');
  const files: Record<string, number | string> = { 'notes.txt': 'a crash-safety fixture\n' };
  for (let i = 0; i < 10; i++) files[`big/part-${i}.bin`] = 24 * MiB;
  for (let i = 0; i < 14; i++) files[`small/${String.fromCharCode(97 + i)}/file.bin`] = 4 * MiB;
  await writeTree(source, files);
  totalBytes = Object.values(files).reduce<number>((sum, content) => sum + (typeof content === 'number' ? content : Buffer.byteLength(content)), 0);

  homeA = await createHome('crash-default');
  await homeA.json(['init']);
  homeB = await createHome('crash-small-packs');
  const repository = await Repository.init(new LocalObjectStorage(homeB.repo), await KeyFileKeyProvider.create(homeB.keyPath), { now: new Date(), packSize: 2 * MiB });
  expect(repository.config.packSize).toBe(2 * MiB);
  expect(await homeB.snapshots()).toEqual([]);
}, 60_000);

const report: Record<string, unknown> = {};

afterAll(async () => {
  // CHRONO_IT_VERBOSE=1 prints what the kills left behind and what the next runs made of it.
  if (process.env.CHRONO_IT_VERBOSE) {
    const name = (home: CliHome) => (home === homeA ? 'A (16 MiB packs)' : 'B (2 MiB packs)');
    const killed = Object.fromEntries([...kills].map(([home, list]) => [name(home), list.map(({ at, ...kill }) => ({ ...kill, packsAtKill: at.packs, packMiBAtKill: Math.round(at.packBytes / MiB), indexFilesAtKill: at.indexFiles }))]));
    process.stdout.write(`crash-safety report: ${JSON.stringify({ totalBytes, killed, ...report }, null, 2)}\n`);
  }
  await cleanupAll();
});

describe('kill -9 of a ~300 MB backup', () => {
  it('right after it took its lease', async () => {
    const kill = await killBackup(homeA, 'the lease', (now, _before, pid) => now.leases.some((lease) => lease.pid === pid));
    expect(kill.packsWritten).toBe(0);
  }, 60_000);

  it('after some packs were uploaded', async () => {
    const kill = await killBackup(homeA, '3 new packs', (now, before) => now.packs - before.packs >= 3);
    expect(kill.packsWritten).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('near the end of the upload', async () => {
    const kill = await killBackup(homeA, '85% of the bytes uploaded', (now, before) => now.packBytes - before.packBytes >= 0.85 * totalBytes);
    expect(kill.at.packBytes).toBeGreaterThanOrEqual(0.85 * totalBytes);
  }, 60_000);

  it('after the first index file was written (2 MiB packs)', async () => {
    const kill = await killBackup(homeB, 'the first index file', (now, before) => now.indexFiles - before.indexFiles >= 1);
    expect(kill.indexFilesWritten).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('after two more index files were written, near the end (2 MiB packs)', async () => {
    const kill = await killBackup(homeB, 'two more index files', (now, before) => now.indexFiles - before.indexFiles >= 2);
    expect(kill.indexFilesWritten).toBeGreaterThanOrEqual(2);
  }, 60_000);
});

describe('after the kills', () => {
  const reuse = new Map<CliHome, { orphanPacks: number; indexedBytes: number; backup: BackupJson }>();

  it('the next backup is not blocked by the dead leases and reuses every byte indexed before the kills', async () => {
    const before = new Map<CliHome, { stats: StatsJson; packFiles: number }>();
    for (const home of [homeA, homeB]) {
      // Leases of the killed runs may still be stored (they expire in 120 s; a process on this host that
      // finds one whose holder is gone removes it) …
      for (const kill of kills.get(home)!) expect(() => process.kill(kill.pid, 0)).toThrow();
      before.set(home, { stats: await home.json<StatsJson>(['stats']), packFiles: (await listPacks(home.repo)).length });
    }
    // … and in any case a backup that may not wait for any lock at all runs.
    const [a, b] = await Promise.all([homeA, homeB].map((home) => home.backup([source], ['--lock-wait', '0'], { timeoutMs: 120_000 })));

    for (const [home, backup] of [[homeA, a!], [homeB, b!]] as const) {
      const { stats, packFiles } = before.get(home)!;
      const snapshot = backup.snapshots[0]!;
      expect(snapshot.stats.totalBytes).toBe(totalBytes);
      // Everything indexed before is reused; everything else had to be added again.
      expect(snapshot.stats.bytesAdded).toBeGreaterThanOrEqual(totalBytes - stats.uniqueBytes);
      expect(snapshot.stats.bytesAdded).toBeLessThanOrEqual(totalBytes - stats.uniqueBytes + TREE_SLACK);
      reuse.set(home, { orphanPacks: packFiles - stats.packs, indexedBytes: stats.uniqueBytes, backup });
      report[`next backup ${home === homeA ? 'A' : 'B'}`] = { indexedBytesBefore: stats.uniqueBytes, bytesAdded: snapshot.stats.bytesAdded, orphanPacksBefore: packFiles - stats.packs, durationMs: snapshot.stats.durationMs };
    }
    // A (16 MiB packs): the writer indexes every 8 packs (or every minute), so a run killed before its
    // first index file reused nothing and left orphans; one killed later had its data reused.
    const onA = reuse.get(homeA)!;
    if (onA.indexedBytes === 0) expect(onA.orphanPacks).toBe(kills.get(homeA)!.reduce((sum, kill) => sum + kill.packsWritten, 0));
    else expect(onA.backup.snapshots[0]!.stats.bytesAdded).toBeLessThan(totalBytes);
    // B (2 MiB packs): the data indexed before the kills was not uploaded again.
    expect(reuse.get(homeB)!.indexedBytes).toBeGreaterThan(0);
    expect(b!.snapshots[0]!.stats.bytesAdded).toBeLessThan(totalBytes - reuse.get(homeB)!.indexedBytes / 2);
    // the catalog and the repository agree: exactly one snapshot, the new one
    for (const [home, backup] of [[homeA, a!], [homeB, b!]] as const) expect((await home.snapshots()).map((s) => s.id)).toEqual([backup.id]);
  }, 120_000);

  it('prune --grace 0s runs at once (dead leases of this host are recognised), removes the leftovers; the repository verifies and restores byte-identical', async () => {
    const deadUntil = Math.max(...[homeA, homeB].flatMap((home) => kills.get(home)!.map((kill) => kill.at.leases.find((lease) => lease.pid === kill.pid)?.expires ?? '')).map((expires) => Date.parse(expires)));
    expect(Number.isFinite(deadUntil)).toBe(true);

    const pruned = await Promise.all(
      [homeA, homeB].map(async (home) => {
        // No --lock-wait: the killed processes no longer exist on this host, so their leases do not count.
        const result = expectExit(await home.run(['prune', '--grace', '0s', '--json'], { timeoutMs: 200_000 }), EXIT.ok);
        return { home, result, prune: parseJson<PruneJson>(result) };
      }),
    );
    for (const { home, result, prune } of pruned) {
      report[`prune ${home === homeA ? 'A' : 'B'}`] = { ...prune, waitedMs: result.durationMs, temporariesAfter: await listTemporaries(home.repo) };
      // it did not wait for the dead leases to expire
      expect(result.endedAt).toBeLessThan(deadUntil);
      // every pack the killed runs uploaded but never indexed is gone, nothing else was needed
      expect(prune.orphanPacksDeleted).toBe(reuse.get(home)!.orphanPacks);
      expect(prune.packsDeleted).toBe(0);
      const stats = await home.json<StatsJson>(['stats']);
      expect((await listPacks(home.repo)).length).toBe(stats.packs);
      expect(await leases(home.repo)).toEqual([]);
      expect((await listTemporaries(home.repo)).filter((name) => name.startsWith('.~tmp-pack-'))).toEqual([]);
    }

    await Promise.all(
      [homeA, homeB].map(async (home) => {
        const verify = parseJson<VerifyJson>(expectExit(await home.run(['verify', '--level', 'full', '--json'], { timeoutMs: 120_000 }), EXIT.ok));
        expect(verify).toMatchObject({ ok: true, snapshotsChecked: 1, damagedSnapshots: [] });
        const target = home.path('restored');
        expectExit(await home.run(['restore', reuse.get(home)!.backup.id, '--target', target, '--json'], { timeoutMs: 120_000 }), EXIT.ok);
        await assertTreesEqual(source, join(target, 'tree'), TREE_OPTIONS);
      }),
    );
  }, 240_000);
});
