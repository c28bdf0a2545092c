/**
 * A daily run past the trust window (CHUNK_TRUST_MS, api/ingest/staging.ts) still finds a
 * chunk lost from the bucket and asks for it again, but on S3 it asks with one listing of
 * the chunk keys instead of one HEAD per chunk when that is fewer requests
 * (LIST_PAGE_COST_IN_HEADS); the first capture's publishes on a server without conditional
 * PUTs (Swift) look through the same listing instead of a HEAD each, and its staging area
 * goes with Multi-Object Deletes. The filesystem store stats each chunk (a listing there
 * would stat every chunk file).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { blobs } from '../../db/schema.js';
import type { BlobStore } from '../../api/store/types.js';
import { chunkKey, stagingPrefix } from '../../api/store/types.js';
import { CHUNK_TRUST_MS, LIST_PAGE_COST_IN_HEADS } from '../../api/ingest/staging.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, prepareCapture, sha256Hex, uploadMissing, type TestArtifact } from '../helpers/ingest-client.js';

/** Counts calls of the store's methods from here on; `reset` starts again. */
function countCalls(store: BlobStore): { counts: Record<string, number>; reset(): void } {
  const counts: Record<string, number> = {};
  const target = store as unknown as Record<string, unknown>;
  for (const name of ['head', 'getBytes', 'list', 'put', 'putIfAbsent', 'delete']) {
    const fn = target[name];
    if (typeof fn !== 'function') continue;
    target[name] = (...args: unknown[]) => {
      counts[name] = (counts[name] ?? 0) + 1;
      return (fn as (...a: unknown[]) => unknown).apply(store, args);
    };
  }
  return {
    counts,
    reset: () => {
      for (const k of Object.keys(counts)) delete counts[k];
    },
  };
}

describeEachFlavour('a daily run asks the store about its chunks in one listing', (flavour) => {
  let catalog: TestCatalog;
  let skew = 0;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => new Date(Date.now() + skew) });
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('finds the lost chunk past the trust window with no HEAD per chunk', async () => {
    // More single-chunk artifacts than one listing page is worth in HEADs.
    const n = 2 * LIST_PAGE_COST_IN_HEADS + 5;
    const artifacts: TestArtifact[] = Array.from({ length: n }, (_, i) => ({ kind: 'vmfs-undelete', fileName: `u${i}.tgz`, bytes: randomBytes(2000 + i) }));
    const { store, db } = catalog.services;
    const calls = countCalls(store);
    const first = prepareCapture({ host: 'esx-daily-list', artifacts });
    const answer = await begin(catalog, first.request);
    expect(answer.missing).toHaveLength(n);
    await uploadMissing(catalog, first, answer);
    calls.reset();
    expect((await commit(catalog, first.request.captureId)).state).toBe('committed');
    if (flavour === 'postgres-s3') {
      // One HEAD at most: the publish that learns whether the server honours If-None-Match.
      expect(calls.counts.head ?? 0).toBeLessThanOrEqual(1);
      expect(calls.counts.delete ?? 0).toBe(0);
    }
    for (const a of artifacts) expect(await store.head(chunkKey(sha256Hex(a.bytes)))).not.toBeNull();
    // More than a few staged uploads are removed after the commit answered (S3BlobStore.closeStaging).
    await store.settled();
    const staged: string[] = [];
    for await (const o of store.list(stagingPrefix(first.request.captureId))) staged.push(o.key);
    expect(staged).toEqual([]);

    const lost = sha256Hex(artifacts[7].bytes);
    await store.delete(chunkKey(lost));
    skew = 2 * CHUNK_TRUST_MS + 60_000;
    calls.reset();
    const again = prepareCapture({ host: 'esx-daily-list', artifacts });
    const next = await begin(catalog, again.request);
    expect(next.missing.map((m) => m.sha256)).toEqual([lost]);
    expect(next.present).toHaveLength(n - 1);
    expect(await db.select().from(blobs).where(eq(blobs.sha256, lost))).toEqual([]);
    if (flavour === 'postgres-s3') {
      expect(calls.counts.head ?? 0).toBe(0);
      expect(calls.counts.list).toBe(1);
    } else expect(calls.counts.head).toBe(n);
    // The store's answers are recorded: the commit asks nothing more about the others.
    await uploadMissing(catalog, again, next);
    calls.reset();
    expect((await commit(catalog, again.request.captureId)).state).toBe('committed');
    expect(calls.counts.head ?? 0).toBeLessThanOrEqual(1);
    expect(await store.head(chunkKey(lost))).not.toBeNull();
    const res = await catalog.request(`/v1/artifacts/${(await commit(catalog, again.request.captureId)).artifacts[7].id}/content`);
    expect(sha256Hex(new Uint8Array(await res.arrayBuffer()))).toBe(lost);
  });
});
