import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StorageError, ValidationError } from '../../src/domain/errors.js';
import type { ObjectStorage } from '../../src/ports/object-storage.js';
import { RetryingObjectStorage } from '../../src/storage/retrying-object-storage.js';
import { knownHostKeys, SftpObjectStorage, type SftpObjectStorageOptions } from '../../src/storage/sftp-object-storage.js';
import { freePort } from '../harness/child-process.js';
import { startSshServer, type SshServerHandle } from '../harness/sshd.js';
import { describeObjectStorageContract } from './object-storage.contract.js';

const run = promisify(execFile);
let server: SshServerHandle;
let counter = 0;

beforeAll(async () => {
  server = await startSshServer();
});

afterAll(async () => server?.stop());

function storageFor(options: Partial<SftpObjectStorageOptions> = {}): SftpObjectStorage {
  return new SftpObjectStorage({
    host: server.host,
    port: server.port,
    username: server.username,
    credentials: { privateKey: server.privateKey },
    hostKey: { kind: 'fingerprint', sha256: server.hostKeyFingerprint },
    root: join(server.dataDir, `run-${++counter}`),
    ...options,
  });
}

async function drain(storage: ObjectStorage, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of storage.list(prefix)) keys.push(item.key);
  return keys.sort();
}

function errorText(error: unknown): string {
  return `${(error as Error).message} ${String((error as Error).cause)} ${JSON.stringify((error as StorageError).details)}`;
}

