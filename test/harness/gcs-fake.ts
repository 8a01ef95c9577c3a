import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * A FAKE of the Google Cloud Storage JSON API, written for these tests — NOT an emulator and not
 * Google's code. No GCS emulator can run here (none ships for Node, and Docker is unavailable), so this
 * implements just the part of the JSON API that @google-cloud/storage uses for the ObjectStorage
 * adapter, following Google's published API reference:
 *
 * - objects: get (metadata and `alt=media` with `Range`), list (`prefix`, `maxResults`, `pageToken`),
 *   delete; uploads with `uploadType=media`, `multipart` and `resumable` (sessions with
 *   `Content-Range`, 308 for incomplete ones, status queries);
 * - buckets: insert and get, so a test can create one;
 * - `x-goog-hash` (crc32c and md5) on downloads and `crc32c`/`md5Hash` in metadata, which the client
 *   library validates, and the client's `X-Goog-Hash` checked on upload;
 * - an object appears only when its upload completes, replacing the old one whole, as GCS does.
 *
 * Not implemented: authentication (the client skips it for a custom endpoint), ACLs, versioning,
 * preconditions, compose/rewrite, notifications, XML API. Anything unknown answers 501 so a test
 * shows at once when the adapter starts using more of the API.
 */
export interface GcsFakeHandle {
  /** `http://127.0.0.1:<port>`: pass as `apiEndpoint`. */
  endpoint: string;
  /** Every request seen: method, path and query, for tests that check which API calls were made. */
  requests: { method: string; path: string; query: Record<string, string> }[];
  createBucket: (name: string) => void;
  stop: () => Promise<void>;
}

interface StoredObject {
  data: Buffer;
  /** Computed once at upload: metadata and downloads report them on every request. */
  md5: string;
  crc32c: string;
  generation: number;
  created: Date;
  updated: Date;
  contentType: string;
  storageClass: string;
  kmsKeyName: string | undefined;
}

interface UploadSession {
  bucket: string;
  name: string;
  metadata: Record<string, unknown>;
  kmsKeyName: string | undefined;
  chunks: Buffer[];
  received: number;
  finished: StoredObject | undefined;
}

