import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A scratch data directory's pg_wal, as the async archiver sees it: `archive_status/` and the default spool. */
export interface ScratchWalDirectory {
  root: string;
  walDir: string;
  spool: string;
}

/** Creates `<tmp>/<prefix>…/pg_wal` with `archive_status/` and `.chrono-wal-async/` (remove `root` after). */
export async function scratchWalDirectory(prefix: string): Promise<ScratchWalDirectory> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const walDir = join(root, 'pg_wal');
  const spool = join(walDir, '.chrono-wal-async');
  await mkdir(join(walDir, 'archive_status'), { recursive: true });
  await mkdir(spool);
  return { root, walDir, spool };
}
