/**
 * An upload URL admits one body, for one key, until it expires: the store itself
 * refuses an expired URL, a tampered one (signature, key, expiry, length) and another
 * chunk's bytes, and the object is then not created. Both stores, through real HTTP:
 * the filesystem store's own routes on a listening socket, and Swift's s3api.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentMd5 } from '../../api/store/s3.js';
import { chunkKey, type BlobStore, type PresignedRequest } from '../../api/store/types.js';
import { startStore, storeKinds, type StoreUnderTest } from './blob-server.js';

const CHUNK = 256 * 1024;

interface Chunk {
  bytes: Buffer;
  sha256: string;
  key: string;
  md5: string;
}

function chunk(): Chunk {
  const bytes = randomBytes(CHUNK);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { bytes, sha256, key: chunkKey(sha256), md5: contentMd5(bytes) };
}

function presignFor(store: BlobStore, c: Chunk, expiresInSeconds = 300): Promise<PresignedRequest> {
  return store.presignPut(c.key, { contentLength: c.bytes.length, payloadSha256: c.sha256, contentMd5: c.md5, expiresInSeconds });
}

/** PUTs `body` to a presigned URL as a collector would, sending the signed headers. */
async function upload(url: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'PUT', headers: { ...headers, 'content-length': String(body.length) }, body: new Uint8Array(body) });
  return { status: res.status, text: await res.text() };
}

function withQuery(url: string, name: string, value: (old: string) => string): string {
  const u = new URL(url);
  u.searchParams.set(name, value(u.searchParams.get(name) ?? ''));
  return u.toString();
}

function flipHex(hex: string): string {
  return (hex[0] === '0' ? '1' : '0') + hex.slice(1);
}

// Where each store keeps the signature and expiry in its URL.
const SIG = { fs: 'sig', s3: 'X-Amz-Signature' } as const;
const EXPIRY = { fs: 'exp', s3: 'X-Amz-Expires' } as const;

for (const kind of storeKinds()) {
  describe(`upload URL [${kind}]`, () => {
    let t: StoreUnderTest;
    beforeAll(async () => {
      t = await startStore(kind);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('accepts exactly the announced chunk', async () => {
      const a = chunk();
      const put = await presignFor(t.store, a);
      expect(put.method).toBe('PUT');
      expect(put.headers['content-length']).toBe(String(CHUNK));
      const res = await upload(put.url, put.headers, a.bytes);
      expect(res.status, res.text).toBe(200);
      expect(await t.store.head(a.key)).toEqual({ key: a.key, size: CHUNK });
      expect(
        createHash('sha256')
          .update((await t.store.getBytes(a.key))!)
          .digest('hex'),
      ).toBe(a.sha256);
    });

    it('refuses an expired URL', async () => {
      const a = chunk();
      const hourAgo = new Date(Date.now() - 3600_000);
      const put = await presignFor(
        t.withClock(() => hourAgo),
        a,
        60,
      );
      expect(put.expiresAt.getTime()).toBeLessThan(Date.now());
      const res = await upload(put.url, put.headers, a.bytes);
      expect(res.status).toBe(403);
      expect(res.text).toMatch(kind === 'fs' ? /expired/ : /AccessDenied|expired/);
      expect(await t.store.head(a.key)).toBeNull();
    });

    it('refuses a URL whose signature was changed', async () => {
      const a = chunk();
      const put = await presignFor(t.store, a);
      const res = await upload(withQuery(put.url, SIG[kind], flipHex), put.headers, a.bytes);
      expect(res.status).toBe(403);
      expect(await t.store.head(a.key)).toBeNull();
    });

    it('refuses a URL whose expiry was pushed back', async () => {
      const a = chunk();
      const put = await presignFor(t.store, a);
      const res = await upload(
        withQuery(put.url, EXPIRY[kind], (old) => String(Number(old) + 3600)),
        put.headers,
        a.bytes,
      );
      expect(res.status).toBe(403);
      expect(await t.store.head(a.key)).toBeNull();
    });

    it("refuses chunk A's URL pointed at chunk B's key", async () => {
      const a = chunk();
      const b = chunk();
      const put = await presignFor(t.store, a);
      const res = await upload(put.url.replace(a.key, b.key), put.headers, b.bytes);
      expect(res.status).toBe(403);
      expect(await t.store.head(a.key)).toBeNull();
      expect(await t.store.head(b.key)).toBeNull();
    });

    it('refuses a body of another length than the signed one', async () => {
      const a = chunk();
      const put = await presignFor(t.store, a);
      const longer = Buffer.concat([a.bytes, Buffer.from('!')]);
      const shorter = a.bytes.subarray(1);
      // fs: over the signed length is 413, under it 400; S3: content-length is a signed header.
      expect((await upload(put.url, put.headers, longer)).status).toBe(kind === 'fs' ? 413 : 403);
      expect((await upload(put.url, put.headers, shorter)).status).toBe(kind === 'fs' ? 400 : 403);
      expect(await t.store.head(a.key)).toBeNull();
    });

    it("refuses chunk B's bytes sent to chunk A's URL", async () => {
      const a = chunk();
      const b = chunk();
      const put = await presignFor(t.store, a);
      const res = await upload(put.url, put.headers, b.bytes);
      // fs: our own hash check; Swift: the signed Content-MD5 does not match (BadDigest).
      expect(res.status).toBe(400);
      expect(res.text).toMatch(kind === 'fs' ? /payload hash differs/ : /BadDigest/);
      expect(await t.store.head(a.key)).toBeNull();
      expect(await t.store.head(b.key)).toBeNull();
    });

    if (kind === 's3') {
      it('will not sign an upload without the MD5 that binds its body', async () => {
        const a = chunk();
        await expect(t.store.presignPut(a.key, { contentLength: CHUNK, payloadSha256: a.sha256, expiresInSeconds: 300 })).rejects.toMatchObject({
          code: 'bad_request',
          message: expect.stringMatching(/MD5/),
        });
      });

      it("refuses chunk B's bytes with B's own Content-MD5 on A's URL (the header is signed)", async () => {
        const a = chunk();
        const b = chunk();
        const put = await presignFor(t.store, a);
        const res = await upload(put.url, { ...put.headers, 'content-md5': b.md5 }, b.bytes);
        expect(res.status).toBe(403);
        expect(res.text).toMatch(/SignatureDoesNotMatch/);
        expect(await t.store.head(a.key)).toBeNull();
      });
    }

    if (kind === 'fs') {
      it('refuses a URL whose length or hash parameter was changed', async () => {
        const a = chunk();
        const b = chunk();
        const put = await presignFor(t.store, a);
        const res1 = await upload(
          withQuery(put.url, 'len', (old) => String(Number(old) - 1)),
          put.headers,
          a.bytes.subarray(1),
        );
        expect(res1.status).toBe(403);
        const res2 = await upload(
          withQuery(put.url, 'sha256', () => b.sha256),
          put.headers,
          b.bytes,
        );
        expect(res2.status).toBe(403);
        expect(await t.store.head(a.key)).toBeNull();
        expect(await t.store.head(b.key)).toBeNull();
      });
    }
  });
}
