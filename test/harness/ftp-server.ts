import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FtpSrv } from 'ftp-srv';

const run = promisify(execFile);

/** A running FTP server, its login and how to stop it. */
export interface FtpServerHandle {
  host: string;
  port: number;
  username: string;
  password: string;
  /** The local directory the FTP user sees as `/`. */
  rootDir: string;
  /** With `tls`: the server's self-signed certificate (PEM), to trust as the CA. */
  certificate: string | undefined;
  stop: () => Promise<void>;
}

/** bunyan's interface, silenced: ftp-srv logs every command to stdout otherwise. */
const quietLog = {
  child: () => quietLog,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  fatal: () => undefined,
};

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;

/**
 * Starts ftp-srv in this process on 127.0.0.1 and a free port, serving a fresh temporary directory to
 * one user, with passive data ports on loopback. With `tls`, a self-signed certificate for 127.0.0.1
 * (made by openssl) enables explicit FTPS (`AUTH TLS`).
 */
export async function startFtpServer(options: { tls?: boolean } = {}): Promise<FtpServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'chrono-ftp-'));
  const rootDir = join(dir, 'root');
  await mkdir(rootDir);
  let tls: { key: Buffer; cert: Buffer } | undefined;
  if (options.tls === true) {
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    tls = { key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) };
  }
  const username = 'chrono';
  const password = 'chrono-ftp-test-password';
  // A random passive range, so two test files running at once rarely probe the same ports.
  const pasvMin = 20_000 + Math.floor(Math.random() * 30_000);
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const server = new FtpSrv({ url: 'ftp://127.0.0.1:0', pasv_url: '127.0.0.1', pasv_min: pasvMin, pasv_max: pasvMin + 2000, anonymous: false, tls: tls ?? false, log: quietLog, timeout: 0 });
  // ftp-srv makes SIGTERM/SIGINT exit the whole process; a test server must not.
  for (const signal of SIGNALS) for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
  server.on('login', ({ username: user, password: pass }, resolve, reject) => {
    if (user === username && pass === password) resolve({ root: rootDir });
    else reject(new Error('login incorrect'));
  });
  await server.listen();
  const port = ((server as unknown as { server: { address(): { port: number } } }).server.address()).port;
  return {
    host: '127.0.0.1',
    port,
    username,
    password,
    rootDir,
    certificate: tls?.cert.toString(),
    stop: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
