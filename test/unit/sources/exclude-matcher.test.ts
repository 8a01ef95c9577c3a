import { describe, expect, it } from '@jest/globals';
import { excludeMatcher } from '../../../src/sources/exclude-matcher.js';

/**
 * The matcher receives the absolute path and the path relative to the snapshot root, which starts with
 * the backed-up directory's base name (`/srv/data/a/b` → `data/a/b`), as the file walkers pass it.
 */
function matches(patterns: string[], absolute: string): boolean {
  const relative = absolute.slice('/srv/'.length);
  return excludeMatcher(patterns)(absolute, relative);
}

describe('excludeMatcher', () => {
  it('excludes nothing without patterns', () => {
    const match = excludeMatcher([]);
    expect(match('/srv/data/x.log', 'data/x.log')).toBe(false);
    expect(match('/', '')).toBe(false);
  });

  describe('patterns without a slash match the base name at any depth', () => {
    it.each([
      ['/srv/data/x.log', true],
      ['/srv/data/a/b/c/deep.log', true],
      ['/srv/data/x.log.gz', false],
      ['/srv/data/log', false],
      ['/srv/data/x.log/inner.txt', false], // the directory itself matches; walkers do not descend into it
    ])('*.log vs %s → %s', (path, expected) => {
      expect(matches(['*.log'], path)).toBe(expected);
    });

    it('matches a directory name anywhere, but not names containing it', () => {
      expect(matches(['node_modules'], '/srv/data/node_modules')).toBe(true);
      expect(matches(['node_modules'], '/srv/data/pkg/a/node_modules')).toBe(true);
      expect(matches(['node_modules'], '/srv/data/my_node_modules')).toBe(false);
      expect(matches(['node_modules'], '/srv/data/node_modules_old')).toBe(false);
    });

    it('matches the root entry by its name as well', () => {
      expect(matches(['data'], '/srv/data')).toBe(true);
    });

    it('supports classes and braces', () => {
      expect(matches(['*.{jpg,png}'], '/srv/data/a/b.png')).toBe(true);
      expect(matches(['*.{jpg,png}'], '/srv/data/a/b.gif')).toBe(false);
      expect(matches(['[ab].txt'], '/srv/data/a.txt')).toBe(true);
      expect(matches(['[ab].txt'], '/srv/data/c.txt')).toBe(false);
      expect(matches(['?.tmp'], '/srv/data/x/a.tmp')).toBe(true);
      expect(matches(['?.tmp'], '/srv/data/x/ab.tmp')).toBe(false);
    });
  });

  describe('patterns with a slash match the relative path', () => {
    it('matches a subtree from the snapshot root', () => {
      expect(matches(['data/cache/**'], '/srv/data/cache')).toBe(true);
      expect(matches(['data/cache/**'], '/srv/data/cache/a')).toBe(true);
      expect(matches(['data/cache/**'], '/srv/data/cache/a/b/c')).toBe(true);
      expect(matches(['data/cache/**'], '/srv/data/cachette')).toBe(false);
    });

    it('is anchored at the snapshot root, not at any depth', () => {
      expect(matches(['data/cache/**'], '/srv/other/data/cache/x')).toBe(false);
      expect(matches(['cache/*'], '/srv/data/cache/x')).toBe(false);
    });

    it('lets a single star stay within one segment', () => {
      expect(matches(['data/*.tmp'], '/srv/data/x.tmp')).toBe(true);
      expect(matches(['data/*.tmp'], '/srv/data/sub/x.tmp')).toBe(false);
      expect(matches(['data/**/*.tmp'], '/srv/data/sub/deeper/x.tmp')).toBe(true);
    });

    it('does not test relative patterns against the absolute path', () => {
      expect(matches(['srv/data/x'], '/srv/data/x')).toBe(false);
    });
  });

  describe('patterns starting with a slash match the absolute path', () => {
    it('matches exactly that path', () => {
      expect(matches(['/srv/data/tmp'], '/srv/data/tmp')).toBe(true);
      expect(matches(['/srv/data/tmp'], '/srv/data/tmp2')).toBe(false);
      expect(matches(['/srv/data/tmp'], '/srv/other/data/tmp')).toBe(false);
    });

    it('supports globs', () => {
      expect(matches(['/srv/data/tmp/*'], '/srv/data/tmp/a')).toBe(true);
      expect(matches(['/srv/data/tmp/*'], '/srv/data/tmp/a/b')).toBe(false);
      expect(matches(['/srv/**/*.bak'], '/srv/data/a/b/c.bak')).toBe(true);
    });

    it('does not test absolute patterns against the relative path', () => {
      expect(excludeMatcher(['/data/x'])('/srv/data/x', 'data/x')).toBe(false);
    });
  });

  describe('dotfiles', () => {
    it('are matched by wildcards like any other name', () => {
      expect(matches(['*'], '/srv/data/.env')).toBe(true);
      expect(matches(['*.tmp'], '/srv/data/.x.tmp')).toBe(true);
      expect(matches(['data/**/*.tmp'], '/srv/data/.hidden/.y.tmp')).toBe(true);
      expect(matches(['/srv/data/*'], '/srv/data/.ssh')).toBe(true);
    });

    it('are matched by name', () => {
      expect(matches(['.git'], '/srv/data/repo/.git')).toBe(true);
      expect(matches(['.*'], '/srv/data/a/.cache')).toBe(true);
      expect(matches(['.*'], '/srv/data/a/cache')).toBe(false);
    });
  });

  it('combines several patterns of different kinds', () => {
    const match = excludeMatcher(['*.log', 'data/cache/**', '/srv/data/secret']);
    expect(match('/srv/data/a.log', 'data/a.log')).toBe(true);
    expect(match('/srv/data/cache/x', 'data/cache/x')).toBe(true);
    expect(match('/srv/data/secret', 'data/secret')).toBe(true);
    expect(match('/srv/data/keep.txt', 'data/keep.txt')).toBe(false);
  });
});
