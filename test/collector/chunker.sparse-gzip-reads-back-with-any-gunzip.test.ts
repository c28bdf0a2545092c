/**
 * A staged chunk is one gzip member whose deflate body is cut at 4 KiB pages (zero runs
 * run-length coded and cached, the rest deflated): whatever the pattern of zero pages and
 * the chunk's length, Node's gunzip (the catalog's) and the system's `gzip -dc` (restore
 * bundles, people) read back exactly the bytes. Without zlib.crc32 (Node before 20.15) the
 * chunk is gzipped whole, as it was before, and reads back the same way.
 */
import { execFileSync } from 'node:child_process';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHUNK_SIZE } from '../../formats/index.js';
import { GZIP_LEVEL, gzipChunk } from '../../collector/chunker.js';

const PAGE = 4096;

/** What the system's gzip makes of some gzip members one after another. */
const systemGunzip = (gz: Buffer) => execFileSync('gzip', ['-dc'], { input: gz, maxBuffer: 64 * CHUNK_SIZE });

/** `size` bytes, zeros but for the pages `dataPages` names (1 = not zeros), each filled from `seed`. */
function chunkOf(size: number, dataPages: (page: number) => boolean, seed = 1): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let page = 0; page * PAGE < size; page++) {
    if (!dataPages(page)) continue;
    // Text-like bytes (compressible, with repeats) rather than noise, so deflate has matches to find.
    for (let i = page * PAGE; i < Math.min(size, (page + 1) * PAGE); i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      b[i] = 97 + ((x >>> 16) % 7);
    }
  }
  return b;
}

const cases: Array<[string, Buffer]> = [
  ['all zeros', Buffer.alloc(CHUNK_SIZE)],
  ['no zero page', chunkOf(CHUNK_SIZE, () => true)],
  ['pages alternating, data first', chunkOf(CHUNK_SIZE, (p) => p % 2 === 0)],
  ['pages alternating, zeros first', chunkOf(CHUNK_SIZE, (p) => p % 2 === 1)],
  ['one data page at the very start', chunkOf(CHUNK_SIZE, (p) => p === 0)],
  ['one data page at the very end', chunkOf(CHUNK_SIZE, (p) => p === CHUNK_SIZE / PAGE - 1)],
  ['a last byte set after zeros', Buffer.concat([Buffer.alloc(CHUNK_SIZE - 1), Buffer.from([0xff])])],
  ['three data pages in a MiB (a header dump)', chunkOf(CHUNK_SIZE, (p) => p === 3 || p === 4 || p === 200)],
  ['zeros, not a multiple of 4096 (last chunk of a file)', Buffer.alloc(3 * PAGE + 100)],
  ['data pages, a zero tail shorter than a page', chunkOf(5 * PAGE + 1000, (p) => p === 1 || p === 2)],
  ['zero pages then a partial data page', chunkOf(7 * PAGE + 17, (p) => p === 7)],
  ['1 byte zero', Buffer.alloc(1)],
  ['1 byte', Buffer.from([42])],
  ['4095 zeros', Buffer.alloc(PAGE - 1)],
  ['4095 bytes', chunkOf(PAGE - 1, () => true)],
  ['4097 zeros', Buffer.alloc(PAGE + 1)],
  ['4097 bytes, a zero page then one byte', Buffer.concat([Buffer.alloc(PAGE), Buffer.from([7])])],
  ['4096 zeros', Buffer.alloc(PAGE)],
  ['a data run over 64 KiB beside one zero page (deflated on the pool)', chunkOf(CHUNK_SIZE, (p) => p !== 100)],
  ['15 data pages to each zero page (runs past the inline budget go to the pool)', chunkOf(CHUNK_SIZE, (p) => p % 16 !== 15)],
];

describe('gzipChunk', () => {
  it.each(cases)('%s: Node and the system gzip read back the bytes', async (_name, data) => {
    for (const crc of [undefined, null]) {
      const gz = await gzipChunk(data, GZIP_LEVEL, crc);
      expect(gunzipSync(gz).equals(data)).toBe(true);
      expect(systemGunzip(gz).equals(data)).toBe(true);
    }
  });

  it('random sparse patterns and lengths read back, each member alone and all joined', async () => {
    const inputs: Buffer[] = [];
    const members: Buffer[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: CHUNK_SIZE }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        async (size, density, seed) => {
          let x = seed;
          const pages = new Set<number>();
          for (let p = 0; p * PAGE < size; p++) {
            x = (x * 1103515245 + 12345) >>> 0;
            if (x / 2 ** 32 < density) pages.add(p);
          }
          const data = chunkOf(size, (p) => pages.has(p), seed);
          const gz = await gzipChunk(data, GZIP_LEVEL);
          expect(gunzipSync(gz).equals(data)).toBe(true);
          inputs.push(data);
          members.push(gz);
        },
      ),
      { seed: 20261201, numRuns: 40 },
    );
    // One system gzip for all of them: a file of members one after another reads back as their bytes joined (RFC 1952, 2.2).
    expect(systemGunzip(Buffer.concat(members)).equals(Buffer.concat(inputs))).toBe(true);
  });

  it('cuts the body at zero pages only when zlib.crc32 is there; without it the chunk is gzipped as before', async () => {
    const data = chunkOf(CHUNK_SIZE, (p) => p === 3 || p === 100);
    const sparse = await gzipChunk(data, GZIP_LEVEL);
    const without = await gzipChunk(data, GZIP_LEVEL, null);
    expect(without.equals(gzipSync(data, { level: GZIP_LEVEL }))).toBe(true);
    expect(sparse.equals(without)).toBe(false);
    // The run of 96 zero pages between the two data pages costs what it does in one piece: far under a page.
    expect(sparse.length).toBeLessThan(without.length + 64);
    // A chunk without a whole zero page has nothing to cut: gzipped whole either way.
    const dense = chunkOf(CHUNK_SIZE, () => true);
    expect((await gzipChunk(dense, GZIP_LEVEL)).equals(gzipSync(dense, { level: GZIP_LEVEL }))).toBe(true);
  });

  it('writes what Node writes in the header and the length and CRC-32 of the bytes in the trailer', async () => {
    const data = chunkOf(CHUNK_SIZE - 5, (p) => p === 10);
    const gz = await gzipChunk(data, GZIP_LEVEL);
    expect(gz.subarray(0, 10).equals(gzipSync(data).subarray(0, 10))).toBe(true);
    expect(gz.readUInt32LE(gz.length - 4)).toBe(data.length);
    expect(gz.readUInt32LE(gz.length - 8)).toBe(gzipSync(data).readUInt32LE(gzipSync(data).length - 8));
  });
});
