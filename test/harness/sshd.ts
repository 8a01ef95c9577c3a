import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnUntilReady } from './child-process.js';

const run = promisify(execFile);
const SSHD = '/usr/sbin/sshd';

/** A running OpenSSH server, its keys, and how to stop it. */
export interface SshServerHandle {
  host: string;
  port: number;
  /** The user the server runs as; the test keys log in as this user. */
  username: string;
  /** A directory the test user owns, for repositories. */
  dataDir: string;
  /** An unencrypted ed25519 key authorized to log in, and its file. */
  privateKey: string;
  privateKeyPath: string;
  /** An authorized ed25519 key encrypted with `keyPassphrase`. */
  encryptedKey: string;
  keyPassphrase: string;
  /** The server's host key fingerprint (`SHA256:…`) and a known_hosts line for it. */
  hostKeyFingerprint: string;
  knownHostsLine: string;
  stop: () => Promise<void>;
}

/**
 * Starts Debian's OpenSSH server (`sshd -D`) on 127.0.0.1 and a free port with a configuration of its
 * own in a temporary directory: a fresh host key, two authorized client keys, internal-sftp, no PAM,
 * StrictModes off (the temporary directory's modes do not matter). Password logins are enabled so a
 * wrong password is refused the way a real server refuses it. scripts/install-system-deps.sh installs
 * openssh-server.
 */
export async function startSshServer(): Promise<SshServerHandle> {
  await access(SSHD).catch(() => {
    throw new Error(`${SSHD} is missing: run scripts/install-system-deps.sh (Debian package openssh-server)`);
  });
  const dir = await mkdtemp(join(tmpdir(), 'chrono-sshd-'));
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { mode: 0o700 });
  const keygen = (file: string, passphrase = '') => run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'chrono-test', '-f', file]);
  const keyPassphrase = 'chrono test passphrase';
  await Promise.all([keygen(join(dir, 'host_key')), keygen(join(dir, 'client_key')), keygen(join(dir, 'client_key_encrypted'), keyPassphrase)]);
  const authorized = (await Promise.all(['client_key.pub', 'client_key_encrypted.pub'].map((file) => readFile(join(dir, file), 'utf8')))).join('');
  await writeFile(join(dir, 'authorized_keys'), authorized, { mode: 0o600 });
  const hostPublic = (await readFile(join(dir, 'host_key.pub'), 'utf8')).trim().split(/\s+/);
  const hostKeyFingerprint = `SHA256:${createHash('sha256').update(Buffer.from(hostPublic[1]!, 'base64')).digest('base64').replace(/=+$/, '')}`;
  // As root, sshd insists on its privilege separation directory, which only the service unit creates.
  if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const username = userInfo().username;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    await writeFile(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_key')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'UsePAM no',
        'PubkeyAuthentication yes',
        'PasswordAuthentication yes',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        `AllowUsers ${username}`,
        'Subsystem sftp internal-sftp',
        'MaxSessions 50',
        'MaxStartups 50:30:100',
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    await chmod(config, 0o600);
    try {
      const { handle } = await spawnUntilReady(SSHD, ['-D', '-e', '-f', config], () => banner(port), { timeoutMs: 10_000 });
      return {
        host: '127.0.0.1',
        port,
        username,
        dataDir,
        privateKey: await readFile(join(dir, 'client_key'), 'utf8'),
        privateKeyPath: join(dir, 'client_key'),
        encryptedKey: await readFile(join(dir, 'client_key_encrypted'), 'utf8'),
        keyPassphrase,
        hostKeyFingerprint,
        knownHostsLine: `[127.0.0.1]:${port} ${hostPublic[0]} ${hostPublic[1]}`,
        stop: async () => {
          // Sessions outlive their listener; end the ones this server forked (by pid), then the server.
          await terminateDescendants(handle.child.pid);
          await handle.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      // Another process may have taken the port between freePort and sshd's bind: try another.
      if (attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

/** Resolves to true once something on `port` answers with an SSH banner, else undefined. */
function banner(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const finish = (value: true | undefined) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(1000, () => finish(undefined));
    socket.once('data', (chunk: Buffer) => finish(chunk.toString().startsWith('SSH-') ? true : undefined));
    socket.once('error', () => finish(undefined));
  });
}

/** Sends SIGTERM to every process descended from `pid` (its forked sshd sessions). */
async function terminateDescendants(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  const { stdout } = await run('ps', ['-A', '-o', 'pid=,ppid=']);
  const children = new Map<number, number[]>();
  for (const line of stdout.trim().split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const descendants: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    for (const child of children.get(queue.shift()!) ?? []) {
      descendants.push(child);
      queue.push(child);
    }
  }
  for (const descendant of descendants) {
    try {
      process.kill(descendant, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
}