describeObjectStorageContract('SftpObjectStorage (OpenSSH sshd)', async () => {
  const root = join(server.dataDir, `contract-${++counter}`);
  const storage = storageFor({ root });
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

describe('SftpObjectStorage specifics', () => {
  it('shows user, host, port and path as its location, never a password', () => {
    const storage = storageFor({ root: '/srv/backups/', credentials: { password: 'hunter2-secret' } });
    expect(storage.location).toBe(`sftp://${server.username}@127.0.0.1:${server.port}/srv/backups`);
    expect(storage.location).not.toContain('hunter2');
  });

  it('writes objects 0600 and directories 0700 through temporary files it never leaves behind', async () => {
    const root = join(server.dataDir, 'modes');
    const storage = storageFor({ root });
    try {
      await storage.put('data/ab/pack', randomBytes(200_000));
      expect((await stat(join(root, 'data'))).mode & 0o777).toBe(0o700);
      expect((await stat(join(root, 'data', 'ab'))).mode & 0o777).toBe(0o700);
      expect((await stat(join(root, 'data', 'ab', 'pack'))).mode & 0o777).toBe(0o600);
      expect(await readdir(join(root, 'data', 'ab'))).toEqual(['pack']);
      // A temporary file a crashed writer left is invisible and does not block later puts.
      await writeFile(join(root, 'data', 'ab', '.~tmp-0123456789abcdef01234567'), 'partial');
      expect(await drain(storage)).toEqual(['data/ab/pack']);
    } finally {
      await storage.close();
    }
  });

  it('uploads a file through putFile, removing the local file only after success', async () => {
    const storage = storageFor();
    const dir = await mkdtemp(join(tmpdir(), 'chrono-sftp-'));
    try {
      const data = randomBytes(3 * 1024 * 1024 + 11);
      const file = join(dir, 'pack');
      await writeFile(file, data);
      await storage.putFile('data/cd/pack', file);
      await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
      expect((await storage.get('data/cd/pack')).equals(data)).toBe(true);
    } finally {
      await storage.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('logs in with an encrypted key and its passphrase, and through an SSH agent', async () => {
    const withPassphrase = storageFor({ credentials: { privateKey: server.encryptedKey, passphrase: server.keyPassphrase } });
    await withPassphrase.put('config', Buffer.from('p'));
    await withPassphrase.close();

    const dir = await mkdtemp(join(tmpdir(), 'chrono-agent-'));
    const socket = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !(await stat(socket).then(() => true, () => false)); i++) await new Promise((done) => setTimeout(done, 20));
      await run('ssh-add', [server.privateKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
      const viaAgent = storageFor({ credentials: { agent: socket } });
      await viaAgent.put('config', Buffer.from('a'));
      expect((await viaAgent.get('config')).toString()).toBe('a');
      await viaAgent.close();
    } finally {
      agent.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a wrong password or passphrase as permanent, without the secret in the error', async () => {
    const password = 'wrong-password-7f3a';
    const error = await storageFor({ credentials: { password } }).head('config').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'storage.access_denied', retryable: false });
    expect(errorText(error)).not.toContain(password);

    const passphrase = 'wrong-passphrase-9c1d';
    const badKey = await storageFor({ credentials: { privateKey: server.encryptedKey, passphrase } }).head('config').catch((e: unknown) => e);
    expect(badKey).toMatchObject({ retryable: false });
    expect(errorText(badKey)).not.toContain(passphrase);
  });

  it('refuses a server whose host key is not pinned, and names the key it saw', async () => {
    const other = 'SHA256:' + 'A'.repeat(43);
    const error = await storageFor({ hostKey: { kind: 'fingerprint', sha256: other } }).head('config').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'storage.host_key_mismatch', retryable: false });
    expect((error as Error).message).toContain(server.hostKeyFingerprint);
    const unknown = await storageFor({ hostKey: { kind: 'known-hosts', text: 'otherhost ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL\n' } }).head('config').catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'storage.host_key_mismatch' });
  });

  it('trusts plain and hashed known_hosts entries for [host]:port, and not revoked ones', async () => {
    const plain = storageFor({ hostKey: { kind: 'known-hosts', text: `# comment\n${server.knownHostsLine}\n` } });
    expect(await plain.head('missing')).toBeUndefined();
    await plain.close();

    const dir = await mkdtemp(join(tmpdir(), 'chrono-known-'));
    try {
      const file = join(dir, 'known_hosts');
      await writeFile(file, `${server.knownHostsLine}\n`);
      await run('ssh-keygen', ['-H', '-f', file]);
      const hashed = await readFile(file, 'utf8');
      expect(hashed.startsWith('|1|')).toBe(true);
      expect(knownHostKeys(hashed, '127.0.0.1', server.port).trusted).toHaveLength(1);
      expect(knownHostKeys(hashed, '127.0.0.1', server.port + 1).trusted).toHaveLength(0);
      const storage = storageFor({ hostKey: { kind: 'known-hosts', text: hashed } });
      expect(await storage.head('missing')).toBeUndefined();
      await storage.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const revoked = storageFor({ hostKey: { kind: 'known-hosts', text: `${server.knownHostsLine}\n@revoked ${server.knownHostsLine}\n` } });
    await expect(revoked.head('missing')).rejects.toMatchObject({ code: 'storage.host_key_mismatch' });
  });

  it('reconnects after the server drops the connection', async () => {
    const inner = storageFor();
    const storage = new RetryingObjectStorage(inner, { baseDelayMs: 10 });
    try {
      await storage.put('config', Buffer.from('before'));
      // End the per-connection sshd processes this test's server forked (by pid, children of our sshd).
      const children = await sessionPids();
      expect(children.length).toBeGreaterThan(0);
      for (const pid of children) process.kill(pid, 'SIGTERM');
      expect((await storage.get('config')).toString()).toBe('before');
    } finally {
      await inner.close();
    }
  });

  it('fails an operation the server stops answering as retryable, then works on a new connection', async () => {
    const storage = storageFor({ operationTimeoutMs: 700 });
    try {
      await storage.put('config', Buffer.from('still here'));
      const sessions = await sessionPids();
      expect(sessions.length).toBeGreaterThan(0);
      // Freeze this server's session processes: the connection stays open but nothing answers.
      for (const pid of sessions) process.kill(pid, 'SIGSTOP');
      try {
        const started = Date.now();
        await expect(storage.get('config')).rejects.toMatchObject({ code: 'storage.timeout', retryable: true });
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        for (const pid of sessions) process.kill(pid, 'SIGCONT');
      }
      expect((await storage.get('config')).toString()).toBe('still here');
    } finally {
      await storage.close();
    }
  });

  it('reports an unreachable server as retryable', async () => {
    const storage = storageFor({ port: await freePort() });
    await expect(storage.get('config')).rejects.toMatchObject({ code: 'storage.network', retryable: true });
  });

  it('validates its settings before connecting', () => {
    expect(() => storageFor({ credentials: {} })).toThrow(ValidationError);
    expect(() => storageFor({ hostKey: { kind: 'fingerprint', sha256: 'md5:00' } })).toThrow(ValidationError);
    expect(() => storageFor({ root: '/srv/../etc' })).toThrow(ValidationError);
    expect(() => storageFor({ username: 'a b' })).toThrow(ValidationError);
    expect(() => storageFor({ port: 70000 })).toThrow(ValidationError);
  });
});

/** The session processes this file's sshd forked: its descendants, found by pid (never by name). */
async function sessionPids(): Promise<number[]> {
  const listener = Number((await readFile(join(server.dataDir, '..', 'sshd.pid'), 'utf8')).trim());
  const { stdout } = await run('ps', ['-A', '-o', 'pid=,ppid=']);
  const rows = stdout
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  for (let queue = [listener]; queue.length > 0; ) {
    const parent = queue.shift()!;
    for (const [pid, ppid] of rows) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}
