import Database from 'better-sqlite3';
import { join } from 'node:path';

/** An exclusive hold on a spool: while it is held, no other pusher runs for that pg_wal. */
export interface PusherLock {
  release(): void;
}

const LOCK_FILE = 'pusher.lock';

/**
 * Takes the spool's pusher lock, or returns undefined at once when another process (or another
 * holder in this one) has it.
 *
 * Why a kernel lock and not a pid file: two pushers at once are not merely wasted work. WalArchive.push
 * deletes an object that does not read back as what it wrote, so a second pusher of the same file can
 * delete the first one's verified copy after its `.ok` was written — a gap PostgreSQL would never see.
 * A pid file goes stale when its holder dies, and taking over a stale one races (two processes find it
 * stale, both replace it). The POSIX record lock SQLite takes for `BEGIN EXCLUSIVE` (with
 * `locking_mode = EXCLUSIVE` it is kept for the connection's life) belongs to the process: the kernel
 * drops it when the process ends, however it ends, so it can never go stale. better-sqlite3 is already
 * a dependency (the catalog); only the pusher loads it, once per run. The pid file next to it
 * (wal-async-spool.ts) is only the foreground's cheap "is one running?" hint.
 */
export function tryAcquirePusherLock(spool: string): PusherLock | undefined {
  const db = new Database(join(spool, LOCK_FILE), { timeout: 0 });
  try {
    // No journal file beside the lock: nothing is ever written, and a killed holder leaves nothing to roll back.
    db.pragma('journal_mode = MEMORY');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return undefined;
    throw error;
  }
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      // Closing the connection drops the lock (the open transaction is rolled back; it wrote nothing).
      db.close();
    },
  };
}
