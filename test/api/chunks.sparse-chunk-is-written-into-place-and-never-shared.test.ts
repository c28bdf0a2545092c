/**
 * A verified chunk that is zeros but for a few pages (a header dump's) is kept as those pages
 * (SparseChunk) and written into an artifact's window instead of being inflated again. Its
 * bytes are never handed out: what a reader does with the bytes it got, or with a window an
 * assembly lent, reaches no later reader; the window, a cut window and the whole hash come
 * out exact; a batch keeps at most its body's length of pages; and a commit of chunks received
 * through the catalog assembles them from their pages, byte-exact.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactWindow, assembleArtifact, ChunkCache, ChunkError, SparseChunk, sparseOf } from '../../api/pipeline/chunks.js';
import { receivedOf } from '../../api/ingest/chunks.js';
import { FsBlobStore } from '../../api/store/fs.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, frameChunks, prepareCapture } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'vrc-sparse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const whole = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));

/** Zeros of `size` bytes with `pages` random bytes at each of these offsets. */
function dumpChunk(size: number, at: number[], bytes = 4096): Uint8Array {
  const b = new Uint8Array(size);
  for (const o of at) b.set(randomBytes(Math.min(bytes, size - o)), o);
  return b;
}

describe('SparseChunk', () => {
  it.each([
    ['a MiB with runs in three places (one across a page boundary)', dumpChunk(MiB, [0, 4096 * 7 + 100, MiB - 10])],
    ['all zeros', new Uint8Array(MiB)],
    ['a short chunk whose last page is partial', dumpChunk(5000, [4500])],
    ['an empty chunk', new Uint8Array(0)],
  ])('%s: written anywhere into a dirty buffer, exactly its bytes at exactly its place', (_name, bytes) => {
    const sparse = SparseChunk.of(bytes, bytes.length)!;
    expect(sparse.size).toBe(bytes.length);
    expect(Buffer.from(sparse.bytes()).equals(Buffer.from(bytes))).toBe(true);
    // Memory of its own, and shared memory (an early assembly's window, zeroed another way).
    for (const memory of [new ArrayBuffer(bytes.length + 300), new SharedArrayBuffer(bytes.length + 300)]) {
      const out = new Uint8Array(memory).fill(0xee);
      sparse.writeInto(out, 100);
      expect(Buffer.from(out.subarray(100, 100 + bytes.length)).equals(Buffer.from(bytes))).toBe(true);
      expect(out.subarray(0, 100).every((x) => x === 0xee)).toBe(true);
      expect(out.subarray(100 + bytes.length).every((x) => x === 0xee)).toBe(true);
    }
  });

  it('holds copies of its pages: the inflated bytes it came from can change (or go) without changing it', () => {
    const bytes = dumpChunk(MiB, [8192]);
    const expected = Buffer.from(bytes);
    const sparse = SparseChunk.of(bytes, MiB)!;
    expect(sparse.dataBytes).toBe(4096);
    bytes.fill(0x55);
    expect(Buffer.from(sparse.bytes()).equals(expected)).toBe(true);
  });

  it('is refused when its pages that are not zeros come to more than asked, or a quarter of the chunk (sparseOf)', () => {
    const three = dumpChunk(MiB, [0, 100 * 4096, 200 * 4096]);
    expect(SparseChunk.of(three, 3 * 4096)).not.toBeNull();
    expect(SparseChunk.of(three, 3 * 4096 - 1)).toBeNull();
    expect(SparseChunk.of(new Uint8Array(MiB), -1)).toBeNull();
    expect(sparseOf(randomBytes(MiB))).toBeNull();
    expect(sparseOf(dumpChunk(MiB, [0], MiB / 4))?.dataBytes).toBe(MiB / 4);
    expect(sparseOf(dumpChunk(MiB, [0], MiB / 4 + 1))).toBeNull();
  });
});

