import type { Command } from 'commander';
import { Option } from 'commander';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { AUDIT_EXPORT_FORMATS, exportAudit, type AuditExportFormat } from '../../audit/audit-export.js';
import { verificationText } from '../../audit/audit-records.js';
import { SqliteCatalog } from '../../catalog/sqlite-catalog.js';
import type { AuditActor } from '../../domain/audit.js';
import { asBackupError, ValidationError } from '../../domain/errors.js';
import type { AuditLog } from '../../ports/audit-log.js';
import { localSettings } from '../../runtime/local-settings.js';
import { openLocalAuditLog } from '../../runtime/local-audit.js';
import { print, type GlobalOptions } from '../command-support.js';
import { EXIT } from '../exit-codes.js';

/** `chrono-backup audit …`: check the tamper-evident audit trail, and export it for compliance. */
export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit trail (hash-chained, keyed)');
  audit
    .command('verify')
    .description('check every entry of the audit trail; exit 5 and name the first broken entry when it was tampered with')
    .action(async (_opts, command: Command) =>
      withAuditLog(command, async (log, options) => {
        const verification = await log.verify();
        print(options, verification, () => `audit trail ${verificationText(verification)}`);
        if (!verification.ok) process.exitCode = EXIT.integrity;
      }),
    );
  audit
    .command('export')
    .description('write the entries of a date range as JSON, CSV or a PDF compliance summary (the export is itself recorded)')
    .requiredOption('--from <date>', 'first day or instant, ISO 8601 (e.g. 2026-01-01 or 2026-01-01T08:00:00Z)')
    .option('--to <date>', 'last day (inclusive) or end instant (exclusive), ISO 8601; default: now')
    .addOption(new Option('--format <format>', 'json | csv | pdf').choices([...AUDIT_EXPORT_FORMATS]).default('json'))
    .requiredOption('--output <file>', 'where to write the export (replaced if it exists)')
    .action(async (opts: { from: string; to?: string; format: AuditExportFormat; output: string }, command: Command) => {
      const from = rangeBound(opts.from, 'from', false);
      const to = opts.to === undefined ? new Date().toISOString() : rangeBound(opts.to, 'to', true);
      if (Date.parse(from) >= Date.parse(to)) throw new ValidationError('--from must be before --to', 'from');
      const output = resolve(opts.output);
      return withAuditLog(command, async (log, options) => {
        const record = { actor: cliActor(), action: 'audit.export', target: `audit:${from}/${to}`, source: 'local' };
        let result;
        try {
          result = await writeAtomically(output, (stream) => exportAudit(log, { format: opts.format, from, to }, stream));
        } catch (error) {
          await log.append({ ...record, result: 'failure', details: { format: opts.format, error: asBackupError(error).code } });
          throw error;
        }
        await log.append({ ...record, result: 'success', details: { format: opts.format, entries: result.entries, file: output } });
        print(options, { ...result, file: output }, () => `wrote ${result.entries} audit entries (${result.from} to ${result.to}) to ${output}; chain ${verificationText(result.verification)}`);
        if (!result.verification.ok) process.stderr.write(`warning: the audit trail is BROKEN at entry ${result.verification.seq} (${result.verification.reason}); the export says so\n`);
      });
    });
}

/** The audit trail needs only the catalog and the audit key: no repository is opened. */
async function withAuditLog(command: Command, work: (log: AuditLog, options: GlobalOptions) => Promise<void>): Promise<void> {
  const options = command.optsWithGlobals<GlobalOptions>();
  const settings = localSettings(process.env);
  await mkdir(settings.home, { recursive: true, mode: 0o700 });
  const catalog = SqliteCatalog.open(settings.catalogPath);
  try {
    await work(await openLocalAuditLog(catalog, settings), options);
  } finally {
    await catalog.close();
  }
}

/**
 * A date (`2026-01-31`) or an instant. A plain date as the end of a range means the whole of that day
 * (UTC), because "--to 2026-01-31" reads as inclusive; the range itself is end-exclusive.
 */
function rangeBound(value: string, field: string, isEnd: boolean): string {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new ValidationError(`--${field} must be an ISO 8601 date or date-time (got ${JSON.stringify(value)})`, field);
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value.trim());
  return new Date(dateOnly && isEnd ? ms + 24 * 3600 * 1000 : ms).toISOString();
}

/** The CLI has no signed-in user: the entry names the operating-system account that ran it. */
function cliActor(): AuditActor {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER || 'unknown';
  }
  return { kind: 'system', name: `cli:${user}` };
}

/** Writes into a temporary sibling and renames it over `path` when complete: no half-written export is left. */
async function writeAtomically<T>(path: string, write: (stream: Writable) => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const result = await write(createWriteStream(temp, { mode: 0o600 }));
    await rename(temp, path);
    return result;
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
