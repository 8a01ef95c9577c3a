import { brotliCompressSync, brotliDecompressSync, constants as zlib } from 'node:zlib';

import { StorageError } from '../domain/errors.js';

/*
 * How a record (snapshot, run, plan, …) is stored in one DynamoDB item, whose limit is 400 KB.
 *
 * Records are JSON. Small ones (almost all) are kept as readable text in `json`. Larger ones — a
 * snapshot naming many paths, a run summary listing many damaged snapshots — are compressed with
 * Brotli into the binary attribute `jsonBr`: lists of paths compress roughly tenfold, so about 3.5 MB
 * of JSON (tens of thousands of paths) still fits. A record that does not fit even compressed is
 * refused with `storage.catalog_record_too_large`, naming it, rather than split across items: splitting
 * would make every read of a record a query and every write a multi-item transaction, for sizes that
 * a backup catalog does not see in practice (the repository keeps the full snapshot in any case).
 */

/** Above this many bytes of JSON, the record is compressed. */
const COMPRESS_ABOVE = 16 * 1024;
/** What the compressed record may take, leaving room in the 400 KB item for keys and index attributes. */
export const MAX_STORED_RECORD_BYTES = 350 * 1024;

export interface StoredRecord {
  json?: string;
  jsonBr?: Uint8Array;
}

/** The attributes holding `record`; `what` names it in the error when it is too large. */
export function encodeRecord(record: unknown, what: string): StoredRecord {
  const json = JSON.stringify(record);
  if (Buffer.byteLength(json) <= COMPRESS_ABOVE) return { json };
  const compressed = brotliCompressSync(json, {
    params: { [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT, [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_SIZE_HINT]: json.length },
  });
  if (compressed.length > MAX_STORED_RECORD_BYTES) {
    throw new StorageError(
      'catalog_record_too_large',
      `${what} is too large for the DynamoDB catalog (${compressed.length} bytes compressed, at most ${MAX_STORED_RECORD_BYTES})`,
      { details: { what, bytes: compressed.length, limit: MAX_STORED_RECORD_BYTES } },
    );
  }
  return { jsonBr: compressed };
}

/** The record held by an item written with {@link encodeRecord}. */
export function decodeRecord<T>(item: Record<string, unknown>): T {
  if (typeof item.json === 'string') return JSON.parse(item.json) as T;
  if (item.jsonBr instanceof Uint8Array) return JSON.parse(brotliDecompressSync(item.jsonBr).toString('utf8')) as T;
  throw new StorageError('catalog_failed', `catalog item ${String(item.PK)} / ${String(item.SK)} holds no record`);
}
