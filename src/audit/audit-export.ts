import { PassThrough, type Writable } from 'node:stream';
import { parseIsoTime } from '../domain/audit.js';
import { ValidationError } from '../domain/errors.js';
import type { AuditLog } from '../ports/audit-log.js';
import { rangeRecords, summarize, type AuditReportContext } from './audit-records.js';
import { writeAuditCsv } from './csv-export.js';
import { writeAuditJson } from './json-export.js';
import { writeAuditPdf } from './pdf-report.js';

export const AUDIT_EXPORT_FORMATS = ['json', 'csv', 'pdf'] as const;
export type AuditExportFormat = (typeof AUDIT_EXPORT_FORMATS)[number];

/** `Content-Type` of each format, for the API. */
export const AUDIT_EXPORT_MEDIA_TYPES: Record<AuditExportFormat, string> = {
  json: 'application/json',
  csv: 'text/csv; charset=utf-8; header=present',
  pdf: 'application/pdf',
};

export interface AuditExportRequest {
  format: AuditExportFormat;
  /** Inclusive, ISO 8601. */
  from: string;
  /** Exclusive, ISO 8601. */
  to: string;
  /** Default: now. */
  generatedAt?: Date;
}

export interface AuditExportResult {
  format: AuditExportFormat;
  from: string;
  to: string;
  generatedAt: string;
  /** Entries written. */
  entries: number;
  verification: AuditReportContext['verification'];
}

/**
 * Writes the entries of [from, to) in one format into `output`, and ends it. Streams: records are read
 * a page at a time and written as they come, honouring backpressure, so the HTTP response or file
 * paces the export and memory stays flat whatever the range. Every format states the verification of
 * the whole chain, taken first. The caller records the export itself (`audit.export`) afterwards, with
 * its actor: see notes of the CLI's `audit export`.
 *
 * @throws ValidationError for an unknown format or a bad / reversed range.
 */
export async function exportAudit(log: AuditLog, request: AuditExportRequest, output: Writable): Promise<AuditExportResult> {
  const context = await reportContext(log, request);
  let entries: number;
  if (request.format === 'pdf') {
    const summary = await summarize(rangeRecords(log, context));
    entries = await writeAuditPdf(rangeRecords(log, { ...context, throughSeq: summary.lastSeq }), summary, context, output);
  } else {
    entries = request.format === 'csv' ? await writeAuditCsv(rangeRecords(log, context), output) : await writeAuditJson(rangeRecords(log, context), context, output);
    await new Promise<void>((resolve, reject) => output.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
  return { format: request.format, from: context.from, to: context.to, generatedAt: context.generatedAt, entries, verification: context.verification };
}

/** The same export collected in memory, for callers that need a body rather than a stream (a Lambda response). */
export async function exportAuditToBuffer(log: AuditLog, request: AuditExportRequest): Promise<{ body: Buffer; result: AuditExportResult }> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  const result = await exportAudit(log, request, sink);
  return { body: Buffer.concat(chunks), result };
}

async function reportContext(log: AuditLog, request: AuditExportRequest): Promise<AuditReportContext> {
  if (!(AUDIT_EXPORT_FORMATS as readonly string[]).includes(request.format)) {
    throw new ValidationError(`format must be one of ${AUDIT_EXPORT_FORMATS.join(', ')}`, 'format');
  }
  const from = parseIsoTime(request.from, 'from');
  const to = parseIsoTime(request.to, 'to');
  if (Date.parse(from) >= Date.parse(to)) throw new ValidationError('from must be before to', 'from');
  const verification = await log.verify();
  return { from, to, generatedAt: (request.generatedAt ?? new Date()).toISOString(), verification };
}
