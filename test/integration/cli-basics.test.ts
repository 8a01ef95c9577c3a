/**
 * The CLI's contract with scripts: exit codes, error messages that name the bad field, JSON on stdout.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupAll, createHome, errorJson, EXIT, expectExit, parseJson, writeTree, type BackupJson, type CliHome, type SnapshotJson, type StatsJson, type VerifyJson } from './cli-harness.js';

let home: CliHome;
let source: string;
let backup: BackupJson;

beforeAll(async () => {
  home = await createHome('basics');
  source = home.path('project');
  await writeTree(source, { 'readme.md': '# project\n', 'src/main.ts': 'export {};\n', 'data/blob.bin': 200_000 });
  backup = await home.backup([source]);
}, 60_000);

afterAll(cleanupAll);

describe('bad input exits 2 with a message naming the field', () => {
  it.each([
    ['--type', ['backup', 'SRC', '--type', 'weekly'], 'type'],
    ['--compression', ['backup', 'SRC', '--compression', 'brotli'], 'compression'],
    ['backup --lock-wait', ['backup', 'SRC', '--lock-wait', 'soon'], 'lock-wait'],
    ['prune --lock-wait', ['prune', '--lock-wait', '10 minutes'], 'lock-wait'],
    ['prune --grace', ['prune', '--grace', 'forever'], 'grace'],
  ])('%s', async (_name, args, field) => {
    const before = await home.snapshots();
    const result = expectExit(await home.run([...args.map((arg) => (arg === 'SRC' ? source : arg)), '--json']), EXIT.usage);
    const error = errorJson(result);
    expect(error.code).toBe('validation.invalid');
    expect(error.details).toMatchObject({ field });
    expect(error.message).toContain(field);
    // the offending value is echoed so the user sees what was wrong
    expect(error.message).toContain(args[args.length - 1]!);
    expect(result.stderr).toContain(field);
    // nothing was written: still the one snapshot
    expect((await home.snapshots()).map((s) => s.id)).toEqual(before.map((s) => s.id));
  }, 30_000);

  it.each([
    ['an invalid --level choice', ['verify', '--level', 'deep'], '--level'],
    ['a missing --target', ['restore', 'latest'], '--target'],
    ['an unknown subcommand option', ['backup', '--bogus'], '--bogus'],
    ['an unknown command', ['bogus'], 'bogus'],
  ])('%s is a usage error too (parsed by commander)', async (_name, args, named) => {
    const result = expectExit(await home.run(args), EXIT.usage);
    expect(result.stderr).toContain(named);
  }, 30_000);

  it('bad backup options on a fresh home create neither a repository nor a key file', async () => {
    const fresh = await createHome('basics-fresh');
    for (const bad of [['--type', 'weekly'], ['--compression', 'brotli'], ['--lock-wait', 'soon']]) {
      expectExit(await fresh.run(['backup', source, ...bad, '--json']), EXIT.usage);
      expect(existsSync(fresh.repo)).toBe(false);
      expect(existsSync(fresh.keyPath)).toBe(false);
    }
  }, 30_000);
});

describe('exit codes', () => {
  it('restore into a non-empty target without --force exits 9 and leaves the target alone', async () => {
    const target = home.path('occupied');
    await writeTree(target, { 'keep.txt': 'mine' });
    const result = expectExit(await home.run(['restore', backup.id, '--target', target, '--json']), EXIT.conflict);
    const error = errorJson(result);
    expect(error.code).toBe('conflict.target_not_empty');
    expect(error.message).toContain('--force');
    expect(error.details).toMatchObject({ field: 'target' });
    expect(existsSync(join(target, 'project'))).toBe(false);
  }, 30_000);

  it('snapshots on a missing repository exits 4 and creates nothing', async () => {
    const empty = await createHome('basics-missing');
    const result = expectExit(await empty.run(['snapshots', '--json']), EXIT.notFound);
    const error = errorJson(result);
    expect(error.code).toBe('not_found');
    expect(error.message).toContain(empty.repo);
    expect(existsSync(join(empty.repo, 'config'))).toBe(false);
    // an explicit --repo that does not exist is the same
    expectExit(await home.run(['snapshots', '--repo', home.path('nowhere'), '--json']), EXIT.notFound);
  }, 30_000);

  it('restore of an unknown snapshot exits 4', async () => {
    const result = expectExit(await home.run(['restore', 'full_19990101_000000', '--target', home.path('t-unknown'), '--json']), EXIT.notFound);
    expect(errorJson(result).message).toContain('full_19990101_000000');
  }, 30_000);
});

describe('--json output parses', () => {
  it('backup, snapshots, verify, stats, keys list, restore', async () => {
    expect(backup).toMatchObject({ id: expect.stringMatching(/^full_\d{8}_\d{6}/), warnings: [] });
    expect(backup.snapshots).toHaveLength(1);
    expect(backup.snapshots[0]).toMatchObject({ id: backup.id, type: 'full', source: 'files', paths: [source] });

    const snapshots = await home.snapshots();
    expect(snapshots.map((s: SnapshotJson) => s.id)).toContain(backup.id);

    const verify = await home.json<VerifyJson>(['verify']);
    expect(verify).toMatchObject({ level: 'structure', ok: true, problems: [], damagedSnapshots: [] });

    const stats = await home.json<StatsJson>(['stats']);
    expect(stats.snapshots).toBeGreaterThanOrEqual(1);
    expect(stats.uniqueBytes).toBeGreaterThanOrEqual(200_000);

    const keys = await home.json<{ slots: unknown[]; dataKeys: unknown[] }>(['keys', 'list']);
    expect(keys.slots).toHaveLength(1);
    expect(keys.dataKeys).toHaveLength(1);

    const target = home.path('restored');
    const restored = await home.json<{ snapshots: string[]; files: number; failures: unknown[] }>(['restore', backup.id, '--target', target]);
    expect(restored).toMatchObject({ snapshots: [backup.id], files: 3, failures: [] });
  }, 60_000);

  it('errors with --json are one JSON object on stdout; the human message goes to stderr', async () => {
    const result = expectExit(await home.run(['restore', 'nope', '--target', home.path('t-nope'), '--json']), EXIT.notFound);
    expect(() => parseJson(result)).not.toThrow();
    expect(Object.keys(parseJson<Record<string, unknown>>(result))).toEqual(['error']);
    expect(result.stderr).toMatch(/^error: .*\[not_found\]\n$/);
  }, 30_000);
});

describe('BACKUP_LOG_LEVEL', () => {
  it('info writes JSON log lines for the run on stderr, never on stdout', async () => {
    const result = expectExit(await home.run(['verify', '--json'], { env: { BACKUP_LOG_LEVEL: 'info' } }), EXIT.ok);
    const logs = result.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: string; msg: string; kind?: string });
    expect(logs.map((line) => [line.level, line.msg, line.kind])).toEqual([
      ['info', 'run started', 'verify'],
      ['info', 'run succeeded', 'verify'],
    ]);
    expect(parseJson<VerifyJson>(result).ok).toBe(true);
  });

  it('the default (warn) writes nothing for a run that succeeds', async () => {
    const result = expectExit(await home.run(['verify', '--json']), EXIT.ok);
    expect(result.stderr).toBe('');
  });
});
