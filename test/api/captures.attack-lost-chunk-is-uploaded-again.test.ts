/**
 * Attack (or plain loss): a chunk the catalog's `blobs` table calls present is gone from
 * the store. `begin` used to call it present on the table's word while `commit` refused
 * it as never uploaded, on every retry, forever. Now `begin` and `commit` follow one rule:
 * `blobs` vouches for a chunk for a while after the store last answered for it
 * (CHUNK_TRUST_MS in api/ingest/staging.ts, so an unchanged daily run asks the store
 * nothing per chunk); past that, `begin` asks the store (HEAD/stat), marks the chunk
 * missing and hands it out for upload again, so the next capture of the same bytes
 * commits; `reindex` marks a lost chunk missing at once.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { artifacts, blobs } from '../../db/schema.js';
import { chunkKey } from '../../api/store/types.js';
import { CHUNK_TRUST_MS } from '../../api/ingest/staging.js';
import { keptOf } from '../../api/pipeline/chunks.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, ingest, prepareCapture, sha256Hex, uploadMissing } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;

describeEachFlavour('attack: a chunk lost from the store does not wedge later captures', (flavour) => {
  let catalog: TestCatalog;
  // The catalog's clock: moved past the trust window to let the store be asked again.
  let skew = 0;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => new Date(Date.now() + skew) });
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('the next capture of the same bytes is asked for the lost chunk and commits', async () => {
    const bytes = randomBytes(2 * MiB + 100);
    const first = await ingest(catalog, { host: 'esx-lost', artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes }] });
    expect(first.state).toBe('committed');
    const lost = sha256Hex(bytes.subarray(MiB, 2 * MiB));
    const { db, store } = catalog.services;
    expect(await db.select().from(blobs).where(eq(blobs.sha256, lost))).toHaveLength(1);
    await store.delete(chunkKey(lost));

    // Within the window the record still vouches for it (no store request per chunk)…
    const early = prepareCapture({ host: 'esx-lost', artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes }] });
    expect((await begin(catalog, early.request)).missing).toEqual([]);
    // …past it (two windows at most, spread by hash) the store is asked again.
    skew = 2 * CHUNK_TRUST_MS + 60_000;
    const again = prepareCapture({ host: 'esx-lost', artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes }] });
    const answer = await begin(catalog, again.request);
    expect(answer.missing.map((m) => m.sha256)).toEqual([lost]);
    expect(answer.present).toHaveLength(2);
    // Marked missing: the table no longer calls it present.
    expect(await db.select().from(blobs).where(eq(blobs.sha256, lost))).toEqual([]);
    await uploadMissing(catalog, again, answer);
    const done = await commit(catalog, again.request.captureId);
    expect(done.state).toBe('committed');
    expect(await store.head(chunkKey(lost))).not.toBeNull();
    expect(await db.select().from(blobs).where(eq(blobs.sha256, lost))).toHaveLength(1);
    // Both captures' bytes download whole again.
    for (const id of [first.artifacts[0].id, done.artifacts[0].id]) {
      const res = await catalog.request(`/v1/artifacts/${id}/content`);
      expect(sha256Hex(new Uint8Array(await res.arrayBuffer()))).toBe(sha256Hex(bytes));
    }
  });

  it('reindex marks a chunk it cannot find missing', async () => {
    const line = `tank/l@${randomBytes(4).toString('hex')}\t1793491200\t1\n`;
    const done = await ingest(catalog, { host: 'esx-lost2', artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: new TextEncoder().encode(line) }] });
    const { db, store } = catalog.services;
    const [row] = await db
      .select()
      .from(blobs)
      .where(eq(blobs.sha256, (await artifactChunks(done.artifacts[0].id))[0]));
    await store.delete(chunkKey(row.sha256));
    const res = await catalog.request('/v1/admin/reindex?kind=zfs-snapshots', { method: 'POST' });
    expect(res.status).toBe(200);
    const result = (await res.json()) as { failed: Array<{ id: string }> };
    expect(result.failed.map((f) => f.id)).toContain(done.artifacts[0].id);
    expect(await db.select().from(blobs).where(eq(blobs.sha256, row.sha256))).toEqual([]);
  });

  it('reindex marks a lost chunk missing even when this process kept it in memory from its commit', async () => {
    // A gzip chunk that packs 4:1 or better is kept in memory after the commit that received it
    // (KeptChunks); reindex must still read the store, the one place that says it is gone.
    const lines = Array.from({ length: 2000 }, (_, i) => `tank/k@daily-${i}\t1793491200\t${i}\n`).join('');
    const done = await ingest(catalog, {
      host: 'esx-lost3',
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', gzip: true, bytes: new TextEncoder().encode(lines) }],
    });
    const [sha] = await artifactChunks(done.artifacts[0].id);
    const { db, store } = catalog.services;
    const [row] = await db.select().from(blobs).where(eq(blobs.sha256, sha));
    expect(row.encoding).toBe('gzip');
    expect(keptOf(store).has(sha, Number(row.size))).toBe(true);
    await store.delete(chunkKey(sha));
    const res = await catalog.request('/v1/admin/reindex?kind=zfs-snapshots', { method: 'POST' });
    expect(res.status).toBe(200);
    const result = (await res.json()) as { failed: Array<{ id: string }> };
    expect(result.failed.map((f) => f.id)).toContain(done.artifacts[0].id);
    expect(await db.select().from(blobs).where(eq(blobs.sha256, sha))).toEqual([]);
    // Marked missing: no longer kept either.
    expect(keptOf(store).has(sha, Number(row.size))).toBe(false);
  });

  async function artifactChunks(id: string): Promise<string[]> {
    const [a] = await catalog.services.db.select().from(artifacts).where(eq(artifacts.id, id));
    return (a.chunks as Array<{ sha256: string }>).map((c) => c.sha256);
  }
});
