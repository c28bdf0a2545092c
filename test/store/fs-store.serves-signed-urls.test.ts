/**
 * The filesystem store's own URLs, through a real socket: the secret that signs them,
 * streamed and chunked uploads held to the signed length, signed downloads with ranges,
 * keys that could escape the store, and the error shape.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../api/errors.js';
import { FsBlobStore } from '../../api/store/fs.js';
import { chunkKey } from '../../api/store/types.js';
import { startFsStore } from './blob-server.js';

type Started = Awaited<ReturnType<typeof startFsStore>>;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function announce(bytes: Buffer) {
  return { contentLength: bytes.length, payloadSha256: sha(bytes), expiresInSeconds: 300 };
}

/** A request body fetch must send chunked (no Content-Length): a stream. */
function chunked(...parts: Buffer[]): { body: ReadableStream<Uint8Array>; duplex: 'half' } {
  return {
    body: new ReadableStream({
      start(controller) {
        for (const p of parts) controller.enqueue(new Uint8Array(p));
        controller.close();
      },
    }),
    duplex: 'half',
  };
}

/** GET with the path sent byte for byte. */
function rawGet(url: string): Promise<{ status: number; body: Buffer }> {
  const u = new URL(url);
  const path = url.slice(u.origin.length);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('filesystem store URLs', () => {
  let t: Started;
  beforeAll(async () => {
    t = await startFsStore();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates its secret 0600 on first use and keeps it across restarts', async () => {
    const bytes = randomBytes(1000);
    const put = await t.store.presignPut(chunkKey(sha(bytes)), announce(bytes));
    const secretFile = join(t.dataDir, 'store-secret');
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(secretFile).length).toBe(32);
    const restarted = new FsBlobStore({ dataDir: t.dataDir, publicBaseUrl: t.url });
    const query = Object.fromEntries(new URL(put.url).searchParams);
    await expect(restarted.verifyPresigned('PUT', chunkKey(sha(bytes)), query)).resolves.toMatchObject({ contentLength: 1000 });
  });

  it('agrees on one secret when two stores start on a fresh data dir together', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vrc-secret-'));
    try {
      const stores = Array.from({ length: 8 }, () => new FsBlobStore({ dataDir, publicBaseUrl: 'http://x' }));
      const urls = await Promise.all(stores.map((s) => s.presignGet('bundles/b', { expiresInSeconds: 60 })));
      // One secret: every store takes every other's URL. (Comparing the signatures themselves
      // failed when the eight presigns straddled a second and signed different expiry times.)
      const secrets = new Set(readdirSync(dataDir).filter((f) => f.startsWith('store-secret')));
      expect([...secrets]).toEqual(['store-secret']);
      for (const u of urls) {
        const query = Object.fromEntries(new URL(u.url).searchParams);
        for (const s of stores) await expect(s.verifyPresigned('GET', 'bundles/b', query)).resolves.toBeDefined();
      }
      // A store with another secret refuses them: the check above can fail.
      const other = new FsBlobStore({ dataDir, publicBaseUrl: 'http://x', secret: randomBytes(32) });
      await expect(other.verifyPresigned('GET', 'bundles/b', Object.fromEntries(new URL(urls[0].url).searchParams))).rejects.toMatchObject({ status: 403 });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses URLs signed with another secret', async () => {
    const other = new FsBlobStore({ dataDir: t.dataDir, publicBaseUrl: t.url, secret: randomBytes(32) });
    const bytes = randomBytes(100);
    const put = await other.presignPut(chunkKey(sha(bytes)), announce(bytes));
    const res = await fetch(put.url, { method: 'PUT', body: bytes });
    expect(res.status).toBe(403);
    const body = await res.json();
    expect(body).toEqual({ error: { code: 'forbidden', message: expect.stringMatching(/signature/), requestId: expect.any(String) } });
  });

  it('takes a chunked upload of exactly the signed length and hash', async () => {
    const bytes = randomBytes(300_000);
    const key = chunkKey(sha(bytes));
    const put = await t.store.presignPut(key, announce(bytes));
    const res = await fetch(put.url, { method: 'PUT', ...chunked(bytes.subarray(0, 1000), bytes.subarray(1000)) } as RequestInit);
    expect(res.status).toBe(200);
    expect(sha((await t.store.getBytes(key))!)).toBe(sha(bytes));
  });

  it('stops reading a chunked upload at the first byte past the signed length (413)', async () => {
    const bytes = randomBytes(1000);
    const key = chunkKey(sha(bytes));
    const put = await t.store.presignPut(key, announce(bytes));
    const res = await fetch(put.url, { method: 'PUT', ...chunked(bytes, Buffer.from('more')) } as RequestInit);
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('payload_too_large');
    expect(await t.store.head(key)).toBeNull();
  });

  it('says the payload hash differs for a body of the right length but other bytes', async () => {
    const bytes = randomBytes(1000);
    const key = chunkKey(sha(bytes));
    const put = await t.store.presignPut(key, announce(bytes));
    const res = await fetch(put.url, { method: 'PUT', body: randomBytes(1000) });
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe('bad_request');
    expect(error.message).toMatch(/payload hash differs/);
    expect(await t.store.head(key)).toBeNull();
  });

  it('accepts the same chunk again through a fresh URL (a retried upload)', async () => {
    const bytes = randomBytes(5000);
    const key = chunkKey(sha(bytes));
    for (let i = 0; i < 2; i++) {
      const put = await t.store.presignPut(key, announce(bytes));
      expect((await fetch(put.url, { method: 'PUT', headers: put.headers, body: bytes })).status).toBe(200);
    }
    expect(await t.store.head(key)).toEqual({ key, size: 5000 });
  });

  it('serves signed downloads: whole, HEAD, suffix range, 416 past the end', async () => {
    const bytes = randomBytes(4096);
    await t.store.put('bundles/dl.bin', bytes);
    const get = await t.store.presignGet('bundles/dl.bin', { expiresInSeconds: 60, fileName: 'vmfs header "naa.6001".bin' });
    const whole = await fetch(get.url);
    expect(whole.headers.get('content-length')).toBe('4096');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('content-disposition')).toBe(
      `attachment; filename="vmfs header _naa.6001_.bin"; filename*=UTF-8''vmfs%20header%20%22naa.6001%22.bin`,
    );
    expect(sha(Buffer.from(await whole.arrayBuffer()))).toBe(sha(bytes));
    const head = await fetch(get.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('4096');
    const tail = await fetch(get.url, { headers: { range: 'bytes=-100' } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe('bytes 3996-4095/4096');
    expect(sha(Buffer.from(await tail.arrayBuffer()))).toBe(sha(bytes.subarray(3996)));
    const past = await fetch(get.url, { headers: { range: 'bytes=4096-' } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */4096');
    expect((await past.json()).error.code).toBe('range_not_satisfiable');
  });

  it('binds a download URL to GET, its file name and its expiry', async () => {
    await t.store.put('bundles/bound.bin', Buffer.from('bound'));
    const get = await t.store.presignGet('bundles/bound.bin', { expiresInSeconds: 60, fileName: 'a.bin' });
    expect((await fetch(get.url, { method: 'PUT', body: 'bound' })).status).toBe(403);
    const renamed = new URL(get.url);
    renamed.searchParams.set('name', 'b.bin');
    expect((await fetch(renamed)).status).toBe(403);
    const stale = await t.withClock(() => new Date(Date.now() - 3600_000)).presignGet('bundles/bound.bin', { expiresInSeconds: 60 });
    expect((await fetch(stale.url)).status).toBe(403);
    expect((await fetch(get.url)).status).toBe(200);
  });

  it('answers 404 for a signed download of an absent object', async () => {
    const get = await t.store.presignGet('bundles/never', { expiresInSeconds: 60 });
    const res = await fetch(get.url);
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('not_found');
  });

  it('never maps a key outside the store', async () => {
    for (const key of ['../store-secret', 'chunks/../../store-secret', '/etc/passwd', 'chunks//x', 'chunks/.tmp-1', '', 'a\nb']) {
      await expect(t.store.presignGet(key, { expiresInSeconds: 60 })).rejects.toBeInstanceOf(ApiError);
      await expect(t.store.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(ApiError);
    }
    const secret = readFileSync(join(t.dataDir, 'store-secret'));
    // Raw paths, as an attacker would send them (fetch would normalise the dots away).
    for (const path of [
      '/v1/blobs/..%2Fstore-secret',
      '/v1/blobs/chunks/%2E%2E/%2E%2E/store-secret',
      '/v1/blobs/chunks/../../store-secret',
      '/v1/blobs/chunks/.tmp-1',
    ]) {
      const res = await rawGet(`${t.url}${path}?exp=9999999999&sig=${'0'.repeat(64)}`);
      expect([400, 404]).toContain(res.status);
      expect(res.body.includes(secret)).toBe(false);
    }
  });

  it('keeps keys with percent signs and at-signs (URI-encoded host names) apart', async () => {
    const key = `manifests/${encodeURIComponent('root@esx 01/a')}/c.json`;
    await t.store.put(key, Buffer.from('{}'));
    const get = await t.store.presignGet(key, { expiresInSeconds: 60 });
    const res = await fetch(get.url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{}');
  });
});
