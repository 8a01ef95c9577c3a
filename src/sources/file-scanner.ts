import { lstat, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Progress } from '../ports/progress.js';
import type { ExcludeMatcher } from './exclude-matcher.js';

/**
 * Walks the trees ahead of the backup, stat only, and grows the progress totals so a person sees a
 * percentage and an ETA. Runs alongside the backup; errors are ignored (the backup reports them).
 */
export async function scanTotals(paths: readonly string[], exclude: ExcludeMatcher, progress: Progress): Promise<void> {
  const visit = async (absolute: string, relative: string): Promise<void> => {
    const stats = await lstat(absolute).catch(() => undefined);
    if (!stats) return;
    progress.grow({ items: 1, bytes: stats.isFile() ? stats.size : 0 });
    if (!stats.isDirectory()) return;
    const names = await readdir(absolute).catch(() => [] as string[]);
    for (const name of names) {
      const childAbsolute = `${absolute === '/' ? '' : absolute}/${name}`;
      const childRelative = relative === '' ? name : `${relative}/${name}`;
      if (!exclude(childAbsolute, childRelative)) await visit(childAbsolute, childRelative);
    }
  };
  for (const path of paths) {
    const absolute = resolve(path);
    await visit(absolute, '');
  }
}
