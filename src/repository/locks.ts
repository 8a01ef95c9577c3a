import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { LockedError, NotFoundError } from '../domain/errors.js';
import { randomId } from '../domain/ids.js';
import type { Clock } from '../ports/clock.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import { LAYOUT } from './layout.js';

/**
 * Lease locks. Backups and restores take *shared* leases, prune and key changes *exclusive* ones. A
 * lease is an object under `locks/` with an expiry that its holder pushes forward (heartbeat); a holder
 * that dies simply stops renewing, so its lease expires and nobody ever has to unlock by hand.
 */
export type LockKind = 'shared' | 'exclusive';

export interface LockInfo {
  id: string;
  kind: LockKind;
  operation: string;
  host: string;
  pid: number;
  created: string;
  expires: string;
  /** A snapshot id this holder intends to write, so concurrent backups pick distinct ids. */
  reservation?: string;
  /** The kernel's boot id: with host and pid, tells whether the holder may still be running. */
  boot?: string;
}

export interface LockOptions {
  operation: string;
  clock: Clock;
  /** Lease length; renewed every third of it. */
  ttlMs?: number;
  /** How long to keep trying while a conflicting lease is live (0: fail at once). */
  waitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const DEFAULT_TTL_MS = 120_000;
const BOOT_ID = readBootId();

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RepositoryLock {
  private timer: NodeJS.Timeout | undefined;
  private released = false;
  /**
   * Writes of the lease object (heartbeat, reservation, release) run one at a time, in order, each with
   * the latest info: a slow heartbeat can then neither drop a newer reservation nor recreate the object
   * after release deleted it.
   */
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly storage: ObjectStorage,
    private info: LockInfo,
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  get id(): string {
    return this.info.id;
  }

  static async acquire(storage: ObjectStorage, kind: LockKind, options: LockOptions): Promise<RepositoryLock> {
    const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    const sleep = options.sleep ?? defaultSleep;
    const deadline = options.clock.now().getTime() + (options.waitMs ?? 0);
    while (true) {
      const now = options.clock.now();
      const info: LockInfo = {
        id: `${now.getTime().toString(36)}-${randomId(6)}`,
        kind,
        operation: options.operation,
        host: hostname(),
        pid: process.pid,
        ...(BOOT_ID ? { boot: BOOT_ID } : {}),
        created: now.toISOString(),
        expires: new Date(now.getTime() + ttlMs).toISOString(),
      };
      await storage.put(lockKey(info.id), encode(info));
      const conflict = (await listLiveLocks(storage, options.clock)).find((other) => other.id !== info.id && (kind === 'exclusive' || other.kind === 'exclusive'));
      if (!conflict) {
        const lock = new RepositoryLock(storage, info, ttlMs, options.clock);
        lock.startHeartbeat();
        return lock;
      }
      await storage.delete(lockKey(info.id));
      if (options.clock.now().getTime() >= deadline) {
        throw new LockedError(`repository is locked by ${conflict.operation} (${conflict.kind}) on ${conflict.host} pid ${conflict.pid} until ${conflict.expires} unless renewed`, {
          details: { holder: conflict.operation, kind: conflict.kind, expires: conflict.expires },
        });
      }
      await sleep(500 + Math.random() * 1000);
    }
  }

  /** Records a snapshot id this holder will write, visible to other lock holders. */
  async reserve(snapshotId: string): Promise<void> {
    this.info = { ...this.info, reservation: snapshotId };
    await this.serialize(() => this.storage.put(lockKey(this.info.id), encode(this.info)));
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    await this.serialize(() => this.storage.delete(lockKey(this.info.id)));
  }

  private serialize(write: () => Promise<void>): Promise<void> {
    const done = this.writes.then(write);
    this.writes = done.catch(() => undefined);
    return done;
  }

  private startHeartbeat(): void {
    this.timer = setInterval(() => void this.renew(), Math.max(1000, this.ttlMs / 3));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.released) return;
    this.info = { ...this.info, expires: new Date(this.clock.now().getTime() + this.ttlMs).toISOString() };
    // A failed renewal is retried at the next beat; the lease has two more beats before it expires.
    await this.serialize(async () => {
      if (!this.released) await this.storage.put(lockKey(this.info.id), encode(this.info));
    }).catch(() => undefined);
  }
}

/**
 * Leases that have not expired and whose holder may still run. Expired ones are removed on the way:
 * their holders are gone. So are leases of this host whose process no longer exists (a crash), so
 * nobody waits out the lease time after a kill on the same machine.
 */
export async function listLiveLocks(storage: ObjectStorage, clock: Clock): Promise<LockInfo[]> {
  const live: LockInfo[] = [];
  const now = clock.now().toISOString();
  for await (const object of storage.list(LAYOUT.locks)) {
    let info: LockInfo;
    try {
      info = JSON.parse((await storage.get(object.key)).toString('utf8')) as LockInfo;
    } catch (error) {
      if (error instanceof NotFoundError) continue; // released while we listed
      throw error;
    }
    if (info.expires > now && !holderIsDead(info)) live.push(info);
    else await storage.delete(object.key);
  }
  return live;
}

/**
 * True only when the holder ran on this very machine since its last boot and its process is gone.
 * (Containers that share a kernel and a host name but not a pid namespace would confuse this; they
 * get distinct host names by default.)
 */
function holderIsDead(info: LockInfo): boolean {
  if (!BOOT_ID || info.boot !== BOOT_ID || info.host !== hostname() || info.pid === process.pid) return false;
  try {
    process.kill(info.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function lockKey(id: string): string {
  return `${LAYOUT.locks}${id}`;
}

function encode(info: LockInfo): Buffer {
  return Buffer.from(JSON.stringify(info));
}
