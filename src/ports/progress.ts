/**
 * Progress: how long-running work (backup, restore, verify, prune) reports what it has done.
 * Calls are cheap and frequent; implementations throttle their own output. Never receives secrets.
 */
export interface Progress {
  /** Starts (or restarts) a phase, with the total when known (bytes or items). */
  phase(name: string, total?: { bytes?: number; items?: number }): void;
  /** Raises the total as a concurrent scan discovers more work. */
  grow(total: { bytes?: number; items?: number }): void;
  advance(done: { bytes?: number; items?: number }): void;
  /** A line for the person watching (a skipped file, a warning). */
  note(message: string): void;
  done(): void;
}

export const silentProgress: Progress = {
  phase: () => undefined,
  grow: () => undefined,
  advance: () => undefined,
  note: () => undefined,
  done: () => undefined,
};
