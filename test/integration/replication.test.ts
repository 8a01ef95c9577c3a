/**
 * Replication local → S3 (fauxqs) → SFTP (Debian sshd) of several snapshots, one of them incremental:
 * every copy verifies in full and restores byte-identical, a second run transfers nothing, an
 * interrupted run resumes and copies less than a full copy, receipts are recorded, and the policy check
 * reports the shortfall before and none after. Needs `npm run build` (worker threads load dist/).
 * Also: the WAL archive and restore points travel with the snapshots, limited to what the replica's
 * base backups can use; a second run copies none, a damaged WAL file is reported and not kept.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AppDeps } from '../../src/app/deps.js';
import { replicateRepository, type ReplicationResult } from '../../src/app/replicate-repository.js';
import { pruneWal } from '../../src/app/pitr.js';
import { checkReplication } from '../../src/app/replication-policy.js';
import { runBackup } from '../../src/app/run-backup.js';
import { runRestore } from '../../src/app/run-restore.js';
import { verifyRepository } from '../../src/app/verify-repository.js';
import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { ConflictError, IntegrityError, KeyAccessError, StorageError } from '../../src/domain/errors.js';
import { PassphraseKeyProvider } from '../../src/keys/local-key-provider.js';
import { WalArchive, type RestorePointRecord } from '../../src/pitr/wal-archive.js';
import { formatLsn, parseWalFileName, segmentFileName, type WalFileName } from '../../src/pitr/wal-names.js';
import { systemClock } from '../../src/ports/clock.js';
import type { ObjectStorage } from '../../src/ports/object-storage.js';
import type { StorageOperation } from '../../src/storage/retrying-object-storage.js';
import { silentProgress } from '../../src/ports/progress.js';
import { Repository } from '../../src/repository/repository.js';
import { LocalObjectStorage } from '../../src/storage/local-object-storage.js';
import { openStorage, type OpenedStorage } from '../../src/storage/open-storage.js';
import { startS3Emulator, type S3EmulatorHandle } from '../harness/s3-emulator.js';
import { startSshServer, type SshServerHandle } from '../harness/sshd.js';
import { assertTreesEqual } from '../helpers/compare-trees.js';
import { writeRandomFile } from '../helpers/fixture-tree.js';
import { InterceptingObjectStorage } from '../helpers/storage-faults.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const PASSPHRASE = 'replication passphrase';

let dir: string;
let s3: S3EmulatorHandle;
let sshd: SshServerHandle;
let primary: AppDeps;
const opened: OpenedStorage[] = [];
/** Each snapshot's id and a copy of the tree as it was backed up. */
const states: { id: string; copy: string }[] = [];

const keys = () => new PassphraseKeyProvider(PASSPHRASE, { scrypt: { N: 1024 } });
const s3Env = () => ({ AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: s3.region, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey });

async function openS3(prefix: string): Promise<OpenedStorage> {
  const storage = await openStorage(`s3://chrono-replication/${prefix}`, { env: s3Env(), retry: { baseDelayMs: 20 } });
  opened.push(storage);
  return storage;
}

async function openSftp(path: string): Promise<OpenedStorage> {
  const storage = await openStorage(`sftp://${sshd.username}@127.0.0.1:${sshd.port}${join(sshd.dataDir, path)}`, {
    env: { CHRONO_BACKUP_SFTP_KEY_FILE: sshd.privateKeyPath, CHRONO_BACKUP_SFTP_HOST_KEY: sshd.hostKeyFingerprint },
    retry: { baseDelayMs: 20 },
  });
  opened.push(storage);
  return storage;
}

/** The same dependencies on another storage: the same credentials and catalog. */
const on = (storage: ObjectStorage): AppDeps => ({ ...primary, storage });

/** Fails every `put` after the first `limit`, as a destination that goes away mid-copy. */
class FailingAfterPuts extends InterceptingObjectStorage {
  puts = 0;
  constructor(
    inner: ObjectStorage,
    private readonly limit: number,
  ) {
    super(inner);
  }
  protected async around<T>(operation: StorageOperation, key: string, call: () => Promise<T>): Promise<T> {
    if (operation === 'put' && ++this.puts > this.limit) throw new StorageError('io', `injected failure writing ${key}`);
    return call();
  }
}

