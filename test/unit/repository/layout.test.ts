import { describe, expect, it } from '@jest/globals';
import { assertSafeKey } from '../../../src/ports/object-storage.js';
import { indexKey, lastSegment, LAYOUT, packIdFromKey, packKey, snapshotKey } from '../../../src/repository/layout.js';

describe('layout', () => {
  const packId = 'ab'.repeat(32);

  it('fans packs out by the first two hex digits and reads the id back', () => {
    expect(packKey(packId)).toBe(`data/ab/${packId}`);
    expect(packIdFromKey(packKey(packId))).toBe(packId);
  });

  it('places index files and snapshots under their prefixes', () => {
    expect(indexKey('cd'.repeat(32))).toBe(`index/${'cd'.repeat(32)}`);
    expect(snapshotKey('full_20241224_120000')).toBe('snapshots/full_20241224_120000');
    expect(snapshotKey('full_20241224_120000.files')).toBe('snapshots/full_20241224_120000.files');
  });

  it('produces keys that every storage adapter accepts', () => {
    for (const key of [packKey(packId), indexKey(packId), snapshotKey('full_20241224_120000_a1b2'), `${LAYOUT.locks}abc-123`, LAYOUT.config]) {
      expect(() => assertSafeKey(key)).not.toThrow();
    }
  });

  it('lastSegment returns what follows the last slash', () => {
    expect(lastSegment('keys/0123')).toBe('0123');
    expect(lastSegment('a/b/c')).toBe('c');
    expect(lastSegment('config')).toBe('config');
  });
});
