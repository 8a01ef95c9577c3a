import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { AuditRecord } from '../domain/audit.js';
import { actorLabel, actorRole, verificationText, type AuditReportContext, type AuditSummary, type ResultCounts } from './audit-records.js';

/** Headings the summary always has (the integration test looks for them in the rendered text). */
export const PDF_HEADINGS = {
  title: 'Chrono Backup audit report',
  byAction: 'Entries by action and result',
  byActor: 'Entries by actor',
  entries: 'Entries',
} as const;

interface Column {
  title: string;
  width: number;
  align?: 'left' | 'right';
}

const MARGIN = 40;
const FONT = 'Helvetica';
const BOLD = 'Helvetica-Bold';
const TABLE_FONT_SIZE = 7.5;
const ROW_HEIGHT = 12;
/** Space kept free at the bottom of each page for its number. */
const FOOTER = 20;

const RESULT_COLUMNS: Column[] = [
  { title: 'Success', width: 70, align: 'right' },
  { title: 'Failure', width: 70, align: 'right' },
  { title: 'Denied', width: 70, align: 'right' },
  { title: 'Total', width: 70, align: 'right' },
];

const ENTRY_COLUMNS: Column[] = [
  { title: 'Seq', width: 40, align: 'right' },
  { title: 'Time (UTC)', width: 112 },
  { title: 'Actor', width: 150 },
  { title: 'Role', width: 56 },
  { title: 'Action', width: 100 },
  { title: 'Target', width: 150 },
  { title: 'Source', width: 96 },
  { title: 'Result', width: 58 },
];

/**
 * The compliance summary as a PDF (A4 landscape, the standard Helvetica fonts, so nothing is embedded):
 * title, range, generation time and the chain's verification status; counts by action and result and
 * by actor; then every entry of the range, one line each, paginated with the column headings repeated
 * on each page and numbered pages. The document is streamed into `output` page by page (pdfkit writes a
 * page out when the next one starts), so a large range does not build up in memory; the summary needs
 * its own pass over the records, which is why the caller provides it and `entries` separately.
 */
export async function writeAuditPdf(entries: AsyncIterable<AuditRecord>, summary: AuditSummary, context: AuditReportContext, output: Writable): Promise<number> {
  // pdfkit is loaded here, not with the module: every CLI command imports the audit commands, and
  // pdfkit alone took about 190 ms to load.
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({ size: 'A4', layout: 'landscape', margin: MARGIN, info: { Title: PDF_HEADINGS.title, Creator: 'Chrono Backup', CreationDate: new Date(context.generatedAt) } });
  doc.pipe(output);
  const done = finished(output);
  done.catch(() => undefined); // awaited below; this only keeps an early failure from being "unhandled"
  let pageNumber = 0;
  doc.on('pageAdded', () => footer(doc, ++pageNumber));
  footer(doc, ++pageNumber);

  doc.font(BOLD).fontSize(18).text(PDF_HEADINGS.title);
  doc.moveDown(0.5);
  doc.font(FONT).fontSize(10);
  doc.text(`Range: ${context.from} to ${context.to} (end exclusive)`);
  doc.text(`Generated at: ${context.generatedAt}`);
  doc.text(`Entries in range: ${summary.entries}`);
  doc.moveDown(0.3);
  doc.font(BOLD).fillColor(context.verification.ok ? '#1a7f37' : '#b00020').text(`Chain verification: ${latin1(verificationText(context.verification))}`);
  doc.fillColor('black');

  heading(doc, PDF_HEADINGS.byAction);
  const byAction = new Table(doc, [{ title: 'Action', width: 200 }, ...RESULT_COLUMNS]);
  for (const [action, counts] of sorted(summary.byAction)) byAction.row([action, ...countCells(counts)]);

  heading(doc, PDF_HEADINGS.byActor);
  const byActor = new Table(doc, [{ title: 'Actor', width: 200 }, { title: 'Role', width: 80 }, ...RESULT_COLUMNS]);
  for (const [actor, counts] of sorted(summary.byActor)) byActor.row([actor, counts.role, ...countCells(counts)]);

  heading(doc, PDF_HEADINGS.entries);
  const table = new Table(doc, ENTRY_COLUMNS);
  let count = 0;
  for await (const record of entries) {
    table.row([String(record.seq), record.time.replace('T', ' ').replace('Z', ''), actorLabel(record), actorRole(record), record.action, record.target ?? '', record.source, record.result]);
    count++;
  }
  if (count === 0) doc.font(FONT).fontSize(10).text('No entries in this range.', MARGIN);
  doc.end();
  await done;
  return count;
}

