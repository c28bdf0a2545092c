/**
 * A download whose first chunk is gone from the store (deleted by hand, a store mount missing,
 * another bucket) answers 502 `chunk_corrupt` naming the artifact and the chunk, as a restore
 * bundle says "gone from the store" — not 500 "internal error", which told the operator
 * nothing and sent them to the server's log. `?redirect=1`, which assembles the object first,
 * the same. The chunk's record is doubted, as the scrub does (docs/architecture.md, "Errors"):
 * the host's next begin asks the store and has the chunk uploaded again — also when the chunk
 * gone is met later in the transfer, which then breaks off. Once the catalog knows a chunk is
 * gone (its record doubted, or no record), a download that reaches it is a 502 before the
 * answer starts, wherever the chunk is, not a 200 that breaks off; a doubted chunk the store
 * still shows is sent, and vouched for again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { blobs } from '../../db/schema.js';
import { chunkKey } from '../../api/store/types.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describeEachFlavour('an artifact download whose chunk is gone from the store', (flavour) => {
  let catalog: TestCatalog;
  let id = '';
  let later = '';
  const bytes = new Uint8Array(randomBytes(CHUNK_SIZE + 5000));
  const first = sha256(bytes.subarray(0, CHUNK_SIZE));
  const other = new Uint8Array(randomBytes(2 * CHUNK_SIZE));
  const second = sha256(other.subarray(CHUNK_SIZE));
  const verified = async (sha: string) =>
    (await catalog.services.db.select({ at: blobs.lastVerified }).from(blobs).where(eq(blobs.sha256, sha)))[0]?.at.getTime();
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const res = await ingest(catalog, {
      host: 'esx01',
      collectedAt: new Date('2026-03-01T00:00:00Z'),
      artifacts: [{ kind: 'unknown', fileName: 'dump.bin', bytes }],
    });
    id = res.artifacts[0].id;
    const res2 = await ingest(catalog, {
      host: 'esx01',
      collectedAt: new Date('2026-03-02T00:00:00Z'),
      artifacts: [{ kind: 'unknown', fileName: 'other.bin', bytes: other }],
    });
    later = res2.artifacts[0].id;
    await catalog.services.store.delete(chunkKey(first));
    await catalog.services.store.delete(chunkKey(second));
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

  it('the record of a chunk a download found gone is doubted, met first or later in the transfer', async () => {
    expect(await verified(first)).toBe(0);
    expect(await verified(second)).toBeGreaterThan(0);
    const res = await catalog.request(`/v1/artifacts/${later}/content`);
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
    for (let i = 0; i < 200 && (await verified(second)) !== 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await verified(second)).toBe(0);
  });

  it('a later chunk known gone is a 502 before the answer starts, not a 200 that breaks off', async () => {
    expect(await verified(second)).toBe(0);
    const res = await catalog.request(`/v1/artifacts/${later}/content`);
    expect(res.status).toBe(502);
    const body = await res.json();
    expect(body.error.code).toBe('chunk_corrupt');
    expect(body.error.message).toContain(`artifact ${later} (other.bin): stored chunk ${second} is gone from the store`);
    expect(body.error.details).toEqual({ sha256: second });
    // A range short of it is still sent.
    const head = await catalog.request(`/v1/artifacts/${later}/content`, { headers: { range: `bytes=0-99` } });
    expect(head.status).toBe(206);
    expect(Buffer.from(await head.arrayBuffer()).equals(Buffer.from(other.subarray(0, 100)))).toBe(true);
  });

  it('a chunk whose record was doubted but the store shows is sent, and vouched for again', async () => {
    const firstOfLater = sha256(other.subarray(0, CHUNK_SIZE));
    await catalog.services.db
      .update(blobs)
      .set({ lastVerified: new Date(0) })
      .where(eq(blobs.sha256, firstOfLater));
    const res = await catalog.request(`/v1/artifacts/${later}/content`, { headers: { range: `bytes=0-${CHUNK_SIZE - 1}` } });
    expect(res.status).toBe(206);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(firstOfLater);
    expect(await verified(firstOfLater)).toBeGreaterThan(0);
  });
});
