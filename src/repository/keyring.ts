import { hkdfSync, randomBytes } from 'node:crypto';
import { KeyAccessError } from '../domain/errors.js';
import type { KeyContext, KeyProvider, WrappedKey } from '../ports/key-provider.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import { open, seal, type DataKey } from './crypto.js';
import { LAYOUT, lastSegment } from './layout.js';

/**
 * The repository's keys, in two levels:
 * - one 32-byte *master key* per repository, stored only wrapped, once per *key slot* (`keys/<slot>`):
 *   each slot is the master key wrapped by one credential (a passphrase, a key file, a KMS key);
 * - *data keys* (`datakeys/<id>`) sealed under a key derived from the master key. The newest one seals
 *   new data; older ones stay for reading. Rotation adds a data key and re-encrypts nothing, and keeps
 *   each AES-GCM key well below the 2^32 random-nonce messages NIST allows per key.
 * The blob-id HMAC key and the chunker secret are derived from the master key, so they never change
 * and deduplication survives rotation.
 */
export interface KeySlot {
  version: 1;
  id: string;
  kind: string;
  description: string;
  created: string;
  wrapped: WrappedKey;
}

export interface DataKeyInfo {
  id: string;
  created: string;
  active: boolean;
}

interface StoredDataKey {
  id: number;
  created: string;
  key: string;
}

/** Data key id 0 is reserved for the key that seals data keys themselves. */
const KEYRING_KEY_ID = 0;

export class Keyring {
  private constructor(
    readonly repositoryId: string,
    private readonly masterKey: Buffer,
    private readonly dataKeys: Map<number, DataKey & { created: string }>,
  ) {}

  /** The HMAC key for blob ids (derived once: it is needed for every blob). */
  get idKey(): Buffer {
    this.derivedIdKey ??= derive(this.masterKey, 'blob-id');
    return this.derivedIdKey;
  }

  /** The secret the chunker's gear table is derived from. */
  get chunkerSecret(): Buffer {
    return derive(this.masterKey, 'chunker');
  }

  private derivedIdKey: Buffer | undefined;

  /** The data key that seals new data: the newest. */
  get writeKey(): DataKey {
    let newest: (DataKey & { created: string }) | undefined;
    for (const key of this.dataKeys.values()) if (!newest || key.created > newest.created) newest = key;
    if (!newest) throw new KeyAccessError('no_data_key', 'the repository has no data key');
    return newest;
  }

  readonly lookup = (id: number): DataKey | undefined => this.dataKeys.get(id);

  /** All data keys, for worker threads that decrypt. Never logged. */
  allDataKeys(): DataKey[] {
    return [...this.dataKeys.values()].map(({ id, key }) => ({ id, key }));
  }

  listDataKeys(): DataKeyInfo[] {
    const writeId = this.writeKey.id;
    return [...this.dataKeys.values()]
      .sort((a, b) => a.created.localeCompare(b.created))
      .map((key) => ({ id: formatKeyId(key.id), created: key.created, active: key.id === writeId }));
  }

  /** Creates a repository's keys: a master key, its first slot and its first data key. */
  static async create(storage: ObjectStorage, provider: KeyProvider, repositoryId: string, now: Date): Promise<Keyring> {
    const masterKey = randomBytes(32);
    const keyring = new Keyring(repositoryId, masterKey, new Map());
    await keyring.addSlot(storage, provider, now);
    await keyring.rotate(storage, now);
    return keyring;
  }

