/**
 * A legal hold: a snapshot, or every snapshot of a backup id, that must not be deleted until the hold
 * is released. Holds live in the repository (`holds/`), so every client of the repository honours
 * them, whatever its catalog says.
 */
export interface LegalHold {
  /** A snapshot id or a backup id. */
  id: string;
  reason: string;
  createdAt: string;
}

/** True when one of `holds` names the snapshot or its backup. */
export function isHeld(snapshot: { id: string; backupId: string }, holds: readonly LegalHold[]): boolean {
  return holds.some((hold) => hold.id === snapshot.id || hold.id === snapshot.backupId);
}
