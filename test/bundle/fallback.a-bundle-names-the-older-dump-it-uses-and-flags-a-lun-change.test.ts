/**
 * When a device's newest header dump is damaged in the catalog, the bundle restores the
 * extent from an older dump — and says which one: bundle.json's `leftOut[].replacedBy` and
 * `olderDumps`, and RESTORE.md, name its capture, host, time and artifact, also when the
 * older dump is another host's (another series). When the newer dump's LUN differs from the
 * older one's, both say so in one sentence with what to check before restore.sh runs.
 * The same when the newer capture holds no dump of the device at all, only an inventory that
 * sees it at another LUN. Over real HTTP: the bundle is downloaded and unpacked with tar.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { damageChunk, readVerifiedBundle, unpackBundle } from '../helpers/bundle-tar.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { EXTENT1, EXTENT2, HOUR, PROD, T0, extent1Dump, extent2Dump, seedDatacenter, vmlOf, type Seeded } from '../api/read-side-seed.js';
import { esxcliDeviceList, esxcliExtentList } from '../fixtures/text-fixtures.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** The last 1 MiB chunk of a dump (docs/architecture: artifacts are stored as 1 MiB chunks). */
const lastChunk = (b: Uint8Array) => b.subarray(Math.floor((b.length - 1) / CHUNK_SIZE) * CHUNK_SIZE);

describeEachFlavour('restore bundle naming the older dump it uses', (flavour) => {
  let catalog: TestCatalog;
  let seeded: Seeded;
  const temps: string[] = [];
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    seeded = await seedDatacenter(catalog);
  });
  afterAll(async () => {
    await catalog?.close();
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  const download = async () => readVerifiedBundle(await unpackBundle(await catalog.request(`/v1/volumes/${PROD.vmfsUuid}/restore-bundle`), temps));
  const seededDump = (deviceId: string) => seeded.esx01.artifacts.find((a) => a.fileName === `${deviceId}.hex`)!;

  it("names another host's older dump in place of a damaged newer one whose facts agree", async () => {
    // esx03 dumps extent 1 three hours later: the same table and LUN, other bytes past them.
    const newer = extent1Dump({ noiseSeed: 31 });
    expect(sha256(lastChunk(newer))).not.toBe(sha256(lastChunk(extent1Dump())));
    const later = await ingest(catalog, {
      host: 'esx03',
      hostKind: 'esxi',
      collectedAt: new Date(T0.getTime() + 3 * HOUR),
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: `${EXTENT1.deviceId}.hex`,
          sourcePath: `/vmfs/devices/disks/${EXTENT1.deviceId}`,
          device: EXTENT1.deviceId,
          bytes: newer,
        },
      ],
    });
    await damageChunk(catalog, sha256(lastChunk(newer)));
    const { json, guide } = await download();
    const used = {
      artifactId: seededDump(EXTENT1.deviceId).id,
      captureId: seeded.esx01.captureId,
      host: 'esx01',
      path: `esx01/vmfs-header/${EXTENT1.deviceId}.hex`,
      collectedAt: T0.toISOString(),
    };
    // Another host's dump is another series: it used to read "replacedBy: null".
    expect(json.leftOut.find((l: { artifactId: string }) => l.artifactId === later.artifacts[0].id)).toMatchObject({ replacedBy: used });
    const older = json.olderDumps.find((o: { deviceId: string }) => o.deviceId === EXTENT1.deviceId);
    expect(older).toMatchObject({
      used,
      newest: { artifactId: later.artifacts[0].id, captureId: later.captureId, host: 'esx03' },
      reason: 'left-out',
      differences: [],
      warning: null,
    });
    expect(guide).toContain('## Restored from an older header dump');
    expect(guide).toContain(`capture ${seeded.esx01.captureId}, artifact ${used.artifactId}`);
    expect(guide).not.toContain('nothing: no other capture reads whole');
    expect(guide).not.toContain('Check before running restore.sh');
  });

  it('flags a LUN the older dump disagrees on, in bundle.json and RESTORE.md', async () => {
    // esx01's next capture: extent 2's LVM header now records LUN 9 (re-presented), and that dump is damaged.
    const newer = extent2Dump({ lun: 9 });
    const later = await ingest(catalog, {
      host: 'esx01',
      hostKind: 'esxi',
      collectedAt: new Date(T0.getTime() + 4 * HOUR),
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: `${EXTENT2.deviceId}.hex`,
          sourcePath: `/vmfs/devices/disks/${EXTENT2.deviceId}`,
          device: EXTENT2.deviceId,
          bytes: newer,
        },
      ],
    });
    expect(sha256(lastChunk(newer))).not.toBe(sha256(lastChunk(extent2Dump())));
    await damageChunk(catalog, sha256(lastChunk(newer)));
    const { json, guide } = await download();
    const older = json.olderDumps.find((o: { deviceId: string }) => o.deviceId === EXTENT2.deviceId);
    expect(older).toMatchObject({
      used: { artifactId: seededDump(EXTENT2.deviceId).id, captureId: seeded.esx01.captureId, host: 'esx01', collectedAt: T0.toISOString() },
      newest: { artifactId: later.artifacts[0].id, captureId: later.captureId, collectedAt: new Date(T0.getTime() + 4 * HOUR).toISOString() },
      reason: 'left-out',
      differences: [{ fact: 'lun', dump: EXTENT2.lun, newest: 9 }],
    });
    expect(older.warning).toContain(`LUN ${EXTENT2.lun} in the dump, LUN 9 in the newer capture`);
    expect(older.warning).toContain('before running restore.sh --apply, check which LUN the storage presents the device at now');
    expect(guide).toContain(`**Check before running restore.sh:** ${older.warning}`);
    expect(json.leftOut.find((l: { artifactId: string }) => l.artifactId === later.artifacts[0].id).replacedBy).toMatchObject({
      captureId: seeded.esx01.captureId,
      artifactId: seededDump(EXTENT2.deviceId).id,
    });
  });
});

