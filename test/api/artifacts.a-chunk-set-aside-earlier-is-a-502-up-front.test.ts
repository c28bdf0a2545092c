/**
 * A chunk a download (or the scrub) found damaged is set aside and its key freed. The next
 * download of an artifact holding it answered 200 and broke off at that chunk, again and
 * again, with nothing said (a browser shows "network error"); now it answers 502
 * `chunk_corrupt` before the answer starts, naming the chunk set aside. A range that does not
 * reach the chunk is still sent, and once the chunk is back under its key the artifact is
 * sent whole again (each chunk is still checked as it goes).
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chunkKey } from '../../api/store/types.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describeEachFlavour('an artifact download after a chunk was set aside', (flavour) => {
  let catalog: TestCatalog;
  let id = '';
  const bytes = new Uint8Array(randomBytes(3 * CHUNK_SIZE));
  const third = bytes.subarray(2 * CHUNK_SIZE);
  const sha = sha256(third);
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const res = await ingest(catalog, {
      host: 'esx01',
      collectedAt: new Date('2026-03-01T00:00:00Z'),
      artifacts: [{ kind: 'unknown', fileName: 'dump.bin', bytes }],
    });
    id = res.artifacts[0].id;
    const bad = Buffer.from(third);
    bad[100] ^= 0xff;
    await catalog.services.store.put(chunkKey(sha), bad);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const get = (range?: string) => catalog.request(`/v1/artifacts/${id}/content`, { headers: range ? { range } : {} });

  it('the download that finds the damage breaks off; the next one is a 502 naming the chunk set aside', async () => {
    const first = await get();
    expect(first.status).toBe(200);
    await expect(first.arrayBuffer()).rejects.toThrow();
    for (let i = 0; i < 200 && !(await catalog.services.store.head(`quarantine/${sha}`)); i++) await new Promise((r) => setTimeout(r, 25));
    for (let i = 0; i < 200; i++) {
      const events = (await (await catalog.request('/v1/events?type=chunk-corrupt')).json()) as { events: unknown[] };
      if (events.events.length > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const again = await get();
    expect(again.status).toBe(502);
    const body = (await again.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('chunk_corrupt');
    expect(body.error.message).toContain(id);
    expect(body.error.message).toContain(`${sha} was found damaged and set aside`);
  });

  it('a range short of the chunk is sent', async () => {
    const res = await get(`bytes=0-${CHUNK_SIZE - 1}`);
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes.subarray(0, CHUNK_SIZE)))).toBe(true);
  });

  it('with the chunk back under its key, the artifact is sent whole', async () => {
    await catalog.services.store.put(chunkKey(sha), third);
    const res = await get();
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
  });
});
