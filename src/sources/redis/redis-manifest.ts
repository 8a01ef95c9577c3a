import { IntegrityError } from '../../domain/errors.js';
import { databasesWithKeys, readKeys, scanKeys, serverVersion, type KeyRecord } from './redis-keyspace.js';
import type { RespClient } from './resp-client.js';

/**
 * `redis-manifest.json`: what a Redis snapshot holds, key by key, by logical value. A restore-test
 * restores the snapshot into a scratch server, fingerprints it and compares the two manifests; the
 * digests are over values (not DUMP payloads), so they match across Redis versions and encodings.
 */
export interface RedisManifest {
  format: 'chrono-redis-manifest';
  version: 1;
  serverVersion: string;
  method: 'sync' | 'scan' | 'fingerprint';
  pointInTime: boolean;
  /**
   * Where the digests were computed: `snapshot` (from the captured data itself: a scratch server loaded
   * with the RDB, or the very reads that produced keys.dump) or `live` (the source server just after a
   * SYNC, when no local redis-server could load the RDB; concurrent writes may then show as differences).
   */
  digestsFrom: 'snapshot' | 'live';
  capturedAt: string;
  keyCount: number;
  /** Keys per database number. */
  databases: Record<string, number>;
  keys: RedisManifestKey[];
}

export interface RedisManifestKey {
  db: number;
  /** The key's bytes, base64. */
  key: string;
  type: string;
  /** sha256 hex of the canonical encoding of the value (redis-keyspace.ts digestValue). */
  digest: string;
  /** The key had a time to live. */
  ttl: boolean;
}

export const MANIFEST_FILE = 'redis-manifest.json';

/** Collects manifest entries as keys are read; `finish` sorts them (db, then key bytes). */
export class ManifestBuilder {
  private readonly keys: RedisManifestKey[] = [];

  add(db: number, record: KeyRecord): void {
    this.keys.push({ db, key: record.key.toString('base64'), type: record.type, digest: record.digest!, ttl: record.ttlMs >= 0 });
  }

  finish(header: Pick<RedisManifest, 'serverVersion' | 'method' | 'pointInTime' | 'digestsFrom'>): RedisManifest {
    // A key seen twice by SCAN (its guarantee allows repeats) is listed once.
    const unique = new Map(this.keys.map((entry) => [`${entry.db}/${entry.key}`, entry]));
    const keys = [...unique.values()]
      .map((entry) => ({ entry, bytes: Buffer.from(entry.key, 'base64') }))
      .sort((a, b) => a.entry.db - b.entry.db || Buffer.compare(a.bytes, b.bytes))
      .map(({ entry }) => entry);
    const databases: Record<string, number> = {};
    for (const entry of keys) databases[entry.db] = (databases[entry.db] ?? 0) + 1;
    return { format: 'chrono-redis-manifest', version: 1, ...header, capturedAt: new Date().toISOString(), keyCount: keys.length, databases, keys };
  }
}

/**
 * Fingerprints every key of a connected server (all databases, or just `only`). `atomic: false` for a
 * scratch server nothing else writes to (see readKeys).
 */
export async function fingerprintClient(
  client: RespClient,
  header: Pick<RedisManifest, 'method' | 'pointInTime' | 'digestsFrom'>,
  only?: number,
  atomic = true,
): Promise<RedisManifest> {
  const builder = new ManifestBuilder();
  for (const db of await databasesWithKeys(client, only)) {
    await client.call('SELECT', db);
    for await (const keys of scanKeys(client)) {
      for (const record of await readKeys(client, keys, { payload: false, digest: true, atomic })) builder.add(db, record);
    }
  }
  return builder.finish({ ...header, serverVersion: await serverVersion(client) });
}

export function serializeManifest(manifest: RedisManifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`);
}

export function parseManifest(bytes: Buffer): RedisManifest {
  let manifest: RedisManifest;
  try {
    manifest = JSON.parse(bytes.toString('utf8')) as RedisManifest;
  } catch {
    throw new IntegrityError('redis_manifest', `${MANIFEST_FILE} is not valid JSON`);
  }
  if (manifest?.format !== 'chrono-redis-manifest' || manifest.version !== 1 || !Array.isArray(manifest.keys)) {
    throw new IntegrityError('redis_manifest', `${MANIFEST_FILE} is not a version 1 Chrono Redis manifest`);
  }
  return manifest;
}

export interface RedisManifestDifference {
  /**
   * `missing`: in expected, not in actual; `expired`: the same, but the key had a TTL (it may simply
   * have run out, so a verification may treat it as a warning); `extra`: only in actual;
   * `type` / `value` / `ttl`: the key differs in type, digest or in having a TTL.
   */
  kind: 'missing' | 'expired' | 'extra' | 'type' | 'value' | 'ttl';
  db: number;
  /** base64 of the key's bytes. */
  key: string;
  expected?: string;
  actual?: string;
}

/** The differences between two manifests, in key order. Empty when the data match. */
export function compareRedisManifests(expected: RedisManifest, actual: RedisManifest): RedisManifestDifference[] {
  const index = (manifest: RedisManifest) => new Map(manifest.keys.map((entry) => [`${entry.db}/${entry.key}`, entry]));
  const want = index(expected);
  const have = index(actual);
  const differences: RedisManifestDifference[] = [];
  for (const [id, entry] of want) {
    const other = have.get(id);
    const at = { db: entry.db, key: entry.key };
    if (other === undefined) differences.push({ kind: entry.ttl ? 'expired' : 'missing', ...at });
    else if (other.type !== entry.type) differences.push({ kind: 'type', ...at, expected: entry.type, actual: other.type });
    else if (other.digest !== entry.digest) differences.push({ kind: 'value', ...at, expected: entry.digest, actual: other.digest });
    else if (other.ttl !== entry.ttl) differences.push({ kind: 'ttl', ...at, expected: String(entry.ttl), actual: String(other.ttl) });
  }
  for (const [id, entry] of have) if (!want.has(id)) differences.push({ kind: 'extra', db: entry.db, key: entry.key });
  return differences;
}
