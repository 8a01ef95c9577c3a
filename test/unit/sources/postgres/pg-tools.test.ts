import { describe, expect, it } from '@jest/globals';
import { SourceError } from '../../../../src/domain/errors.js';
import { pgToolsFor } from '../../../../src/sources/postgres/pg-tools.js';

describe('pgToolsFor (the PostgreSQL client programs installed here)', () => {
  it('picks client programs at least as new as the server', async () => {
    const tools = await pgToolsFor(15);
    expect(tools.major).toBeGreaterThanOrEqual(15);
    expect(tools.path('pg_restore')).toMatch(/pg_restore$/);
  });

  it('refuses a server newer than every installed pg_dump, saying what to install', async () => {
    const error = await pgToolsFor(99).then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).code).toBe('source.postgres.client_too_old');
    expect((error as SourceError).message).toContain('install the PostgreSQL 99 client programs');
  });

  it('says so when the given directory holds no pg_dump', async () => {
    const error = await pgToolsFor(15, '/nonexistent/bin').then(() => undefined, (caught: unknown) => caught);
    expect((error as SourceError).code).toBe('source.postgres.client_missing');
  });
});
