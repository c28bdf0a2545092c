/**
 * A download reads the next chunk (inflated, for a gzip chunk) while the current one is
 * sent. A stored gzip chunk that does not inflate, or inflates to other bytes, fails the
 * download instead of reaching the client as good bytes — also when it was read ahead,
 * before its turn — and a reader that stops early leaves the server answering.
 */
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chunkKey } from '../../api/store/types.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describeEachFlavour('artifact download with a bad chunk', (flavour) => {
  let catalog: TestCatalog;
  let bytes: Uint8Array;
  let artifactId: string;
  const chunkShas: string[] = [];
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    bytes = new Uint8Array(3 * CHUNK_SIZE);
    for (let off = 0; off < bytes.length; off += CHUNK_SIZE) bytes.set(randomBytes(16 * 1024), off);
    for (let off = 0; off < bytes.length; off += CHUNK_SIZE) chunkShas.push(sha256(bytes.subarray(off, off + CHUNK_SIZE)));
    const res = await ingest(catalog, {
      host: 'esx-bad-chunk',
      collectedAt: new Date('2026-03-01T00:00:00Z'),
      artifacts: [{ kind: 'unknown', fileName: 'dump.bin', bytes, gzip: true }],
    });
    artifactId = res.artifacts[0].id;
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const download = () => catalog.request(`/v1/artifacts/${artifactId}/content`);

  /** Replaces the stored object of chunk `i` for the duration of `fn`. */
  async function withStored(i: number, replacement: Uint8Array, fn: () => Promise<void>): Promise<void> {
    const key = chunkKey(chunkShas[i]);
    const stored = Buffer.from((await catalog.services.store.getBytes(key))!);
    await catalog.services.store.put(key, replacement);
    try {
      await fn();
      // A chunk found damaged is set aside (api/retention/check.ts recordDamagedChunk) after the
      // answer broke off. Wait for it: the good bytes put back before that would be taken away
      // with the damaged ones' key, and the next test's download answered 502 (seen on a loaded
      // machine with a 5 s wait). 60 s is a hang limit, not a speed bound.
      let setAside = false;
      for (let n = 0; n < 2400 && !setAside; n++) {
        setAside = Boolean(await catalog.services.store.head(`quarantine/${chunkShas[i]}`));
        if (!setAside) await new Promise((r) => setTimeout(r, 25));
      }
      expect(setAside, `chunk ${i} set aside`).toBe(true);
    } finally {
      await catalog.services.store.delete(`quarantine/${chunkShas[i]}`);
      await catalog.services.store.put(key, stored);
    }
  }

  it('sends the whole artifact when every chunk is good', async () => {
    const res = await download();
    expect(res.status).toBe(200);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(bytes));
  });

  it('fails the download when a chunk read ahead is not gzip data', async () => {
    await withStored(1, new TextEncoder().encode('not gzip at all'), async () => {
      const res = await download();
      await expect(res.arrayBuffer()).rejects.toThrow();
    });
  });

  it('fails the download when a chunk inflates to other bytes', async () => {
    const other = Buffer.from(bytes.subarray(2 * CHUNK_SIZE));
    other[7] ^= 0xff;
    await withStored(2, gzipSync(other), async () => {
      const res = await download();
      await expect(res.arrayBuffer()).rejects.toThrow();
    });
  });

  it('answers the next request after a reader stopped early', async () => {
    const res = await download();
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const again = await download();
    expect(
      again.status,
      await again
        .clone()
        .text()
        .then((t) => t.slice(0, 300)),
    ).toBe(200);
    expect(sha256(new Uint8Array(await again.arrayBuffer()))).toBe(sha256(bytes));
  });
});
