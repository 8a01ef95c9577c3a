/**
 * Where each kind of object lives inside a repository (see docs/FORMAT.md). One place, so adapters,
 * prune, verify and catalog rebuild agree on the layout.
 */
export const LAYOUT = {
  config: 'config',
  keySlots: 'keys/',
  dataKeys: 'datakeys/',
  packs: 'data/',
  indexes: 'index/',
  snapshots: 'snapshots/',
  locks: 'locks/',
  holds: 'holds/',
  /** Leases of workflow executions (src/workflows/workflow-lease.ts): not part of the data, never replicated. */
  workflowLocks: 'workflow-locks/',
} as const;

export function packKey(packId: string): string {
  return `${LAYOUT.packs}${packId.slice(0, 2)}/${packId}`;
}

export function packIdFromKey(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

export function indexKey(indexId: string): string {
  return `${LAYOUT.indexes}${indexId}`;
}

export function snapshotKey(snapshotId: string): string {
  return `${LAYOUT.snapshots}${snapshotId}`;
}

export function holdKey(id: string): string {
  return `${LAYOUT.holds}${id}`;
}

export function lastSegment(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}
