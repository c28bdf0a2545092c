/**
 * A download whose first chunk is gone from the store (deleted by hand, a store mount missing,
 * another bucket) answers 502 `chunk_corrupt` naming the artifact and the chunk, as a restore
 * bundle says "gone from the store" — not 500 "internal error", which told the operator
 * nothing and sent them to the server's log. `?redirect=1`, which assembles the object first,
 * the same.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chunkKey } from '../../api/store/types.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describeEachFlavour('an artifact download whose chunk is gone from the store', (flavour) => {
  let catalog: TestCatalog;
  let id = '';
  const bytes = new Uint8Array(randomBytes(CHUNK_SIZE + 5000));
  const first = sha256(bytes.subarray(0, CHUNK_SIZE));
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const res = await ingest(catalog, {
      host: 'esx01',
      collectedAt: new Date('2026-03-01T00:00:00Z'),
      artifacts: [{ kind: 'unknown', fileName: 'dump.bin', bytes }],
    });
    id = res.artifacts[0].id;
    await catalog.services.store.delete(chunkKey(first));
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it.each(['', '?redirect=1'])('GET content%s is a 502 chunk_corrupt naming the artifact and the chunk gone', async (query) => {
    const res = await catalog.request(`/v1/artifacts/${id}/content${query}`);
    expect(res.status).toBe(502);
    const body = await res.json();
    expect(body.error.code).toBe('chunk_corrupt');
    expect(body.error.message).toContain(id);
    expect(body.error.message).toContain(`${first} is gone from the store`);
  });

  it('a range of the chunk still there is sent', async () => {
    const res = await catalog.request(`/v1/artifacts/${id}/content`, { headers: { range: `bytes=${CHUNK_SIZE}-${CHUNK_SIZE + 99}` } });
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes.subarray(CHUNK_SIZE, CHUNK_SIZE + 100)))).toBe(true);
  });
});
