/**
 * The scheduled scrub (api/retention/check.ts `scrubChunks`, run by the maintenance pass)
 * walks the `blobs` records in hash order a page at a time from where the last slice
 * stopped: over 100/percent passes it reads every chunk once and wraps; a chunk it finds
 * corrupt raises its event listing the artifacts that hold it, found by a lookup asked only
 * for that chunk; one it finds gone is reported and its record doubted.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runMaintenance, SCRUB_EVERY_MS } from '../../api/maintenance.js';
import { artifactsNaming, scrubChunks } from '../../api/retention/check.js';
import { chunkKey } from '../../api/store/types.js';
import { blobs, events } from '../../db/schema.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, sha256Hex } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;

describeEachFlavour('the scheduled scrub walks the records a page at a time', (flavour) => {
  let catalog: TestCatalog;
  let skew = 0;
  let artifactIds: string[] = [];
  let firstChunk = '';
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => new Date(Date.now() + skew) });
    // Five artifacts of 3 chunks each, and a sixth naming the first one's first chunk again.
    const pieces = Array.from({ length: 5 }, () => randomBytes(2 * MiB + 100));
    const done = await ingest(catalog, {
      host: 'esx-scrub',
      artifacts: [
        ...pieces.map((bytes, i) => ({ kind: 'vmfs-undelete' as const, fileName: `p${i}.tgz`, bytes })),
        { kind: 'unknown' as const, fileName: 'again.bin', bytes: pieces[0].subarray(0, MiB) },
      ],
    });
    expect(done.state).toBe('committed');
    artifactIds = done.artifacts.map((a: { id: string }) => a.id);
    firstChunk = sha256Hex(pieces[0].subarray(0, MiB));
  }, 120_000);
  afterAll(async () => {
    await catalog?.close();
  });

  it('over 100/percent passes every record is read once, in hash order, and the cursor wraps', async () => {
    const { db, store } = catalog.services;
    const records = (await db.select({ sha256: blobs.sha256 }).from(blobs)).map((r) => r.sha256).sort();
    const reads: string[] = [];
    const getBytes = store.getBytes;
    store.getBytes = async (key: string) => {
      reads.push(key);
      return getBytes.call(store, key);
    };
    try {
      const percent = 25;
      const passes: Array<{ read: number; wrapped: boolean; to: string | null }> = [];
      for (let i = 0; i < 4; i++) passes.push(await scrubChunks(catalog.services, percent, async () => new Map(), { pageRows: 2 }));
      const each = Math.ceil((records.length * percent) / 100);
      expect(passes.map((p) => p.read)).toEqual([each, each, each, each]);
      // The first four slices cover the records in order (the last one wraps to the start).
      const order = reads.map((k) => k.slice(k.lastIndexOf('/') + 1));
      const covered = each * 4;
      expect(order).toEqual(Array.from({ length: covered }, (_, i) => records[i % records.length]));
      expect(new Set(order).size).toBe(records.length);
      expect(passes.map((p) => p.wrapped)).toEqual(covered > records.length ? [false, false, false, true] : [false, false, false, false]);
    } finally {
      store.getBytes = getBytes;
    }
  });

  it('a corrupt chunk found by the maintenance pass names every artifact holding it; a gone one is doubted', async () => {
    const { db, store } = catalog.services;
    expect([...(await artifactsNaming(db, [firstChunk])).get(firstChunk)!].sort()).toEqual([artifactIds[0], artifactIds[5]].sort());
    const good = await store.getBytes(chunkKey(firstChunk));
    const bad = new Uint8Array(good!);
    bad[bad.length - 1] ^= 0xff;
    await store.put(chunkKey(firstChunk), bad);
    const [gone] = (await db.select({ sha256: blobs.sha256 }).from(blobs)).map((r) => r.sha256).filter((s) => s !== firstChunk);
    await store.delete(chunkKey(gone));
    skew += SCRUB_EVERY_MS;
    const done = await runMaintenance({ ...catalog.services, config: { ...catalog.services.config, SCRUB_PERCENT: 100 } });
    expect(done.failed).toEqual([]);
    expect(done.scrub).toMatchObject({ corrupt: 1, clean: false });
    // One event for the host's artifacts on no volume, listing both.
    const raised = await db.select().from(events).where(eq(events.type, 'chunk-corrupt'));
    expect(raised).toHaveLength(1);
    expect([...(raised[0].details as { artifacts: string[] }).artifacts].sort()).toEqual([artifactIds[0], artifactIds[5]].sort());
    const [doubted] = await db.select().from(blobs).where(eq(blobs.sha256, gone));
    expect(doubted.lastVerified.getTime()).toBe(0);
  });
});
