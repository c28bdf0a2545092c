/**
 * A commit that fails after its manifest went out (COMMIT lost, the process killed) leaves its
 * capture open and a manifest naming the capture's chunk lists (format 3), which rebuild
 * completes and the collector's retry commits. A list it reused from an earlier capture has
 * no artifact of its own naming it yet: were that earlier capture dropped, garbage collection
 * would have swept the list under the manifest. The commit records the lists it names on the
 * open capture first (`captures.chunk_lists`), and the sweep keeps an open capture's lists as
 * it keeps its request's chunks (api/retention/gc.ts).
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sweepUnreferencedChunks } from '../../api/retention/gc.js';
import { checkStore } from '../../api/retention/check.js';
import { chunkKey } from '../../api/store/types.js';
import { artifacts, captures } from '../../db/schema.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, ingest, IngestHttpError, prepareCapture } from '../helpers/ingest-client.js';

describeEachFlavour('a failed commit keeps the chunk lists its manifest names', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('a list reused from a dropped capture outlives the sweep while the failed commit waits for its retry', async () => {
    const bytes = new TextEncoder().encode(`tank/gc@kept\t1793491200\t1\n`.repeat(40));
    const input = { host: 'stor-lists', hostKind: 'solaris' as const, artifacts: [{ kind: 'zfs-snapshots' as const, fileName: 'z.txt', bytes }] };
    const first = await ingest(catalog, input);
    const { db, store } = catalog.services;
    const [row] = await db.select({ list: artifacts.chunkList }).from(artifacts).where(eq(artifacts.id, first.artifacts[0].id));
    const list = row.list!;
    expect(await store.head(chunkKey(list))).not.toBeNull();

    // The same bytes again: the commit writes its manifest, then fails before COMMIT.
    const again = prepareCapture(input);
    await begin(catalog, again.request);
    const put = store.put;
    store.put = async (key, body, length) => {
      await put.call(store, key, body, length);
      if (key.startsWith('manifests/')) throw new Error('connection lost after the manifest was written');
    };
    const failed = await commit(catalog, again.request.captureId).then(
      () => null,
      (e: unknown) => e,
    );
    store.put = put;
    expect(failed).toBeInstanceOf(IngestHttpError);
    const [open] = await db.select().from(captures).where(eq(captures.id, again.request.captureId));
    expect(open.state).toBe('open');
    expect(open.chunkLists).toEqual([list]);

    // The first capture goes (as retention drops it); the sweep runs before the retry.
    await db.delete(artifacts).where(eq(artifacts.captureId, first.captureId));
    await db.delete(captures).where(eq(captures.id, first.captureId));
    const swept = await sweepUnreferencedChunks(catalog.services);
    expect(swept.swept).not.toContain(list);
    expect(await store.head(chunkKey(list))).not.toBeNull();
    // Nor does check call it an orphan while the capture waits.
    expect((await checkStore(catalog.services)).orphanChunks.map((o) => o.key)).not.toContain(chunkKey(list));

    // The retry commits, naming the list it kept.
    const done = await commit(catalog, again.request.captureId);
    expect(done.state).toBe('committed');
    const [named] = await db.select({ list: artifacts.chunkList }).from(artifacts).where(eq(artifacts.id, done.artifacts[0].id));
    expect(named.list).toBe(list);
  });
});