async function expectRestoresIdentically(deps: AppDeps, name: string): Promise<void> {
  for (const state of states) {
    const target = join(dir, 'restores', `${name}-${state.id}`);
    const restored = await runRestore(deps, { snapshotId: state.id, target });
    expect(restored.failures).toEqual([]);
    // Files written here carry nanosecond mtimes; restore sets them to the microsecond.
    await assertTreesEqual(state.copy, join(target, 'tree'), { mtimeToleranceNs: 999n });
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chrono-replication-'));
  const servers = Promise.all([startS3Emulator(), startSshServer()]);
  const tree = join(dir, 'tree');
  await mkdir(join(tree, 'docs'), { recursive: true });
  await writeRandomFile(join(tree, 'one.bin'), 3 * MiB, 1);
  await writeRandomFile(join(tree, 'two.bin'), 2 * MiB, 2);
  await writeFile(join(tree, 'docs', 'note.txt'), 'first version\n');
  primary = {
    storage: new LocalObjectStorage(join(dir, 'primary')),
    keys: keys(),
    catalog: SqliteCatalog.open(join(dir, 'catalog.sqlite')),
    clock: systemClock,
    progress: silentProgress,
    hostname: 'test-host',
    workers: 2,
  };
  // Small packs, so that each copy writes several and an interruption lands between two of them.
  await Repository.init(primary.storage, primary.keys, { now: new Date(), packSize: MiB });
  const snapshot = async (type: 'full' | 'incremental') => {
    const result = await runBackup(primary, { paths: [tree], type });
    const copy = join(dir, 'states', String(states.length), 'tree');
    await mkdir(join(copy, '..'), { recursive: true });
    await run('cp', ['-a', tree, copy]);
    states.push({ id: result.snapshots[0]!.id, copy });
    return result.snapshots[0]!;
  };
  await snapshot('full');
  await appendFile(join(tree, 'docs', 'note.txt'), 'second version\n');
  await writeRandomFile(join(tree, 'three.bin'), 2 * MiB, 3);
  expect((await snapshot('incremental')).type).toBe('incremental');
  await rm(join(tree, 'two.bin'));
  await writeRandomFile(join(tree, 'four.bin'), MiB + 12345, 4);
  await snapshot('full');

  [s3, sshd] = await servers;
  await s3.createBucket('chrono-replication');
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(opened.map((storage) => storage.close()));
  await primary?.catalog.close();
  await Promise.allSettled([s3?.stop(), sshd?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('replication local → S3 → SFTP', () => {
  let fullCopy: ReplicationResult;
  let s3Replica: OpenedStorage;
  let sftpReplica: OpenedStorage;

  it('reports every snapshot short of "3 copies on 3 providers" before any copy', async () => {
    const check = await checkReplication(primary, { copies: 3, providers: 3 });
    expect(check).toMatchObject({ ok: false, basis: 'receipts', snapshotsChecked: 3 });
    expect(check.shortfalls.map((s) => s.snapshotId)).toEqual(states.map((s) => s.id).sort());
    expect(check.shortfalls[0]).toMatchObject({ copies: 1, providers: ['local'], short: ['copies', 'providers'] });
  });

  it('copies every snapshot to a new S3 replica that verifies in full and restores identically', async () => {
    s3Replica = await openS3('replica');
    fullCopy = await replicateRepository(primary, s3Replica);
    expect(fullCopy).toMatchObject({ created: true, source: { provider: 'local' }, destination: { provider: 's3', location: s3Replica.location } });
    expect(fullCopy.keyObjectsCopied).toBe(2); // one key slot, one sealed data key
    expect(fullCopy.snapshots.map((s) => [s.snapshotId, s.status])).toEqual(states.map((s) => [s.id, 'copied']));
    // The incremental and the last full share most blobs with the first: they travel once.
    expect(fullCopy.snapshots[0]!.blobsCopied).toBeGreaterThan(4);
    expect(fullCopy.snapshots[1]!.blobsSkipped).toBeGreaterThan(0);
    expect(fullCopy.snapshots[2]!.blobsSkipped).toBeGreaterThan(0);

    const replicaDeps = on(s3Replica);
    const verified = await verifyRepository(replicaDeps, { level: 'full' });
    expect(verified).toMatchObject({ ok: true, snapshotsChecked: 3, problems: [] });
    expect(verified.blobsChecked).toBe(fullCopy.blobsCopied);
    await expectRestoresIdentically(replicaDeps, 's3');
  });

  it('copies the S3 replica on to SFTP, which verifies and restores identically too', async () => {
    sftpReplica = await openSftp('replica');
    const copy = await replicateRepository(on(s3Replica), sftpReplica);
    expect(copy).toMatchObject({ created: true, source: { provider: 's3' }, destination: { provider: 'sftp' }, blobsCopied: fullCopy.blobsCopied });
    const replicaDeps = on(sftpReplica);
    await expect(verifyRepository(replicaDeps, { level: 'full' })).resolves.toMatchObject({ ok: true, snapshotsChecked: 3 });
    await expectRestoresIdentically(replicaDeps, 'sftp');
  });

  it('transfers nothing on a second run', async () => {
    const again = await replicateRepository(primary, s3Replica);
    expect(again).toMatchObject({ created: false, keyObjectsCopied: 0, blobsCopied: 0, bytesCopied: 0 });
    expect(again.snapshots.map((s) => s.status)).toEqual(['present', 'present', 'present']);
  });

  it('records a receipt per copy, and the policy check then finds no shortfall', async () => {
    const repository = fullCopy.source.repository;
    const receipts = await primary.catalog.listReplications({ sourceRepository: repository });
    expect(receipts).toHaveLength(6);
    for (const receipt of receipts) expect(receipt).toMatchObject({ verified: true, source: { repository }, destination: { repository } });
    const toS3 = receipts.filter((r) => r.destination.location === s3Replica.location);
    expect(toS3.map((r) => r.snapshotId).sort()).toEqual(states.map((s) => s.id).sort());
    expect(toS3.reduce((sum, r) => sum + r.blobsCopied, 0)).toBe(fullCopy.blobsCopied);

    await expect(checkReplication(primary, { copies: 3, providers: 3 })).resolves.toMatchObject({ ok: true, shortfalls: [] });
    // Counted in the replicas themselves rather than from receipts, the answer is the same.
    await expect(checkReplication(primary, { copies: 3, providers: 3, replicas: [s3Replica, sftpReplica] })).resolves.toMatchObject({ ok: true, basis: 'replicas' });
    // A fourth copy is asked for: every snapshot falls short again.
    await expect(checkReplication(primary, { copies: 4, providers: 3 })).resolves.toMatchObject({ ok: false, shortfalls: expect.arrayContaining([expect.objectContaining({ copies: 3, short: ['copies'] })]) });
  });

  it('resumes an interrupted run, copying less than a full copy, and completes', async () => {
    const target = await openS3('interrupted');
    const failing = new FailingAfterPuts(target, 12);
    const failure = await replicateRepository(primary, failing).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(StorageError);
    expect(failing.puts).toBeGreaterThan(12);
    const resumed = await replicateRepository(primary, target);
    expect(resumed.created).toBe(false);
    expect(resumed.blobsCopied).toBeGreaterThan(0);
    expect(resumed.blobsCopied).toBeLessThan(fullCopy.blobsCopied);
    await expect(verifyRepository(on(target), { level: 'full' })).resolves.toMatchObject({ ok: true, snapshotsChecked: 3 });
  });

  it('refuses a destination holding another repository, and one the credentials do not open', async () => {
    const other = new LocalObjectStorage(join(dir, 'other'));
    await Repository.init(other, keys(), { now: new Date() });
    const conflict = await replicateRepository(primary, other).catch((error: unknown) => error);
    expect(conflict).toBeInstanceOf(ConflictError);
    expect((conflict as ConflictError).code).toBe('conflict.not_a_replica');

    // A credential added to the primary after the replica was made does not open the replica yet.
    const second = new PassphraseKeyProvider('another passphrase', { scrypt: { N: 1024 } });
    const repository = await Repository.open(primary.storage, primary.keys, { loadIndex: false });
    await repository.keyring.addSlot(primary.storage, second, new Date());
    const refused = await replicateRepository({ ...primary, keys: second }, s3Replica).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KeyAccessError);
    expect((refused as KeyAccessError).message).toContain(s3Replica.location);
    expect((refused as KeyAccessError).message).not.toContain('another passphrase');
    // With the original credential the next run brings the new slot across; then the new one opens it.
    await expect(replicateRepository(primary, s3Replica)).resolves.toMatchObject({ keyObjectsCopied: 1, blobsCopied: 0 });
    await expect(Repository.open(s3Replica, second, { loadIndex: false })).resolves.toBeInstanceOf(Repository);
  });
});

describe('replication of the WAL archive', () => {
  const CLUSTER = '7301234567890123456';
  const segment = (n: number): WalFileName => parseWalFileName(segmentFileName(1, BigInt(n), MiB))!;
  const HISTORY = parseWalFileName('00000002.history')!;
  /** What was archived, by file name. */
  const archived = new Map<string, Buffer>();
  let archive: WalArchive;
  let replica: LocalObjectStorage;
  let firstBase: string;

  /** Opens the archive of the cluster in a repository with the shared credentials (a replica's own keys). */
  const archiveIn = async (storage: ObjectStorage) => new WalArchive(storage, (await Repository.open(storage, keys(), { loadIndex: false })).keyring, CLUSTER);
  const archiveSegments = async (...numbers: number[]) => {
    for (const n of numbers) {
      // Some WAL, then the zero-filled tail of a switched segment.
      const content = Buffer.concat([randomBytes(32 * 1024), Buffer.alloc(MiB - 32 * 1024)]);
      await archive.push(segment(n), content);
      archived.set(segment(n).name, content);
    }
  };
  const storedSize = async (file: WalFileName) => (await archive.list()).find((f) => f.file.name === file.name)!.size;

  /**
   * Records a base backup of the cluster starting in `startSegment`. Its tree is a files snapshot's:
   * replication copies what a snapshot names and never looks inside, and no PostgreSQL is needed here.
   */
  async function recordBaseBackup(id: string, startSegment: number): Promise<string> {
    const repository = await Repository.open(primary.storage, primary.keys, { loadIndex: false });
    const files = await repository.loadSnapshot(states[0]!.id);
    const start = BigInt(startSegment) * BigInt(MiB) + 40n;
    const time = new Date().toISOString();
    await repository.saveSnapshot({
      ...files,
      id,
      backupId: id,
      source: 'physical',
      time,
      details: { physical: { systemIdentifier: CLUSTER, timeline: 1, startLsn: formatLsn(start), stopLsn: formatLsn(start + 0x200n), startTime: time, stopTime: time, nextXid: '750', walSegmentSize: MiB, serverMajor: 15 } },
    });
    return id;
  }

  beforeAll(async () => {
    archive = await archiveIn(primary.storage);
    await archiveSegments(1, 2, 3, 4, 5, 6);
    const history = Buffer.from('1\t0/700000\tno recovery target specified\n');
    await archive.push(HISTORY, history);
    archived.set(HISTORY.name, history);
    await archive.saveRestorePoint({ name: 'before upgrade', lsn: '0/4000100', timeline: 1, time: new Date().toISOString() });
    firstBase = await recordBaseBackup('basebackup_20250101_000000', 3);
    replica = new LocalObjectStorage(join(dir, 'wal-replica'));
  });

  it('copies the WAL the replica\'s base backups need and the restore points; the replica serves them', async () => {
    const copy = await replicateRepository(primary, replica);
    expect(copy.snapshots.find((s) => s.snapshotId === firstBase)?.status).toBe('copied');
    // Segments 1 and 2 lie before the base backup, the only one: no restore from the replica reads them.
    expect(copy).toMatchObject({ walFilesCopied: 5, walFilesPresent: 0, walFilesNotNeeded: 2, restorePointsCopied: 1 });
    const copiedSizes = await Promise.all([3, 4, 5, 6].map((n) => storedSize(segment(n))));
    expect(copy.walBytesCopied).toBe(copiedSizes.reduce((a, b) => a + b, 0) + (await storedSize(HISTORY)));

    // Read back the way wal-fetch does, with the replica's own keys.
    const fromReplica = await archiveIn(replica);
    for (const n of [3, 4, 5, 6]) expect((await fromReplica.fetch(segment(n)))?.equals(archived.get(segment(n).name)!)).toBe(true);
    expect((await fromReplica.fetch(HISTORY))?.equals(archived.get(HISTORY.name)!)).toBe(true);
    expect(await fromReplica.fetch(segment(1))).toBeUndefined();
    expect(await fromReplica.loadRestorePoint('before upgrade')).toEqual(await archive.loadRestorePoint('before upgrade'));
  });

  it('copies no WAL on a second run', async () => {
    const again = await replicateRepository(primary, replica);
    expect(again).toMatchObject({ blobsCopied: 0, walFilesCopied: 0, walBytesCopied: 0, walFilesPresent: 5, walFilesNotNeeded: 2, restorePointsCopied: 0 });
  });

  it('reports a WAL file that does not open after copying, keeps it out of the replica, and copies the rest', async () => {
    await archiveSegments(7, 8);
    // A restore point made again under the same name replaces the record: the replica follows.
    const moved: RestorePointRecord = { name: 'before upgrade', lsn: '0/8000100', timeline: 1, time: new Date().toISOString() };
    await archive.saveRestorePoint(moved);
    const damagedPath = join(dir, 'primary', archive.keyOf(segment(7)));
    const good = await readFile(damagedPath);
    const bad = Buffer.from(good);
    bad[bad.length - 20]! ^= 0x40;
    await writeFile(damagedPath, bad);

    const failure = await replicateRepository(primary, replica).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(IntegrityError);
    expect(failure).toMatchObject({ code: 'integrity.wal_unverified', details: { files: [archive.keyOf(segment(7))] } });
    const fromReplica = await archiveIn(replica);
    expect(await fromReplica.fetch(segment(7))).toBeUndefined();
    expect((await fromReplica.fetch(segment(8)))?.equals(archived.get(segment(8).name)!)).toBe(true);
    expect(await fromReplica.loadRestorePoint('before upgrade')).toEqual(moved);

    // Repaired at the source, the next run brings it across: only it.
    await writeFile(damagedPath, good);
    await expect(replicateRepository(primary, replica)).resolves.toMatchObject({ walFilesCopied: 1, walBytesCopied: good.length, restorePointsCopied: 0 });
    expect((await fromReplica.fetch(segment(7)))?.equals(archived.get(segment(7).name)!)).toBe(true);
  });

  it('copies the WAL even when only some snapshots are asked for, as much as their base backups need, which WAL retention on the replica keeps', async () => {
    const laterBase = await recordBaseBackup('basebackup_20250102_000000', 5);
    const selective = new LocalObjectStorage(join(dir, 'wal-replica-latest'));
    const copy = await replicateRepository(primary, selective, { snapshots: [laterBase] });
    expect(copy.snapshots.map((s) => s.snapshotId)).toEqual([laterBase]);
    // Segments 5 to 8 and the history file; 1 to 4 lie before the replica's only base backup.
    expect(copy).toMatchObject({ walFilesCopied: 5, walFilesNotNeeded: 4, restorePointsCopied: 1 });
    const pruned = await pruneWal({ ...primary, storage: selective });
    expect(pruned.clusters).toEqual([expect.objectContaining({ systemIdentifier: CLUSTER, keptFrom: segment(5).name, deleted: [] })]);
  });
});
