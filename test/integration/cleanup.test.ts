/**
 * `chrono-backup cleanup`: the dry run lists removals and changes nothing; the confirmed run removes
 * exactly what the dry run listed, prunes, and leaves a repository that verifies; held ids survive.
 * Snapshot times are "now", so the policy here is `keep_last`; the calendar rules are covered by
 * test/unit/domain/retention.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import type { CleanupResult } from '../../src/app/cleanup.js';
import { cleanupAll, createHome, errorJson, EXIT, expectExit, writeRandomFile, type CliHome, type VerifyJson } from './cli-harness.js';

let home: CliHome;
/** Backup ids, oldest first. */
const backups: string[] = [];

beforeAll(async () => {
  home = await createHome('cleanup');
  const source = home.path('data');
  for (let i = 0; i < 4; i++) {
    // New data each time, so a removed snapshot leaves packs for prune to delete.
    await writeRandomFile(home.path('data', `part-${i}.bin`), 100_000);
    await writeFile(home.path('data', 'changing.bin'), `version ${i}\n`.repeat(20_000));
    backups.push((await home.backup([source])).id);
  }
}, 60_000);

afterAll(cleanupAll);

const ids = (entries: { backupId: string }[]) => [...new Set(entries.map((entry) => entry.backupId))].sort();

describe('chrono-backup cleanup', () => {
  let dryRun: CleanupResult;

  it('lists what a dry run would remove, and why, without changing anything', async () => {
    const before = await home.snapshots();
    dryRun = await home.json<CleanupResult>(['cleanup', '--keep-last', '2', '--hold', backups[0]!]);
    expect(dryRun.dryRun).toBe(true);
    expect(dryRun.pruned).toBeUndefined();
    expect(ids(dryRun.remove)).toEqual([backups[1]]);
    expect(dryRun.remove[0]!.reason).toBe('older than every rule');
    expect(ids(dryRun.keep)).toEqual([backups[0], backups[2], backups[3]].sort());
    expect(dryRun.keep.find((kept) => kept.backupId === backups[0])?.reasons).toEqual(['legal hold']);
    expect(dryRun.keep.find((kept) => kept.backupId === backups[3])?.reasons).toEqual(['last 2']);
    expect(await home.snapshots()).toEqual(before);

    const human = expectExit(await home.run(['cleanup', '--keep-last', '2', '--hold', backups[0]!]), EXIT.ok).stdout;
    expect(human).toContain('would remove');
    expect(human).toContain('legal hold');
    expect(human).toContain('nothing changed');
  }, 30_000);

  it('reads a named policy from a policy file, with the same answer as the flags', async () => {
    const file = home.path('policies.yaml');
    await writeFile(file, 'policies:\n  standard:\n    retention_days: 0\n    keep_last: 2\n');
    const fromFile = await home.json<CleanupResult>(['cleanup', '--policy-file', file, '--policy', 'standard', '--hold', backups[0]!]);
    expect(fromFile.remove).toEqual(dryRun.remove);
    expect(fromFile.keep).toEqual(dryRun.keep);
  }, 30_000);

  it('refuses bad policies and unknown holds, naming what is wrong', async () => {
    const flag = errorJson(expectExit(await home.run(['cleanup', '--keep-last', 'two', '--json']), EXIT.usage));
    expect(flag.details).toMatchObject({ field: 'keep-last' });
    const none = errorJson(expectExit(await home.run(['cleanup', '--json']), EXIT.usage));
    expect(none.message).toContain('--policy');
    const hold = errorJson(expectExit(await home.run(['cleanup', '--keep-last', '1', '--hold', 'no-such-backup', '--json']), EXIT.notFound));
    expect(hold.message).toContain('no-such-backup');
    const policy = errorJson(expectExit(await home.run(['cleanup', '--policy-file', home.path('policies.yaml'), '--policy', 'weekly', '--json']), EXIT.notFound));
    expect(policy.message).toContain('standard');
  }, 30_000);

  it('with --confirm removes exactly what the dry run listed, prunes, and the repository still verifies', async () => {
    const confirmed = await home.json<CleanupResult>(['cleanup', '--keep-last', '2', '--hold', backups[0]!, '--confirm', '--grace', '0']);
    expect(confirmed.dryRun).toBe(false);
    expect(confirmed.remove).toEqual(dryRun.remove);
    expect(confirmed.keep).toEqual(dryRun.keep);
    expect(confirmed.pruned?.bytesFreed ?? 0).toBeGreaterThan(0);
    expect(ids(await home.snapshots())).toEqual([backups[0], backups[2], backups[3]].sort());

    const verify = await home.json<VerifyJson>(['verify', '--level', 'full']);
    expect(verify.ok).toBe(true);
    expect(verify.snapshotsChecked).toBe(3);
  }, 30_000);
});
