import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalSettings } from '../runtime/local-settings.js';

/** Quotes a word for /bin/sh: PostgreSQL runs restore_command through the shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A postgresql.conf string literal. */
function confQuote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Segments each wal-fetch of a restore fetches ahead: 8 × 16 MiB in the data directory at most. */
const RESTORE_PREFETCH = 8;

export interface RestoreCommand {
  command: string;
  /** What the server's environment must still provide (secrets are never written into the data directory). */
  warnings: string[];
}

/**
 * restore_command that calls this CLI's wal-fetch with the repository the restore itself used: the
 * home, repository and key file settings are spelled out in the command, so the server finds the
 * archive whatever its own environment. A passphrase or a cloud credential is not written into the
 * data directory: the server's environment must supply it, and the warnings say so.
 */
export function restoreCommandFor(settings: LocalSettings, systemIdentifier: string, program: { node: string; cli: string }): RestoreCommand {
  const assignments = [`CHRONO_BACKUP_HOME=${shellQuote(settings.home)}`, `CHRONO_BACKUP_REPO=${shellQuote(settings.repository)}`];
  const warnings: string[] = [];
  if (settings.key.kind === 'key-file') assignments.push(`CHRONO_BACKUP_KEY_FILE=${shellQuote(settings.key.path)}`);
  else warnings.push(`restore_command needs ${settings.key.source} in the PostgreSQL server's environment (a passphrase is never written into the data directory)`);
  if (!settings.repository.startsWith('/')) warnings.push(`restore_command reads ${settings.repository}: the server's environment must hold that storage's credentials`);
  const command = [...assignments, shellQuote(program.node), shellQuote(program.cli), 'wal-fetch', '--system-id', systemIdentifier, '--prefetch', String(RESTORE_PREFETCH), '%f', '%p'].join(' ');
  return { command, warnings };
}

/**
 * Makes a restored data directory recover: the settings go at the end of postgresql.auto.conf (read
 * last, so they win over postgresql.conf), and recovery.signal asks for targeted archive recovery.
 * Archiving is switched off in the copy: a restored server must not push its new timeline into the
 * archive of the cluster it was restored from unless someone decides so.
 */
export async function writeRecoveryConfig(dataDirectory: string, settings: Record<string, string>, header: string): Promise<void> {
  const lines = [`# ${header.replace(/\n/g, ' ')}`, ...Object.entries({ ...settings, archive_mode: 'off' }).map(([name, value]) => `${name} = ${confQuote(value)}`)];
  await appendFile(join(dataDirectory, 'postgresql.auto.conf'), `\n${lines.join('\n')}\n`, { mode: 0o600 });
  await writeFile(join(dataDirectory, 'recovery.signal'), '', { mode: 0o600 });
}
