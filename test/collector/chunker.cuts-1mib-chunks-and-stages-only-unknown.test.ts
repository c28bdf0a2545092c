/**
 * The chunker cuts any stream into the same 1 MiB chunks whatever the read sizes;
 * the stager compresses and stages only chunks the catalog is not known to hold,
 * each once; UUIDv7 capture ids sort by creation time.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CHUNK_SIZE } from '../../formats/index.js';
import { ChunkStager, chunkStream } from '../../collector/chunker.js';
import { Spool } from '../../collector/spool.js';
import { uuidv7, uuidv7Time } from '../../collector/uuidv7.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const dir = mkdtempSync(join(tmpdir(), 'chunker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function* pieces(data: Buffer, sizes: number[]): AsyncIterable<Buffer> {
  let off = 0;
  let i = 0;
  while (off < data.length) {
    const n = Math.max(1, sizes[i++ % sizes.length]);
    yield data.subarray(off, off + n);
    off += n;
  }
}

describe('chunkStream', () => {
  it('names chunks of zeros, and chunks that are zeros but for one byte, by their real SHA-256', async () => {
    // Zeros, then zeros with one byte set at the start, the middle and the end, then a short tail of zeros.
    const data = Buffer.alloc(5 * CHUNK_SIZE + 4096);
    data[CHUNK_SIZE] = 1;
    data[2 * CHUNK_SIZE + CHUNK_SIZE / 2] = 0x80;
    data[4 * CHUNK_SIZE - 1] = 0xff;
    const c = await chunkStream(pieces(data, [65536, CHUNK_SIZE, 3 * CHUNK_SIZE]), new ChunkStager(null, new Set()));
    const expected = [0, 1, 2, 3, 4, 5].map((i) => sha(data.subarray(i * CHUNK_SIZE, Math.min(data.length, (i + 1) * CHUNK_SIZE))));
    expect(c.chunks.map((x) => x.sha256)).toEqual(expected);
    expect(new Set(expected).size).toBe(5); // chunks 0 and 4 are the same zeros; 1–3 differ from them and from each other
    // `dd if=/dev/zero bs=1M count=1 | sha256sum` (GNU coreutils): the well-known hash of 1 MiB of zeros.
    expect(c.chunks[0].sha256).toBe('30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58');
    expect(c.chunks[5].sha256).toBe(sha(Buffer.alloc(4096)));
    expect(c.sha256).toBe(sha(data));
  });

  it('gives the same chunks and whole hash for any piece sizes', async () => {
    const data = randomBytes(3 * CHUNK_SIZE + 12345);
    const expected = [0, 1, 2, 3].map((i) => sha(data.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE)));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 2 * CHUNK_SIZE }), { minLength: 1, maxLength: 6 }), async (sizes) => {
        const c = await chunkStream(pieces(data, sizes), new ChunkStager(null, new Set()));
        expect(c.chunks.map((x) => x.sha256)).toEqual(expected);
        expect(c.chunks.map((x) => x.size)).toEqual([CHUNK_SIZE, CHUNK_SIZE, CHUNK_SIZE, 12345]);
        expect(c.sha256).toBe(sha(data));
        expect(c.size).toBe(data.length);
      }),
      { numRuns: 25 },
    );
  });

  it('handles an empty stream', async () => {
    const c = await chunkStream(pieces(Buffer.alloc(0), [1]), new ChunkStager(null, new Set()));
    expect(c).toEqual({ size: 0, sha256: sha(Buffer.alloc(0)), chunks: [] });
  });
});

describe('ChunkStager', () => {
  it('declares known chunks bare and stages each unknown chunk once, gzip when it shrinks', async () => {
    const spoolDir = join(dir, 'spool');
    const spool = await Spool.open(spoolDir, 1024 ** 3);
    try {
      const zeros = Buffer.alloc(CHUNK_SIZE);
      const noise = randomBytes(CHUNK_SIZE);
      const known = randomBytes(CHUNK_SIZE);
      const data = Buffer.concat([zeros, noise, zeros, known, zeros]);
      const stager = new ChunkStager(spool, new Set([sha(known)]));
      const c = await chunkStream(pieces(data, [CHUNK_SIZE]), stager);
      const [z, n, z2, k] = c.chunks;
      expect(k).toEqual({ sha256: sha(known), size: CHUNK_SIZE });
      expect(z).toEqual(z2);
      expect(z.encoding).toBe('gzip');
      expect(z.storedSize).toBeLessThan(5000);
      expect(n.encoding).toBe('identity');
      expect(stager.stats.compressed).toBe(2);
      const staged = readdirSync(join(spoolDir, 'chunks')).sort();
      expect(staged).toEqual([`${sha(zeros)}.gz`, `${sha(noise)}.raw`].sort());
      const gz = readFileSync(join(spoolDir, 'chunks', `${sha(zeros)}.gz`));
      expect(sha(gz)).toBe(z.storedSha256);
      expect(gz.length).toBe(z.storedSize);
      expect(gunzipSync(gz).equals(zeros)).toBe(true);
      expect(z.storedMd5).toBe(createHash('md5').update(gz).digest('base64'));
    } finally {
      spool.close();
    }
  });

  it('stages chunks that cannot be read again (command output) even past the spool bound', async () => {
    const spool = await Spool.open(join(dir, 'full-spool'), 100);
    try {
      const stager = new ChunkStager(spool, new Set());
      const c = await chunkStream(pieces(randomBytes(CHUNK_SIZE + 10), [4096]), stager, { forceStage: true });
      expect(c.chunks.map((x) => x.encoding)).toEqual(['identity', 'identity']);
      expect(c.chunks.every((x) => spool.staged(x.sha256))).toBe(true);
      expect(stager.stats.unstaged).toBe(0);
    } finally {
      spool.close();
    }
  });

  it('leaves device chunks unstaged (declared bare) once the spool bound is reached', async () => {
    const spool = await Spool.open(join(dir, 'small-spool'), 100);
    try {
      const stager = new ChunkStager(spool, new Set());
      const c = await chunkStream(pieces(randomBytes(CHUNK_SIZE), [CHUNK_SIZE]), stager);
      expect(c.chunks[0].encoding).toBeUndefined();
      expect(stager.stats.unstaged).toBe(1);
    } finally {
      spool.close();
    }
  });

  it('refuses a second run while the spool is locked by a live process', async () => {
    const spool = await Spool.open(join(dir, 'locked'), 1024);
    try {
      await expect(Spool.open(join(dir, 'locked'), 1024)).rejects.toThrow(/another collector run/);
    } finally {
      spool.close();
    }
  });
});

describe('uuidv7', () => {
  it('is a version 7, variant 10 UUID carrying its millisecond time, sorting by it', () => {
    const ids = [1700000000000, 1700000000001, 1800000000000].map((t) => uuidv7(t));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids.map(uuidv7Time)).toEqual([1700000000000, 1700000000001, 1800000000000]);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 1000 }, () => uuidv7(1700000000000))).size).toBe(1000);
  });
});
