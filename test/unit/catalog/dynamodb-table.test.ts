import { describe, expect, it } from '@jest/globals';

import { CATALOG_KEYS, CATALOG_TABLE, encodeTime, keyPart } from '../../../src/catalog/dynamodb-table.js';

describe('encodeTime', () => {
  it('gives 17 digits whose string order is time order, before 1970 and at the ends of the Date range', () => {
    const instants = [-8.64e15, -1, 0, 1, Date.parse('2024-12-24T12:00:00Z'), Date.parse('2024-12-24T12:00:00.500Z'), 8.64e15];
    const encoded = instants.map(encodeTime);
    for (const text of encoded) expect(text).toMatch(/^\d{17}$/);
    expect([...encoded].sort()).toEqual(encoded);
    expect(new Set(encoded).size).toBe(encoded.length);
  });
});

describe('keyPart', () => {
  it('contains no "#", so one name is never a key prefix of another', () => {
    expect(keyPart('a#b')).not.toContain('#');
    expect(`${keyPart('a#b')}#`.startsWith(`${keyPart('a')}#`)).toBe(false);
    expect(keyPart('repo-1')).toBe('repo-1');
  });
});

describe('CATALOG_TABLE', () => {
  it('declares the string keys and one local index per sort attribute, on demand', () => {
    const attributes = CATALOG_TABLE.AttributeDefinitions?.map((a) => `${a.AttributeName}:${a.AttributeType}`);
    expect(attributes).toEqual(['PK:S', 'SK:S', 'byTime:S', 'byScope:S', 'bySubScope:S']);
    expect(CATALOG_TABLE.BillingMode).toBe('PAY_PER_REQUEST');
    expect(CATALOG_TABLE.GlobalSecondaryIndexes).toBeUndefined();
    expect(CATALOG_TABLE.LocalSecondaryIndexes?.map((index) => [index.IndexName, index.KeySchema?.[1]?.AttributeName])).toEqual([
      [CATALOG_KEYS.byTime.index, 'byTime'],
      [CATALOG_KEYS.byScope.index, 'byScope'],
      [CATALOG_KEYS.bySubScope.index, 'bySubScope'],
    ]);
  });
});
