import { describe, expect, it } from '@jest/globals';
import { includeSelector } from '../../../src/app/run-restore.js';
import { ValidationError } from '../../../src/domain/errors.js';
import type { Snapshot } from '../../../src/domain/snapshot.js';

/** A snapshot of /srv/data and /etc/app: its root tree has the entries `data` and `app`. */
const snapshot: Snapshot = {
  id: 'full_20241224_120000',
  backupId: 'full_20241224_120000',
  type: 'full',
  source: 'files',
  time: '2024-12-24T12:00:00.000Z',
  hostname: 'host',
  paths: ['/srv/data', '/etc/app'],
  tags: [],
  tree: 'ab'.repeat(32),
  stats: { items: 0, totalBytes: 0, bytesRead: 0, bytesAdded: 0, bytesStored: 0, blobsAdded: 0, durationMs: 0 },
  keyId: '00000001',
};

function choices(includes: string[], paths: string[]): Record<string, string> {
  const select = includeSelector(snapshot, includes);
  return Object.fromEntries(paths.map((path) => [path, select(path)]));
}

const PATHS = ['data', 'data/sub', 'data/sub/file', 'data/sub/deeper/x', 'data/subway', 'data/other', 'app', 'app/config.yml'];

describe('includeSelector', () => {
  it('selects a relative path, its contents, and the directories leading to it', () => {
    expect(choices(['data/sub'], PATHS)).toEqual({
      data: 'descend',
      'data/sub': 'all',
      'data/sub/file': 'all',
      'data/sub/deeper/x': 'all',
      'data/subway': 'skip',
      'data/other': 'skip',
      app: 'skip',
      'app/config.yml': 'skip',
    });
  });

  it('maps an original absolute path to the snapshot path', () => {
    expect(choices(['/srv/data/sub'], PATHS)).toEqual(choices(['data/sub'], PATHS));
    expect(choices(['/etc/app/config.yml'], PATHS)).toEqual({
      data: 'skip',
      'data/sub': 'skip',
      'data/sub/file': 'skip',
      'data/sub/deeper/x': 'skip',
      'data/subway': 'skip',
      'data/other': 'skip',
      app: 'descend',
      'app/config.yml': 'all',
    });
  });

  it('selects a whole backed-up path by its original absolute path or its name', () => {
    for (const include of ['/srv/data', 'data', 'data/', './data']) {
      const select = includeSelector(snapshot, [include]);
      expect(select('data')).toBe('all');
      expect(select('data/sub/file')).toBe('all');
      expect(select('app')).toBe('skip');
    }
  });

  it('does not map a path that only shares a prefix with an original path', () => {
    const select = includeSelector(snapshot, ['/srv/database/x']);
    expect(select('data')).toBe('skip');
    expect(select('data/x')).toBe('skip');
  });

  it('maps an absolute path once, even when the result looks like another original path', () => {
    // /a/b and /b/c are backed up as `b` and `c`; /a/b/c/x lives in `b`, not in `c`.
    const nested = { ...snapshot, paths: ['/a/b', '/b/c'] };
    const select = includeSelector(nested, ['/a/b/c/x']);
    expect(select('b')).toBe('descend');
    expect(select('b/c')).toBe('descend');
    expect(select('b/c/x')).toBe('all');
    expect(select('c')).toBe('skip');
    expect(select('c/x')).toBe('skip');
  });

  it('normalises empty and "." segments', () => {
    expect(choices(['data//sub/./'], PATHS)).toEqual(choices(['data/sub'], PATHS));
    expect(choices(['./data/sub'], PATHS)).toEqual(choices(['data/sub'], PATHS));
  });

  it('combines several includes', () => {
    const select = includeSelector(snapshot, ['data/sub/file', '/etc/app']);
    expect(select('data')).toBe('descend');
    expect(select('data/sub')).toBe('descend');
    expect(select('data/sub/file')).toBe('all');
    expect(select('data/sub/other')).toBe('skip');
    expect(select('app')).toBe('all');
    expect(select('app/x')).toBe('all');
  });

  it('treats the snapshot root ("/" or ".") as everything', () => {
    for (const include of ['.', '/']) {
      const select = includeSelector(snapshot, [include]);
      for (const path of PATHS) expect(select(path)).toBe('all');
    }
  });

  it.each(['..', '../etc', 'data/../app', '/srv/data/../../etc', 'data/sub/..'])('rejects %s with a ValidationError on the include field', (include) => {
    let caught: unknown;
    try {
      includeSelector(snapshot, ['data', include]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).details).toEqual({ field: 'include' });
    expect((caught as ValidationError).message).toContain(include);
  });

  it('accepts names that merely contain dots', () => {
    const select = includeSelector(snapshot, ['data/..hidden', 'data/a..b']);
    expect(select('data/..hidden')).toBe('all');
    expect(select('data/a..b')).toBe('all');
    expect(select('data')).toBe('descend');
  });
});
