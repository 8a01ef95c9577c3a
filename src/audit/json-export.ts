import type { Writable } from 'node:stream';
import type { AuditRecord, ChainVerification } from '../domain/audit.js';
import { writeText, type AuditReportContext } from './audit-records.js';

/**
 * A JSON document, streamed: `{"report": {...}, "entries": [...], "count": n}`. Field names are
 * snake_case like the API's. Each entry keeps its seq, prev_hash and hash: with the audit key, the
 * entries can be re-verified offline (the hashed text is the canonical JSON of the entry and its seq,
 * see domain/audit.ts serializeEntry).
 */
export async function writeAuditJson(records: AsyncIterable<AuditRecord>, context: AuditReportContext, output: Writable): Promise<number> {
  const report = { from: context.from, to: context.to, generated_at: context.generatedAt, chain: verificationJson(context.verification) };
  await writeText(output, `{"report":${JSON.stringify(report)},\n"entries":[`);
  let count = 0;
  for await (const record of records) {
    await writeText(output, `${count === 0 ? '\n' : ',\n'}${JSON.stringify(entryJson(record))}`);
    count++;
  }
  await writeText(output, `\n],\n"count":${count}}\n`);
  return count;
}

export function entryJson(record: AuditRecord) {
  return {
    seq: record.seq,
    time: record.time,
    actor: record.actor,
    action: record.action,
    ...(record.target !== undefined ? { target: record.target } : {}),
    source: record.source,
    result: record.result,
    ...(record.details !== undefined ? { details: record.details } : {}),
    prev_hash: record.prevHash,
    hash: record.hash,
  };
}

/** The verification result in the API's field style. */
export function verificationJson(verification: ChainVerification) {
  return verification.ok
    ? { ok: true, entries: verification.entries, head_seq: verification.head?.seq ?? 0 }
    : { ok: false, entries: verification.entries, broken_seq: verification.seq, reason: verification.reason, message: verification.message };
}
