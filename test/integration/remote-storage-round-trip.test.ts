/**
 * A backup → verify → restore round trip through the use cases on every remote backend, each opened
 * from a repository URL the way the CLI opens `--repo` (storage/open-storage.ts), against the same
 * servers the contract suites use: fauxqs (S3), azurite (Azure Blob), the in-repo GCS JSON API fake,
 * OpenSSH's sshd (SFTP) and ftp-srv (FTPS). Needs `npm run build`: the backup's worker threads load dist/.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppDeps } from '../../src/app/deps.js';
import { runBackup } from '../../src/app/run-backup.js';
import { runRestore } from '../../src/app/run-restore.js';
import { verifyRepository } from '../../src/app/verify-repository.js';
import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { PassphraseKeyProvider } from '../../src/keys/local-key-provider.js';
import { systemClock } from '../../src/ports/clock.js';
import type { ObjectStorage } from '../../src/ports/object-storage.js';
import { silentProgress } from '../../src/ports/progress.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { startAzurite, type AzuriteHandle } from '../harness/azurite.js';
import { startFtpServer, type FtpServerHandle } from '../harness/ftp-server.js';
import { startGcsFake, type GcsFakeHandle } from '../harness/gcs-fake.js';
import { startS3Emulator, type S3EmulatorHandle } from '../harness/s3-emulator.js';
import { startSshServer, type SshServerHandle } from '../harness/sshd.js';
import { assertTreesEqual } from '../helpers/compare-trees.js';
import { makeEdgeCaseTree, writeRandomFile } from '../helpers/fixture-tree.js';

const CLI = new URL('../../bin/chrono-backup.js', import.meta.url).pathname;

let dir: string;
let source: string;
let s3: S3EmulatorHandle;
let azurite: AzuriteHandle;
let gcs: GcsFakeHandle;
let sshd: SshServerHandle;
let ftp: FtpServerHandle;

/** Each backend as a URL plus the environment its credentials come from, and the secrets that must not leak. */
interface Backend {
  url: () => string;
  env: () => Record<string, string>;
  secrets: () => string[];
}

