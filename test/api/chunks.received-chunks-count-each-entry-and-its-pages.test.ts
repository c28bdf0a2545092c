/**
 * The copy of received chunks a process keeps until their capture commits (ReceivedChunks)
 * counts what it holds: each entry beside its bytes (a collector may send 65,536 chunks of a
 * few bytes a capture, with 32 captures open at once), and the pages a chunk is also kept as
 * (SparseChunk). Past its bound the oldest go first.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ReceivedChunks } from '../../api/ingest/chunks.js';
import { CHUNK_ENTRY_BYTES, SparseChunk } from '../../api/pipeline/chunks.js';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('ReceivedChunks', () => {
  it('tiny chunks cost their entries: 64 KiB holds about a hundred of 8 bytes, not 8,000, the oldest going first', () => {
    const received = new ReceivedChunks(64 * 1024);
    const capture = randomUUID();
    const names = Array.from({ length: 1000 }, (_, i) => i.toString(16).padStart(64, '0'));
    for (const name of names) received.add(capture, name, { stored: randomBytes(8), encoding: 'identity', size: 8, sparse: null });
    const kept = names.filter((name) => received.get(capture, name));
    // An entry of 8 bytes holds about 460 bytes of the process (measured): no more than 64 KiB of them.
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThanOrEqual(Math.floor((64 * 1024) / 400));
    expect(kept).toEqual(names.slice(names.length - kept.length));
  });

  it('what it holds for many tiny chunks is about what it counts', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // A bound none of them passes: the test weighs entries, not eviction.
    const received = new ReceivedChunks(2 ** 40);
    const N = 100_000;
    const body = randomBytes(N * 8);
    gc();
    const before = process.memoryUsage();
    let capture = randomUUID();
    for (let i = 0; i < N; i++) {
      if (i % 1024 === 0) capture = randomUUID();
      received.add(capture, randomBytes(32).toString('hex'), { stored: body.subarray(i * 8, i * 8 + 8), encoding: 'identity', size: 8, sparse: null });
    }
    gc();
    const after = process.memoryUsage();
    const held = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    const counted = (received as unknown as { bytes: number }).bytes;
    expect(held).toBeLessThanOrEqual(2 * counted);
  });

  it("a chunk's pages count too: entries that fit by their stored bytes and entries alone go, oldest first, once their pages pass the bound", () => {
    // Four header-dump chunks: a MiB of zeros but for two random pages each, kept also as those pages.
    const chunks = Array.from({ length: 4 }, () => {
      const bytes = new Uint8Array(MiB);
      bytes.set(randomBytes(4096), 0);
      bytes.set(randomBytes(4096), 512 * 1024);
      return { sha256: sha(bytes), stored: new Uint8Array(gzipSync(bytes)), sparse: SparseChunk.of(bytes, MiB / 4)! };
    });
    const stored = Math.max(...chunks.map((c) => c.stored.length));
    const pages = chunks[0].sparse.cost;
    expect(pages).toBeGreaterThan(8192);
    // Room for four by their stored bytes and entries, for three with their pages.
    const received = new ReceivedChunks(4 * (stored + CHUNK_ENTRY_BYTES) + 3 * pages);
    const capture = randomUUID();
    for (const c of chunks) received.add(capture, c.sha256, { stored: c.stored, encoding: 'gzip', size: MiB, sparse: c.sparse });
    expect(chunks.map((c) => received.get(capture, c.sha256) !== undefined)).toEqual([false, true, true, true]);
    expect(received.get(capture, chunks[3].sha256)?.sparse).toBe(chunks[3].sparse);

    // Forgotten (their capture committed), they leave their room for the next.
    received.forget(
      capture,
      chunks.map((c) => c.sha256),
    );
    const next = randomUUID();
    for (const c of chunks.slice(0, 3)) received.add(next, c.sha256, { stored: c.stored, encoding: 'gzip', size: MiB, sparse: c.sparse });
    expect(chunks.slice(0, 3).map((c) => received.get(next, c.sha256) !== undefined)).toEqual([true, true, true]);
  });
});
