import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, StorageError, ValidationError } from '../../src/domain/errors.js';
import type { ObjectStorage } from '../../src/ports/object-storage.js';
import { FtpObjectStorage, parseLsDate, type FtpObjectStorageOptions } from '../../src/storage/ftp-object-storage.js';
import { freePort } from '../harness/child-process.js';
import { startFtpServer, type FtpServerHandle } from '../harness/ftp-server.js';
import { describeObjectStorageContract } from './object-storage.contract.js';

let plain: FtpServerHandle;
let secure: FtpServerHandle;
let counter = 0;

beforeAll(async () => {
  [plain, secure] = await Promise.all([startFtpServer(), startFtpServer({ tls: true })]);
});

afterAll(async () => {
  await Promise.all([plain?.stop(), secure?.stop()]);
});

function storageFor(server: FtpServerHandle, options: Partial<FtpObjectStorageOptions> = {}): FtpObjectStorage {
  return new FtpObjectStorage({
    host: server.host,
    port: server.port,
    username: server.username,
    password: server.password,
    security: server.certificate === undefined ? { kind: 'none' } : { kind: 'explicit-tls', ca: server.certificate },
    root: `/run-${++counter}`,
    ...options,
  });
}

async function drain(storage: ObjectStorage, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of storage.list(prefix)) keys.push(item.key);
  return keys.sort();
}

function contractOn(name: string, server: () => FtpServerHandle): void {
  describeObjectStorageContract(name, async () => {
    const root = `/contract-${++counter}`;
    const storage = storageFor(server(), { root });
    return {
      storage,
      cleanup: async () => {
        await storage.close();
        await rm(join(server().rootDir, root), { recursive: true, force: true });
      },
    };
  });
}

contractOn('FtpObjectStorage (ftp-srv, plain FTP)', () => plain);
contractOn('FtpObjectStorage (ftp-srv, explicit FTPS)', () => secure);

describe('FtpObjectStorage specifics', () => {
  it('shows scheme, user, host, port and path as its location, never the password', () => {
    const storage = storageFor(secure, { root: '/backups/prod/' });
    expect(storage.location).toBe(`ftps://chrono@127.0.0.1:${secure.port}/backups/prod`);
    expect(storage.location).not.toContain(secure.password);
    expect(storageFor(plain, { root: 'relative/dir' }).location).toBe(`ftp://chrono@127.0.0.1:${plain.port}/~/relative/dir`);
  });

  it('uploads a file through a temporary name, leaves none behind, and removes the local file', async () => {
    const storage = storageFor(plain, { root: '/putfile' });
    const dir = await mkdtemp(join(tmpdir(), 'chrono-ftp-'));
    try {
      const data = randomBytes(2 * 1024 * 1024 + 3);
      const file = join(dir, 'pack');
      await writeFile(file, data);
      await storage.putFile('data/ab/pack', file);
      await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await readdir(join(plain.rootDir, 'putfile', 'data', 'ab'))).toEqual(['pack']);
      expect((await storage.get('data/ab/pack')).equals(data)).toBe(true);
      // A temporary file a crashed writer left behind is not an object.
      await writeFile(join(plain.rootDir, 'putfile', 'data', 'ab', '.~tmp-0123456789abcdef01234567'), 'partial');
      expect(await drain(storage)).toEqual(['data/ab/pack']);
    } finally {
      await storage.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps a relative root below the login directory, whatever directory the connection is in', async () => {
    const storage = storageFor(plain, { root: 'relative/dir', maxConnections: 1 });
    try {
      await storage.put('data/ab/one', Buffer.from('1'));
      await storage.put('index/two', Buffer.from('2'));
      expect(await drain(storage)).toEqual(['data/ab/one', 'index/two']);
      expect(await readdir(join(plain.rootDir, 'relative', 'dir'))).toEqual(['data', 'index']);
      expect((await storage.head('data/ab/one'))?.size).toBe(1);
    } finally {
      await storage.close();
    }
  });

  it('reads a short range from early in a large object, and keeps working after dropping the transfer', async () => {
    const storage = storageFor(plain, { root: '/ranges', maxConnections: 1 });
    const data = randomBytes(4 * 1024 * 1024);
    await storage.put('pack', data);
    for (const offset of [10, 1024 * 1024, 4 * 1024 * 1024 - 100]) {
      expect((await storage.get('pack', { offset, length: 100 })).equals(data.subarray(offset, offset + 100))).toBe(true);
    }
    expect((await storage.head('pack'))?.size).toBe(data.length);
    await storage.close();
  });

  it('refuses a wrong password as permanent, without the password in the error', async () => {
    const password = 'not-the-password-51b2';
    const error = await storageFor(plain, { password }).get('config').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'storage.access_denied', retryable: false });
    expect(`${(error as Error).message} ${String((error as Error).cause)} ${JSON.stringify((error as StorageError).details)}`).not.toContain(password);
  });

  it('refuses an FTPS server whose certificate it does not trust', async () => {
    const storage = storageFor(secure, { security: { kind: 'explicit-tls' } });
    await expect(storage.get('config')).rejects.toMatchObject({ code: 'storage.tls_untrusted', retryable: false });
  });

  it('reports an unreachable server as retryable', async () => {
    const storage = storageFor(plain, { port: await freePort() });
    await expect(storage.head('config')).rejects.toMatchObject({ code: 'storage.network', retryable: true });
  });

  it('validates its settings before connecting', async () => {
    expect(() => storageFor(plain, { root: '/a/../b' })).toThrow(ValidationError);
    expect(() => storageFor(plain, { password: 'a\r\nDELE x' })).toThrow(ValidationError);
    expect(() => storageFor(plain, { security: { kind: 'implicit' } as never })).toThrow(ValidationError);
    await expect(storageFor(plain).get('missing', { offset: 0, length: 0 })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('parses ls-style listing dates, placing recent ones in the right year', () => {
    const now = new Date(Date.UTC(2025, 0, 10, 12, 0));
    expect(parseLsDate('Jan 09 08:12', now).toISOString()).toBe('2025-01-09T08:12:00.000Z');
    expect(parseLsDate('Dec 30 23:59', now).toISOString()).toBe('2024-12-30T23:59:00.000Z');
    expect(parseLsDate('Nov 28  2023', now).toISOString()).toBe('2023-11-28T00:00:00.000Z');
    expect(parseLsDate('01-09-25  08:12AM', now).getTime()).toBe(0);
  });
});
