import { describe, expect, it } from '@jest/globals';
import { compactUtcStamp, randomId } from '../../../src/domain/ids.js';

describe('randomId', () => {
  it('returns hex of the requested number of bytes, 16 by default', () => {
    expect(randomId()).toMatch(/^[0-9a-f]{32}$/);
    expect(randomId(6)).toMatch(/^[0-9a-f]{12}$/);
    expect(randomId(1)).toMatch(/^[0-9a-f]{2}$/);
  });

  it('does not repeat', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => randomId(8)));
    expect(ids.size).toBe(1000);
  });
});

describe('compactUtcStamp', () => {
  it.each([
    ['2024-12-24T12:00:00.000Z', '20241224_120000'],
    ['2024-12-24T12:00:00.999Z', '20241224_120000'],
    ['2000-01-02T03:04:05Z', '20000102_030405'],
    ['2025-03-01T23:59:59+02:00', '20250301_215959'],
    ['1999-12-31T23:59:59.999Z', '19991231_235959'],
  ])('%s → %s', (iso, stamp) => {
    expect(compactUtcStamp(new Date(iso))).toBe(stamp);
  });

  it('sorts in time order as text', () => {
    const dates = ['2024-01-02T00:00:00Z', '2023-12-31T23:59:59Z', '2024-01-01T10:00:00Z'].map((iso) => new Date(iso));
    const stamps = dates.map(compactUtcStamp);
    const byTime = [...dates].sort((a, b) => a.getTime() - b.getTime()).map(compactUtcStamp);
    expect([...stamps].sort()).toEqual(byTime);
  });
});
