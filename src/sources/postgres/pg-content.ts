import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { childSucceeded } from '../child-output.js';
import type { StreamFiles } from '../stream-files.js';
import { describePgTarget, libpqEnvironment, type PgTarget } from './pg-target.js';
import type { PgTools } from './pg-tools.js';

/** One table's data as a dump holds it: its COPY column list, row count and a digest of the rows. */
export interface TableContent {
  /** `COPY schema.table (columns)`, as pg_dump wrote it. */
  copy: string;
  rows: number;
  sha256: string;
}

/**
 * Session settings pg_dump reads data with (it sets DateStyle, IntervalStyle and extra_float_digits
 * itself; TimeZone and bytea_output come from these). The backup passes them to pg_dump and the
 * restore-test reads the restored tables with them, so both render every value as the same text.
 */
export const DUMP_SESSION_OPTIONS = '-c TimeZone=UTC -c bytea_output=hex';
const READ_SESSION_OPTIONS = `${DUMP_SESSION_OPTIONS} -c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3 -c synchronize_seqscans=off`;

const TERMINATOR = Buffer.from('\\.\n');

/**
 * The data of every table in a dump of the snapshot, read back through `pg_restore --data-only`: the
 * rows exactly as pg_dump captured them at backup time (the snapshot is authenticated blob by blob).
 * A restore-test compares the restored tables with these, so the backup itself needs no extra scan.
 */
export async function dumpedTableContents(files: StreamFiles, file: string, tools: PgTools): Promise<{ tables: Map<string, TableContent>; encoding: string }> {
  const child = spawn(tools.path('pg_restore'), ['--data-only', '--file=-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const done = childSucceeded(child, 'pg_restore --data-only of the snapshot', 'postgres.restore_test_failed');
  done.catch(() => undefined);
  const feeding = pipeline(Readable.from(files.open(file)), child.stdin!).catch(() => undefined);
  const parser = new CopyScriptParser();
  for await (const chunk of child.stdout!) parser.push(chunk as Buffer);
  await feeding;
  await done;
  return { tables: parser.tables, encoding: parser.encoding };
}

/** The same digest of a restored table, read with `COPY … TO STDOUT` through psql. */
export async function restoredTableContent(target: PgTarget, database: string, content: TableContent, encoding: string, tools: PgTools, env: NodeJS.ProcessEnv): Promise<{ rows: number; sha256: string }> {
  const child = spawn(tools.path('psql'), ['-X', '-q', '--no-password', '-v', 'ON_ERROR_STOP=1', '-c', `${content.copy} TO STDOUT`], {
    env: { ...libpqEnvironment(target, database, env), PGOPTIONS: READ_SESSION_OPTIONS, PGCLIENTENCODING: encoding },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const done = childSucceeded(child, `reading ${content.copy} from ${describePgTarget(target, database)}`, 'postgres.restore_test_failed');
  done.catch(() => undefined);
  const hash = createHash('sha256');
  let rows = 0;
  for await (const chunk of child.stdout!) {
    hash.update(chunk as Buffer);
    rows += countNewlines(chunk as Buffer);
  }
  await done;
  return { rows, sha256: hash.digest('hex') };
}

/**
 * Splits pg_restore's script output into its COPY blocks: `COPY t (cols) FROM stdin;`, the data lines,
 * then `\.`. Data lines cannot begin with `\.` (COPY escapes backslashes), so the terminator is exact.
 */
export class CopyScriptParser {
  readonly tables = new Map<string, TableContent>();
  encoding = 'UTF8';
  private pending = Buffer.alloc(0);
  private current: { copy: string; rows: number; hash: ReturnType<typeof createHash>; atLineStart: boolean } | undefined;

  push(chunk: Buffer): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      if (this.current) {
        data = this.consumeData(data);
        if (this.current) return;
        continue;
      }
      const end = data.indexOf(0x0a);
      if (end < 0) {
        this.pending = Buffer.from(data);
        return;
      }
      this.statement(data.subarray(0, end).toString('utf8'));
      data = data.subarray(end + 1);
    }
  }

  private statement(line: string): void {
    const encoding = /^SET client_encoding = '([^']+)';$/.exec(line);
    if (encoding) this.encoding = encoding[1]!;
    const copy = /^(COPY .+) FROM stdin;$/.exec(line);
    if (copy) this.current = { copy: copy[1]!, rows: 0, hash: createHash('sha256'), atLineStart: true };
  }

  /** Hashes data lines up to the terminator; returns what follows it (or nothing, waiting for more). */
  private consumeData(data: Buffer): Buffer {
    const block = this.current!;
    let offset = 0;
    while (offset < data.length) {
      if (block.atLineStart) {
        // A line start that could still become the terminator waits for its third byte.
        if (data.length - offset < TERMINATOR.length && TERMINATOR.subarray(0, data.length - offset).equals(data.subarray(offset))) {
          this.pending = Buffer.from(data.subarray(offset));
          return Buffer.alloc(0);
        }
        if (data.subarray(offset, offset + TERMINATOR.length).equals(TERMINATOR)) {
          this.tables.set(block.copy.slice('COPY '.length).replace(/ \(.*$/, ''), { copy: block.copy, rows: block.rows, sha256: block.hash.digest('hex') });
          this.current = undefined;
          return data.subarray(offset + TERMINATOR.length);
        }
      }
      const newline = data.indexOf(0x0a, offset);
      const end = newline < 0 ? data.length : newline + 1;
      block.hash.update(data.subarray(offset, end));
      if (newline >= 0) block.rows++;
      block.atLineStart = newline >= 0;
      offset = end;
    }
    return Buffer.alloc(0);
  }
}

function countNewlines(chunk: Buffer): number {
  let count = 0;
  for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, at + 1)) count++;
  return count;
}
