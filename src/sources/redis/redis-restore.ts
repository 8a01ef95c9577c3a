import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, NotFoundError, SourceError, ValidationError } from '../../domain/errors.js';
import { readWhole, type StreamFiles } from '../stream-files.js';
import { decodeKeysDump, KEYS_DUMP_FILE } from './keys-dump-format.js';
import { RDB_FILE } from './redis-backup.js';
import { databasesWithKeys, KEY_BATCH, readKeys, scanKeys } from './redis-keyspace.js';
import { fingerprintClient, MANIFEST_FILE, parseManifest, type RedisManifest } from './redis-manifest.js';
import { asRedisSourceError, connectRedis, describeRedisTarget, type RedisSecrets, type RedisTarget } from './redis-target.js';
import { RespError, type RespArg, type RespClient } from './resp-client.js';
import { startScratchRedis, type ScratchRedis, type ScratchRedisOptions } from './scratch-redis.js';

export interface RedisRestoreOptions {
  /** Overwrite keys the target already holds (RESTORE … REPLACE); without it such keys stop the restore. */
  replace: boolean;
  secrets?: RedisSecrets;
  timeoutMs?: number;
  /** The local redis-server that reads a dump.rdb snapshot. */
  scratch?: ScratchRedisOptions;
}

export interface RedisRestoreResult {
  /** Keys written into the target. */
  keys: number;
  /** Keys whose TTL ran out between the backup and now: not restored. */
  expired: number;
}

/** One key ready for RESTORE: `ttlMs` is the time left now (-1 for none). */
interface RestorableKey {
  key: Buffer;
  ttlMs: number;
  payload: Buffer;
}

/** The keys of a snapshot, read twice: names only (the overwrite check), then for RESTORE. */
interface SnapshotKeys {
  names(): AsyncIterable<{ db: number; keys: Buffer[] }>;
  records(): AsyncIterable<{ db: number; keys: RestorableKey[]; expired: number }>;
}

/**
 * Restores a Redis snapshot into a running server with RESTORE. TTLs are kept as absolute expiry times:
 * a key expires when it would have on the source, and a key whose time ran out since the backup is not
 * restored (it would have been gone anyway). Databases keep their numbers; a target with `/db` restores
 * only that database. Without `replace` the target is checked first and nothing is written when it
 * already holds any of the keys (ConflictError). A dump.rdb snapshot is read through a private scratch
 * redis-server; a keys.dump snapshot is streamed directly.
 */