/** Starts the fake on 127.0.0.1 and a free port. */
export async function startGcsFake(): Promise<GcsFakeHandle> {
  const buckets = new Map<string, Map<string, StoredObject>>();
  const sessions = new Map<string, UploadSession>();
  const requests: GcsFakeHandle['requests'] = [];
  let generation = 1;
  let endpoint = '';

  /** Stores the object, or returns why not: the client's `X-Goog-Hash` does not match the data. */
  const store = (bucket: string, name: string, data: Buffer, metadata: Record<string, unknown>, kmsKeyName: string | undefined, hashHeader: string | string[] | undefined): StoredObject | string => {
    const md5 = createHash('md5').update(data).digest('base64');
    const crc32c = crc32cBase64(data);
    const mismatch = hashMismatch(md5, crc32c, hashHeader);
    if (mismatch !== undefined) return mismatch;
    const objects = buckets.get(bucket)!;
    const now = new Date();
    const previous = objects.get(name);
    const stored: StoredObject = {
      data,
      md5,
      crc32c,
      generation: generation++,
      created: previous?.created ?? now,
      updated: now,
      contentType: typeof metadata.contentType === 'string' ? metadata.contentType : 'application/octet-stream',
      storageClass: typeof metadata.storageClass === 'string' ? metadata.storageClass : 'STANDARD',
      kmsKeyName,
    };
    // One assignment: readers see the old object or the new one, never a mix.
    objects.set(name, stored);
    return stored;
  };

  const resource = (bucket: string, name: string, object: StoredObject) => ({
    kind: 'storage#object',
    id: `${bucket}/${name}/${object.generation}`,
    selfLink: `${endpoint}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`,
    mediaLink: `${endpoint}/download/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}?generation=${object.generation}&alt=media`,
    name,
    bucket,
    generation: String(object.generation),
    metageneration: '1',
    contentType: object.contentType,
    storageClass: object.storageClass,
    size: String(object.data.length),
    md5Hash: object.md5,
    crc32c: object.crc32c,
    etag: `CP${object.generation}`,
    timeCreated: object.created.toISOString(),
    updated: object.updated.toISOString(),
    ...(object.kmsKeyName !== undefined ? { kmsKeyName: object.kmsKeyName } : {}),
  });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const method = request.method ?? 'GET';
    requests.push({ method, path: url.pathname, query });
    const body = await readBody(request);
    const path = url.pathname;
    let match: RegExpExecArray | null;

    if (method === 'POST' && path === '/storage/v1/b') {
      const name = String((JSON.parse(body.toString() || '{}') as { name?: unknown }).name);
      if (!buckets.has(name)) buckets.set(name, new Map());
      return json(response, 200, { kind: 'storage#bucket', name, id: name });
    }
    if ((match = /^\/storage\/v1\/b\/([^/]+)$/.exec(path)) && method === 'GET') {
      const name = decodeURIComponent(match[1]!);
      return buckets.has(name) ? json(response, 200, { kind: 'storage#bucket', name, id: name }) : noBucket(response);
    }
    if ((match = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(path)) && method === 'GET') {
      const objects = buckets.get(decodeURIComponent(match[1]!));
      if (objects === undefined) return noBucket(response);
      const prefix = query.prefix ?? '';
      const max = Math.min(Number(query.maxResults ?? 1000) || 1000, 1000);
      const after = query.pageToken ? Buffer.from(query.pageToken, 'base64url').toString() : undefined;
      const names = [...objects.keys()].filter((name) => name.startsWith(prefix) && (after === undefined || name > after)).sort();
      const page = names.slice(0, max);
      return json(response, 200, {
        kind: 'storage#objects',
        items: page.map((name) => resource(match![1]!, name, objects.get(name)!)),
        ...(names.length > max ? { nextPageToken: Buffer.from(page[page.length - 1]!).toString('base64url') } : {}),
      });
    }
    if ((match = /^\/(?:storage|download\/storage)\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path))) {
      const bucket = decodeURIComponent(match[1]!);
      const name = decodeURIComponent(match[2]!);
      const objects = buckets.get(bucket);
      if (objects === undefined) return noBucket(response);
      const object = objects.get(name);
      if (method === 'DELETE') {
        if (object === undefined) return noObject(response, bucket, name);
        objects.delete(name);
        response.writeHead(204).end();
        return;
      }
      if (method !== 'GET') return unsupported(response, method, path);
      if (object === undefined) return noObject(response, bucket, name);
      if (query.alt !== 'media') return json(response, 200, resource(bucket, name, object));
      return media(response, request.headers.range, object);
    }
    if ((match = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path))) {
      const bucket = decodeURIComponent(match[1]!);
      if (!buckets.has(bucket)) return noBucket(response);
      if (method === 'POST' && query.uploadType === 'media') {
        if (!query.name) return error(response, 400, 'required', 'Required parameter: name');
        return finishUpload(response, bucket, query.name, body, {}, query.kmsKeyName, request.headers['x-goog-hash']);
      }
      if (method === 'POST' && query.uploadType === 'multipart') {
        const parts = parseMultipart(body, String(request.headers['content-type'] ?? ''));
        if (parts === undefined || parts.length !== 2) return error(response, 400, 'invalid', 'Malformed multipart body');
        const metadata = JSON.parse(parts[0]!.toString()) as Record<string, unknown>;
        const name = typeof metadata.name === 'string' ? metadata.name : query.name;
        if (!name) return error(response, 400, 'required', 'Required parameter: name');
        return finishUpload(response, bucket, name, parts[1]!, metadata, query.kmsKeyName, request.headers['x-goog-hash']);
      }
      if (method === 'POST' && query.uploadType === 'resumable') {
        const metadata = body.length > 0 ? (JSON.parse(body.toString()) as Record<string, unknown>) : {};
        const name = typeof metadata.name === 'string' ? metadata.name : query.name;
        if (!name) return error(response, 400, 'required', 'Required parameter: name');
        const id = randomBytes(12).toString('hex');
        sessions.set(id, { bucket, name, metadata, kmsKeyName: query.kmsKeyName, chunks: [], received: 0, finished: undefined });
        response.writeHead(200, { location: `${endpoint}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&upload_id=${id}` }).end();
        return;
      }
      if (method === 'PUT' && query.uploadType === 'resumable' && query.upload_id) {
        const session = sessions.get(query.upload_id);
        if (session === undefined) return error(response, 404, 'notFound', 'No such upload session');
        return resumeUpload(response, session, String(request.headers['content-range'] ?? ''), body, request.headers['x-goog-hash']);
      }
    }
    return unsupported(response, method, path);
  };

  const finishUpload = (response: ServerResponse, bucket: string, name: string, data: Buffer, metadata: Record<string, unknown>, kmsKeyName: string | undefined, hashHeader: string | string[] | undefined): void => {
    const stored = store(bucket, name, data, metadata, kmsKeyName, hashHeader);
    if (typeof stored === 'string') return error(response, 400, 'invalid', stored);
    json(response, 200, resource(bucket, name, stored));
  };

  const resumeUpload = (response: ServerResponse, session: UploadSession, contentRange: string, data: Buffer, hashHeader: string | string[] | undefined): void => {
    if (session.finished !== undefined) return json(response, 200, resource(session.bucket, session.name, session.finished));
    const range = /^bytes (\*|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(contentRange.trim());
    if (range === null) return error(response, 400, 'invalid', `Malformed Content-Range: ${contentRange}`);
    const total = range[4] === '*' ? undefined : Number(range[4]);
    if (range[1] !== '*') {
      const start = Number(range[2]);
      if (start > session.received) return error(response, 400, 'invalid', `Upload offset ${start} skips bytes (have ${session.received})`);
      // Bytes the server already has are acknowledged again, not stored twice.
      const fresh = data.subarray(session.received - start);
      session.chunks.push(fresh);
      session.received += fresh.length;
    }
    // A request whose range is open-ended (`n-*`) carries the rest of the object.
    const complete = total !== undefined ? session.received >= total : range[3] === '*';
    if (!complete) {
      response.writeHead(308, session.received > 0 ? { range: `bytes=0-${session.received - 1}` } : {}).end();
      return;
    }
    const whole = Buffer.concat(session.chunks);
    if (total !== undefined && whole.length !== total) return error(response, 400, 'invalid', `Upload has ${whole.length} bytes, expected ${total}`);
    const stored = store(session.bucket, session.name, whole, session.metadata, session.kmsKeyName, hashHeader);
    if (typeof stored === 'string') return error(response, 400, 'invalid', stored);
    session.finished = stored;
    json(response, 200, resource(session.bucket, session.name, stored));
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((failure: unknown) => {
      if (!response.headersSent) error(response, 500, 'backendError', String(failure));
      else response.destroy();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    endpoint,
    requests,
    createBucket: (name) => {
      if (!buckets.has(name)) buckets.set(name, new Map());
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}

function media(response: ServerResponse, rangeHeader: string | undefined, object: StoredObject): void {
  const size = object.data.length;
  const headers = {
    'content-type': object.contentType,
    'x-goog-generation': String(object.generation),
    'x-goog-stored-content-encoding': 'identity',
    'x-goog-stored-content-length': String(size),
    'x-goog-hash': `crc32c=${object.crc32c},md5=${object.md5}`,
    'accept-ranges': 'bytes',
  };
  const range = rangeHeader === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(rangeHeader.trim());
  if (range === null || (range[1] === '' && range[2] === '')) {
    response.writeHead(200, { ...headers, 'content-length': String(size) }).end(object.data);
    return;
  }
  let start: number;
  let end: number;
  if (range[1] === '') {
    // `bytes=-n`: the last n bytes.
    start = Math.max(0, size - Number(range[2]));
    end = size - 1;
  } else {
    start = Number(range[1]);
    end = range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
  }
  if (start >= size || end < start) {
    response.writeHead(416, { 'content-range': `bytes */${size}`, 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 416, message: 'Requested range not satisfiable', errors: [{ domain: 'global', reason: 'requestedRangeNotSatisfiable', message: 'Requested range not satisfiable' }] } }));
    return;
  }
  const slice = object.data.subarray(start, end + 1);
  response.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(slice.length) }).end(slice);
}

