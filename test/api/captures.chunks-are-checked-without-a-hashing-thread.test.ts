/**
 * A catalog that cannot start its hashing thread (api/pipeline/hash-thread.ts: `new Worker`
 * throws when the process or its container is at its limit of threads, as a small function
 * or a tight cgroup may be) hashes on the calling thread instead: chunk batches are verified
 * and stored, and the capture commits with its artifacts parsed, where every batch holding a
 * chunk of 64 KiB or more was answered 500.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, frameChunks, prepareCapture } from '../helpers/ingest-client.js';

vi.mock('node:worker_threads', async (original) => {
  const real = await original<typeof import('node:worker_threads')>();
  class NoThread {
    constructor() {
      throw Object.assign(new Error('ERR_WORKER_INIT_FAILED: thread creation failed (EAGAIN)'), { code: 'ERR_WORKER_INIT_FAILED' });
    }
  }
  return { ...real, default: { ...real, Worker: NoThread }, Worker: NoThread };
});

describeEachFlavour('captures: chunks are checked without a hashing thread', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('takes a batch of large chunks and commits the capture', async () => {
    // A dump's 1 MiB chunks: each inflates past the 64 KiB from which a hash goes to the thread.
    const p = prepareCapture({
      host: 'esx-no-thread',
      artifacts: [0, 1].map((i) => ({
        kind: 'vmfs-header' as const,
        fileName: `lun${i}.hex`,
        device: `/dev/disks/naa.600144f0c0ffee00000000000000002${i}`,
        bytes: buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 20 + i }),
        gzip: true,
      })),
    });
    const missing = [...new Set((await begin(catalog, p.request)).missing.map((m) => m.sha256))];
    const res = await catalog.request(`/v1/captures/${p.request.captureId}/chunks`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: frameChunks(missing.map((s) => [s, p.stored.get(s)!])) as unknown as BodyInit,
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { received: string[] }).received.sort()).toEqual(missing.sort());
    const done = await commit(catalog, p.request.captureId);
    expect(done.artifacts.map((a) => a.parseStatus)).toEqual(['ok', 'ok']);
  });
});
