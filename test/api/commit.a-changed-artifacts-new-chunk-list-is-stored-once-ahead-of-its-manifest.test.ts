/**
 * A changed artifact's new chunk list is stored while the commit's transaction claims the
 * capture (api/pipeline/chunk-lists.ts storeAbsentChunkLists), so the manifest waits for no PUT:
 * once, before the manifest, and the transaction gives it its `blobs` row (the object's stored
 * size) and names it on the artifact; the transaction's own store of absent lists leaves it out
 * (no second PUT). An unchanged capture stores no list at all.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { artifacts, blobs } from '../../db/schema.js';
import { chunkKey, manifestKey } from '../../api/store/types.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';

describeEachFlavour('commit: a changed artifact’s new chunk list', (flavour) => {
  let catalog: TestCatalog;
  const calls: string[] = [];
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const store = catalog.services.store as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const name of ['put', 'putIfAbsent']) {
      const fn = store[name];
      store[name] = (...args: unknown[]) => {
        calls.push(`${name} ${String(args[0])}`);
        return fn.apply(catalog.services.store, args);
      };
    }
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('is stored once, before the manifest, and has its row; an unchanged capture stores none', async () => {
    const host = `esx-lists-${flavour}`;
    const disk = buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 4242 });
    const dump = (bytes: Uint8Array) => ({
      host,
      artifacts: [{ kind: 'vmfs-header' as const, fileName: 'lun0.hex', device: 'naa.600144f0c0ffee000000000000004242', bytes, gzip: true }],
    });
    await ingest(catalog, dump(disk));
    const changed = new Uint8Array(disk);
    changed.set(randomBytes(4096), changed.length - 8192);
    calls.length = 0;
    const second = await ingest(catalog, dump(changed));
    const [row] = await catalog.services.db.select({ chunkList: artifacts.chunkList }).from(artifacts).where(eq(artifacts.id, second.artifacts[0].id));
    const list = row.chunkList!;
    // (On S3 a putIfAbsent is a conditional put: the put it makes is the same request.)
    const listPuts = calls.filter((c) => c === `putIfAbsent ${chunkKey(list)}`);
    expect(listPuts).toHaveLength(1);
    expect(calls.indexOf(listPuts[0])).toBeLessThan(calls.indexOf(`put ${manifestKey(host, second.captureId)}`));
    const [blob] = await catalog.services.db.select().from(blobs).where(eq(blobs.sha256, list));
    expect(blob.storedSize).toBe((await catalog.services.store.head(chunkKey(list)))!.size);

    calls.length = 0;
    const third = await ingest(catalog, dump(changed));
    expect(calls.filter((c) => c.startsWith('putIfAbsent'))).toEqual([]);
    expect(calls.filter((c) => c.includes('chunks/'))).toEqual([]);
    expect(calls).toContain(`put ${manifestKey(host, third.captureId)}`);
  });
});
