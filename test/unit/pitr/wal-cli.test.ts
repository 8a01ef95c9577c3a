import { describe, expect, it } from '@jest/globals';
import { ValidationError } from '../../../src/domain/errors.js';
import { parsePrefetch, parseWalArguments } from '../../../src/pitr/wal-cli.js';

describe('wal-push / wal-fetch arguments (the lean entry)', () => {
  it('takes global options before the command and command options anywhere', () => {
    expect(parseWalArguments(['--repo', '/r', 'wal-push', 'pg_wal/000000010000000000000001'])).toEqual({ command: 'wal-push', repository: '/r', positional: ['pg_wal/000000010000000000000001'] });
    expect(parseWalArguments(['--json', 'wal-fetch', '--system-id=42', '--prefetch', '8', '%f', '%p'])).toEqual({ command: 'wal-fetch', json: true, systemIdentifier: '42', prefetch: 8, positional: ['%f', '%p'] });
    expect(parseWalArguments(['wal-fetch', '--', '-odd', 'x']).positional).toEqual(['-odd', 'x']);
  });

  it('refuses what it does not know', () => {
    expect(() => parseWalArguments(['wal-push', '--force', 'x'])).toThrow(ValidationError);
    expect(() => parseWalArguments(['--repo'])).toThrow(/needs a value/);
    expect(() => parseWalArguments(['backup'])).toThrow(/wal-push or wal-fetch/);
    expect(() => parsePrefetch('65')).toThrow(/0 to 64/);
    expect(parsePrefetch('0')).toBe(0);
  });
});
