import { rename } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Where wal-fetch keeps segments it fetched ahead, inside the data directory being recovered (the
 * working directory of restore_command). `pitr-restore --start` removes it once recovery is over.
 */
export const PREFETCH_DIRECTORY = '.chrono-wal-prefetch';

const SEGMENT_NAME = /^[0-9A-F]{24}$/;

/**
 * Moves a prefetched segment to where PostgreSQL wants it; false when it was not fetched ahead. Kept
 * free of the repository's modules: a hit costs a process start and a rename, nothing else.
 */
export async function takePrefetched(dataDirectory: string, name: string, target: string): Promise<boolean> {
  if (!SEGMENT_NAME.test(name)) return false;
  return rename(join(dataDirectory, PREFETCH_DIRECTORY, name), target).then(
    () => true,
    () => false,
  );
}
