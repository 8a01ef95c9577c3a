import { createHash } from 'node:crypto';
import { RespError, type RespArg, type RespClient, type RespReply } from './resp-client.js';

/**
 * Reading a live keyspace key by key: which databases hold keys, SCAN over one, and for a batch of keys
 * their type, TTL, DUMP payload and a digest of their logical value. Used by the SCAN fallback of a
 * backup, by fingerprints (restore-test), and to copy keys out of a scratch server on restore.
 */

/** Keys per SCAN page and per read batch: large enough to amortise round trips, small enough that one
 * MULTI/EXEC batch does not stall the server noticeably. */
export const KEY_BATCH = 1000;

/** The logical databases holding keys (from INFO keyspace), ascending, optionally just `only`. */
export async function databasesWithKeys(client: RespClient, only?: number): Promise<number[]> {
  const info = String(await client.call('INFO', 'keyspace'));
  const dbs = [...info.matchAll(/^db(\d+):keys=(\d+)/gm)].filter((match) => Number(match[2]) > 0).map((match) => Number(match[1]));
  return dbs.filter((db) => only === undefined || db === only).sort((a, b) => a - b);
}

/** `redis_version` from INFO server. */
export async function serverVersion(client: RespClient): Promise<string> {
  const info = String(await client.call('INFO', 'server'));
  return /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
}

/**
 * Every key of the selected database, a SCAN page at a time. A key may repeat (SCAN's guarantee). The
 * next page is requested before this one is handed out, so its round trip overlaps the caller's reads.
 */
export async function* scanKeys(client: RespClient): AsyncGenerator<Buffer[]> {
  const page = (cursor: string) => {
    const reply = client.call('SCAN', cursor, 'COUNT', KEY_BATCH) as Promise<[Buffer, Buffer[]]>;
    // Handled here too: a caller that stops early never awaits the prefetched page.
    reply.catch(() => undefined);
    return reply;
  };
  let next = page('0');
  while (true) {
    const [cursor, keys] = await next;
    const done = cursor.toString() === '0';
    if (!done) next = page(cursor.toString());
    if (keys.length > 0) yield keys;
    if (done) return;
  }
}

/** One key as read by {@link readKeys}. */
export interface KeyRecord {
  key: Buffer;
  type: string;
  /** Remaining time to live in ms, or -1 when the key does not expire. */
  ttlMs: number;
  /** The DUMP payload (when asked for). */
  payload?: Buffer;
  /** sha256 hex of the canonical encoding of the logical value (when asked for). */
  digest?: string;
}

/**
 * Reads a batch of keys of the selected database. Each key's payload, TTL and value are read inside one
 * MULTI/EXEC, so they agree with each other even while the server takes writes; a key that vanishes
 * meanwhile is left out, and one whose type changes is read again. `atomic: false` skips MULTI/EXEC for
 * a server nothing else writes to (a scratch server): that halves the replies to parse.
 */
