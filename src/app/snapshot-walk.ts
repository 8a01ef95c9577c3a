import { BackupError } from '../domain/errors.js';
import type { Snapshot } from '../domain/snapshot.js';
import type { Repository } from '../repository/repository.js';

export interface BlobReference {
  id: string;
  type: 'data' | 'tree';
}

/**
 * Visits every blob a snapshot references (its trees and all file contents), each tree once per call.
 * Unreadable trees are reported through `onError` and their subtrees skipped, so one damaged tree does
 * not hide the rest of the snapshot.
 */
export async function walkSnapshotBlobs(
  repository: Repository,
  snapshot: Snapshot,
  visit: (blob: BlobReference) => void,
  onError: (treeId: string, error: BackupError) => void,
  seenTrees: Set<string> = new Set(),
): Promise<void> {
  const pending = [snapshot.tree];
  while (pending.length > 0) {
    const treeId = pending.pop()!;
    if (seenTrees.has(treeId)) continue;
    seenTrees.add(treeId);
    visit({ id: treeId, type: 'tree' });
    let tree;
    try {
      tree = await repository.loadTree(treeId);
    } catch (error) {
      if (!(error instanceof BackupError)) throw error;
      onError(treeId, error);
      continue;
    }
    for (const node of tree.nodes) {
      if (node.subtree) pending.push(node.subtree);
      for (const id of node.content ?? []) visit({ id, type: 'data' });
    }
  }
}