export async function restoreRedis(target: RedisTarget, files: StreamFiles, options: RedisRestoreOptions): Promise<RedisRestoreResult> {
  const label = `Redis target ${describeRedisTarget(target)}`;
  const names = files.names();
  if (!names.includes(RDB_FILE) && !names.includes(KEYS_DUMP_FILE)) throw new ValidationError(`the snapshot holds neither ${RDB_FILE} nor ${KEYS_DUMP_FILE}: it is not a Redis snapshot`, 'snapshot');
  const client = await connectRedis(target, options.secrets, { role: 'Redis target', ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
  let scratch: ScratchRedis | undefined;
  let scratchClient: RespClient | undefined;
  let scratchDir: string | undefined;
  try {
    let source: SnapshotKeys;
    let expectedKeys: number | undefined;
    if (names.includes(RDB_FILE)) {
      scratchDir = await mkdtemp(join(tmpdir(), 'chrono-redis-restore-'));
      await writeStream(files.open(RDB_FILE), join(scratchDir, RDB_FILE));
      const manifest = names.includes(MANIFEST_FILE) ? parseManifest(await readWhole(files, MANIFEST_FILE)) : undefined;
      // The scratch server drops keys that expired since the backup while loading; the manifest counts them.
      expectedKeys = manifest?.keys.filter((entry) => target.db === undefined || entry.db === target.db).length;
      scratch = await startScratchRedis(scratchDir, { databases: databasesNeeded(manifest), ...options.scratch });
      scratchClient = await scratch.connect();
      source = scratchKeys(scratchClient, target.db);
    } else {
      source = dumpFileKeys(files, target.db);
    }
    if (!options.replace) await refuseExisting(client, source, label);
    const result = await restoreKeys(client, source, options.replace, label);
    return expectedKeys === undefined ? result : { keys: result.keys, expired: Math.max(result.expired, expectedKeys - result.keys) };
  } catch (error) {
    throw asRedisSourceError(error, label);
  } finally {
    await client.close();
    await scratchClient?.close();
    await scratch?.stop();
    if (scratchDir !== undefined) await rm(scratchDir, { recursive: true, force: true });
  }
}

function databasesNeeded(manifest: RedisManifest | undefined): number {
  return Math.max(16, ...Object.keys(manifest?.databases ?? {}).map((db) => Number(db) + 1));
}

/** The keys of a scratch server loaded with the snapshot's RDB. */
function scratchKeys(scratch: RespClient, only: number | undefined): SnapshotKeys {
  async function* walk<T>(read: (keys: Buffer[]) => Promise<T>): AsyncGenerator<{ db: number } & T> {
    for (const db of await databasesWithKeys(scratch, only)) {
      await scratch.call('SELECT', db);
      // The scratch server takes no writes, so SCAN sees each key exactly once.
      for await (const keys of scanKeys(scratch)) yield { db, ...(await read(keys)) };
    }
  }
  return {
    names: () => walk(async (keys) => ({ keys })),
    records: () =>
      walk(async (keys) => {
        const records = await readKeys(scratch, keys, { payload: true, digest: false, atomic: false });
        // The scratch server applies the RDB's absolute expiry times: PTTL is the time left now.
        return { keys: records.map(({ key, ttlMs, payload }) => ({ key, ttlMs, payload: payload! })), expired: keys.length - records.length };
      }),
  };
}

/** The keys of a keys.dump file, batched per database. */
function dumpFileKeys(files: StreamFiles, only: number | undefined): SnapshotKeys {
  async function* batches(): AsyncGenerator<{ db: number; keys: { key: Buffer; expireAt: number; payload: Buffer }[] }> {
    let batch: { db: number; keys: { key: Buffer; expireAt: number; payload: Buffer }[] } | undefined;
    for await (const record of decodeKeysDump(files.open(KEYS_DUMP_FILE))) {
      if (only !== undefined && record.db !== only) continue;
      if (batch !== undefined && (batch.db !== record.db || batch.keys.length >= KEY_BATCH)) {
        yield batch;
        batch = undefined;
      }
      batch ??= { db: record.db, keys: [] };
      batch.keys.push(record);
    }
    if (batch !== undefined) yield batch;
  }
  return {
    async *names() {
      for await (const batch of batches()) yield { db: batch.db, keys: batch.keys.map(({ key }) => key) };
    },
    async *records() {
      for await (const batch of batches()) {
        const now = Date.now();
        const live = batch.keys.filter(({ expireAt }) => expireAt < 0 || expireAt > now);
        yield { db: batch.db, keys: live.map(({ key, expireAt, payload }) => ({ key, ttlMs: expireAt < 0 ? -1 : expireAt - now, payload })), expired: batch.keys.length - live.length };
      }
    },
  };
}

/** Throws a ConflictError naming a few keys when the target already holds any key of the snapshot. */
async function refuseExisting(client: RespClient, source: SnapshotKeys, label: string): Promise<void> {
  const examples: string[] = [];
  let count = 0;
  let selected = -1;
  for await (const { db, keys } of source.names()) {
    if (db !== selected) {
      await client.call('SELECT', db);
      selected = db;
    }
    const replies = await client.pipeline(keys.map((key) => ['EXISTS', key]));
    replies.forEach((reply, index) => {
      if (reply instanceof RespError) throw reply;
      if (reply !== 1) return;
      count++;
      if (examples.length < 5) examples.push(`db ${db} ${showKey(keys[index]!)}`);
    });
  }
  if (count > 0) {
    throw new ConflictError(
      'redis_keys_exist',
      `${label} already holds ${count} of the snapshot's keys (${examples.join(', ')}${count > examples.length ? ', …' : ''}); nothing was written. Restore with --confirm-overwrite to replace them`,
      { details: { existing: count } },
    );
  }
}

async function restoreKeys(client: RespClient, source: SnapshotKeys, replace: boolean, label: string): Promise<RedisRestoreResult> {
  let restored = 0;
  let expired = 0;
  let selected = -1;
  for await (const { db, keys, expired: gone } of source.records()) {
    expired += gone;
    if (db !== selected) {
      await client.call('SELECT', db);
      selected = db;
    }
    // A TTL that ran out between reading and here (a few ms) becomes 1 ms: RESTORE takes 0 as "no TTL".
    const commands: RespArg[][] = keys.map(({ key, ttlMs, payload }) => ['RESTORE', key, ttlMs < 0 ? 0 : Math.max(1, ttlMs), payload, ...(replace ? ['REPLACE'] : [])]);
    const replies = await client.pipeline(commands);
    replies.forEach((reply, index) => {
      if (!(reply instanceof RespError)) return;
      const key = showKey(keys[index]!.key);
      if (reply.prefix === 'BUSYKEY') throw new ConflictError('redis_keys_exist', `${label}: key ${key} in db ${db} appeared while restoring; restore with --confirm-overwrite to replace it`);
      if (/payload version or checksum/i.test(reply.message)) {
        throw new SourceError('redis.restore', `${label}: cannot RESTORE key ${key}: the snapshot comes from a newer Redis version than the target (${reply.message.slice(0, 120)})`, { cause: reply });
      }
      throw new SourceError('redis.restore', `${label}: cannot RESTORE key ${key} in db ${db}: ${reply.message.slice(0, 200)}`, { cause: reply });
    });
    restored += keys.length;
  }
  return { keys: restored, expired };
}

/** A key for a message: as text when it is printable UTF-8, else as hex; long keys are cut. */
function showKey(key: Buffer): string {
  const text = key.toString('utf8');
  const printable = Buffer.from(text).equals(key) && !/[\p{C}]/u.test(text);
  const shown = printable ? JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text) : `0x${key.subarray(0, 30).toString('hex')}${key.length > 30 ? '…' : ''}`;
  return shown;
}

/**
 * Writes a snapshot's dump.rdb into a stopped server's data directory: to a temporary file that is
 * flushed and then renamed, so the server never sees half a file. Refuses to replace an existing
 * dump.rdb unless `replace`. A snapshot taken with the SCAN fallback has no RDB: restore that one into
 * a running server instead.
 */
export async function writeRdbToDirectory(files: StreamFiles, dir: string, options: { replace: boolean } = { replace: false }): Promise<{ path: string; bytes: number }> {
  if (!files.names().includes(RDB_FILE)) {
    if (files.names().includes(KEYS_DUMP_FILE)) throw new ValidationError(`this Redis snapshot was taken with SCAN (${KEYS_DUMP_FILE}, no RDB): restore it into a running server instead`, 'snapshot');
    throw new NotFoundError('file', RDB_FILE);
  }
  const path = join(dir, RDB_FILE);
  if (!options.replace && (await exists(path))) throw new ConflictError('rdb_exists', `${path} already exists; restore with --confirm-overwrite to replace it`);
  const temporary = join(dir, `.${RDB_FILE}.chrono-${randomBytes(6).toString('hex')}`);
  try {
    const bytes = await writeStream(files.open(RDB_FILE), temporary);
    await rename(temporary, path);
    return { path, bytes };
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Writes a stream to a new file and flushes it to disk; returns the byte count. */
async function writeStream(stream: AsyncIterable<Buffer>, path: string): Promise<number> {
  const file = await open(path, 'wx', 0o600);
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      await file.write(chunk);
      bytes += chunk.length;
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return bytes;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** The manifest of a live server's data (all databases, or the target's `/db`), for a restore-test. */
export async function fingerprintRedis(target: RedisTarget, options: { secrets?: RedisSecrets; timeoutMs?: number } = {}): Promise<RedisManifest> {
  const label = `Redis target ${describeRedisTarget(target)}`;
  const client = await connectRedis(target, options.secrets, { role: 'Redis target', ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
  try {
    return await fingerprintClient(client, { method: 'fingerprint', pointInTime: false, digestsFrom: 'live' }, target.db);
  } catch (error) {
    throw asRedisSourceError(error, label);
  } finally {
    await client.close();
  }
}

/** The manifest stored in a Redis snapshot. */
export async function readRedisManifest(files: StreamFiles): Promise<RedisManifest> {
  return parseManifest(await readWhole(files, MANIFEST_FILE));
}

export { compareRedisManifests, type RedisManifest, type RedisManifestDifference } from './redis-manifest.js';
