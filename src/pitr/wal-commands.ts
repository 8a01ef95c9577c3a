import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ConflictError, IntegrityError, ValidationError } from '../domain/errors.js';
import { readSegmentHeader, readSystemIdentifier, requireSystemIdentifier } from './cluster-identity.js';
import { WalArchive, type PushOutcome } from './wal-archive.js';
import { isValidSegmentSize, parseWalFileName, requireWalFileName, segmentFileName, segmentNumber, type WalFileName } from './wal-names.js';
import { mapLimit } from '../util/concurrency.js';
import { openWalRepository } from './wal-repository.js';
import { PREFETCH_DIRECTORY, takePrefetched } from './wal-spool.js';

/** Where the commands run and which repository they use: the environment, like every command. */
export interface WalCommandContext {
  env: NodeJS.ProcessEnv;
  /** PostgreSQL runs archive_command and restore_command in the data directory. */
  cwd: string;
  /** `--repo`, else the environment's repository. */
  repository?: string;
  /** `--system-id`, else read from the segment or from `global/pg_control` in `cwd`. */
  systemIdentifier?: string;
}

/** A WAL file read and checked for archiving, and the cluster it belongs to. */
export interface PreparedWalPush {
  file: WalFileName;
  content: Buffer;
  systemIdentifier: string;
}

/**
 * `wal-push <path>` (archive_command, `%p`): stores one WAL file. Complete segments only: a segment
 * file whose size is not its cluster's segment size is refused, so a half-written file is never
 * archived as if it were whole. Exit 0 only once the object was read back from storage.
 */
export async function walPush(path: string, context: WalCommandContext): Promise<{ file: WalFileName; outcome: PushOutcome; systemIdentifier: string }> {
  const prepared = await prepareWalPush(path, context);
  const opened = await openWalRepository(context.env, context.repository);
  try {
    const outcome = await new WalArchive(opened.storage, opened.keyring, prepared.systemIdentifier).push(prepared.file, prepared.content);
    return { file: prepared.file, outcome, systemIdentifier: prepared.systemIdentifier };
  } finally {
    await opened.close();
  }
}

/**
 * Reads the file `wal-push` was given and checks it as {@link walPush} does (a complete segment of the
 * named timeline and of the expected cluster), without touching the repository: the asynchronous pusher
 * (wal-async-daemon.ts) runs the same checks and pushes through a repository it opened once.
 */
export async function prepareWalPush(path: string, context: WalCommandContext): Promise<PreparedWalPush> {
  const file = requireWalFileName(basename(path), 'path');
  const content = await readFile(resolve(context.cwd, path));
  let systemIdentifier = context.systemIdentifier !== undefined ? requireSystemIdentifier(context.systemIdentifier) : undefined;
  if (file.kind === 'segment' || file.kind === 'partial') {
    const header = readSegmentHeader(content);
    if (!header || !isValidSegmentSize(header.segmentSize) || content.length !== header.segmentSize) {
      throw new IntegrityError('wal_incomplete', `${file.name} is not a complete WAL segment (${content.length} bytes${header ? `, segment size ${header.segmentSize}` : ', no segment header'}); not archived`, { details: { file: file.name } });
    }
    if (header.timeline !== file.timeline) throw new IntegrityError('wal_incomplete', `${file.name} holds timeline ${header.timeline} WAL; not archived`, { details: { file: file.name } });
    if (systemIdentifier !== undefined && systemIdentifier !== header.systemIdentifier) {
      throw new ConflictError('wal_other_cluster', `${file.name} belongs to cluster ${header.systemIdentifier}, not ${systemIdentifier}; not archived`, { details: { file: file.name } });
    }
    systemIdentifier = header.systemIdentifier;
  }
  systemIdentifier ??= await readSystemIdentifier(context.cwd);
  return { file, content, systemIdentifier };
}

/**
 * `wal-fetch <file> <path>` (restore_command, `%f %p`): writes an archived file to `path`. Returns
 * false, quickly, when the file is not archived: at the end of recovery that is the normal answer.
 *
 * With `prefetch` > 0, fetching a segment also fetches the next ones of its timeline, in parallel, into
 * the data directory's prefetch spool (wal-spool.ts); the next calls then only move a file and never
 * open the repository. Recovery asks for one segment at a time and waits for each, so this hides the
 * storage's latency and most of the process start-ups. Archived files never change under their name (wal-push refuses different
 * content), so a prefetched copy is as good as a fresh one.
 */
export async function walFetch(name: string, destination: string, context: WalCommandContext & { prefetch?: number }): Promise<boolean> {
  const file = requireWalFileName(name, 'file');
  if (destination.trim() === '') throw new ValidationError('wal-fetch needs the path to write to (%p)', 'path');
  const target = resolve(context.cwd, destination);
  const spool = join(context.cwd, PREFETCH_DIRECTORY);
  const prefetch = context.prefetch ?? 0;
  if (prefetch > 0 && (await takePrefetched(context.cwd, file.name, target))) return true;
  const systemIdentifier = context.systemIdentifier !== undefined ? requireSystemIdentifier(context.systemIdentifier) : await readSystemIdentifier(context.cwd);
  const opened = await openWalRepository(context.env, context.repository);
  try {
    const archive = new WalArchive(opened.storage, opened.keyring, systemIdentifier);
    const content = await archive.fetch(file);
    if (!content) return false;
    await writeAside(target, content);
    const header = file.kind === 'segment' ? readSegmentHeader(content) : undefined;
    if (prefetch > 0 && header && isValidSegmentSize(header.segmentSize)) await fetchAhead(archive, file, header.segmentSize, prefetch, spool);
    return true;
  } finally {
    await opened.close();
  }
}

/** Fetches the `count` segments after `file` on its timeline into `spool`; stops at the first one not archived. */
async function fetchAhead(archive: WalArchive, file: WalFileName, segmentSize: number, count: number, spool: string): Promise<void> {
  await mkdir(spool, { recursive: true, mode: 0o700 });
  const current = segmentNumber(file.name, segmentSize);
  // Drop what recovery has gone past (it never asks for an older segment again), bounding the spool.
  for (const entry of await readdir(spool)) {
    const old = parseWalFileName(entry);
    if (old?.kind === 'segment' ? old.timeline === file.timeline && segmentNumber(old.name, segmentSize) <= current : !entry.startsWith('.')) await unlink(join(spool, entry)).catch(() => undefined);
  }
  const names = Array.from({ length: count }, (_, i) => segmentFileName(file.timeline, current + BigInt(i + 1), segmentSize));
  let missing = false;
  await mapLimit(names, 4, async (name) => {
    if (missing) return;
    const next = parseWalFileName(name)!;
    const content = await archive.fetch(next).catch(() => undefined);
    if (!content) {
      missing = true;
      return;
    }
    await writeAside(join(spool, name), content).catch(() => undefined);
  });
}

/** Written aside and renamed: PostgreSQL must never find a partial file under the name it asked for. */
async function writeAside(target: string, content: Buffer): Promise<void> {
  const temporary = join(dirname(target), `.${basename(target)}.chrono-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(temporary, content, { mode: 0o600 });
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
