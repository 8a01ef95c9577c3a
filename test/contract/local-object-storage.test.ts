import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { NotFoundError, StorageError, ValidationError } from '../../src/domain/errors.js';
import type { ObjectStorage } from '../../src/ports/object-storage.js';
import { LocalObjectStorage } from '../../src/storage/local-object-storage.js';
import { describeObjectStorageContract } from './object-storage.contract.js';

const run = promisify(execFile);

describeObjectStorageContract('LocalObjectStorage', async () => {
  const base = await mkdtemp(join(tmpdir(), 'chrono-local-contract-'));
  // A root below the temp dir, so the contract also runs with a root that does not exist yet.
  return { storage: new LocalObjectStorage(join(base, 'repo')), cleanup: () => rm(base, { recursive: true, force: true }) };
});

async function keysOf(storage: ObjectStorage, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of storage.list(prefix)) keys.push(item.key);
  return keys.sort();
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((done) => setTimeout(done, 10));
  }
}

/**
 * Makes `dir` refuse new entries. chmod does not stop root, so as root the immutable attribute is used
 * (ext4/xfs/btrfs with CAP_LINUX_IMMUTABLE). Returns the undo.
 */
async function denyWrites(dir: string): Promise<() => Promise<void>> {
  if (process.getuid?.() !== 0) {
    await chmod(dir, 0o500);
    return () => chmod(dir, 0o700);
  }
  await run('chattr', ['+i', dir]);
  return async () => {
    await run('chattr', ['-i', dir]);
  };
}

