import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { CopyScriptParser } from '../../../../src/sources/postgres/pg-content.js';

const SCRIPT = [
  "SET client_encoding = 'LATIN1';",
  'SET standard_conforming_strings = on;',
  'COPY public.a (id, note) FROM stdin;',
  '1\tone',
  '2\t\\\\.not-an-end',
  '\\.',
  '',
  'COPY public."B c" (x) FROM stdin;',
  '\\.',
  'SELECT pg_catalog.setval(\'public.s\', 5, true);',
  '',
].join('\n');

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('CopyScriptParser', () => {
  it.each([1, 2, 3, 7, SCRIPT.length])('finds each COPY block, its rows and digest, whatever the chunk size (%i)', (size) => {
    const parser = new CopyScriptParser();
    const bytes = Buffer.from(SCRIPT);
    for (let at = 0; at < bytes.length; at += size) parser.push(bytes.subarray(at, at + size));
    expect(parser.encoding).toBe('LATIN1');
    expect([...parser.tables]).toEqual([
      ['public.a', { copy: 'COPY public.a (id, note)', rows: 2, sha256: sha('1\tone\n2\t\\\\.not-an-end\n') }],
      ['public."B c"', { copy: 'COPY public."B c" (x)', rows: 0, sha256: sha('') }],
    ]);
  });
});