const BACKENDS: Record<string, Backend> = {
  s3: {
    url: () => 's3://chrono-round-trip/repos/one',
    env: () => ({ AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: s3.region, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey }),
    secrets: () => [s3.credentials.secretAccessKey],
  },
  gcs: {
    url: () => 'gs://chrono-round-trip/repos/one',
    env: () => ({ STORAGE_EMULATOR_HOST: gcs.endpoint, GOOGLE_CLOUD_PROJECT: 'chrono-test' }),
    secrets: () => [],
  },
  azure: {
    url: () => 'azure://chrono-round-trip/repos/one?tier=Cool',
    env: () => ({ AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString }),
    secrets: () => [azurite.connectionString.match(/AccountKey=([^;]+)/)![1]!],
  },
  sftp: {
    url: () => `sftp://${sshd.username}@127.0.0.1:${sshd.port}${join(sshd.dataDir, 'round-trip')}`,
    env: () => ({ CHRONO_BACKUP_SFTP_KEY_FILE: sshd.privateKeyPath, CHRONO_BACKUP_SFTP_KNOWN_HOSTS: join(dir, 'known_hosts') }),
    secrets: () => [],
  },
  ftps: {
    url: () => `ftps://${ftp.username}@127.0.0.1:${ftp.port}/round-trip`,
    env: () => ({ CHRONO_BACKUP_FTP_PASSWORD: ftp.password, CHRONO_BACKUP_FTPS_CA_FILE: join(dir, 'ftps-ca.pem') }),
    secrets: () => [ftp.password],
  },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chrono-remote-'));
  source = join(dir, 'source');
  // The edge-case tree plus a file big enough for more than one pack (and multipart uploads).
  const servers = Promise.all([startS3Emulator(), startAzurite(), startGcsFake(), startSshServer(), startFtpServer({ tls: true })]);
  await makeEdgeCaseTree(source, { bigFileBytes: 20 * 1024 * 1024 });
  [s3, azurite, gcs, sshd, ftp] = await servers;
  await s3.createBucket('chrono-round-trip');
  await azurite.createContainer('chrono-round-trip');
  gcs.createBucket('chrono-round-trip');
  await writeFile(join(dir, 'known_hosts'), `${sshd.knownHostsLine}\n`);
  await writeFile(join(dir, 'ftps-ca.pem'), ftp.certificate!);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([s3?.stop(), azurite?.stop(), gcs?.stop(), sshd?.stop(), ftp?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function depsFor(storage: ObjectStorage, name: string): Promise<AppDeps> {
  return {
    storage,
    keys: new PassphraseKeyProvider('round trip passphrase', { scrypt: { N: 1024 } }),
    catalog: SqliteCatalog.open(join(dir, `${name}-catalog.sqlite`)),
    clock: systemClock,
    progress: silentProgress,
    hostname: 'test-host',
    workers: 2,
  };
}

describe.each(Object.keys(BACKENDS))('round trip on %s', (name) => {
  it('backs up, verifies every byte, and restores the tree identically', async () => {
    const backend = BACKENDS[name]!;
    const storage = await openStorage(backend.url(), { env: backend.env(), retry: { baseDelayMs: 50 } });
    for (const secret of backend.secrets()) expect(storage.location).not.toContain(secret);
    const deps = await depsFor(storage, name);
    try {
      const backup = await runBackup(deps, { paths: [source], type: 'full' });
      expect(backup.warnings).toEqual([]);

      const verified = await verifyRepository(deps, { level: 'full' });
      expect(verified).toMatchObject({ ok: true, problems: [], damagedSnapshots: [] });
      expect(verified.packsChecked).toBeGreaterThanOrEqual(2);

      const target = join(dir, `restore-${name}`);
      const restored = await runRestore(deps, { snapshotId: backup.backupId, target });
      expect(restored.failures).toEqual([]);
      await assertTreesEqual(source, join(target, 'source'));

      // A second backup of the unchanged tree adds no data packs: deduplication works through this backend.
      const again = await runBackup(deps, { paths: [source], type: 'full' });
      expect(again.snapshots[0]!.stats.bytesAdded).toBeLessThan(64 * 1024);
    } finally {
      await deps.catalog.close();
      await storage.close();
    }
  });
});

/** Runs the built CLI with only the given environment; resolves with its exit code and output. */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A command that does not exit (an open connection keeping it alive) fails the test.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.each(['s3', 'sftp', 'ftps'])('the CLI with a %s repository URL', (name) => {
  it('backs up with CHRONO_BACKUP_REPO, restores with --repo, and exits on its own', async () => {
    const backend = BACKENDS[name]!;
    const home = join(dir, `cli-${name}`);
    const tree = join(home, 'tree');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'sub', 'note.txt'), `hello from ${name}\n`);
    await writeRandomFile(join(tree, 'random.bin'), 300_000, 7);
    const url = backend.url().replace('/repos/one', '/repos/cli').replace(/\/round-trip$/, '/cli-round-trip');
    const env = { ...backend.env(), CHRONO_BACKUP_HOME: home, CHRONO_BACKUP_PASSPHRASE: 'cli passphrase' };

    const backup = await cli(['backup', tree, '--json'], { ...env, CHRONO_BACKUP_REPO: url });
    // The whole output in the failure message: an exit code alone does not say what went wrong.
    expect(`exit ${backup.code}\n${backup.stdout}${backup.stderr}`).toMatch(/^exit 0\n/);
    expect(backup.stderr).not.toContain('error');
    const target = join(home, 'restored');
    const restore = await cli(['--repo', url, 'restore', 'latest', '--target', target, '--json'], env);
    expect(`exit ${restore.code}\n${restore.stdout}${restore.stderr}`).toMatch(/^exit 0\n/);
    // Files written here carry nanosecond mtimes; Node can set them to the microsecond only.
    await assertTreesEqual(tree, join(target, 'tree'), { mtimeToleranceNs: 999n });

    const init = await cli(['--repo', url, 'init', '--json'], env);
    const location = (JSON.parse(init.stdout) as { location: string }).location;
    for (const secret of backend.secrets()) {
      expect(location).not.toContain(secret);
      expect(`${backup.stdout}${backup.stderr}${restore.stdout}${restore.stderr}`).not.toContain(secret);
    }
  });
});
