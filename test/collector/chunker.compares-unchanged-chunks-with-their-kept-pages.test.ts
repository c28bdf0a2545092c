/**
 * A chunk of a local source that is mostly zeros is kept (its pages that are not zeros) after
 * it is hashed, and the next read of the same place compares its bytes with them instead of
 * hashing: equal byte for byte, it has the hash it had. Any difference — a byte in a kept page,
 * one in a page of zeros, another length — is hashed, so the declared hash is always the
 * SHA-256 of the bytes read. The kept chunks go to the spool with the digest memo and come
 * back from it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CHUNK_SIZE } from '../../formats/index.js';
import { captureArtifact } from '../../collector/capture.js';
import { ChunkStager, knownSha } from '../../collector/chunker.js';
import { DigestMemo } from '../../collector/digest-memo.js';
import { LocalAccess } from '../../collector/host-access.js';
import type { PlannedArtifact } from '../../collector/discover.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const dir = mkdtempSync(join(tmpdir(), 'kept-pages-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A header dump's chunk: zeros but for a few pages (one of them partly). */
function sparseChunk(length = CHUNK_SIZE): Buffer {
  const c = Buffer.alloc(length);
  randomBytes(5000).copy(c, 8192 + 100);
  c[length - 1] = 9;
  return c;
}

describe('knownSha', () => {
  it('takes the earlier hash for the same bytes without hashing them, and hashes any other bytes', () => {
    const kept = new Map<string, Buffer>();
    const chunk = sparseChunk();
    expect(knownSha(chunk, undefined, kept)).toBe(sha(chunk));
    expect([...kept.keys()]).toEqual([sha(chunk)]);
    // A marker in place of the hash comes back only if no byte was hashed.
    const marker = 'ab'.repeat(32);
    kept.set(marker, kept.get(sha(chunk))!);
    expect(knownSha(Buffer.from(chunk), marker, kept)).toBe(marker);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: chunk.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const other = Buffer.from(chunk);
        other[at] ^= x;
        expect(knownSha(other, marker, new Map(kept))).toBe(sha(other));
      }),
      { numRuns: 200 },
    );
    // Another length (the same bytes cut short, or longer by zeros) is another chunk.
    expect(knownSha(chunk.subarray(0, chunk.length - 4096), marker, kept)).toBe(sha(chunk.subarray(0, chunk.length - 4096)));
    const last = sparseChunk(300_001);
    expect(knownSha(last, undefined, kept)).toBe(sha(last));
    kept.set(marker, kept.get(sha(last))!);
    expect(knownSha(Buffer.from(last), marker, kept)).toBe(marker);
    expect(knownSha(Buffer.concat([last, Buffer.alloc(1)]), marker, kept)).toBe(sha(Buffer.concat([last, Buffer.alloc(1)])));
  });

  it('keeps no chunk of zeros, and none past a quarter of its pages', () => {
    const kept = new Map<string, Buffer>();
    knownSha(Buffer.alloc(CHUNK_SIZE), undefined, kept);
    const dense = Buffer.alloc(CHUNK_SIZE);
    for (let p = 0; p < 65; p++) dense[p * 4096 * 2] = 1;
    expect(knownSha(dense, undefined, kept)).toBe(sha(dense));
    expect(kept.size).toBe(0);
    const quarter = Buffer.alloc(CHUNK_SIZE);
    for (let p = 0; p < 64; p++) quarter[p * 4096 * 2] = 1;
    knownSha(quarter, undefined, kept);
    expect(kept.size).toBe(1);
  });
});

describe('captureArtifact with kept chunks', () => {
  const root = join(dir, 'root');
  const spool = join(dir, 'spool');
  const plan = {
    kind: 'unknown',
    fileName: 'disk.bin',
    sourcePath: '/disk.bin',
    device: null,
    why: 'test',
    read: { path: '/disk.bin', length: 6 * CHUNK_SIZE },
  } as PlannedArtifact;

  it('declares the SHA-256 of every chunk read, day after day, through the spool', async () => {
    mkdirSync(root, { recursive: true });
    mkdirSync(spool, { recursive: true });
    const file = join(root, 'disk.bin');
    // Chunks of zeros, mostly-zero chunks, a dense one and a short last one.
    let day = Buffer.concat([Buffer.alloc(CHUNK_SIZE), sparseChunk(), randomBytes(CHUNK_SIZE), sparseChunk(), Buffer.alloc(CHUNK_SIZE), sparseChunk(700_000)]);
    const access = new LocalAccess(root);
    const read = async () => {
      writeFileSync(file, day);
      const memo = await DigestMemo.load(spool);
      const r = await captureArtifact(access, plan, new ChunkStager(null, new Set()), { headerBytes: null, digests: memo });
      await memo.save();
      const want = [];
      for (let off = 0; off < day.length; off += CHUNK_SIZE) want.push(sha(day.subarray(off, off + CHUNK_SIZE)));
      expect(r.ref?.chunks.map((c) => c.sha256)).toEqual(want);
      expect(r.sha256).toBe(sha(day));
      return memo;
    };
    const first = await read();
    expect(existsSync(join(spool, 'chunk-pages'))).toBe(true);
    // The three mostly-zero chunks are kept, and come back from the spool.
    expect((await DigestMemo.load(spool)).kept.size).toBe(3);
    expect(first.kept.size).toBe(3);
    await read();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: day.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, x) => {
        day = Buffer.from(day);
        day[at] ^= x;
        await read();
      }),
      { numRuns: 15 },
    );
    // Only the chunks the last read named are written back: the memo does not grow with every change.
    const last = await DigestMemo.load(spool);
    expect(last.kept.size).toBeLessThanOrEqual(5);
  });
});
