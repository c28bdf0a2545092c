/**
 * Chunks kept artifacts reference that the store no longer shows raise `chunk-missing`: one
 * critical event per volume (and per host for artifacts on no volume), not one per chunk — a
 * store lost whole is three events here, however many chunks it held — with its webhook sent
 * by the maintenance pass itself. A second pass repeats nothing; the chunks put back resolve
 * the events at the next pass, and a collector's capture uploading them again resolves its
 * own at its commit. A store whose listing fails (a chunks directory that is a file) raises
 * nothing.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deliveriesSettled } from '../../api/events/webhook.js';
import { runMaintenance } from '../../api/maintenance.js';
import { chunkKey } from '../../api/store/types.js';
import { events } from '../../db/schema.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, sha256Hex } from '../helpers/ingest-client.js';

const VOLUME_B = '5b2d4f80-3c5e7f91-a2b3-0050569a1b2d';
const snapshots = new TextEncoder().encode('tank/l@snap1\t1793491200\t1\n'.repeat(50));

describeEachFlavour('chunk-missing', (flavour) => {
  let catalog: TestCatalog;
  const hooks: string[] = [];
  const receiver = createServer((req, res) => {
    hooks.push(String(req.headers['x-catalog-event']));
    req.resume();
    req.on('end', () => res.end());
  });
  beforeAll(async () => {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const { port } = receiver.address() as AddressInfo;
    catalog = await startTestCatalog(flavour, { env: { WEBHOOK_URL: `http://127.0.0.1:${port}/hook`, SCRUB_PERCENT: '0' } });
  });
  afterAll(async () => {
    await catalog?.close();
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  const open = () =>
    catalog.services.db
      .select()
      .from(events)
      .where(and(eq(events.type, 'chunk-missing'), isNull(events.resolvedAt)))
      .orderBy(events.id);
  const pass = async () => {
    const done = await runMaintenance(catalog.services);
    expect(done.failed).toEqual([]);
    await deliveriesSettled(catalog.services);
    return done.chunkMissing;
  };

  it('one event per volume and host, raised once, resolved when the chunks are back', { timeout: 180_000 }, async () => {
    const headerA = buildVmfsDisk();
    const headerB = buildVmfsDisk({ vmfsUuid: VOLUME_B, label: 'datastore2', deviceId: 'naa.6006016012345678abcdef01234567aa' });
    for (const day of [1, 2])
      await ingest(catalog, {
        host: 'esx1',
        hostKind: 'esxi',
        collectedAt: new Date(Date.UTC(2026, 10, day, 3)),
        artifacts: [
          { kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: headerA },
          { kind: 'vmfs-header', fileName: 'sdc.hex', device: 'naa.6006016012345678abcdef01234567aa', bytes: headerB },
        ],
      });
    await ingest(catalog, {
      host: 'nas1',
      collectedAt: new Date(Date.UTC(2026, 10, 2, 3)),
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: snapshots }],
    });
    const { store } = catalog.services;
    expect(await pass()).toEqual({ raised: 0, resolved: 0, holding: 0 });
    hooks.length = 0; // what the captures raised

    // One chunk both days' dumps of volume A share (its LVM header, second MiB), deleted from the store.
    const shared = sha256Hex(headerA.subarray(1024 * 1024, 2 * 1024 * 1024));
    const kept = new Map<string, Uint8Array>();
    for await (const o of store.list('chunks/')) kept.set(o.key, (await store.getBytes(o.key))!);
    expect(kept.has(chunkKey(shared))).toBe(true);
    await store.delete(chunkKey(shared));
    expect(await pass()).toMatchObject({ raised: 1, holding: 1 });
    let now = await open();
    expect(now.map((e) => [e.vmfsUuid, e.severity])).toEqual([[DEFAULTS.vmfsUuid, 'critical']]);
    expect(now[0].details).toMatchObject({ chunkCount: 1, chunks: [shared], artifactCount: 2 });
    expect(now[0].message).toContain('1 stored chunk of sdb.hex and 1 other artifact of this volume is missing from the store');
    expect(hooks).toEqual(['event.raised']);
    // Still missing an hour later: the same event, no second one.
    expect(await pass()).toMatchObject({ raised: 0, resolved: 0, holding: 1 });
    expect((await open()).map((e) => e.id)).toEqual(now.map((e) => e.id));

    // The whole store gone (a bucket prefix deleted, a mount not there): one event per volume and host.
    for (const key of kept.keys()) await store.delete(key);
    expect(kept.size).toBeGreaterThan(6);
    expect(await pass()).toMatchObject({ raised: 2, holding: 3 });
    now = await open();
    expect(now.map((e) => [e.vmfsUuid, e.host])).toEqual([
      [DEFAULTS.vmfsUuid, 'esx1'],
      [VOLUME_B, 'esx1'],
      [null, 'nas1'],
    ]);
    expect(hooks.filter((h) => h === 'event.raised')).toHaveLength(3);

    // Put back but for the snapshot list's: the next pass resolves both volumes' events.
    const nasChunk = sha256Hex(snapshots);
    for (const [key, bytes] of kept) if (key !== chunkKey(nasChunk)) await store.put(key, bytes);
    expect(await pass()).toMatchObject({ raised: 0, resolved: 2, holding: 1 });
    expect((await open()).map((e) => e.host)).toEqual(['nas1']);
    expect(hooks.filter((h) => h === 'event.resolved')).toHaveLength(2);

    // The host captures the same bytes again: its commit uploads the chunk and resolves its event.
    await ingest(catalog, {
      host: 'nas1',
      collectedAt: new Date(Date.UTC(2026, 10, 3, 3)),
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: snapshots }],
    });
    expect(await open()).toEqual([]);
    expect(await pass()).toEqual({ raised: 0, resolved: 0, holding: 0 });

    if (flavour === 'embedded') {
      // A chunks directory that is a file (a failed mount): the listing fails, no event is raised.
      for (const key of kept.keys()) await store.delete(key);
      rmSync(join(catalog.dataDir, 'blobs', 'chunks'), { recursive: true, force: true });
      writeFileSync(join(catalog.dataDir, 'blobs', 'chunks'), '');
      const done = await runMaintenance(catalog.services);
      expect(done.failed.map((f) => f.step)).toEqual(['chunk listing']);
      expect(done.chunkMissing).toBeNull();
      expect(await open()).toEqual([]);
    }
  });
});