describeEachFlavour('restore bundle whose newest capture of a device holds no dump of it', (flavour) => {
  let catalog: TestCatalog;
  let seeded: Seeded;
  const temps: string[] = [];
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    seeded = await seedDatacenter(catalog);
  });
  afterAll(async () => {
    await catalog?.close();
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  it("flags the LUN a later inventory sees when it differs from the dump's, and says nothing of one that agrees", async () => {
    // esx01, three hours on: an inventory only, extent 1 now at LUN 6 (the vml's LUN: docs/formats.md §3), extent 2 unchanged.
    const later = await ingest(catalog, {
      host: 'esx01',
      hostKind: 'esxi',
      collectedAt: new Date(T0.getTime() + 3 * HOUR),
      artifacts: [
        {
          kind: 'esx-inventory',
          fileName: 'inventory.txt',
          sourcePath: 'esxcli',
          bytes: new TextEncoder().encode(
            [
              esxcliDeviceList([
                { id: EXTENT1.deviceId, vendor: 'SUN', model: 'COMSTAR', sizeMb: 102400, vml: vmlOf(EXTENT1.deviceId, 6) },
                { id: EXTENT2.deviceId, vendor: 'SUN', model: 'COMSTAR', sizeMb: 102400, vml: vmlOf(EXTENT2.deviceId, EXTENT2.lun) },
              ]),
              esxcliExtentList([
                { volumeName: PROD.label, vmfsUuid: PROD.vmfsUuid, extentNumber: 0, deviceName: EXTENT1.deviceId, partition: 1 },
                { volumeName: PROD.label, vmfsUuid: PROD.vmfsUuid, extentNumber: 1, deviceName: EXTENT2.deviceId, partition: 1 },
              ]),
            ].join('\n'),
          ),
        },
      ],
    });
    const { json, guide } = await readVerifiedBundle(await unpackBundle(await catalog.request(`/v1/volumes/${PROD.vmfsUuid}/restore-bundle`), temps));
    expect(json.leftOut).toEqual([]);
    const byDevice = (d: string) => json.olderDumps.find((o: { deviceId: string }) => o.deviceId === d);
    const dump1 = seeded.esx01.artifacts.find((a) => a.fileName === `${EXTENT1.deviceId}.hex`)!;
    expect(byDevice(EXTENT1.deviceId)).toMatchObject({
      used: { artifactId: dump1.id, captureId: seeded.esx01.captureId, host: 'esx01', collectedAt: T0.toISOString() },
      newest: { captureId: later.captureId, kind: 'esx-inventory' },
      reason: 'no-dump',
      differences: [{ fact: 'lun', dump: EXTENT1.lun, newest: 6 }],
    });
    expect(byDevice(EXTENT1.deviceId).warning).toContain(
      `which holds no header dump of it, and the two differ: LUN ${EXTENT1.lun} in the dump, LUN 6 in the newer capture`,
    );
    expect(byDevice(EXTENT2.deviceId)).toMatchObject({ reason: 'no-dump', differences: [], warning: null });
    expect(guide).toContain(`**Check before running restore.sh:** ${byDevice(EXTENT1.deviceId).warning}`);
    // Only the extent that differs is in the guide: an inventory newer than a dump is the usual case.
    expect(guide).not.toContain(`- Extent 2 (${EXTENT2.deviceId})`);
  });
});
