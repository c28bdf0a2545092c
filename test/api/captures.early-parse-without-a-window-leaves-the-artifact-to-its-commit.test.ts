/**
 * The early work (api/ingest/arrived.ts) that cannot get the shared memory to assemble an
 * artifact in (a SharedArrayBuffer of up to 64 MiB, refused with a RangeError when the process
 * is short of memory) leaves that artifact to its commit: the commit answers as it would have,
 * rather than wait for ever on an outcome nothing will settle, and no rejection goes unhandled
 * (which ends a Node process).
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { arrivedOf } from '../../api/ingest/arrived.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, frameChunks, prepareCapture } from '../helpers/ingest-client.js';

const memory = vi.hoisted(() => ({ short: false }));
vi.mock('../../api/pipeline/hash-thread.js', async (original) => {
  const real = await original<typeof import('../../api/pipeline/hash-thread.js')>();
  return {
    ...real,
    sharedBytes: (size: number) => {
      if (memory.short) throw new RangeError('Array buffer allocation failed');
      return real.sharedBytes(size);
    },
  };
});

describeEachFlavour('captures: early parse without a window leaves the artifact to its commit', (flavour) => {
  let catalog: TestCatalog;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    memory.short = false;
    await catalog?.close();
  });

  it('commits the artifact as it would have', { timeout: 20_000 }, async () => {
    const p = prepareCapture({
      host: 'esx-short',
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: 'lun0.hex',
          device: '/dev/disks/naa.600144f0c0ffee000000000000000055',
          bytes: buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 55 }),
          gzip: true,
        },
      ],
    });
    const missing = [...new Set((await begin(catalog, p.request)).missing.map((m) => m.sha256))];
    memory.short = true;
    const res = await catalog.request(`/v1/captures/${p.request.captureId}/chunks`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: frameChunks(missing.map((s) => [s, p.stored.get(s)!])) as unknown as BodyInit,
    });
    expect(res.status).toBe(200);
    await res.body?.cancel();
    await arrivedOf(catalog.services.store).idle();
    memory.short = false;

    const done = await commit(catalog, p.request.captureId);
    expect(done.artifacts.map((a) => a.parseStatus)).toEqual(['ok']);
    // A turn for any rejection left behind to be reported.
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
  });
});
