import type { Writable } from 'node:stream';
import type { AuditRecord, AuditResult, ChainVerification } from '../domain/audit.js';
import type { AuditLog } from '../ports/audit-log.js';

/** What one export covers, and the facts every format states about it. */
export interface AuditReportContext {
  /** Inclusive, ISO 8601. */
  from: string;
  /** Exclusive, ISO 8601. */
  to: string;
  generatedAt: string;
  /** Of the whole chain, taken when the export started. */
  verification: ChainVerification;
}

/**
 * The records of the range, oldest first, fetched a page at a time: an export of any size holds one
 * page in memory. `throughSeq` bounds a second pass to what the first saw, so entries appended while
 * the export runs (its own `audit.export` entry, say) never make the summary and the table disagree.
 */
export async function* rangeRecords(log: AuditLog, range: { from: string; to: string; throughSeq?: number }): AsyncGenerator<AuditRecord> {
  let cursor: string | undefined;
  do {
    const page = await log.list({ from: range.from, to: range.to, limit: EXPORT_PAGE, ...(cursor !== undefined ? { cursor } : {}) });
    for (const record of page.records) {
      if (range.throughSeq !== undefined && record.seq > range.throughSeq) return;
      yield record;
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}

const EXPORT_PAGE = 500;

/** Counts per action and result, and per actor: the compliance summary's tables. */
export interface AuditSummary {
  entries: number;
  /** Highest seq counted: the bound of the pass that draws the entries. */
  lastSeq: number;
  byAction: Map<string, ResultCounts>;
  byActor: Map<string, ResultCounts & { role: string }>;
}

export type ResultCounts = Record<AuditResult, number> & { total: number };

export async function summarize(records: AsyncIterable<AuditRecord>): Promise<AuditSummary> {
  const summary: AuditSummary = { entries: 0, lastSeq: 0, byAction: new Map(), byActor: new Map() };
  for await (const record of records) {
    summary.entries++;
    summary.lastSeq = record.seq;
    count(summary.byAction, record.action, record, () => ({}));
    count(summary.byActor, actorLabel(record), record, () => ({ role: actorRole(record) }));
  }
  return summary;
}

function count<T extends ResultCounts>(map: Map<string, T>, key: string, record: AuditRecord, extra: () => Omit<T, keyof ResultCounts>): void {
  let counts = map.get(key);
  if (counts === undefined) {
    counts = { success: 0, failure: 0, denied: 0, total: 0, ...extra() } as T;
    map.set(key, counts);
  }
  counts[record.result]++;
  counts.total++;
}

/** The actor as people read it: the user's email, or the system component's name. */
export function actorLabel(record: Pick<AuditRecord, 'actor'>): string {
  return record.actor.kind === 'user' ? record.actor.email : record.actor.name;
}

export function actorRole(record: Pick<AuditRecord, 'actor'>): string {
  return record.actor.kind === 'user' ? record.actor.role : 'system';
}

/** One line for people: "intact (12 entries)" or "BROKEN at entry 7: content_changed — …". */
export function verificationText(verification: ChainVerification): string {
  return verification.ok
    ? `intact (${verification.entries} entries, head seq ${verification.head?.seq ?? 0})`
    : `BROKEN at entry ${verification.seq}: ${verification.reason} (${verification.message})`;
}

/** Writes honouring backpressure, so a slow client or disk paces the export instead of memory. */
export async function writeText(output: Writable, text: string): Promise<void> {
  if (output.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      output.off('drain', done);
      output.off('error', done);
      if (error) reject(error);
      else resolve();
    };
    output.on('drain', done);
    output.on('error', done);
  });
}
