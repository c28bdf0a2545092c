/**
 * The whole-artifact SHA-256 is reused only when every chunk hash equals the previous
 * read's (identical chunk hashes mean identical bytes); any difference — a changed chunk,
 * a longer or shorter stream — reads the matched prefix again, checks it chunk by chunk
 * and hashes it, so the declared whole hash is always the SHA-256 of the bytes sent. A
 * source that changes between the two reads is read again from the start.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CHUNK_SIZE } from '../../formats/index.js';
import { captureArtifact } from '../../collector/capture.js';
import { ChunkStager, chunkStream, SourceChangedError, type PriorDigest } from '../../collector/chunker.js';
import { DigestMemo } from '../../collector/digest-memo.js';
import { LocalAccess } from '../../collector/host-access.js';
import type { PlannedArtifact } from '../../collector/discover.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const dir = mkdtempSync(join(tmpdir(), 'hash-once-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function* pieces(data: Buffer, size = 256 * 1024): AsyncIterable<Buffer> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}

function digestOf(data: Buffer): PriorDigest {
  const chunks = [];
  for (let off = 0; off < data.length; off += CHUNK_SIZE) chunks.push(sha(data.subarray(off, off + CHUNK_SIZE)));
  return { size: data.length, sha256: sha(data), chunks };
}

/** A prior read plus a reread that records the lengths asked for. */
function priorOf(before: Buffer, now: Buffer, digest = digestOf(before)) {
  const rereads: number[] = [];
  return { rereads, prior: { digest, reread: (length: number) => (rereads.push(length), pieces(now.subarray(0, length), 100_000)) } };
}

const stager = () => new ChunkStager(null, new Set());

describe('chunkStream with a prior digest', () => {
  it('reuses the whole hash when every chunk matches, without reading again', async () => {
    const data = randomBytes(3 * CHUNK_SIZE + 777);
    // A marker instead of the real whole hash: it comes back only if no byte went through a whole-file hash.
    const marker = 'ab'.repeat(32);
    const { rereads, prior } = priorOf(data, data, { ...digestOf(data), sha256: marker });
    const c = await chunkStream(pieces(data), stager(), { prior });
    expect(c.sha256).toBe(marker);
    expect(c.chunks.map((x) => x.sha256)).toEqual(digestOf(data).chunks);
    expect(rereads).toEqual([]);
  });

  it('declares the true whole hash after any change, re-reading only the matched prefix', async () => {
    const before = randomBytes(5 * CHUNK_SIZE + 100);
    const beforeDigest = digestOf(before);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ kind: fc.constant('flip' as const), at: fc.integer({ min: 0, max: before.length - 1 }) }),
          fc.record({ kind: fc.constant('cut' as const), at: fc.integer({ min: 0, max: before.length - 1 }) }),
          fc.record({ kind: fc.constant('grow' as const), at: fc.integer({ min: 1, max: 2 * CHUNK_SIZE }) }),
        ),
        async (change) => {
          let now: Buffer;
          if (change.kind === 'flip') {
            now = Buffer.from(before);
            now[change.at] ^= 0x5a;
          } else if (change.kind === 'cut') now = before.subarray(0, change.at);
          else now = Buffer.concat([before, randomBytes(change.at)]);
          const { rereads, prior } = priorOf(before, now, beforeDigest);
          const c = await chunkStream(pieces(now), stager(), { prior });
          const want = digestOf(now);
          expect(c.sha256).toBe(want.sha256);
          expect(c.size).toBe(now.length);
          expect(c.chunks.map((x) => x.sha256)).toEqual(want.chunks);
          // The prefix read again is the whole chunks before the first difference (none if it is chunk 0).
          const firstDiff = want.chunks.findIndex((h, i) => h !== beforeDigest.chunks[i]);
          const matched = firstDiff === -1 ? want.chunks.length : firstDiff;
          expect(rereads).toEqual(matched === 0 ? [] : [Math.min(matched * CHUNK_SIZE, now.length)]);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('refuses a prefix that reads differently the second time', async () => {
    const before = randomBytes(3 * CHUNK_SIZE);
    const now = Buffer.from(before);
    now[2 * CHUNK_SIZE + 5] ^= 1;
    const other = Buffer.from(now);
    other[10] ^= 1; // written between the first read and the re-read
    const { prior } = priorOf(before, other);
    await expect(chunkStream(pieces(now), stager(), { prior })).rejects.toBeInstanceOf(SourceChangedError);
  });
});

describe('captureArtifact with the digest memo', () => {
  const root = join(dir, 'root');
  const plan: PlannedArtifact = {
    kind: 'unknown',
    fileName: 'disk.bin',
    sourcePath: '/disk.bin',
    device: null,
    why: 'test',
    read: { path: '/disk.bin', length: 4 * CHUNK_SIZE },
  } as PlannedArtifact;

  it('declares the SHA-256 of the bytes read on every day: first, unchanged, changed', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(root, { recursive: true });
    const file = join(root, 'disk.bin');
    const day1 = randomBytes(4 * CHUNK_SIZE);
    writeFileSync(file, day1);
    const memo = await DigestMemo.load(dir);
    const access = new LocalAccess(root);
    const read = () => captureArtifact(access, plan, stager(), { headerBytes: null, digests: memo });
    expect((await read()).sha256).toBe(sha(day1));
    expect(memo.get({ access: access.ref, path: '/disk.bin', offset: 0 })?.sha256).toBe(sha(day1));
    expect((await read()).sha256).toBe(sha(day1));
    const day3 = Buffer.from(day1);
    day3[3 * CHUNK_SIZE + 1] ^= 0xff;
    writeFileSync(file, day3);
    const r = await read();
    expect(r.status).toBe('ok');
    expect(r.sha256).toBe(sha(day3));
    await memo.save();
    expect((await DigestMemo.load(dir)).get({ access: access.ref, path: '/disk.bin', offset: 0 })).toEqual(digestOf(day3));

    // Day 4: chunk 3 changes, and chunk 0 is written while the device is being read (after
    // the first pass took it, before its prefix is read again): the capture starts over.
    const day4 = Buffer.from(day3);
    day4[3 * CHUNK_SIZE + 2] ^= 0xff;
    writeFileSync(file, day4);
    let seen = 0;
    const final = Buffer.from(day4);
    final[7] ^= 0xff;
    const r4 = await captureArtifact(access, plan, stager(), {
      headerBytes: null,
      digests: memo,
      onBytes: (n) => {
        seen += n;
        if (seen === 4 * CHUNK_SIZE) writeFileSync(file, final);
      },
    });
    expect(seen).toBe(8 * CHUNK_SIZE); // read twice: the changed first read, then once more from the start
    expect(r4.sha256).toBe(sha(final));
    expect(memo.get({ access: access.ref, path: '/disk.bin', offset: 0 })).toEqual(digestOf(final));
  });
});