  /** Opens the keys with whichever slot the provider can unwrap. */
  static async open(storage: ObjectStorage, provider: KeyProvider, repositoryId: string): Promise<Keyring> {
    const slots = await listSlots(storage);
    const candidates = slots.filter((slot) => slot.kind === provider.kind);
    if (candidates.length === 0) {
      throw new KeyAccessError('mismatch', `no key slot of kind "${provider.kind}" opens this repository (slots: ${slots.map((s) => s.kind).join(', ') || 'none'})`);
    }
    let masterKey: Buffer | undefined;
    for (const slot of candidates) {
      try {
        masterKey = await provider.unwrap(slot.wrapped, slotContext(repositoryId, slot.id));
        break;
      } catch (error) {
        if (!(error instanceof KeyAccessError) || error.code !== 'key.mismatch') throw error;
      }
    }
    if (!masterKey) throw new KeyAccessError('mismatch', 'the passphrase or key does not open this repository');
    const keyring = new Keyring(repositoryId, masterKey, new Map());
    await keyring.loadDataKeys(storage);
    return keyring;
  }

  /** Adds a slot so another credential opens the repository (`keys add`). */
  async addSlot(storage: ObjectStorage, provider: KeyProvider, now: Date): Promise<KeySlot> {
    const id = randomBytes(8).toString('hex');
    const slot: KeySlot = {
      version: 1,
      id,
      kind: provider.kind,
      description: provider.description,
      created: now.toISOString(),
      wrapped: await provider.wrap(this.masterKey, slotContext(this.repositoryId, id)),
    };
    await storage.put(`${LAYOUT.keySlots}${id}`, Buffer.from(JSON.stringify(slot, null, 2)));
    return slot;
  }

  /** Adds a new data key that seals everything written from now on (`keys rotate`). */
  async rotate(storage: ObjectStorage, now: Date): Promise<DataKeyInfo> {
    let id: number;
    do id = randomBytes(4).readUInt32BE(0);
    while (id === KEYRING_KEY_ID || this.dataKeys.has(id));
    const key = randomBytes(32);
    // writeKey picks the newest `created`: keep it strictly after every existing key, so a rotation in the
    // same millisecond (or after the clock stepped back) still makes the new key the write key.
    let created = now.getTime();
    for (const existing of this.dataKeys.values()) created = Math.max(created, Date.parse(existing.created) + 1);
    const stored: StoredDataKey = { id, created: new Date(created).toISOString(), key: key.toString('base64') };
    const name = formatKeyId(id);
    const sealed = seal(this.keyringKey(), Buffer.from(JSON.stringify(stored)), dataKeyAad(name));
    await storage.put(`${LAYOUT.dataKeys}${name}`, sealed);
    this.dataKeys.set(id, { id, key, created: stored.created });
    return { id: name, created: stored.created, active: true };
  }

  private async loadDataKeys(storage: ObjectStorage): Promise<void> {
    const keyringKey = this.keyringKey();
    for await (const info of storage.list(LAYOUT.dataKeys)) {
      const name = lastSegment(info.key);
      const plain = open(() => keyringKey, await storage.get(info.key), dataKeyAad(name), `data key ${name}`);
      const stored = JSON.parse(plain.toString('utf8')) as StoredDataKey;
      this.dataKeys.set(stored.id, { id: stored.id, key: Buffer.from(stored.key, 'base64'), created: stored.created });
    }
    if (this.dataKeys.size === 0) throw new KeyAccessError('no_data_key', 'the repository has no data key');
  }

  private keyringKey(): DataKey {
    return { id: KEYRING_KEY_ID, key: derive(this.masterKey, 'data-keys') };
  }
}

export async function listSlots(storage: ObjectStorage): Promise<KeySlot[]> {
  const slots: KeySlot[] = [];
  for await (const info of storage.list(LAYOUT.keySlots)) {
    // One damaged slot must not lock out the holders of every other credential: skip it.
    try {
      slots.push(JSON.parse((await storage.get(info.key)).toString('utf8')) as KeySlot);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
  }
  return slots.sort((a, b) => a.created.localeCompare(b.created));
}

function derive(masterKey: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `chrono-backup ${purpose}`, 32));
}

function slotContext(repositoryId: string, slotId: string): KeyContext {
  return { repository: repositoryId, slot: slotId };
}

function dataKeyAad(name: string): Buffer {
  return Buffer.from(`datakey:${name}`);
}

export function formatKeyId(id: number): string {
  return id.toString(16).padStart(8, '0');
}
