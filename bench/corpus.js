#!/usr/bin/env node
// Deterministic benchmark corpus generator for `npm run bench`.
//
//   generateCorpus(dir, { totalBytes, seed })  -> summary
//   mutateCorpus(dir, { fraction, seed })      -> summary ("next day" changes)
//
// CLI:
//   node bench/corpus.js generate DIR [--size 1GiB] [--seed 1]
//   node bench/corpus.js mutate DIR [--fraction 0.02] [--seed 2]
//   node bench/corpus.js prng-speed [--size 1GiB]
//
// Everything is derived from the seed: the same seed and size give byte-identical trees
// (on little-endian machines; the PRNG fills Uint32Arrays in platform byte order).
// Files are written in 1 MiB blocks; no file is ever held in memory as a whole.

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

export const BLOCK = 1 << 20; // 1 MiB
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

// ---------------------------------------------------------------------------------------------
// PRNG: xorshift128 (Marsaglia) seeded through splitmix32; 32-bit integer arithmetic only.
// ---------------------------------------------------------------------------------------------

/** splitmix32 step, used for seeding and for hashing labels into seeds. */
function splitmix32(x) {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Derive an independent 32-bit seed from a base seed and any number of labels (strings or numbers),
 * so each file gets its own stream independent of generation order.
 * @param {number} seed
 * @param {...(string|number)} labels
 */
export function deriveSeed(seed, ...labels) {
  let h = splitmix32(seed >>> 0);
  for (const label of labels) {
    const s = String(label);
    for (let i = 0; i < s.length; i++) {
      h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0; // FNV-1a style mixing
    }
    h = splitmix32(h ^ 0x5bd1e995);
  }
  return h;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class Rng {
  /** @param {number} seed */
  constructor(seed) {
    let s = seed >>> 0;
    s = splitmix32(s); this.a = s | 0;
    s = splitmix32(s); this.b = s | 0;
    s = splitmix32(s); this.c = s | 0;
    s = splitmix32(s); this.d = s | 0;
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** @returns {number} uniform uint32 */
  next() {
    let t = this.d;
    const s = this.a;
    this.d = this.c;
    this.c = this.b;
    this.b = s;
    t ^= t << 11;
    t ^= t >>> 8;
    this.a = t ^ s ^ (s >>> 19);
    return this.a >>> 0;
  }

  /** @returns {number} uniform float in [0, 1) */
  float() {
    return this.next() / 4294967296;
  }

  /** @returns {number} uniform integer in [lo, hi] (inclusive) */
  int(lo, hi) {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** Log-uniform integer in [lo, hi]: many small values, a few large ones. */
  logUniform(lo, hi) {
    if (hi <= lo) return lo;
    const v = Math.exp(Math.log(lo) + this.float() * (Math.log(hi) - Math.log(lo)));
    return Math.min(hi, Math.max(lo, Math.round(v)));
  }

  /** @template T @param {T[]} arr @returns {T} */
  pick(arr) {
    return arr[Math.floor(this.float() * arr.length)];
  }

  /** @returns {boolean} */
  chance(p) {
    return this.float() < p;
  }

  /** 8 lowercase hex digits. */
  hex8() {
    const x = this.next();
    return HEX[x >>> 24] + HEX[(x >>> 16) & 255] + HEX[(x >>> 8) & 255] + HEX[x & 255];
  }

  /**
   * Fill u32[start, end) with random words. The state lives in locals during the loop, which
   * is what makes this fast (> 1 GB/s on a typical core).
   * @param {Uint32Array} u32
   */
  fill(u32, start = 0, end = u32.length) {
    let a = this.a, b = this.b, c = this.c, d = this.d;
    for (let i = start; i < end; i++) {
      let t = d;
      const s = a;
      d = c;
      c = b;
      b = s;
      t ^= t << 11;
      t ^= t >>> 8;
      a = t ^ s ^ (s >>> 19);
      u32[i] = a;
    }
    this.a = a; this.b = b; this.c = c; this.d = d;
  }
}

/** A 1 MiB Buffer with a Uint32Array view over the same memory. */
function makeBlock() {
  const ab = new ArrayBuffer(BLOCK);
  return { buf: Buffer.from(ab), u32: new Uint32Array(ab) };
}

/**
 * Measure PRNG throughput (fill of 1 MiB blocks, no I/O).
 * @param {number} bytes
 * @returns {{bytes:number, seconds:number, mbPerS:number}}
 */
export function measurePrng(bytes = 512 * MiB) {
  const rng = new Rng(12345);
  const { u32 } = makeBlock();
  rng.fill(u32); // warm up the JIT
  const blocks = Math.max(1, Math.ceil(bytes / BLOCK));
  const t0 = performance.now();
  for (let i = 0; i < blocks; i++) rng.fill(u32);
  const seconds = (performance.now() - t0) / 1000;
  return { bytes: blocks * BLOCK, seconds, mbPerS: (blocks * BLOCK) / 1e6 / seconds };
}

// ---------------------------------------------------------------------------------------------
// Block writer: accumulates into a 1 MiB block and writes whole blocks.
// ---------------------------------------------------------------------------------------------

class BlockWriter {
  /** @param {number} fd @param {{buf:Buffer,u32:Uint32Array}} block @param {{buf:Buffer,u32:Uint32Array}} scratch */
  constructor(fd, block, scratch) {
    this.fd = fd;
    this.buf = block.buf;
    this.scratch = scratch;
    this.pos = 0;
    this.written = 0; // bytes accepted (flushed + buffered)
  }

  flush() {
    let off = 0;
    while (off < this.pos) off += fs.writeSync(this.fd, this.buf, off, this.pos - off);
    this.pos = 0;
  }

  /** Append an ASCII string. */
  put(str) {
    let s = str;
    for (;;) {
      const n = this.buf.latin1Write(s, this.pos);
      this.pos += n;
      this.written += n;
      if (n === s.length) break;
      s = s.slice(n);
      this.flush();
    }
    if (this.pos === BLOCK) this.flush();
  }

  /** Append bytes from a Buffer. */
  putBuf(src, start = 0, end = src.length) {
    let i = start;
    while (i < end) {
      const n = Math.min(end - i, BLOCK - this.pos);
      src.copy(this.buf, this.pos, i, i + n);
      this.pos += n;
      this.written += n;
      i += n;
      if (this.pos === BLOCK) this.flush();
    }
  }

  /** Append n incompressible random bytes. */
  putRandom(rng, n) {
    let left = n;
    while (left > 0) {
      const k = Math.min(left, BLOCK);
      if (this.pos === 0 && k === BLOCK) {
        // fast path: generate straight into the scratch block and write it
        rng.fill(this.scratch.u32);
        let off = 0;
        while (off < BLOCK) off += fs.writeSync(this.fd, this.scratch.buf, off, BLOCK - off);
        this.written += BLOCK;
      } else {
        rng.fill(this.scratch.u32, 0, Math.ceil(k / 4));
        this.putBuf(this.scratch.buf, 0, k);
      }
      left -= k;
    }
  }

  /** Append bytes [offset, offset+len) of another file, streaming 1 MiB at a time. */
  putFileRegion(srcPath, offset, len) {
    const fd = fs.openSync(srcPath, 'r');
    try {
      let done = 0;
      while (done < len) {
        const want = Math.min(BLOCK, len - done);
        const n = fs.readSync(fd, this.scratch.buf, 0, want, offset + done);
        if (n <= 0) throw new Error(`short read from ${srcPath}`);
        this.putBuf(this.scratch.buf, 0, n);
        done += n;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Shared buffers: the generator is synchronous, so one pair is enough. */
let sharedBlocks = null;
function blocks() {
  if (!sharedBlocks) sharedBlocks = { block: makeBlock(), scratch: makeBlock() };
  return sharedBlocks;
}

/**
 * Open `file` and run `fn(writer)`, flushing and closing afterwards.
 * @param {string} file @param {'w'|'a'} flags @param {(w: BlockWriter) => void} fn
 */
function withWriter(file, flags, fn) {
  const fd = fs.openSync(file, flags);
  try {
    const { block, scratch } = blocks();
    const w = new BlockWriter(fd, block, scratch);
    fn(w);
    w.flush();
    return w.written;
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Text content: log lines, JSON records, CSV rows. ASCII only, so string length == byte length.
// ---------------------------------------------------------------------------------------------

const SERVICES = ['api-gateway', 'auth', 'billing', 'orders', 'inventory', 'search', 'mailer', 'scheduler', 'payments', 'reports', 'ingest', 'thumbnailer'];
const METHODS = ['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH'];
const ROUTES = ['/api/v1/orders', '/api/v1/users', '/api/v1/invoices', '/api/v1/products', '/api/v2/search', '/api/v1/carts', '/api/v1/sessions', '/healthz', '/metrics', '/static/js/app', '/api/v1/payments', '/api/v1/shipments'];
const STATUSES = [200, 200, 200, 200, 200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 403, 404, 404, 409, 429, 500, 502, 503];
const MESSAGES = [
  'cache miss for key', 'connection pool exhausted, waiting for a free connection', 'retrying job after transient error',
  'scheduled task finished', 'flushed write-ahead buffer', 'slow query detected', 'token refreshed for client',
  'rate limit applied to client', 'upstream responded with an unexpected content type', 'worker heartbeat',
  'rotated signing key', 'garbage collection pause exceeded threshold', 'reconnected to message broker',
];
const WORDS = ('lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore ' +
  'magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo consequat duis aute ' +
  'irure in reprehenderit voluptate velit esse cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt ' +
  'culpa qui officia deserunt mollit anim id est laborum backup restore snapshot chunk pack index catalog verify').split(' ');
const FIRST = ['Anna', 'Ben', 'Chloe', 'David', 'Emma', 'Felix', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Klara', 'Lukas', 'Mia', 'Noah', 'Olivia', 'Paul', 'Quinn', 'Rosa', 'Simon', 'Tara'];
const LAST = ['Schmidt', 'Garcia', 'Smith', 'Rossi', 'Dubois', 'Nowak', 'Silva', 'Jensen', 'Kowalski', 'Martin', 'Novak', 'Tanaka', 'Okafor', 'Larsen', 'Costa'];
const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'IT', 'ES', 'PL', 'NL', 'SE', 'JP', 'BR', 'IN'];
const SKUS = Array.from({ length: 400 }, (_, i) => `SKU-${(100000 + i * 7919) % 1000000}`);
const ORDER_STATUS = ['new', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'];
const LEVELS = ['INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'DEBUG', 'WARN', 'WARN', 'ERROR'];

function pad2(n) { return n < 10 ? '0' + n : '' + n; }
function pad3(n) { return n < 10 ? '00' + n : n < 100 ? '0' + n : '' + n; }

/** Monotonic timestamp formatter; recomputes the date part only when the minute changes. */
class Clock {
  constructor(startMs) {
    this.ms = startMs;
    this.minuteKey = -1;
    this.prefix = '';
  }

  advance(rng) {
    this.ms += rng.next() % 1500;
  }

  iso() {
    const minute = Math.floor(this.ms / 60000);
    if (minute !== this.minuteKey) {
      this.minuteKey = minute;
      this.prefix = new Date(minute * 60000).toISOString().slice(0, 17); // YYYY-MM-DDTHH:MM:
    }
    const inMinute = this.ms - minute * 60000;
    return `${this.prefix}${pad2(Math.floor(inMinute / 1000))}.${pad3(inMinute % 1000)}Z`;
  }
}

function words(rng, n) {
  let s = WORDS[rng.next() % WORDS.length];
  for (let i = 1; i < n; i++) s += ' ' + WORDS[rng.next() % WORDS.length];
  return s;
}

/**
 * Text file kinds. Each returns { header, footer, line(rng) }.
 * @type {Record<string, (rng: Rng, ctx: {service?: string, startMs: number}) => {header: string, footer: string, line: () => string}>}
 */
const TEXT_KINDS = {
  log(rng, ctx) {
    const clock = new Clock(ctx.startMs);
    const service = ctx.service ?? rng.pick(SERVICES);
    const pid = 1000 + (rng.next() % 60000);
    return {
      header: '',
      footer: '',
      line() {
        clock.advance(rng);
        const level = LEVELS[rng.next() % LEVELS.length];
        if (rng.next() % 5 === 0) {
          return `${clock.iso()} ${level} ${service}[${pid}]: ${MESSAGES[rng.next() % MESSAGES.length]} key=${rng.hex8()} attempt=${rng.next() % 5}\n`;
        }
        const route = ROUTES[rng.next() % ROUTES.length];
        const status = STATUSES[rng.next() % STATUSES.length];
        return `${clock.iso()} ${level} ${service}[${pid}]: ${METHODS[rng.next() % METHODS.length]} ${route}/${rng.next() % 100000} ` +
          `status=${status} duration_ms=${rng.next() % 900} bytes=${rng.next() % 65536} user=u${rng.next() % 50000} rid=${rng.hex8()}${rng.hex8()}\n`;
      },
    };
  },
  json(rng, ctx) {
    const clock = new Clock(ctx.startMs);
    const pretty = rng.chance(0.5);
    let id = rng.next() % 1000000;
    let first = true;
    return {
      header: '[\n',
      footer: '\n]\n',
      line() {
        clock.advance(rng);
        const fn = FIRST[rng.next() % FIRST.length];
        const ln = LAST[rng.next() % LAST.length];
        const tags = `"${WORDS[rng.next() % WORDS.length]}", "${WORDS[rng.next() % WORDS.length]}"`;
        const h = rng.hex8();
        const uuid = `${h}-${rng.hex8().slice(0, 4)}-4${rng.hex8().slice(0, 3)}-a${rng.hex8().slice(0, 3)}-${rng.hex8()}${rng.hex8().slice(0, 4)}`;
        const balance = (rng.next() % 10000000) / 100;
        const sep = first ? '' : ',\n';
        first = false;
        id += 1 + (rng.next() % 3);
        if (pretty) {
          return `${sep}  {\n    "id": ${id},\n    "uuid": "${uuid}",\n    "name": "${fn} ${ln}",\n    "email": "${fn.toLowerCase()}.${ln.toLowerCase()}@example.com",\n` +
            `    "country": "${COUNTRIES[rng.next() % COUNTRIES.length]}",\n    "active": ${rng.next() % 4 !== 0},\n    "balance": ${balance},\n` +
            `    "tags": [${tags}],\n    "created_at": "${clock.iso()}",\n    "notes": "${words(rng, 4 + (rng.next() % 10))}"\n  }`;
        }
        return `${sep}{"id":${id},"uuid":"${uuid}","name":"${fn} ${ln}","email":"${fn.toLowerCase()}.${ln.toLowerCase()}@example.com",` +
          `"country":"${COUNTRIES[rng.next() % COUNTRIES.length]}","active":${rng.next() % 4 !== 0},"balance":${balance},` +
          `"tags":[${tags}],"created_at":"${clock.iso()}","notes":"${words(rng, 4 + (rng.next() % 10))}"}`;
      },
    };
  },
  csv(rng, ctx) {
    const clock = new Clock(ctx.startMs);
    let id = rng.next() % 1000000;
    return {
      header: 'order_id,created_at,customer,email,sku,quantity,unit_price,total,currency,status,country\n',
      footer: '',
      line() {
        clock.advance(rng);
        const fn = FIRST[rng.next() % FIRST.length];
        const ln = LAST[rng.next() % LAST.length];
        const qty = 1 + (rng.next() % 12);
        const price = 100 + (rng.next() % 99900);
        id += 1;
        return `${id},${clock.iso()},${fn} ${ln},${fn.toLowerCase()}.${ln.toLowerCase()}${rng.next() % 1000}@example.com,` +
          `${SKUS[rng.next() % SKUS.length]},${qty},${(price / 100).toFixed(2)},${((price * qty) / 100).toFixed(2)},EUR,` +
          `${ORDER_STATUS[rng.next() % ORDER_STATUS.length]},${COUNTRIES[rng.next() % COUNTRIES.length]}\n`;
      },
    };
  },
  ini(rng) {
    let section = 0;
    return {
      header: '# generated configuration\n',
      footer: '',
      line() {
        if (rng.next() % 8 === 0) return `\n[section_${section++}]\n`;
        return `${WORDS[rng.next() % WORDS.length]}_${WORDS[rng.next() % WORDS.length]} = ${rng.next() % 3 === 0 ? rng.next() % 10000 : words(rng, 1 + (rng.next() % 3))}\n`;
      },
    };
  },
};

/**
 * Write exactly `size` bytes of text of the given kind (lines are padded with spaces at the end to hit the size).
 * @param {BlockWriter} w @param {number} size @param {string} kind @param {Rng} rng
 */
function writeText(w, size, kind, rng, ctx) {
  const gen = TEXT_KINDS[kind](rng, ctx);
  const start = w.written;
  const end = start + size;
  if (gen.header.length + gen.footer.length > size) {
    w.put(' '.repeat(size));
    return;
  }
  const bodyEnd = end - gen.footer.length;
  w.put(gen.header);
  let chunk = '';
  for (;;) {
    const line = gen.line();
    if (w.written + chunk.length + line.length > bodyEnd) break;
    chunk += line;
    if (chunk.length >= 16384) {
      w.put(chunk);
      chunk = '';
    }
  }
  if (chunk) w.put(chunk);
  const r = bodyEnd - w.written;
  if (r > 0) w.put(r === 1 ? '\n' : ' '.repeat(r - 1) + '\n');
  w.put(gen.footer);
}

// ---------------------------------------------------------------------------------------------
// Corpus generation
// ---------------------------------------------------------------------------------------------

/** Fixed base mtime (2024-01-01T00:00:00Z) so generated trees carry deterministic timestamps. */
const BASE_MTIME_S = 1704067200;

/**
 * @typedef {object} CorpusSummary
 * @property {string} dir
 * @property {number} totalBytes  requested size
 * @property {number} bytes       bytes of regular-file content (a hard-linked file counted once)
 * @property {number} files       regular files (hard link counted once)
 * @property {number} dirs
 * @property {number} symlinks
 * @property {Record<string, {files:number, bytes:number}>} categories
 * @property {number} seconds
 * @property {number} mbPerS
 */

/**
 * Generate the corpus into `dir` (which must not exist or be empty).
 * Mix: text ~35%, incompressible binary ~35%, duplicates (whole-file and spliced) ~15%,
 * small files ~15% (at least 10,000 files, 100 B - 16 KiB, nested dirs), plus edge cases.
 * @param {string} dir
 * @param {{totalBytes?: number, seed?: number, log?: (msg: string) => void}} [opts]
 * @returns {CorpusSummary}
 */
export function generateCorpus(dir, { totalBytes = GiB, seed = 1, log = () => {} } = {}) {
  const t0 = performance.now();
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw new Error(`corpus dir ${dir} is not empty`);
  fs.mkdirSync(dir, { recursive: true });
  const made = new Set();
  const mkdir = (rel) => {
    if (made.has(rel)) return;
    fs.mkdirSync(path.join(dir, rel), { recursive: true });
    made.add(rel);
  };
  const plan = new Rng(deriveSeed(seed, 'plan'));
  /** @type {Record<string, {files:number, bytes:number}>} */
  const categories = {};
  const count = (cat, bytes) => {
    const c = (categories[cat] ??= { files: 0, bytes: 0 });
    c.files++;
    c.bytes += bytes;
  };
  let fileNo = 0;
  const setMtime = (abs) => {
    const t = BASE_MTIME_S + (plan.next() % (300 * 86400));
    fs.utimesSync(abs, t, t);
  };
  /** @type {{rel:string, size:number}[]} */
  const sources = []; // larger files that duplicates can copy from

  // Edge cases first (they have a few KiB at most); the small-file budget absorbs their bytes.
  const edgeBytes = makeEdgeCases(dir, seed, count);

  const small = Math.max(10000 * 3300, Math.round(totalBytes * 0.15)); // aim; 10,000 files min
  let budgetSmall = Math.min(small, Math.round(totalBytes * 0.6)) - edgeBytes;
  const rest = totalBytes - edgeBytes - budgetSmall;
  let budgetText = Math.round(rest * (0.35 / 0.85));
  const budgetBinary = Math.round(rest * (0.35 / 0.85));
  const budgetDup = rest - budgetText - budgetBinary;
  const maxText = clamp(Math.round(totalBytes / 20), MiB, 128 * MiB);
  const maxBinary = clamp(Math.round(totalBytes / 16), MiB, 256 * MiB);
  log(`corpus: ${fmtBytes(totalBytes)} seed=${seed} -> ${dir}`);

  // --- text: logs / JSON / CSV -------------------------------------------------------------
  const textShares = /** @type {const} */ ([['log', 0.5], ['json', 0.25], ['csv', 0.25]]);
  const textTotal = budgetText;
  for (const [idx, [kind, share]] of textShares.entries()) {
    let left = idx === textShares.length - 1 ? budgetText : Math.round(textTotal * share);
    budgetText -= left;
    let i = 0;
    while (left > 0) {
      let size = plan.logUniform(64 * KiB, maxText);
      if (left - size < 64 * KiB) size = left;
      const service = SERVICES[i % SERVICES.length];
      const rel = kind === 'log'
        ? `logs/${service}/${service}-2024-${pad2(1 + ((i / SERVICES.length) | 0) % 12)}-${pad2(1 + (i % 28))}.${i}.log`
        : `data/${kind}/${kind === 'json' ? 'export' : 'orders'}-${String(i).padStart(4, '0')}.${kind}`;
      mkdir(path.dirname(rel));
      const rng = new Rng(deriveSeed(seed, 'file', fileNo++));
      const abs = path.join(dir, rel);
      withWriter(abs, 'w', (w) => writeText(w, size, kind, rng, { service, startMs: Date.UTC(2024, 0, 1) + i * 86400000 }));
      setMtime(abs);
      count(`text-${kind}`, size);
      sources.push({ rel, size });
      left -= size;
      i++;
    }
  }

  // --- incompressible binary ---------------------------------------------------------------
  {
    let i = 0;
    // one large file (~10% of the corpus) so a big single file is always part of the mix
    const big = Math.min(budgetBinary, Math.max(MiB, Math.round(totalBytes * 0.1)));
    const sizes = [big];
    let left = budgetBinary - big;
    while (left > 0) {
      let size = plan.logUniform(16 * KiB, maxBinary);
      if (left - size < 16 * KiB) size = left;
      sizes.push(size);
      left -= size;
    }
    for (const size of sizes) {
      const rel = i === 0 ? 'blobs/large/disk-image.bin' : `blobs/${(plan.next() % 256).toString(16).padStart(2, '0')}/object-${String(i).padStart(5, '0')}.bin`;
      mkdir(path.dirname(rel));
      const rng = new Rng(deriveSeed(seed, 'file', fileNo++));
      const abs = path.join(dir, rel);
      withWriter(abs, 'w', (w) => w.putRandom(rng, size));
      setMtime(abs);
      count('binary', size);
      sources.push({ rel, size });
      i++;
    }
  }

  // --- duplicates: whole-file copies and spliced copies ------------------------------------
  {
    const dupSources = sources.filter((s) => s.rel !== 'blobs/large/disk-image.bin');
    let wholeLeft = Math.round(budgetDup / 2);
    let splicedLeft = budgetDup - wholeLeft;
    let i = 0;
    while (wholeLeft > 0 && dupSources.length > 0) {
      const candidates = dupSources.filter((s) => s.size <= wholeLeft);
      if (candidates.length === 0) {
        splicedLeft += wholeLeft; // nothing small enough: hand the rest to spliced duplicates
        wholeLeft = 0;
        break;
      }
      const src = candidates[plan.next() % candidates.length];
      const rel = `dups/whole/copy-${String(i++).padStart(4, '0')}-${path.basename(src.rel)}`;
      mkdir(path.dirname(rel));
      const abs = path.join(dir, rel);
      withWriter(abs, 'w', (w) => w.putFileRegion(path.join(dir, src.rel), 0, src.size));
      setMtime(abs);
      count('dup-whole', src.size);
      wholeLeft -= src.size;
    }
    i = 0;
    const bigSources = dupSources.filter((s) => s.size >= 256 * KiB);
    while (splicedLeft > 0) {
      const rng = new Rng(deriveSeed(seed, 'file', fileNo++));
      let size = Math.min(splicedLeft, plan.logUniform(2 * MiB, clamp(Math.round(totalBytes / 24), 4 * MiB, 96 * MiB)));
      if (splicedLeft - size < 256 * KiB) size = splicedLeft;
      const src = bigSources.length > 0 ? bigSources[plan.next() % bigSources.length] : null;
      let regionLen = 0, regionOff = 0;
      if (src) {
        regionLen = Math.min(src.size, Math.max(1, Math.round(size * (0.4 + 0.4 * plan.float()))));
        regionOff = plan.next() % (src.size - regionLen + 1);
      }
      const prefix = Math.floor((size - regionLen) * plan.float());
      const suffix = size - regionLen - prefix;
      const rel = `dups/spliced/spliced-${String(i++).padStart(4, '0')}.bin`;
      mkdir(path.dirname(rel));
      const abs = path.join(dir, rel);
      withWriter(abs, 'w', (w) => {
        w.putRandom(rng, prefix);
        if (src) w.putFileRegion(path.join(dir, src.rel), regionOff, regionLen);
        w.putRandom(rng, suffix);
      });
      setMtime(abs);
      count('dup-spliced', size);
      splicedLeft -= size;
    }
  }

  // --- many small files in nested directories ----------------------------------------------
  {
    const minFiles = 10000;
    // aim for the byte budget, but never fewer than 10,000 files: shrink sizes if needed
    const mean = (16384 - 100) / Math.log(16384 / 100); // mean of logUniform(100, 16384)
    const expectedFiles = budgetSmall / mean;
    const hi = expectedFiles >= minFiles ? 16384 : Math.max(200, Math.round(16384 * expectedFiles / minFiles));
    const dirs = [];
    const nDirs = Math.max(50, Math.round(Math.max(minFiles, expectedFiles) / 25));
    for (let d = 0; d < nDirs; d++) {
      const depth = 1 + (plan.next() % 4);
      let rel = `small/pkg-${String(d % 97).padStart(3, '0')}`;
      for (let k = 1; k < depth; k++) rel += `/${rng0(plan, ['src', 'lib', 'conf', 'assets', 'docs', 'test', 'vendor', 'tmp'])}-${plan.next() % 7}`;
      dirs.push(rel);
    }
    const kinds = ['log', 'json', 'csv', 'ini'];
    const exts = { log: 'log', json: 'json', csv: 'csv', ini: 'conf', bin: 'dat' };
    /** @type {{rel:string,size:number}[]} */
    const smallDone = [];
    let i = 0;
    while (budgetSmall > 0 || i < minFiles) {
      let size = plan.logUniform(100, hi);
      if (budgetSmall - size < 100) size = Math.max(0, budgetSmall);
      if (size === 0) size = 100; // min-file-count overshoot (tiny corpora only)
      const dirRel = dirs[plan.next() % dirs.length];
      mkdir(dirRel);
      const roll = plan.next() % 100;
      let rel;
      const abs = () => path.join(dir, rel);
      if (roll < 8 && smallDone.length > 0) {
        // identical small files in different places (LICENSE files, vendored copies, ...)
        const src = smallDone[plan.next() % Math.min(smallDone.length, 200)];
        rel = `${dirRel}/same-${i}-${path.basename(src.rel)}`;
        withWriter(abs(), 'w', (w) => w.putFileRegion(path.join(dir, src.rel), 0, src.size));
        size = src.size;
        count('small-dup', size);
      } else {
        const rng = new Rng(deriveSeed(seed, 'file', fileNo++));
        const kind = roll < 45 ? 'bin' : kinds[plan.next() % kinds.length];
        rel = `${dirRel}/f${String(i).padStart(6, '0')}.${exts[kind]}`;
        if (kind === 'bin') withWriter(abs(), 'w', (w) => w.putRandom(rng, size));
        else withWriter(abs(), 'w', (w) => writeText(w, size, kind, rng, { startMs: Date.UTC(2024, 0, 1) + i * 1000 }));
        count(`small-${kind === 'bin' ? 'binary' : 'text'}`, size);
        smallDone.push({ rel, size });
      }
      setMtime(abs());
      budgetSmall -= size;
      i++;
    }
  }

  const seconds = (performance.now() - t0) / 1000;
  let bytes = 0;
  let files = 0;
  for (const c of Object.values(categories)) {
    bytes += c.bytes;
    files += c.files;
  }
  const st = countTree(dir);
  return { dir, totalBytes, seed, bytes, files, dirs: st.dirs, symlinks: st.symlinks, categories, seconds, mbPerS: bytes / 1e6 / seconds };
}

function rng0(rng, arr) {
  return arr[rng.next() % arr.length];
}

function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}

/**
 * Edge cases: empty files, empty dirs, symlinks (relative, to a dir, dangling, absolute), a hard link,
 * unicode / awkward names, a long name, a deep path, unusual modes.
 * @returns {number} bytes of regular-file content created (hard link counted once)
 */
function makeEdgeCases(dir, seed, count) {
  const e = (rel) => path.join(dir, 'edge', rel);
  const rng = new Rng(deriveSeed(seed, 'edge'));
  let bytes = 0;
  const file = (rel, size, kind = 'ini') => {
    fs.mkdirSync(path.dirname(e(rel)), { recursive: true });
    withWriter(e(rel), 'w', (w) => (kind === 'bin' ? w.putRandom(rng, size) : writeText(w, size, kind, rng, { startMs: Date.UTC(2024, 0, 1) })));
    const t = BASE_MTIME_S + (rng.next() % 86400);
    fs.utimesSync(e(rel), t, t);
    count('edge', size);
    bytes += size;
  };
  // empty files
  for (const rel of ['empty-files/empty.txt', 'empty-files/.hidden-empty', 'empty-files/empty with spaces', 'empty-files/leer-überall.dat', 'empty-files/deep/er/still-empty']) file(rel, 0);
  // empty directories (a single one and a nested chain whose leaf is empty)
  fs.mkdirSync(e('empty-dir'), { recursive: true });
  fs.mkdirSync(e('nested-empty/a/b/c/d'), { recursive: true });
  // unicode and awkward names
  const names = [
    'unicode/édition-été.txt', 'unicode/日本語のファイル名.txt', 'unicode/emoji-🚀-rocket.bin', 'unicode/Ünïcödé dir/ñandú.txt',
    'unicode/caf\u00e9-nfc.txt', 'unicode/cafe\u0301-nfd.txt', 'unicode/Ελληνικά/αρχείο.json', 'unicode/кириллица.csv',
    'names/name with spaces.txt', "names/quotes 'single' and \"double\".txt", 'names/-leading-dash.txt', 'names/#hash;semi&amp.txt',
    'names/back\\slash.txt', 'names/tab\there.txt', 'names/.dotfile', 'names/UPPER.TXT', 'names/upper.txt', `names/${'l'.repeat(251)}.txt`,
  ];
  for (const rel of names) file(rel, rel.endsWith('.bin') ? 3000 : 200 + (rng.next() % 3000), rel.endsWith('.json') ? 'json' : rel.endsWith('.csv') ? 'csv' : rel.endsWith('.bin') ? 'bin' : 'ini');
  // a deep path
  let deep = 'deep';
  for (let i = 0; i < 40; i++) deep += `/level-${i}`;
  file(`${deep}/bottom.txt`, 1234);
  // modes
  file('modes/script.sh', 400);
  fs.chmodSync(e('modes/script.sh'), 0o755);
  file('modes/private.key', 512, 'bin');
  fs.chmodSync(e('modes/private.key'), 0o600);
  file('modes/readonly.txt', 300);
  fs.chmodSync(e('modes/readonly.txt'), 0o444);
  // hard link: two names, one inode
  file('links/hardlink-original.txt', 4096);
  fs.linkSync(e('links/hardlink-original.txt'), e('links/hardlink-second-name.txt'));
  // symlinks
  fs.symlinkSync('hardlink-original.txt', e('links/symlink-to-file'));
  fs.symlinkSync('../unicode', e('links/symlink-to-dir'));
  fs.symlinkSync('does-not-exist', e('links/symlink-dangling'));
  fs.symlinkSync('/nonexistent/absolute/target', e('links/symlink-absolute'));
  fs.symlinkSync('../../edge/names/name with spaces.txt', e('links/symlink with spaces'));
  return bytes;
}

/** Count dirs and symlinks under root (root excluded). */
function countTree(root) {
  let dirs = 0;
  let symlinks = 0;
  const stack = [root];
  while (stack.length) {
    const d = stack.pop();
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      if (ent.isDirectory()) {
        dirs++;
        stack.push(path.join(d, ent.name));
      } else if (ent.isSymbolicLink()) symlinks++;
    }
  }
  return { dirs, symlinks };
}

// ---------------------------------------------------------------------------------------------
// "Next day" mutation
// ---------------------------------------------------------------------------------------------

/** Regular files under root as {rel, size}, sorted by path (deterministic). */
function listFiles(root) {
  const out = [];
  const seen = new Set();
  const stack = [''];
  while (stack.length) {
    const relDir = stack.pop();
    for (const ent of fs.readdirSync(path.join(root, relDir), { withFileTypes: true })) {
      const rel = relDir ? `${relDir}/${ent.name}` : ent.name;
      if (ent.isDirectory()) stack.push(rel);
      else if (ent.isFile()) {
        const st = fs.statSync(path.join(root, rel));
        if (st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          if (seen.has(key)) continue; // a second name of a hard-linked file
          seen.add(key);
        }
        out.push({ rel, size: st.size });
      }
    }
  }
  out.sort((x, y) => (x.rel < y.rel ? -1 : x.rel > y.rel ? 1 : 0));
  return out;
}

/**
 * @typedef {object} MutationSummary
 * @property {number} corpusBytesBefore  (hard-linked files counted once)
 * @property {number} corpusBytesAfter
 * @property {number} budgetBytes        fraction * corpus bytes
 * @property {number} changedBytes       appended + edited in place + new files
 * @property {number} appendedBytes
 * @property {number} editedBytes
 * @property {number} newBytes
 * @property {number} deletedBytes
 * @property {number} deletedFiles
 * @property {number} newFiles
 * @property {number} touchedFiles       mtime changed, content unchanged
 * @property {string[]} changedPaths     relative paths whose content changed or that are new
 */

/**
 * Simulate a day of changes: appends to some log files, in-place edits of a few binary files,
 * rewritten small files, a few new files, a few deleted files and touched mtimes.
 * @param {string} dir
 * @param {{fraction?: number, seed?: number}} [opts]
 * @returns {MutationSummary}
 */
export function mutateCorpus(dir, { fraction = 0.02, seed = 2 } = {}) {
  const rng = new Rng(deriveSeed(seed, 'mutate'));
  const files = listFiles(dir);
  const total = files.reduce((s, f) => s + f.size, 0);
  const budget = Math.round(total * fraction);
  const changed = new Set();
  const now = Date.now() / 1000;
  let appendedBytes = 0, editedBytes = 0, newBytes = 0, deletedBytes = 0, deletedFiles = 0, newFiles = 0, touchedFiles = 0;

  const pickSome = (arr, n) => {
    const copy = arr.slice();
    const out = [];
    while (out.length < n && copy.length) out.push(copy.splice(rng.next() % copy.length, 1)[0]);
    return out;
  };

  // 1. appends to ~1/3 of the log files (35% of the budget)
  const logs = files.filter((f) => f.rel.startsWith('logs/') && f.rel.endsWith('.log'));
  {
    const chosen = pickSome(logs, Math.max(1, Math.ceil(logs.length / 3)));
    let left = Math.round(budget * 0.35);
    chosen.forEach((f, idx) => {
      const share = idx === chosen.length - 1 ? left : Math.round(left * (0.3 + 0.7 * rng.float()) / (chosen.length - idx));
      if (share <= 0) return;
      const service = f.rel.split('/')[1];
      withWriter(path.join(dir, f.rel), 'a', (w) => writeText(w, share, 'log', new Rng(deriveSeed(seed, 'append', f.rel)), { service, startMs: Date.UTC(2024, 11, 1) }));
      appendedBytes += share;
      left -= share;
      changed.add(f.rel);
    });
  }

  // 2. in-place edits of a few binary files (30%): overwrite 1-4 regions each, size unchanged
  {
    const blobs = files.filter((f) => f.rel.startsWith('blobs/') && f.size >= 256 * KiB);
    const chosen = pickSome(blobs, Math.min(blobs.length, 5));
    let left = Math.round(budget * 0.3);
    const { scratch } = blocks();
    chosen.forEach((f, idx) => {
      let share = Math.min(Math.round(f.size / 2), idx === chosen.length - 1 ? left : Math.round(left / (chosen.length - idx)));
      const regions = 1 + (rng.next() % 4);
      const fd = fs.openSync(path.join(dir, f.rel), 'r+');
      try {
        for (let r = 0; r < regions && share > 0; r++) {
          let len = r === regions - 1 ? share : Math.round(share * rng.float());
          len = Math.min(len, f.size);
          const off = Math.floor(rng.float() * (f.size - len + 1));
          for (let done = 0; done < len;) {
            const k = Math.min(BLOCK, len - done);
            rng.fill(scratch.u32, 0, Math.ceil(k / 4));
            fs.writeSync(fd, scratch.buf, 0, k, off + done);
            done += k;
          }
          share -= len;
          left -= len;
          editedBytes += len;
        }
      } finally {
        fs.closeSync(fd);
      }
      changed.add(f.rel);
    });
  }

  // 3. rewrite ~0.5% of small files with new content of similar size (5%)
  {
    const smalls = files.filter((f) => f.rel.startsWith('small/'));
    let left = Math.round(budget * 0.05);
    const chosen = pickSome(smalls, Math.max(1, Math.round(smalls.length * 0.005)));
    for (const f of chosen) {
      if (left <= 0) break;
      const size = Math.max(100, Math.round(f.size * (0.8 + 0.4 * rng.float())));
      const r = new Rng(deriveSeed(seed, 'rewrite', f.rel));
      withWriter(path.join(dir, f.rel), 'w', (w) => (f.rel.endsWith('.dat') ? w.putRandom(r, size) : writeText(w, size, 'ini', r, { startMs: 0 })));
      editedBytes += size;
      left -= size;
      changed.add(f.rel);
    }
  }

  // 4. new files (the rest, ~30%): one binary, one log, one CSV and a directory of small files
  {
    const dayDir = `new/day-${seed}`;
    fs.mkdirSync(path.join(dir, dayDir, 'small'), { recursive: true });
    let left = budget - appendedBytes - editedBytes;
    const add = (rel, size, kind) => {
      const r = new Rng(deriveSeed(seed, 'new', rel));
      withWriter(path.join(dir, rel), 'w', (w) => (kind === 'bin' ? w.putRandom(r, size) : writeText(w, size, kind, r, { startMs: Date.UTC(2024, 11, 2) })));
      newBytes += size;
      newFiles++;
      left -= size;
      changed.add(rel);
    };
    for (let i = 0; i < 200 && left > 64 * KiB; i++) {
      const size = rng.logUniform(100, 16384);
      add(`${dayDir}/small/n${String(i).padStart(4, '0')}.${i % 2 ? 'dat' : 'conf'}`, size, i % 2 ? 'bin' : 'ini');
    }
    if (left > 0) {
      const third = Math.floor(left / 3);
      add(`${dayDir}/upload.bin`, left - 2 * third, 'bin');
      add(`${dayDir}/events.log`, third, 'log');
      add(`${dayDir}/orders.csv`, third, 'csv');
    }
  }

  // 5. deletions (not counted in the change budget): one whole-file duplicate, one blob, 25 small files
  {
    const victims = [
      ...pickSome(files.filter((f) => f.rel.startsWith('dups/whole/') && !changed.has(f.rel)), 1),
      ...pickSome(files.filter((f) => f.rel.startsWith('blobs/') && !f.rel.startsWith('blobs/large/') && f.size < 4 * MiB && !changed.has(f.rel)), 1),
      ...pickSome(files.filter((f) => f.rel.startsWith('small/') && !changed.has(f.rel)), 25),
    ];
    for (const f of victims) {
      fs.unlinkSync(path.join(dir, f.rel));
      deletedBytes += f.size;
      deletedFiles++;
    }
    const gone = new Set(victims.map((v) => v.rel));
    // 6. touch mtimes of some files without changing content
    const alive = files.filter((f) => !gone.has(f.rel) && !changed.has(f.rel) && !f.rel.startsWith('edge/'));
    const touch = [
      ...pickSome(alive.filter((f) => f.rel.startsWith('small/')), 100),
      ...pickSome(alive.filter((f) => f.size >= MiB), 2),
    ];
    for (const f of touch) {
      fs.utimesSync(path.join(dir, f.rel), now, now);
      touchedFiles++;
    }
  }

  return {
    corpusBytesBefore: total,
    corpusBytesAfter: listFiles(dir).reduce((sum, f) => sum + f.size, 0),
    budgetBytes: budget,
    changedBytes: appendedBytes + editedBytes + newBytes,
    appendedBytes, editedBytes, newBytes, deletedBytes, deletedFiles, newFiles, touchedFiles,
    changedPaths: [...changed].sort(),
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers shared with run.js
// ---------------------------------------------------------------------------------------------

/**
 * Parse "1GiB", "200MiB", "1.5G", "500MB", "4096" (bytes). K/M/G/T without "iB" are binary too.
 * @param {string|number} s
 */
export function parseSize(s) {
  if (typeof s === 'number') return s;
  const m = /^\s*([\d.]+)\s*([kmgt]?)(i?b?)\s*$/i.exec(String(s));
  if (!m) throw new Error(`cannot parse size "${s}" (try 200MiB, 1GiB)`);
  const n = Number(m[1]);
  const unit = m[2].toLowerCase();
  const decimal = m[3].toLowerCase() === 'b' && unit !== ''; // "MB" = 10^6, "MiB"/"M" = 2^20
  const base = decimal ? 1000 : 1024;
  const pow = { '': 0, k: 1, m: 2, g: 3, t: 4 }[unit];
  return Math.round(n * base ** pow);
}

/** Human readable bytes (binary units). */
export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

function argValue(args, name, dflt) {
  const i = args.indexOf(name);
  if (i >= 0 && i + 1 < args.length) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq ? eq.slice(name.length + 1) : dflt;
}

function main(argv) {
  const [cmd, ...args] = argv;
  if (cmd === 'generate') {
    const dir = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1].startsWith('--')));
    if (!dir) throw new Error('usage: corpus.js generate DIR [--size 1GiB] [--seed 1]');
    const summary = generateCorpus(dir, {
      totalBytes: parseSize(argValue(args, '--size', '1GiB')),
      seed: Number(argValue(args, '--seed', '1')),
      log: (m) => console.error(m),
    });
    console.log(JSON.stringify(summary, null, 2));
  } else if (cmd === 'mutate') {
    const dir = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1].startsWith('--')));
    if (!dir) throw new Error('usage: corpus.js mutate DIR [--fraction 0.02] [--seed 2]');
    const summary = mutateCorpus(dir, { fraction: Number(argValue(args, '--fraction', '0.02')), seed: Number(argValue(args, '--seed', '2')) });
    const { changedPaths, ...rest } = summary;
    console.log(JSON.stringify({ ...rest, changedFiles: changedPaths.length }, null, 2));
  } else if (cmd === 'prng-speed') {
    const r = measurePrng(parseSize(argValue(args, '--size', '1GiB')));
    console.log(`PRNG: ${fmtBytes(r.bytes)} in ${r.seconds.toFixed(3)} s = ${r.mbPerS.toFixed(0)} MB/s`);
  } else {
    console.error('usage: node bench/corpus.js generate DIR [--size 1GiB] [--seed 1]\n' +
      '       node bench/corpus.js mutate DIR [--fraction 0.02] [--seed 2]\n' +
      '       node bench/corpus.js prng-speed [--size 1GiB]');
    process.exitCode = 2;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
