import type { Writable } from 'node:stream';
import { canonicalJson, type AuditRecord } from '../domain/audit.js';
import { actorLabel, actorRole, writeText } from './audit-records.js';

export const CSV_COLUMNS = ['seq', 'time', 'actor', 'actor_id', 'role', 'action', 'target', 'source', 'result', 'details', 'hash'] as const;

/**
 * One CSV cell. Spreadsheets execute a cell that starts with `=`, `+`, `-` or `@` (and treat a leading
 * tab or carriage return the same way) as a formula, and audit entries hold text that users chose (an
 * email, a target name): such a cell is prefixed with `'`, which spreadsheets show as text. Then RFC
 * 4180: a cell containing a comma, a double quote, CR or LF is quoted, with its quotes doubled.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** A record (line ending CRLF, as RFC 4180 has it). */
export function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

export function csvCells(record: AuditRecord): string[] {
  return [
    String(record.seq),
    record.time,
    actorLabel(record),
    record.actor.kind === 'user' ? record.actor.id : '',
    actorRole(record),
    record.action,
    record.target ?? '',
    record.source,
    record.result,
    record.details === undefined ? '' : canonicalJson(record.details),
    record.hash,
  ];
}

/** A header line, then one line per record, streamed. Returns the number of records written. */
export async function writeAuditCsv(records: AsyncIterable<AuditRecord>, output: Writable): Promise<number> {
  await writeText(output, csvLine(CSV_COLUMNS));
  let count = 0;
  for await (const record of records) {
    await writeText(output, csvLine(csvCells(record)));
    count++;
  }
  return count;
}
