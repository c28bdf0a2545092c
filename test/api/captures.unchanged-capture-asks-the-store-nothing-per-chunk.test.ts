/**
 * A repeated run within the trust window costs the catalog work per artifact, not store
 * requests per chunk: the second capture of the same bytes by the same host gets no upload
 * URL, and neither its begin nor its commit reads, stats or lists a chunk — chunks were
 * verified when they were published and `blobs` vouches for them for a day or two
 * (CHUNK_TRUST_MS, api/ingest/staging.ts, renewed by the hourly maintenance listing); the
 * artifacts' parse results are reused (api/pipeline/parse.ts). The store sees the manifest
 * put and the staging cleanup, whatever the number of chunks.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BlobStore } from '../../api/store/types.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, ingest, prepareCapture, sha256Hex, type TestArtifact } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;

/** Counts calls of the store's methods from here on. */
function countCalls(store: BlobStore): Record<string, number> {
  const counts: Record<string, number> = {};
  const target = store as unknown as Record<string, unknown>;
  for (const name of ['head', 'getBytes', 'getStream', 'list', 'put', 'putIfAbsent', 'presignPut', 'delete']) {
    const fn = target[name];
    if (typeof fn !== 'function') continue;
    counts[name] = 0;
    target[name] = (...args: unknown[]) => {
      counts[name]++;
      return (fn as (...a: unknown[]) => unknown).apply(store, args);
    };
  }
  return counts;
}

describeEachFlavour('an unchanged capture asks the store nothing per chunk', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('the second capture of the same bytes gets no upload URL, reads no chunk and writes only its manifest', async () => {
    // 6 artifacts of 3–4 chunks each (gzip and identity), 22 distinct chunks.
    const artifacts: TestArtifact[] = Array.from({ length: 6 }, (_, i) => ({
      kind: 'vmfs-undelete',
      fileName: `u${i}.tgz`,
      bytes: randomBytes(3 * MiB + i * 200_000),
      gzip: i % 2 === 0,
    }));
    const first = await ingest(catalog, { host: 'esx-daily', artifacts });
    expect(first.state).toBe('committed');

    const counts = countCalls(catalog.services.store);
    const again = prepareCapture({ host: 'esx-daily', artifacts });
    const answer = await begin(catalog, again.request);
    expect(answer.missing).toEqual([]);
    expect(answer.present).toHaveLength(new Set(again.request.artifacts.flatMap((a) => a.chunks.map((c) => c.sha256))).size);
    const done = await commit(catalog, again.request.captureId);
    expect(done.state).toBe('committed');
    expect(counts.head ?? 0).toBe(0);
    expect(counts.getBytes ?? 0).toBe(0);
    expect(counts.presignPut ?? 0).toBe(0);
    expect(counts.putIfAbsent ?? 0).toBe(0);
    // The manifest, and at most one listing (the staging cleanup on S3).
    expect(counts.put).toBe(1);
    expect(counts.list ?? 0).toBeLessThanOrEqual(1);

    // The unchanged capture's artifacts still download whole.
    for (const [i, a] of done.artifacts.entries()) {
      const res = await catalog.request(`/v1/artifacts/${a.id}/content`);
      expect(sha256Hex(new Uint8Array(await res.arrayBuffer()))).toBe(sha256Hex(artifacts[i].bytes));
    }
  });
});