function hashMismatch(md5: string, crc32c: string, header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === undefined) return undefined;
  for (const pair of value.split(',')) {
    const at = pair.indexOf('=');
    const kind = pair.slice(0, at).trim();
    const expected = pair.slice(at + 1).trim();
    if (kind === 'crc32c' && expected !== crc32c) return 'Provided CRC32C does not match the data';
    if (kind === 'md5' && expected !== md5) return 'Provided MD5 hash does not match the data';
  }
  return undefined;
}

function parseMultipart(body: Buffer, contentType: string): Buffer[] | undefined {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (boundary === undefined) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next === -1) return undefined;
    const part = body.subarray(start, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd === -1) return undefined;
    // The part body ends before the CRLF that precedes the next delimiter.
    parts.push(part.subarray(headerEnd + 4, part.length - 2));
    at = next;
  }
  return parts;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function json(response: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(Buffer.byteLength(text)) }).end(text);
}

function error(response: ServerResponse, status: number, reason: string, message: string): void {
  json(response, status, { error: { code: status, message, errors: [{ domain: 'global', reason, message }] } });
}

function noBucket(response: ServerResponse): void {
  error(response, 404, 'notFound', 'The specified bucket does not exist.');
}

function noObject(response: ServerResponse, bucket: string, name: string): void {
  error(response, 404, 'notFound', `No such object: ${bucket}/${name}`);
}

function unsupported(response: ServerResponse, method: string, path: string): void {
  error(response, 501, 'notImplemented', `The GCS fake does not implement ${method} ${path}`);
}

/** CRC-32C (Castagnoli), as GCS reports it: the big-endian checksum in base64. */
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32cBase64(data: Buffer): string {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}
