/**
 * putStream writes an object of unknown length from a stream: on S3 a multipart upload
 * (8 MiB parts, two in flight), on the filesystem a temp file renamed into place. A 20 MiB
 * object — three parts — arrives byte for byte on both stores (Swift's s3api implements
 * multipart through its SLO middleware); a stream that fails midway leaves no object.
 * This is how downloads and restore bundles are assembled for a presigned GET on Lambda.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUT_STREAM_PART_BYTES } from '../../api/store/s3.js';
import { startStore, storeKinds, type StoreUnderTest } from './blob-server.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** `total` bytes in pieces of 64 KiB, as a socket or a gzip stream delivers them. */
async function* pieces(bytes: Uint8Array, failAt?: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < bytes.length; off += 65536) {
    if (failAt !== undefined && off >= failAt) throw new Error('source failed midway');
    yield bytes.subarray(off, Math.min(off + 65536, bytes.length));
  }
}

for (const kind of storeKinds()) {
  describe(`putStream [${kind}]`, () => {
    let t: StoreUnderTest;
    beforeAll(async () => {
      t = await startStore(kind);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('stores a 20 MiB stream of unknown length byte for byte', async () => {
      const bytes = randomBytes(20 * 1024 * 1024);
      expect(bytes.length).toBeGreaterThan(2 * PUT_STREAM_PART_BYTES);
      const size = await t.store.putStream('bundles/test/large.tar.gz', pieces(bytes));
      expect(size).toBe(bytes.length);
      expect(await t.store.head('bundles/test/large.tar.gz')).toEqual({ key: 'bundles/test/large.tar.gz', size: bytes.length });
      const back: Uint8Array[] = [];
      for await (const p of await t.store.getStream('bundles/test/large.tar.gz')) back.push(p as Uint8Array);
      expect(sha(Buffer.concat(back))).toBe(sha(bytes));
    }, 120_000);

    it('stores an empty stream as an empty object', async () => {
      expect(await t.store.putStream('bundles/test/empty', pieces(new Uint8Array(0)))).toBe(0);
      expect(await t.store.head('bundles/test/empty')).toEqual({ key: 'bundles/test/empty', size: 0 });
    });

    it('leaves no object when the source fails midway', async () => {
      const bytes = randomBytes(12 * 1024 * 1024);
      await expect(t.store.putStream('bundles/test/failed', pieces(bytes, 10 * 1024 * 1024))).rejects.toThrow(/source failed midway/);
      expect(await t.store.head('bundles/test/failed')).toBeNull();
    }, 120_000);
  });
}
