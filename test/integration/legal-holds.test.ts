/**
 * Legal holds live in the repository: a held snapshot (or backup) is refused by `forget` — nothing of
 * the request is forgotten — and kept by `cleanup` even when its policy would remove it, until the hold
 * is released. A hold must name an existing snapshot.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CleanupResult } from '../../src/app/cleanup.js';
import type { LegalHold } from '../../src/domain/hold.js';
import { cleanupAll, createHome, errorJson, EXIT, expectExit, writeRandomFile, type CliHome } from './cli-harness.js';

let home: CliHome;
const backups: string[] = [];

beforeAll(async () => {
  home = await createHome('legal-holds');
  for (let i = 0; i < 3; i++) {
    await writeRandomFile(home.path('data', `part-${i}.bin`), 50_000);
    backups.push((await home.backup([home.path('data')])).id);
  }
}, 60_000);

afterAll(cleanupAll);

describe('legal holds', () => {
  it('refuses a hold on an unknown id, and one without a reason', async () => {
    expectExit(await home.run(['hold', 'add', 'full_19990101_000000', '--reason', 'case 1', '--json']), EXIT.notFound);
    expectExit(await home.run(['hold', 'add', backups[0]!, '--reason', ' ', '--json']), EXIT.usage);
    expect(await home.json<LegalHold[]>(['hold', 'list'])).toEqual([]);
  }, 30_000);

  it('a held backup cannot be forgotten, and nothing else of the same request is', async () => {
    await home.json(['hold', 'add', backups[0]!, '--reason', 'litigation 2026-17']);
    expect((await home.json<LegalHold[]>(['hold', 'list'])).map((hold) => [hold.id, hold.reason])).toEqual([[backups[0], 'litigation 2026-17']]);
    const refused = expectExit(await home.run(['forget', backups[1]!, backups[0]!, '--json']), EXIT.conflict);
    expect(errorJson(refused).message).toContain('legal hold');
    expect((await home.snapshots()).map((snapshot) => snapshot.id)).toEqual(backups);
  }, 30_000);

  it('cleanup keeps the held backup even when its policy would remove it', async () => {
    const result = await home.json<CleanupResult>(['cleanup', '--keep-last', '1', '--confirm', '--grace', '0s']);
    expect(result.remove.map((snapshot) => snapshot.id)).toEqual([backups[1]]);
    expect(result.keep.find((snapshot) => snapshot.id === backups[0])?.reasons).toContain('legal hold');
    expect((await home.snapshots()).map((snapshot) => snapshot.id)).toEqual([backups[0], backups[2]]);
  }, 30_000);

  it('once released, the backup can be forgotten', async () => {
    await home.json(['hold', 'remove', backups[0]!]);
    expectExit(await home.run(['hold', 'remove', backups[0]!, '--json']), EXIT.notFound);
    expect(await home.json<{ forgotten: string[] }>(['forget', backups[0]!])).toEqual({ forgotten: [backups[0]] });
  }, 30_000);
});
