#!/usr/bin/env node
// Measurements of the storage decorators (scripts, not tests: speed is measured here, never asserted in
// tests). Needs the build (`npm run build`): it imports the compiled modules from dist/.
//
//   node bench/storage.js [--seconds 30] [--mbps 40] [--fixture-mib 64] [--delay-ms 100] [--stream-mbps 100]
//                         [--only limit|parallel]
//
// (a) bandwidth limit: uploads 1 MiB objects from 4 concurrent writers to a local folder through
//     ThrottledObjectStorage for --seconds, and prints the achieved rate and its error against --mbps;
// (b) parallel uploads: backs up a --fixture-mib MiB tree of random files through a wrapper that delays
//     every storage call by --delay-ms (a high-latency backend), with 1 and with 8 parallel uploads, at the
//     default pack size and at 4 MiB packs, and prints the speed-up; then again with each upload also
//     limited to --stream-mbps per connection (what a long round trip does to one TCP stream).

import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (module) => import(path.join(ROOT, 'dist', module));
const { LocalObjectStorage } = await dist('storage/local-object-storage.js');
const { ThrottledObjectStorage } = await dist('storage/throttled-object-storage.js');
const { putFromFile } = await dist('ports/object-storage.js');
const { runBackup } = await dist('app/run-backup.js');
const { Repository } = await dist('repository/repository.js');
const { PassphraseKeyProvider } = await dist('keys/local-key-provider.js');
const { SqliteCatalog } = await dist('catalog/sqlite-catalog.js');
const { systemClock } = await dist('ports/clock.js');
const { silentProgress } = await dist('ports/progress.js');

const MiB = 1024 * 1024;

function parseArgs(argv) {
  const o = { seconds: 30, mbps: 40, fixtureMiB: 64, delayMs: 100, streamMbps: 100, only: 'both' };
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i];
    switch (argv[i]) {
      case '--seconds': o.seconds = Number(value()); break;
      case '--mbps': o.mbps = Number(value()); break;
      case '--fixture-mib': o.fixtureMiB = Number(value()); break;
      case '--delay-ms': o.delayMs = Number(value()); break;
      case '--stream-mbps': o.streamMbps = Number(value()); break;
      case '--only': o.only = value(); break;
      default: throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return o;
}

/**
 * A high-latency backend: every call waits `delayMs` before it reaches the wrapped storage; with
 * `streamMbps`, an upload also takes its size at that rate, independently of other uploads (one stream each).
 */
class DelayedStorage {
  constructor(inner, delayMs, streamMbps) {
    this.inner = inner;
    this.delayMs = delayMs;
    this.streamMbps = streamMbps;
    this.location = inner.location;
  }
  get scratchDirectory() { return this.inner.scratchDirectory; }
  uploadMs(bytes) { return this.delayMs + (this.streamMbps ? (bytes * 8) / (this.streamMbps * 1000) : 0); }
  async put(key, data) { await sleep(this.uploadMs(data.length)); return this.inner.put(key, data); }
  async putFile(key, file) { await sleep(this.uploadMs(fs.statSync(file).size)); return putFromFile(this.inner, key, file); }
  async get(key, range) { await sleep(this.delayMs); return this.inner.get(key, range); }
  async head(key) { await sleep(this.delayMs); return this.inner.head(key); }
  async delete(key) { await sleep(this.delayMs); return this.inner.delete(key); }
  async *list(prefix) { await sleep(this.delayMs); yield* this.inner.list(prefix); }
}

async function measureLimit(work, o) {
  const local = new LocalObjectStorage(path.join(work, 'limit'));
  const storage = new ThrottledObjectStorage(local, { mbps: o.mbps });
  const object = randomFillSync(Buffer.alloc(MiB));
  let bytes = 0;
  let n = 0;
  const started = performance.now();
  const deadline = started + o.seconds * 1000;
  const writer = async () => {
    while (performance.now() < deadline) {
      const key = `data/${String(n % 256).padStart(2, '0')}/obj-${n++}`;
      await storage.put(key, object);
      bytes += object.length;
      // Keep the disk use flat: the object has been counted, its bytes are not needed.
      await local.delete(key);
    }
  };
  await Promise.all([writer(), writer(), writer(), writer()]);
  const seconds = (performance.now() - started) / 1000;
  const achieved = (bytes * 8) / seconds / 1e6;
  return { seconds, bytes, achievedMbps: achieved, errorPercent: ((achieved - o.mbps) / o.mbps) * 100 };
}

async function makeFixture(dir, totalMiB) {
  fs.mkdirSync(dir, { recursive: true });
  const buffer = Buffer.alloc(4 * MiB);
  for (let i = 0; i < totalMiB / 4; i++) fs.writeFileSync(path.join(dir, `file-${i}.bin`), randomFillSync(buffer));
}

async function timedBackup(work, name, fixture, o, { parallel, packSize, streamMbps }) {
  const dir = path.join(work, name);
  const local = new LocalObjectStorage(path.join(dir, 'repo'));
  const keys = new PassphraseKeyProvider('bench', { scrypt: { N: 1024 } });
  // Initialised unmeasured: the comparison is about the backup's own calls.
  await Repository.init(local, keys, { now: new Date(), ...(packSize ? { packSize } : {}) });
  const catalog = SqliteCatalog.open(path.join(dir, 'catalog.sqlite'));
  const deps = { storage: new DelayedStorage(local, o.delayMs, streamMbps), keys, catalog, clock: systemClock, progress: silentProgress, hostname: 'bench', maxParallelUploads: parallel };
  try {
    const started = performance.now();
    const result = await runBackup(deps, { paths: [fixture], type: 'full' });
    return { seconds: (performance.now() - started) / 1000, stored: result.snapshots[0].stats.bytesStored };
  } finally {
    await catalog.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chrono-bench-storage-'));
  console.log(`storage decorators — ${new Date().toISOString()}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  try {
    if (o.only !== 'parallel') {
      console.log(`\n(a) bandwidth limit ${o.mbps} Mbit/s, ${o.seconds} s of 1 MiB uploads from 4 writers to a local folder`);
      const r = await measureLimit(work, o);
      console.log(`    ${(r.bytes / MiB).toFixed(0)} MiB in ${r.seconds.toFixed(2)} s = ${r.achievedMbps.toFixed(2)} Mbit/s achieved; error ${r.errorPercent >= 0 ? '+' : ''}${r.errorPercent.toFixed(2)} % (target ±10 %)`);
    }
    if (o.only !== 'limit') {
      const fixture = path.join(work, 'fixture');
      await makeFixture(fixture, o.fixtureMiB);
      console.log(`\n(b) backup of ${o.fixtureMiB} MiB of random files through a high-latency backend, 1 vs 8 parallel uploads`);
      for (const streamMbps of [undefined, o.streamMbps]) {
        for (const packSize of [undefined, 4 * MiB]) {
          const label = `${o.delayMs} ms per call${streamMbps ? ` + ${streamMbps} Mbit/s per upload stream` : ''}, ${packSize ? `${packSize / MiB} MiB` : 'default 16 MiB'} packs`;
          const one = await timedBackup(work, 'p1', fixture, o, { parallel: 1, packSize, streamMbps });
          const eight = await timedBackup(work, 'p8', fixture, o, { parallel: 8, packSize, streamMbps });
          console.log(`    ${label}: 1 upload ${one.seconds.toFixed(2)} s, 8 uploads ${eight.seconds.toFixed(2)} s → speed-up ${(one.seconds / eight.seconds).toFixed(2)}× (target ≥ 3×)`);
        }
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