describe('a cache that holds chunks as their pages', () => {
  const zero = new Uint8Array(MiB);
  const a = dumpChunk(MiB, [3 * 4096, 9 * 4096 + 7]);
  const b = dumpChunk(MiB, [MiB - 4096]);
  const ref = (parts: Uint8Array[]) => parts.map((p) => ({ sha256: sha(p), size: p.length }));
  // A store that holds nothing: every chunk must come from the cache.
  const empty = new FsBlobStore({ dataDir: join(dir, 'empty'), publicBaseUrl: 'http://127.0.0.1:1' });
  const filled = () => {
    const cache = new ChunkCache();
    for (const c of [zero, a, b]) cache.addStored(sha(c), gzipSync(c), 'gzip', sparseOf(c));
    return cache;
  };

  it('hands each reader bytes of its own: one that writes over what it got changes nothing for the next', async () => {
    const cache = filled();
    const first = await cache.get(empty, sha(a), MiB);
    first.fill(0x99);
    const second = await cache.get(empty, sha(a), MiB);
    expect(second).not.toBe(first);
    expect(Buffer.from(second).equals(Buffer.from(a))).toBe(true);
    const got = await assembleArtifact(empty, ref([a, zero]), { window: 64 * MiB, hashAll: true, cache });
    expect(got.sha256).toBe(sha(whole([a, zero])));
  });

  it('a window an assembly lent, written over by its reader, leaves the next assembly of the same chunks exact', async () => {
    const cache = filled();
    for (const parts of [[a, zero, b, zero], [zero, a, zero, b], [b, b], [zero]]) {
      const got = await assembleArtifact(empty, ref(parts), { window: 64 * MiB, hashAll: true, cache, lend: true });
      expect(Buffer.from(got.bytes).equals(whole(parts))).toBe(true);
      expect(got.sha256).toBe(sha(whole(parts)));
      got.bytes.fill(0x77);
    }
  });

  it('a window artifacts are assembled into one after another (ArtifactWindow, shared memory) holds each exactly, whatever the one before wrote', async () => {
    const cache = filled();
    const dense = randomBytes(MiB);
    cache.addStored(sha(dense), dense, 'identity');
    // The last chunk of an artifact, shorter than a MiB, kept as its pages.
    const short = dumpChunk(5000, [4500]);
    cache.addStored(sha(short), gzipSync(short), 'gzip', sparseOf(short));
    const window = new ArtifactWindow(new Uint8Array(new SharedArrayBuffer(4 * MiB)));
    for (const parts of [[dense, a, b, dense], [zero, zero, a, zero], [b], [a, dense, zero], [zero, zero, zero, zero], [dense, short], [a, short]]) {
      const got = await assembleArtifact(empty, ref(parts), { window: 4 * MiB, hashAll: true, cache, into: window });
      expect(got.bytes.buffer).toBe(window.bytes.buffer);
      expect(Buffer.from(got.bytes).equals(whole(parts))).toBe(true);
      expect(got.sha256).toBe(sha(whole(parts)));
    }
  });

  it('a window shorter than the artifact, ending inside a chunk: its first bytes, and the hash of all of it', async () => {
    const cache = filled();
    const parts = [a, b, zero, a];
    for (const window of [1, MiB - 1, MiB + 4096 * 3 + 5, 2 * MiB]) {
      const got = await assembleArtifact(empty, ref(parts), { window, hashAll: true, cache, lend: true });
      expect(Buffer.from(got.bytes).equals(whole(parts).subarray(0, window))).toBe(true);
      expect(got.sha256).toBe(sha(whole(parts)));
      got.bytes.fill(0x33);
    }
  });

  it('a chunk announced at another size than it holds is refused, as an inflated one is', async () => {
    const cache = filled();
    await expect(assembleArtifact(empty, [{ sha256: sha(a), size: MiB - 1 }], { window: 64 * MiB, hashAll: true, cache })).rejects.toBeInstanceOf(ChunkError);
    await expect(cache.get(empty, sha(b), 10)).rejects.toMatchObject({ reason: 'wrong-size' });
  });

  it('a chunk read from the store and verified is kept as its pages: the next assembly reads nothing', async () => {
    const fs = new FsBlobStore({ dataDir: join(dir, 'read'), publicBaseUrl: 'http://127.0.0.1:1' });
    await fs.put(`chunks/${sha(a).slice(0, 2)}/${sha(a)}`, gzipSync(a));
    let reads = 0;
    const counting = Object.assign(Object.create(fs) as FsBlobStore, {
      getBytes: (key: string) => {
        reads++;
        return fs.getBytes(key);
      },
    });
    const cache = new ChunkCache();
    for (let i = 0; i < 3; i++) {
      const got = await assembleArtifact(counting, ref([a, a]), { window: 64 * MiB, hashAll: true, cache, lend: true });
      expect(got.sha256).toBe(sha(whole([a, a])));
    }
    expect(reads).toBe(1);
  });
});

describeEachFlavour('chunks received through the catalog are kept as their pages until their commit', (flavour) => {
  let catalog: TestCatalog;
  let tokens: Record<string, string>;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    tokens = await collectorTokens(catalog, ['esx-sparse']);
  }, 120_000);
  afterAll(async () => {
    await catalog?.close();
  });

  it('a dump: a batch keeps its chunks as their pages no further than its own length, and commits byte-exact', async () => {
    // A dump of 40 MiB: each MiB holds 64 KiB of random bytes and 64 KiB of one repeated byte
    // (128 KiB of pages, under a quarter of the chunk, gzipped to about half of that) — about
    // 5 MiB of pages in a body of 2.5 MiB, more than the body (and than its 4 MiB bound).
    const bytes = new Uint8Array(40 * MiB);
    for (let m = 0; m < 40; m++) {
      bytes.set(randomBytes(64 * 1024), m * MiB + 4096);
      bytes.fill(m + 1, m * MiB + 4096 + 64 * 1024, m * MiB + 4096 + 128 * 1024);
    }
    const p = prepareCapture({ host: 'esx-sparse', artifacts: [{ kind: 'vmfs-header', fileName: 'lun0.bin', bytes, gzip: true }] });
    const answer = await begin(catalog, p.request, tokens['esx-sparse']);
    expect(answer.missing).toHaveLength(40);
    const body = frameChunks(answer.missing.map((m) => [m.sha256, p.stored.get(m.sha256)!]));
    const res = await catalog.request(`/v1/captures/${p.request.captureId}/chunks`, {
      method: 'PUT',
      token: tokens['esx-sparse'],
      headers: { 'content-type': 'application/octet-stream' },
      body: body as unknown as BodyInit,
    });
    expect(res.status).toBe(200);
    const received = answer.missing.map((m) => receivedOf(catalog.services.store).get(p.request.captureId, m.sha256)!);
    const pages = received.reduce((n, r) => n + (r.sparse?.cost ?? 0), 0);
    expect(pages).toBeLessThanOrEqual(body.length);
    expect(received.filter((r) => r.sparse).length).toBeGreaterThan(10);
    expect(received.filter((r) => !r.sparse).length).toBeGreaterThan(10);

    const committed = await commit(catalog, p.request.captureId, tokens['esx-sparse']);
    const content = await catalog.request(`/v1/artifacts/${committed.artifacts[0].id}/content`);
    expect(sha(new Uint8Array(await content.arrayBuffer()))).toBe(sha(bytes));
  }, 60_000);
});
