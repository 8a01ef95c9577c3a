import type { BlobPool } from '../repository/blob-pool.js';
import type { BlobWriter } from '../repository/blob-writer.js';
import type { TreeNode } from '../repository/tree.js';
import { virtualFileNode } from './virtual-file.js';

/** Name of the file, inside a `config` snapshot, that holds the captured environment variables. */
export const ENVIRONMENT_FILE = 'environment.json';

/**
 * Captures the named environment variables (exact names, or `PREFIX_*` for every variable with that
 * prefix) as a JSON file node. Values are often secrets: they go only into the encrypted repository,
 * never into logs, errors or the catalog.
 */
export async function captureConfig(pool: BlobPool, writer: BlobWriter, names: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<TreeNode[]> {
  if (names.length === 0) return [];
  const captured: Record<string, string> = {};
  for (const pattern of names) {
    const prefix = pattern.endsWith('*') ? pattern.slice(0, -1) : undefined;
    for (const [name, value] of Object.entries(env)) {
      if (value !== undefined && (prefix !== undefined ? name.startsWith(prefix) : name === pattern)) captured[name] = value;
    }
  }
  const sorted = Object.fromEntries(Object.entries(captured).sort(([a], [b]) => a.localeCompare(b)));
  const bytes = Buffer.from(`${JSON.stringify(sorted, null, 2)}\n`);
  return [virtualFileNode(ENVIRONMENT_FILE, await pool.chunkStream([bytes], writer))];
}
