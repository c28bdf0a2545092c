/** Chunk decoding: identity or gzip, whichever the stored bytes are, checked against the chunk's name; gzip bounded to 1 MiB. */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ChunkError, decodeChunk, gunzipBounded, PARSE_LIMIT_BYTES, parseWindow, sha256Hex } from '../../api/pipeline/chunks.js';

const MiB = 1024 * 1024;
const bytes = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
const sha = sha256Hex(bytes);

describe('decodeChunk', () => {
  it('accepts identity bytes with the right hash', async () => {
    expect(await decodeChunk(sha, bytes.length, bytes)).toMatchObject({ encoding: 'identity', storedSize: 4096 });
  });

  it('accepts gzip bytes that inflate to the right hash', async () => {
    const gz = new Uint8Array(gzipSync(bytes));
    const v = await decodeChunk(sha, bytes.length, gz);
    expect(v).toMatchObject({ encoding: 'gzip', storedSize: gz.length });
    expect(Buffer.from(v.bytes).equals(Buffer.from(bytes))).toBe(true);
  });

  it('accepts identity bytes that happen to start like gzip', async () => {
    const odd = new Uint8Array([0x1f, 0x8b, 1, 2, 3]);
    expect(await decodeChunk(sha256Hex(odd), odd.length, odd)).toMatchObject({ encoding: 'identity' });
  });

  const refused: Array<[string, () => Uint8Array, number, ChunkError['reason']]> = [
    [
      'one flipped byte',
      () => {
        const b = new Uint8Array(bytes);
        b[9] ^= 1;
        return b;
      },
      4096,
      'wrong-hash',
    ],
    ['a shorter object', () => bytes.subarray(0, 100), 4096, 'wrong-size'],
    ['gzip of other bytes', () => new Uint8Array(gzipSync(new Uint8Array(4096))), 4096, 'wrong-hash'],
    ['gzip of the right bytes plus one', () => new Uint8Array(gzipSync(new Uint8Array([...bytes, 0]))), 4096, 'wrong-size'],
    ['truncated gzip', () => new Uint8Array(gzipSync(bytes)).subarray(0, 30), 4096, 'bad-encoding'],
    ['a gzip bomb announced as a small chunk', () => new Uint8Array(gzipSync(new Uint8Array(3 * MiB))), 4096, 'wrong-size'],
    ['a gzip bomb announced as a whole chunk', () => new Uint8Array(gzipSync(new Uint8Array(3 * MiB))), MiB, 'too-large'],
  ];
  for (const [name, make, size, reason] of refused) {
    it(`refuses ${name} (${reason})`, async () => {
      const err = await decodeChunk(sha, size, make()).catch((e) => e);
      expect(err).toBeInstanceOf(ChunkError);
      expect(err.reason).toBe(reason);
      expect(err.sha256).toBe(sha);
      expect(err.message).toContain(sha);
    });
  }
});

describe('gunzipBounded', () => {
  it('inflates up to the bound exactly', async () => {
    expect((await gunzipBounded(new Uint8Array(gzipSync(new Uint8Array(MiB))), MiB)).length).toBe(MiB);
    await expect(gunzipBounded(new Uint8Array(gzipSync(new Uint8Array(MiB + 1))), MiB)).rejects.toMatchObject({ reason: 'too-large' });
  });
});

describe('gunzipBounded with an expected size', () => {
  it('inflates exactly whatever the expected size says, and the bound still holds', async () => {
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
    const gz = new Uint8Array(gzipSync(bytes));
    for (const expected of [0, 100, 300_000, MiB]) expect(Buffer.from(await gunzipBounded(gz, MiB, expected)).equals(Buffer.from(bytes))).toBe(true);
    await expect(gunzipBounded(new Uint8Array(gzipSync(new Uint8Array(MiB + 1))), MiB, 100)).rejects.toMatchObject({ reason: 'too-large' });
  });
});

describe('parseWindow', () => {
  it('reads whole small artifacts and the first 64 MiB of large ones', () => {
    expect(parseWindow('vmfs-header', 2 * MiB)).toBe(2 * MiB);
    expect(parseWindow('vmfs-header', 1536 * MiB)).toBe(PARSE_LIMIT_BYTES);
    expect(PARSE_LIMIT_BYTES).toBe(64 * MiB);
  });
});