describe('LocalObjectStorage specifics', () => {
  let base: string;
  let root: string;
  let storage: LocalObjectStorage;

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'chrono-local-'));
    root = join(base, 'repo');
    storage = new LocalObjectStorage(root);
  });

  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('reports the absolute root directory as its location', () => {
    const relativeRoot = relative(process.cwd(), root);
    expect(new LocalObjectStorage(relativeRoot).location).toBe(root);
    expect(storage.location).toBe(root);
  });

  it('rejects an empty root path', () => {
    expect(() => new LocalObjectStorage('')).toThrow(ValidationError);
  });

  describe('root directory', () => {
    it('is not created by reads, listings or deletes', async () => {
      await expect(storage.get('x')).rejects.toBeInstanceOf(NotFoundError);
      expect(await storage.head('x')).toBeUndefined();
      expect(await keysOf(storage)).toEqual([]);
      await storage.delete('x');
      expect(await exists(root)).toBe(false);
    });

    it('is created on first write with mode 0700, sub-directories 0700 and objects 0600', async () => {
      await storage.put('data/ab/pack', randomBytes(100));
      expect((await stat(root)).mode & 0o777).toBe(0o700);
      expect((await stat(join(root, 'data'))).mode & 0o777).toBe(0o700);
      expect((await stat(join(root, 'data', 'ab'))).mode & 0o777).toBe(0o700);
      expect((await stat(join(root, 'data', 'ab', 'pack'))).mode & 0o777).toBe(0o600);
    });

    it('keeps the mode of a root that already exists', async () => {
      await mkdir(root, { mode: 0o750 });
      await chmod(root, 0o750);
      await storage.put('config', Buffer.from('x'));
      expect((await stat(root)).mode & 0o777).toBe(0o750);
      expect((await stat(join(root, 'config'))).mode & 0o777).toBe(0o600);
    });

    it('recreates a sub-directory removed behind its back', async () => {
      await storage.put('data/ab/one', Buffer.from('1'));
      await rm(join(root, 'data'), { recursive: true });
      await storage.put('data/ab/two', Buffer.from('2'));
      expect(await keysOf(storage)).toEqual(['data/ab/two']);
    });
  });

  describe('crash safety', () => {
    it('a put that dies before its rename leaves nothing under the final key', async () => {
      const data = randomBytes(256 * 1024);
      await mkdir(join(root, 'data', 'ab'), { recursive: true });
      // Watch a real put to learn the temporary name it uses, then recreate that file half-written,
      // as a writer killed between write and rename would leave it.
      const seen: string[] = [];
      const watcher = watch(join(root, 'data', 'ab'), (_event, filename) => {
        if (filename) seen.push(filename.toString());
      });
      try {
        await storage.put('data/ab/pack', data);
        await waitFor(() => seen.some((name) => name !== 'pack'));
      } finally {
        watcher.close();
      }
      const tempName = seen.find((name) => name !== 'pack')!;
      // The successful put cleaned up after itself.
      expect(await readdir(join(root, 'data', 'ab'))).toEqual(['pack']);

      await storage.delete('data/ab/pack');
      await writeFile(join(root, 'data', 'ab', tempName), data.subarray(0, 1000));
      await writeFile(join(root, tempName), data.subarray(0, 10));

      expect(await keysOf(storage)).toEqual([]);
      expect(await keysOf(storage, 'data/ab/')).toEqual([]);
      await expect(storage.get('data/ab/pack')).rejects.toBeInstanceOf(NotFoundError);
      expect(await storage.head('data/ab/pack')).toBeUndefined();

      // A later put of the same key succeeds, and the leftovers stay invisible.
      await storage.put('data/ab/pack', data);
      expect(await keysOf(storage)).toEqual(['data/ab/pack']);
      expect((await storage.get('data/ab/pack')).equals(data)).toBe(true);
    });

    it('an overwrite interrupted before its rename leaves the old object intact', async () => {
      await storage.put('config', Buffer.from('old'));
      // A half-written temporary of the new version, as a crash would leave it.
      await writeFile(join(root, '.~tmp-0123456789abcdef01234567'), Buffer.from('ne'));
      expect((await storage.get('config')).toString()).toBe('old');
      expect(await keysOf(storage)).toEqual(['config']);
    });

    it('does not list files no put could have written', async () => {
      await storage.put('data/ok', Buffer.from('1'));
      await writeFile(join(root, 'data', 'has space'), 'x');
      await writeFile(join(root, 'data', 'tilde~'), 'x');
      await mkdir(join(root, 'bad dir'));
      await writeFile(join(root, 'bad dir', 'inside'), 'x');
      expect(await keysOf(storage)).toEqual(['data/ok']);
    });

    it('refuses to overwrite a directory and leaves no temporary file behind', async () => {
      await storage.put('data/ab/x', Buffer.from('1'));
      const error = await storage.put('data/ab', Buffer.from('2')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).toBe('storage.key_conflict');
      expect((error as StorageError).retryable).toBe(false);
      expect((await readdir(join(root, 'data'))).sort()).toEqual(['ab']);
      expect(await keysOf(storage)).toEqual(['data/ab/x']);
    });
  });

  describe('path traversal', () => {
    it('rejects escaping keys before any I/O, creating nothing inside or outside the root', async () => {
      for (const key of ['../escape', '../../escape', 'a/../../escape', '/tmp/escape', '..\\escape']) {
        await expect(storage.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(ValidationError);
      }
      expect(await exists(root)).toBe(false);
      expect(await readdir(base)).toEqual([]);
    });

    it('cannot read a file outside the root', async () => {
      await writeFile(join(base, 'secret'), 'outside');
      await storage.put('inside', Buffer.from('in'));
      await expect(storage.get('../secret')).rejects.toBeInstanceOf(ValidationError);
      await expect(storage.head('../secret')).rejects.toBeInstanceOf(ValidationError);
      await expect(storage.delete('../secret')).rejects.toBeInstanceOf(ValidationError);
      expect(await exists(join(base, 'secret'))).toBe(true);
    });

    it('stores dot-heavy but valid names as plain files inside the root', async () => {
      for (const key of ['...', '..a', 'a..', 'x/...']) await storage.put(key, Buffer.from(key));
      expect((await readdir(root)).sort()).toEqual(['...', '..a', 'a..', 'x']);
      expect(await readdir(join(root, 'x'))).toEqual(['...']);
      expect(await readdir(base)).toEqual(['repo']);
      expect(await keysOf(storage)).toEqual(['...', '..a', 'a..', 'x/...']);
    });

    it('does not follow symbolic links out of the root when listing', async () => {
      await mkdir(join(base, 'outside'));
      await writeFile(join(base, 'outside', 'file'), 'x');
      await storage.put('real', Buffer.from('1'));
      await symlink(join(base, 'outside'), join(root, 'link'));
      expect(await keysOf(storage)).toEqual(['real']);
    });
  });

  describe('ranges', () => {
    it('rejects negative or fractional ranges with a ValidationError', async () => {
      await storage.put('r', Buffer.from('abc'));
      await expect(storage.get('r', { offset: -1, length: 1 })).rejects.toBeInstanceOf(ValidationError);
      await expect(storage.get('r', { offset: 0, length: -1 })).rejects.toBeInstanceOf(ValidationError);
      await expect(storage.get('r', { offset: 0.5, length: 1 })).rejects.toBeInstanceOf(ValidationError);
    });
  });

  describe('error translation', () => {
    it('reports a directory it may not write as access_denied, naming the key but not the path', async () => {
      await storage.put('existing', Buffer.from('1'));
      const undo = await denyWrites(root);
      try {
        const error = await storage.put('new-object', Buffer.from('2')).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StorageError);
        expect((error as StorageError).code).toBe('storage.access_denied');
        expect((error as StorageError).retryable).toBe(false);
        expect((error as StorageError).message).toContain('new-object');
        expect((error as StorageError).message).not.toContain(base);
        // Reads still work.
        expect((await storage.get('existing')).toString()).toBe('1');
      } finally {
        await undo();
      }
    });

    it('reports a key below an object as missing on read', async () => {
      await storage.put('file', Buffer.from('1'));
      const error = await storage.get('file/below').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as NotFoundError).message).toBe('object not found: file/below');
    });
  });
});