/**
 * A table that starts a new page (repeating its headings) when the next row would not fit, and cuts
 * each cell to its column with an ellipsis, so every entry is exactly one line.
 */
class Table {
  constructor(
    private readonly doc: PDFKit.PDFDocument,
    private readonly columns: Column[],
  ) {
    if (this.doc.y + 2 * ROW_HEIGHT > this.bottom()) this.doc.addPage();
    this.header();
  }

  row(cells: string[]): void {
    if (this.doc.y + ROW_HEIGHT > this.bottom()) {
      this.doc.addPage();
      this.header();
    }
    this.line(cells, FONT);
  }

  private header(): void {
    this.line(
      this.columns.map((column) => column.title),
      BOLD,
    );
    const width = this.columns.reduce((sum, column) => sum + column.width, 0);
    this.doc.moveTo(MARGIN, this.doc.y - 2).lineTo(MARGIN + width, this.doc.y - 2).lineWidth(0.5).stroke();
  }

  private line(cells: string[], font: string): void {
    const y = this.doc.y;
    let x = MARGIN;
    this.doc.font(font).fontSize(TABLE_FONT_SIZE);
    this.columns.forEach((column, index) => {
      const text = fit(this.doc, latin1(cells[index] ?? ''), column.width - 4);
      this.doc.text(text, x, y, { width: column.width - 4, align: column.align ?? 'left', lineBreak: false });
      x += column.width;
    });
    this.doc.x = MARGIN;
    this.doc.y = y + ROW_HEIGHT;
  }

  private bottom(): number {
    return this.doc.page.height - MARGIN - FOOTER;
  }
}

function heading(doc: PDFKit.PDFDocument, text: string): void {
  if (doc.y + 60 > doc.page.height - MARGIN - FOOTER) doc.addPage();
  doc.x = MARGIN;
  doc.moveDown(1);
  doc.font(BOLD).fontSize(12).fillColor('black').text(text, MARGIN);
  doc.moveDown(0.3);
}

/** "Page n" at the foot of the page; the bottom margin is lifted meanwhile so pdfkit does not break the page. */
function footer(doc: PDFKit.PDFDocument, page: number): void {
  const { x, y } = doc;
  const margins = doc.page.margins;
  doc.page.margins = { ...margins, bottom: 0 };
  doc.font(FONT).fontSize(8).fillColor('#555555').text(`Page ${page}`, MARGIN, doc.page.height - MARGIN + 10, { width: doc.page.width - 2 * MARGIN, align: 'right', lineBreak: false });
  doc.fillColor('black');
  doc.page.margins = margins;
  doc.x = x;
  doc.y = y;
}

/** The longest prefix of `text` that fits `width` at the current font, with an ellipsis when cut. */
function fit(doc: PDFKit.PDFDocument, text: string, width: number): string {
  if (doc.widthOfString(text) <= width) return text;
  let low = 0;
  let high = text.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (doc.widthOfString(`${text.slice(0, middle)}...`) <= width) low = middle;
    else high = middle - 1;
  }
  return `${text.slice(0, low)}...`;
}

/**
 * The standard PDF fonts encode Latin-1 (WinAnsi) only; other characters would come out as wrong
 * glyphs, so they are shown as `?` (the JSON and CSV exports keep them).
 */
function latin1(text: string): string {
  return text.replace(/[^\u0020-\u007e\u00a0-\u00ff]/g, '?');
}

function countCells(counts: ResultCounts): string[] {
  return [counts.success, counts.failure, counts.denied, counts.total].map(String);
}

function sorted<T>(map: Map<string, T>): [string, T][] {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
