/**
 * A small chunk is inflated, and a small capture's manifest and chunk lists compressed, on the calling thread:
 * a thread-pool round trip cost several times the zlib work for a few KiB, and a small
 * capture's commit made about four of them. Larger ones still go to the thread pool, and the
 * bounds hold either way. Told by the zlib handles' callbacks (async_hooks): work handed to
 * the pool comes back through one, work done in place never does.
 */
import { createHook } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { decodeChunk, sha256Hex } from '../../api/pipeline/chunks.js';
import { decodeChunkList, decodeManifest, encodeChunkList, encodeManifest, type EncodedChunkList } from '../../api/pipeline/manifest.js';
import type { CaptureManifest } from '../../formats/protocol.js';
import { artifactId } from '../../api/ingest/begin.js';

/** Runs `fn` and counts the zlib callbacks that came back from the thread pool meanwhile. */
async function poolTrips(fn: () => Promise<unknown>): Promise<number> {
  const zlib = new Set<number>();
  let trips = 0;
  const hook = createHook({
    init(id, type) {
      if (type === 'ZLIB') zlib.add(id);
    },
    before(id) {
      if (zlib.has(id)) trips++;
    },
  });
  hook.enable();
  try {
    await fn();
  } finally {
    hook.disable();
  }
  return trips;
}

it('inflates a chunk of a few KiB in place, a large one on the pool, and bounds both', async () => {
  const small = Buffer.from('tank/vmfs/lun0@daily-0\t1790000000\t4096\n'.repeat(100));
  const large = Buffer.concat([randomBytes(256 * 1024), Buffer.alloc(256 * 1024)]);
  const smallGz = gzipSync(small);
  const largeGz = gzipSync(large);
  expect(await poolTrips(() => decodeChunk(sha256Hex(small), small.length, smallGz))).toBe(0);
  expect(await poolTrips(() => decodeChunk(sha256Hex(large), large.length, largeGz))).toBeGreaterThan(0);
  // Announced smaller than it inflates: stopped at the announced size, in place or not.
  await expect(decodeChunk(sha256Hex(small), small.length - 1, smallGz)).rejects.toMatchObject({ reason: 'wrong-size' });
  await expect(decodeChunk(sha256Hex(large), large.length - 1, largeGz)).rejects.toMatchObject({ reason: 'wrong-size' });
  const v = await decodeChunk(sha256Hex(small), small.length, smallGz);
  expect(Buffer.from(v.bytes).equals(small)).toBe(true);
  expect(v.encoding).toBe('gzip');
});

it("compresses a small capture's manifest in place, and it reads back the same", async () => {
  const chunk = { sha256: 'ab'.repeat(32), size: 4000, encoding: 'gzip' as const, storedSize: 600 };
  const manifest: CaptureManifest = {
    captureId: '01900000-0000-7000-8000-000000000001',
    host: { name: 'sol-1', kind: 'solaris' },
    collectedAt: '2026-11-30T12:00:00.000Z',
    receivedAt: '2026-11-30T12:00:01.000Z',
    committedAt: '2026-11-30T12:00:02.000Z',
    collector: { version: '1.0.0' },
    artifacts: [
      {
        id: artifactId('01900000-0000-7000-8000-000000000001', 0),
        kind: 'zfs-snapshots',
        fileName: 'zfs-list.txt',
        sourcePath: 'zfs list',
        device: null,
        size: 4000,
        sha256: 'ab'.repeat(32),
        chunks: [chunk],
      },
    ],
  } as CaptureManifest;
  let bytes: Uint8Array = new Uint8Array();
  let list: EncodedChunkList | undefined;
  expect(
    await poolTrips(async () => {
      list = await encodeChunkList(manifest.artifacts[0]);
      manifest.artifacts[0].chunkList = list.chunk;
      bytes = await encodeManifest(manifest);
    }),
  ).toBe(0);
  expect(JSON.parse(gunzipSync(bytes).toString('utf8'))).toBeTruthy();
  expect(JSON.parse(gunzipSync(list!.stored).toString('utf8'))).toBeTruthy();
  expect(await decodeManifest(bytes, (sha) => decodeChunkList(sha, list!.stored))).toEqual(manifest);
});

it('inflates at most 256 KiB in place before the event loop turns; the rest of a batch goes to the pool', async () => {
  // A chunk batch holds up to 1,024 chunks: inflated all in place, 64 KiB each, one request
  // would hold the event loop for 64 MiB of zlib.
  const chunks = Array.from({ length: 16 }, (_, i) => Buffer.alloc(60 * 1024, i + 1));
  const trips = await poolTrips(async () => {
    const decoded = await Promise.all(chunks.map((c) => decodeChunk(sha256Hex(c), c.length, gzipSync(c))));
    for (const [i, d] of decoded.entries()) expect(Buffer.from(d.bytes).equals(chunks[i])).toBe(true);
  });
  // 4 × 60 KiB fit the budget; the other 12 each come back from the pool.
  expect(trips).toBeGreaterThanOrEqual(12);
  await new Promise((r) => setImmediate(r));
  const small = Buffer.from('a small chunk once the event loop has turned\n'.repeat(20));
  expect(await poolTrips(() => decodeChunk(sha256Hex(small), small.length, gzipSync(small)))).toBe(0);
});
