/**
 * Header dumps of many LUNs share most of their chunks (runs of zeros). Within one
 * commit each distinct chunk is fetched and verified once, and the assembled bytes and
 * whole-artifact hash are the same as reading chunk by chunk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, expect, it } from 'vitest';
import { assembleArtifact, ChunkCache, KeptChunks, keptOf, SparseChunk, sparseOf } from '../../api/pipeline/chunks.js';
import { FsBlobStore } from '../../api/store/fs.js';
import { chunkKey, stagingKey, type BlobStore } from '../../api/store/types.js';

const dir = mkdtempSync(join(tmpdir(), 'vrc-chunks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

it('two artifacts sharing a zero chunk: 3 distinct chunks, 3 store reads, exact bytes and hashes', async () => {
  const fs = new FsBlobStore({ dataDir: dir, publicBaseUrl: 'http://127.0.0.1:1' });
  const zero = new Uint8Array(1024 * 1024);
  const a = new Uint8Array(1024 * 1024).fill(0xa1);
  const b = new Uint8Array(4096).fill(0xb2);
  for (const c of [zero, a, b]) await fs.put(chunkKey(sha(c)), c);
  let reads = 0;
  const counting: BlobStore = Object.assign(Object.create(fs) as BlobStore, {
    getBytes: (key: string) => {
      reads++;
      return fs.getBytes(key);
    },
  });
  const ref = (parts: Uint8Array[]) => parts.map((p) => ({ sha256: sha(p), size: p.length }));
  const lun1 = [zero, a, zero, zero, b];
  const lun2 = [zero, zero, zero, b];
  const cache = new ChunkCache();
  const one = await assembleArtifact(counting, ref(lun1), { window: 64 * 1024 * 1024, hashAll: true, cache });
  const two = await assembleArtifact(counting, ref(lun2), { window: 64 * 1024 * 1024, hashAll: true, cache });
  const whole = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));
  expect(sha(one.bytes)).toBe(sha(whole(lun1)));
  expect(one.sha256).toBe(sha(whole(lun1)));
  expect(two.sha256).toBe(sha(whole(lun2)));
  expect(reads).toBe(3);
});

it('artifacts assembled one after another in the window the cache lends get their own exact bytes, a window and the whole hash', async () => {
  const fs = new FsBlobStore({ dataDir: dir, publicBaseUrl: 'http://127.0.0.1:1' });
  const zero = new Uint8Array(1024 * 1024);
  const a = new Uint8Array(1024 * 1024).fill(0xa3);
  const b = new Uint8Array(4096).fill(0xb4);
  for (const c of [zero, a, b]) await fs.put(chunkKey(sha(c)), c);
  const ref = (parts: Uint8Array[]) => parts.map((p) => ({ sha256: sha(p), size: p.length }));
  const whole = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));
  const cache = new ChunkCache();
  // Longest first, then a shorter one: the second must not carry bytes the first left behind.
  for (const parts of [[a, a, b], [zero, b], [b]]) {
    const got = await assembleArtifact(fs, ref(parts), { window: 64 * 1024 * 1024, hashAll: true, cache, lend: true });
    expect(Buffer.from(got.bytes).equals(whole(parts))).toBe(true);
    expect(got.sha256).toBe(sha(whole(parts)));
  }
  // A window shorter than the artifact holds its first bytes; the hash still covers all of it.
  const cut = await assembleArtifact(fs, ref([a, b]), { window: 1000, hashAll: true, cache, lend: true });
  expect(Buffer.from(cut.bytes).equals(Buffer.from(a.subarray(0, 1000)))).toBe(true);
  expect(cut.sha256).toBe(sha(whole([a, b])));
});

it('a chunk missing from the store still fails the assembly', async () => {
  const fs = new FsBlobStore({ dataDir: dir, publicBaseUrl: 'http://127.0.0.1:1' });
  const ghost = new Uint8Array(10).fill(7);
  await expect(assembleArtifact(fs, [{ sha256: sha(ghost), size: 10 }], { window: 1024, hashAll: true })).rejects.toThrow(/not in the store/);
});

it('chunks a commit already verified are not read from the store again', async () => {
  const fs = new FsBlobStore({ dataDir: dir, publicBaseUrl: 'http://127.0.0.1:1' });
  const c = new Uint8Array(2048).fill(0x5c);
  await fs.put(chunkKey(sha(c)), c);
  let reads = 0;
  const counting: BlobStore = Object.assign(Object.create(fs) as BlobStore, {
    getBytes: (key: string) => {
      reads++;
      return fs.getBytes(key);
    },
  });
  const cache = new ChunkCache();
  cache.add(sha(c), c);
  const out = await assembleArtifact(counting, [{ sha256: sha(c), size: c.length }], { window: 4096, hashAll: true, cache });
  expect(out.sha256).toBe(sha(c));
  expect(reads).toBe(0);
});

it('gzipped chunks are kept as stored: a budget smaller than one inflated chunk still holds twenty', async () => {
  const fs = new FsBlobStore({ dataDir: dir, publicBaseUrl: 'http://127.0.0.1:1' });
  // Dump-like chunks: 1 MiB of zeros but one byte each, gzipped to about 1 KiB.
  const parts = Array.from({ length: 20 }, (_, i) => {
    const c = new Uint8Array(1024 * 1024);
    c[i * 1000] = i + 1;
    return c;
  });
  for (const c of parts) await fs.put(chunkKey(sha(c)), gzipSync(c));
  let reads = 0;
  const counting: BlobStore = Object.assign(Object.create(fs) as BlobStore, {
    getBytes: (key: string) => {
      reads++;
      return fs.getBytes(key);
    },
  });
  const cache = new ChunkCache(256 * 1024);
  const refs = parts.map((p) => ({ sha256: sha(p), size: p.length }));
  const whole = sha(Buffer.concat(parts.map((p) => Buffer.from(p))));
  for (let pass = 0; pass < 2; pass++) {
    const out = await assembleArtifact(counting, refs, { window: 0, hashAll: true, cache });
    expect(out.sha256).toBe(whole);
  }
  expect(reads).toBe(20);
});

it('a prefetch reads the distinct chunks of several artifacts up to 16 at a time, within the budget, and assembly then reads nothing more', async () => {
  const fs = new FsBlobStore({ dataDir: dir, publicBaseUrl: 'http://127.0.0.1:1' });
  // Forty distinct gzip chunks (kept as stored) and one missing chunk: a prefetch failure is assembly's to report.
  const parts = Array.from({ length: 40 }, (_, i) => new Uint8Array(64 * 1024).fill(i + 1));
  for (const p of parts) await fs.put(chunkKey(sha(p)), gzipSync(p));
  const missing = new Uint8Array(4096).fill(0xee);
  let reads = 0;
  let inFlight = 0;
  let most = 0;
  const counting: BlobStore = Object.assign(Object.create(fs) as BlobStore, {
    getBytes: async (key: string) => {
      reads++;
      most = Math.max(most, ++inFlight);
      try {
        await new Promise((r) => setTimeout(r, 5));
        return await fs.getBytes(key);
      } finally {
        inFlight--;
      }
    },
  });
  const ref = (ps: Uint8Array[]) => ps.map((p) => ({ sha256: sha(p), size: p.length }));
  const artifacts = [parts.slice(0, 20), parts.slice(10, 40), [...parts.slice(0, 2), missing]];
  const cache = new ChunkCache();
  await cache.prefetch(counting, artifacts.flatMap(ref));
  expect(reads).toBe(41);
  expect(most).toBeGreaterThan(4);
  expect(most).toBeLessThanOrEqual(16);
  for (const a of artifacts.slice(0, 2)) {
    const got = await assembleArtifact(counting, ref(a), { window: 64 * 1024 * 1024, hashAll: true, cache });
    expect(got.sha256).toBe(sha(Buffer.concat(a.map((p) => Buffer.from(p)))));
  }
  expect(reads).toBe(41);
  await expect(assembleArtifact(counting, ref(artifacts[2]), { window: 64 * 1024 * 1024, hashAll: true, cache })).rejects.toThrow(/not in the store/);

  // A budget of eight chunks' inflated size prefetches eight: a read takes that room until its chunk is kept as stored.
  // (Through another store object: this one's KeptChunks holds the forty now, and they cost no read at all.)
  // A commit's cache takes them from there; another reader's (reindex, rebuild) reads the store.
  reads = 0;
  await new ChunkCache(8 * 64 * 1024, true).prefetch(counting, ref(parts));
  expect(reads).toBe(0);
  await new ChunkCache(8 * 64 * 1024).prefetch(counting, ref(parts));
  expect(reads).toBe(8);
  reads = 0;
  const other = Object.create(counting) as BlobStore;
  await new ChunkCache(8 * 64 * 1024, true).prefetch(other, ref(parts));
  expect(reads).toBe(8);
});

it('a published chunk read and verified once is taken from memory by a later commit, a staged one is not, and the memory is bounded', async () => {
  const fs = new FsBlobStore({ dataDir: dir, publicBaseUrl: 'http://127.0.0.1:1' });
  // Dump-like chunks (1 MiB, one byte set: about 1 KiB as gzip) and one that does not pack (random bytes).
  const packs = Array.from({ length: 3 }, (_, i) => {
    const c = new Uint8Array(1024 * 1024);
    c[i * 4096 + 7] = 0x40 + i;
    return c;
  });
  const dense = new Uint8Array(randomBytes(256 * 1024));
  for (const c of [...packs, dense]) await fs.put(chunkKey(sha(c)), gzipSync(c));
  let reads = 0;
  const counting: BlobStore = Object.assign(Object.create(fs) as BlobStore, {
    getBytes: (key: string) => {
      reads++;
      return fs.getBytes(key);
    },
  });
  const refs = [...packs, dense].map((p) => ({ sha256: sha(p), size: p.length }));
  const whole = sha(Buffer.concat([...packs, dense].map((p) => Buffer.from(p))));
  // First commit: every chunk read once.
  expect((await assembleArtifact(counting, refs, { window: 0, hashAll: true, cache: new ChunkCache() })).sha256).toBe(whole);
  expect(reads).toBe(4);
  // A later commit (its own ChunkCache): only the chunk that does not pack is read again.
  expect((await assembleArtifact(counting, refs, { window: 0, hashAll: true, cache: new ChunkCache(undefined, true) })).sha256).toBe(whole);
  expect(reads).toBe(5);
  expect(keptOf(counting).has(sha(packs[0]), packs[0].length)).toBe(true);
  expect(keptOf(counting).has(sha(dense), dense.length)).toBe(false);
  // Asked for at another size it is not the kept chunk: read (and refused) as the store has it.
  await expect(assembleArtifact(counting, [{ sha256: sha(packs[1]), size: 1000 }], { window: 0, hashAll: true, cache: new ChunkCache() })).rejects.toThrow(
    /inflates past its announced 1000 bytes/,
  );
  expect(reads).toBe(6);

  // A chunk read from a capture's staging key (ChunkCache.locate: not published yet) is not kept.
  const staged = new Uint8Array(1024 * 1024);
  staged[99] = 9;
  const key = stagingKey('0190a000-0000-7000-8000-000000000001', sha(staged));
  await fs.openStaging('0190a000-0000-7000-8000-000000000001');
  await fs.put(key, gzipSync(staged));
  const located = new ChunkCache();
  located.locate(sha(staged), key);
  await assembleArtifact(counting, [{ sha256: sha(staged), size: staged.length }], { window: 0, hashAll: true, cache: located });
  expect(keptOf(counting).has(sha(staged), staged.length)).toBe(false);

  // Bounded in bytes, each entry charged 640 bytes beside its own, the least recently used going first.
  const kept = new KeptChunks(2500 + 2 * 640);
  const gz = packs.map((p) => new Uint8Array(gzipSync(p)));
  kept.add(sha(packs[0]), packs[0].length, gz[0], 'gzip');
  kept.add(sha(packs[1]), packs[1].length, gz[1], 'gzip');
  expect(kept.get(sha(packs[0]), packs[0].length)).toBeDefined();
  kept.add(sha(packs[2]), packs[2].length, gz[2], 'gzip');
  expect([0, 1, 2].map((i) => kept.has(sha(packs[i]), packs[i].length))).toEqual([true, false, true]);
  kept.add(sha(dense), dense.length, dense, 'identity');
  expect(kept.has(sha(dense), dense.length)).toBe(false);
  // Tiny chunks cost their entries: 32 MiB holds about 50,000 of 26 bytes, not 1.3 million.
  const tiny = new KeptChunks(32 * 1024 * 1024);
  const one = new Uint8Array(gzipSync(new Uint8Array(200)));
  for (let i = 0; i < 60_000; i++) tiny.add(i.toString(16).padStart(64, '0'), 200, one, 'gzip');
  expect(tiny.has((59_999).toString(16).padStart(64, '0'), 200)).toBe(true);
  expect(tiny.has('0'.repeat(64), 200)).toBe(false);
  // Bytes that are part of a larger Node Buffer (a response or request body) are kept as a copy:
  // the body changing or being reused afterwards does not change the kept chunk.
  const body = Buffer.concat([Buffer.from('head'), gzipSync(packs[0]), Buffer.from('tail')]);
  const inBody = body.subarray(4, body.length - 4);
  const own = new KeptChunks();
  own.add(sha(packs[0]), packs[0].length, inBody, 'gzip');
  body.fill(0);
  expect(Buffer.from(own.get(sha(packs[0]), packs[0].length) as Uint8Array).equals(gzipSync(packs[0]))).toBe(true);
});

it('a chunk kept with its non-zero pages is assembled from them by a later commit: exact bytes, no store read, and it costs its pages', async () => {
  const fs = new FsBlobStore({ dataDir: dir, publicBaseUrl: 'http://127.0.0.1:1' });
  const chunk = new Uint8Array(1024 * 1024);
  chunk.set(randomBytes(5000), 8192);
  chunk[1024 * 1024 - 1] = 7;
  let reads = 0;
  const counting: BlobStore = Object.assign(Object.create(fs) as BlobStore, {
    getBytes: (key: string) => {
      reads++;
      return fs.getBytes(key);
    },
  });
  // As the chunks route keeps a chunk it received: its gzip bytes and its pages (none of it in the store).
  keptOf(counting).add(sha(chunk), chunk.length, new Uint8Array(gzipSync(chunk)), 'gzip', sparseOf(chunk));
  expect(keptOf(counting).get(sha(chunk), chunk.length)).toBeInstanceOf(SparseChunk);
  const refs = [chunk, chunk].map((c) => ({ sha256: sha(c), size: c.length }));
  const a = await assembleArtifact(counting, refs, { window: 2 * chunk.length, hashAll: true, cache: new ChunkCache(undefined, true) });
  expect(Buffer.from(a.bytes).equals(Buffer.concat([chunk, chunk]))).toBe(true);
  expect(a.sha256).toBe(sha(Buffer.concat([chunk, chunk])));
  expect(reads).toBe(0);
  // Without KeptChunks (reindex, rebuild) the store is asked, and lacks it.
  await expect(assembleArtifact(counting, refs.slice(0, 1), { window: chunk.length, hashAll: true, cache: new ChunkCache() })).rejects.toThrow(
    /not in the store/,
  );
  // Bounded as gzip bytes are: three pages and the entry (640 bytes), not the MiB.
  const small = new KeptChunks(3 * 4096 + SparseChunk.ENTRY_BYTES + 640);
  small.add(sha(chunk), chunk.length, new Uint8Array(gzipSync(chunk)), 'gzip', sparseOf(chunk));
  expect(small.has(sha(chunk), chunk.length)).toBe(true);
  small.add('0'.repeat(64), chunk.length, new Uint8Array(gzipSync(chunk)), 'gzip', sparseOf(chunk));
  expect(small.has(sha(chunk), chunk.length)).toBe(false);
});
