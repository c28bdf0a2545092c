/**
 * One BlobStore contract, two stores: the filesystem store and the S3 store on Swift
 * answer put/get/head/list/delete/range/presigned GET the same way, and both answer
 * settled() once a staging area closed in the background is gone (the S3 store removes it
 * after closeStaging returns; the filesystem store before, so it is always settled).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobNotFoundError, chunkKey, manifestKey, stagingKey, stagingPrefix } from '../../api/store/types.js';
import { S3BlobStore } from '../../api/store/s3.js';
import { s3TestConfig } from '../helpers/swift.js';
import { startStore, storeKinds, type StoreUnderTest } from './blob-server.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

async function keys(iter: AsyncIterable<{ key: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const o of iter) out.push(o.key);
  return out;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

for (const kind of storeKinds()) {
  describe(`BlobStore [${kind}]`, () => {
    let t: StoreUnderTest;
    beforeAll(async () => {
      t = await startStore(kind);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('is reachable', async () => {
      await expect(t.store.check()).resolves.toBeUndefined();
    });

    it('settles a staging area closed in the background: after settled() nothing of it is listed', async () => {
      const capture = `0190aaaa-bbbb-7ccc-8ddd-${kind === 's3' ? '000000000001' : '000000000002'}`;
      await t.store.openStaging(capture);
      // More than closeStaging removes inline on S3, so its removal goes on after it returns.
      for (let i = 0; i < 40; i++) await t.store.put(stagingKey(capture, sha(Buffer.from(`staged ${i}`))), Buffer.from(`staged ${i}`));
      await t.store.closeStaging(capture, { background: true });
      await t.store.settled();
      expect(await keys(t.store.list(stagingPrefix(capture)))).toEqual([]);
    });

    it('puts a chunk and gets it back whole, with its size', async () => {
      const body = randomBytes(1024 * 1024);
      const key = chunkKey(sha(body));
      await t.store.put(key, body);
      expect(await t.store.head(key)).toEqual({ key, size: body.length });
      expect(sha(Buffer.from((await t.store.getBytes(key))!))).toBe(sha(body));
      expect(sha(await readAll(await t.store.getStream(key)))).toBe(sha(body));
    });

    it('puts a stream of known length', async () => {
      const parts = [randomBytes(100_000), randomBytes(50_000), randomBytes(1)];
      const whole = Buffer.concat(parts);
      await t.store.put('bundles/streamed.bin', Readable.from(parts), whole.length);
      expect(sha(Buffer.from((await t.store.getBytes('bundles/streamed.bin'))!))).toBe(sha(whole));
    });

    it('keeps an empty object', async () => {
      await t.store.put('bundles/empty', new Uint8Array(0));
      expect(await t.store.head('bundles/empty')).toEqual({ key: 'bundles/empty', size: 0 });
      expect((await t.store.getBytes('bundles/empty'))!.length).toBe(0);
    });

    it('replaces an object on a second put', async () => {
      const key = manifestKey('esx01.example.com', '0190f0e2-0000-7000-8000-000000000001');
      await t.store.put(key, Buffer.from('{"v":1}'));
      await t.store.put(key, Buffer.from('{"v":2,"longer":true}'));
      expect(Buffer.from((await t.store.getBytes(key))!).toString()).toBe('{"v":2,"longer":true}');
    });

    it('answers null or NotFound for an absent object', async () => {
      expect(await t.store.head('chunks/00/absent')).toBeNull();
      expect(await t.store.getBytes('chunks/00/absent')).toBeNull();
      await expect(t.store.getStream('chunks/00/absent')).rejects.toBeInstanceOf(BlobNotFoundError);
    });

    it('serves byte ranges with an inclusive end, clamped to the object', async () => {
      const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
      await t.store.put('bundles/ranged', body);
      expect(sha(await readAll(await t.store.getStream('bundles/ranged', { start: 0, end: 0 })))).toBe(sha(body.subarray(0, 1)));
      expect(sha(await readAll(await t.store.getStream('bundles/ranged', { start: 100, end: 199 })))).toBe(sha(body.subarray(100, 200)));
      expect(sha(await readAll(await t.store.getStream('bundles/ranged', { start: 990, end: 5000 })))).toBe(sha(body.subarray(990)));
      await expect(t.store.getStream('bundles/ranged', { start: 1000, end: 1001 })).rejects.toBeInstanceOf(RangeError);
    });

    it('lists under a prefix in key order, prefixes cut mid-segment included', async () => {
      const names = ['lst/a/1', 'lst/a-b', 'lst/a/0', 'lst/ab/x', 'lst/b', 'lst/a0'];
      for (const k of names) await t.store.put(k, Buffer.from(k));
      // Byte order: '-' (0x2d) < '/' (0x2f) < '0' (0x30) < 'b' (0x62).
      expect(await keys(t.store.list('lst/'))).toEqual(['lst/a-b', 'lst/a/0', 'lst/a/1', 'lst/a0', 'lst/ab/x', 'lst/b']);
      expect(await keys(t.store.list('lst/a'))).toEqual(['lst/a-b', 'lst/a/0', 'lst/a/1', 'lst/a0', 'lst/ab/x']);
      expect(await keys(t.store.list('lst/a/'))).toEqual(['lst/a/0', 'lst/a/1']);
      expect(await keys(t.store.list('lst/zzz'))).toEqual([]);
      const sized = [];
      for await (const o of t.store.list('lst/b')) sized.push(o);
      expect(sized).toEqual([{ key: 'lst/b', size: 5 }]);
    });

    it('deletes, and deleting an absent object is not an error', async () => {
      await t.store.put('bundles/doomed', Buffer.from('x'));
      await t.store.delete('bundles/doomed');
      expect(await t.store.head('bundles/doomed')).toBeNull();
      await expect(t.store.delete('bundles/doomed')).resolves.toBeUndefined();
      expect(await keys(t.store.list('bundles/doomed'))).toEqual([]);
    });

    it('gives a presigned GET that downloads the object under its file name, with ranges', async () => {
      const body = randomBytes(200_000);
      await t.store.put('bundles/vol.tar.gz', body);
      const get = await t.store.presignGet('bundles/vol.tar.gz', { expiresInSeconds: 300, fileName: 'restore 4a1b.tar.gz' });
      expect(get.method).toBe('GET');
      const res = await fetch(get.url, { headers: get.headers });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toContain("filename*=UTF-8''restore%204a1b.tar.gz");
      expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(sha(body));
      const part = await fetch(get.url, { headers: { ...get.headers, range: 'bytes=10-19' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 10-19/${body.length}`);
      expect(sha(Buffer.from(await part.arrayBuffer()))).toBe(sha(body.subarray(10, 20)));
    });
  });
}

const s3 = s3TestConfig();
if (s3) {
  describe('S3 store paging', () => {
    it('follows ListObjectsV2 continuation tokens across pages', async () => {
      const { startS3Store } = await import('./blob-server.js');
      const t = await startS3Store({ listPageSize: 3 });
      try {
        const names = Array.from({ length: 10 }, (_, i) => `page/${String(i).padStart(2, '0')}`);
        await Promise.all(names.map((k) => t.store.put(k, Buffer.from(k))));
        expect(t.store).toBeInstanceOf(S3BlobStore);
        expect(await keys(t.store.list('page/'))).toEqual(names);
      } finally {
        await t.close();
      }
    });
  });
}