export async function readKeys(client: RespClient, keys: readonly Buffer[], want: { payload: boolean; digest: boolean; atomic?: boolean }): Promise<KeyRecord[]> {
  const atomic = want.atomic ?? true;
  const unique = [...new Map(keys.map((key) => [key.toString('latin1'), key])).values()];
  const types = await client.pipeline(unique.map((key) => ['TYPE', key]));
  let todo = unique.map((key, index) => ({ key, type: String(types[index]) })).filter((entry) => entry.type !== 'none');
  const records: KeyRecord[] = [];
  for (let attempt = 0; todo.length > 0; attempt++) {
    if (attempt === 5) throw new Error(`keys keep changing type while being read (${todo.length} keys)`);
    const commands: RespArg[][] = [];
    const perKey = todo.map(({ key, type }) => {
      const reads: RespArg[][] = [['PTTL', key]];
      if (want.payload) reads.push(['DUMP', key]);
      if (want.digest) reads.push(valueCommand(type, key));
      commands.push(...reads);
      return reads.length;
    });
    const results = atomic ? await transaction(client, commands) : await client.pipeline(commands);
    const again: typeof todo = [];
    let at = 0;
    todo.forEach((entry, index) => {
      const answer = results.slice(at, at + perKey[index]!);
      at += perKey[index]!;
      const [ttl, ...rest] = answer;
      const payload = want.payload ? rest.shift() : undefined;
      const value = want.digest ? rest.shift() : undefined;
      if (ttl === -2 || (want.payload && payload === null)) return; // gone meanwhile
      if (value instanceof RespError && value.prefix === 'WRONGTYPE') return void again.push(entry);
      for (const part of answer) if (part instanceof RespError) throw part;
      const record: KeyRecord = { key: entry.key, type: entry.type, ttlMs: Number(ttl) };
      if (want.payload) record.payload = payload as Buffer;
      if (want.digest) record.digest = digestValue(entry.type, value!, want.payload ? (payload as Buffer) : undefined);
      records.push(record);
    });
    if (again.length === 0) break;
    const retyped = await client.pipeline(again.map(({ key }) => ['TYPE', key]));
    todo = again.map((entry, index) => ({ key: entry.key, type: String(retyped[index]) })).filter((entry) => entry.type !== 'none');
  }
  return records;
}

/** Runs commands in one MULTI/EXEC; resolves with their replies (error replies in place). */
async function transaction(client: RespClient, commands: RespArg[][]): Promise<RespReply[]> {
  const replies = await client.pipeline([['MULTI'], ...commands, ['EXEC']]);
  // An error while queueing (NOPERM, unknown command) aborts the whole transaction.
  for (const reply of replies.slice(0, -1)) if (reply instanceof RespError) throw reply;
  const results = replies.at(-1);
  if (results instanceof RespError) throw results;
  if (!Array.isArray(results)) throw new Error('MULTI/EXEC was aborted');
  return results;
}

/**
 * The command whose reply is a key's logical value. Modules' types have no generic read, so their
 * digest is taken over DUMP (which ties it to the RDB version: see {@link digestValue}).
 */
function valueCommand(type: string, key: Buffer): RespArg[] {
  switch (type) {
    case 'string':
      return ['GET', key];
    case 'hash':
      return ['HGETALL', key];
    case 'list':
      return ['LRANGE', key, 0, -1];
    case 'set':
      return ['SMEMBERS', key];
    case 'zset':
      return ['ZRANGE', key, 0, -1, 'WITHSCORES'];
    case 'stream':
      return ['XRANGE', key, '-', '+'];
    default:
      return ['DUMP', key];
  }
}

/**
 * sha256 over a canonical encoding: the type, then each item as a 4-byte length and its bytes. Orderless
 * types are put in order first (hash fields, set members by bytes); lists, sorted sets (by score, then
 * member) and streams (by id) already come ordered. Streams are compared by their entries only: consumer
 * groups survive DUMP/RESTORE but are not part of the digest.
 */
export function digestValue(type: string, value: RespReply, dumpPayload?: Buffer): string {
  const hash = createHash('sha256');
  const item = (bytes: Buffer | string) => {
    const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    hash.update(length).update(data);
  };
  item(type);
  const list = (value ?? []) as Buffer[];
  switch (type) {
    case 'string':
      item(value as Buffer);
      break;
    case 'hash': {
      const pairs: [Buffer, Buffer][] = [];
      for (let i = 0; i < list.length; i += 2) pairs.push([list[i]!, list[i + 1]!]);
      pairs.sort((a, b) => Buffer.compare(a[0], b[0]));
      for (const [field, fieldValue] of pairs) {
        item(field);
        item(fieldValue);
      }
      break;
    }
    case 'set':
      for (const member of [...list].sort(Buffer.compare)) item(member);
      break;
    case 'list':
    case 'zset':
      for (const element of list) item(element);
      break;
    case 'stream':
      for (const entry of value as [Buffer, Buffer[]][]) {
        item(entry[0]);
        item(String(entry[1].length));
        for (const part of entry[1]) item(part);
      }
      break;
    default:
      item((dumpPayload ?? value) as Buffer);
  }
  return hash.digest('hex');
}
