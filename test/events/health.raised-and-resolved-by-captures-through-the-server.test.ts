/**
 * The health events, each raised by real captures through the server (the ingest protocol
 * over the app) and resolved by the capture or scan that finds the condition gone:
 * - target-guid-mismatch: an ESX host's extent on a Sun-OUI device (600144f…, COMSTAR and
 *   iscsitgt GUIDs; docs/formats.md §3) that no captured LU presents; and an LU on a DR
 *   storage host whose zvol holds a VMFS header naming another device (a replica presented
 *   under a new GUID, which ESX treats as a snapshot LUN: VMware KB 1011387);
 * - backing-store-missing: an LU's zvol absent from its host's newest `zfs list -t snapshot`,
 *   or whose newest snapshot is older than REPLICATION_PERIOD_HOURS;
 * - host-stale: no capture for STALE_AFTER_HOURS at the injected clock, raised by the
 *   scheduled run (runMaintenance), the admin route and the CLI entry's check, resolved by
 *   the host's next capture.
 * The world is test/api/read-side-seed.ts: esx01 sees the two extents of prod-datastore-01,
 * sol01 presents them as iscsitgt LUs from tank/vmfs/lun3 and lun4 with snapshots.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, type TestArtifact } from '../helpers/ingest-client.js';
import { EXTENT1, EXTENT2, HOUR, IQN, PROD, T0, extent1Dump, seedDatacenter } from '../api/read-side-seed.js';
import { collectorFile, esxcliDeviceList, iscsitgtExport, zfsListSnapshots } from '../fixtures/text-fixtures.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { runMaintenance } from '../../api/maintenance.js';

interface Json {
  [k: string]: any;
}

const enc = (s: string) => new TextEncoder().encode(s);
const at = (hours: number) => new Date(T0.getTime() + hours * HOUR);
const unix = (d: Date) => Math.floor(d.getTime() / 1000);

/** A third Sun-OUI device holding another volume, seen by esx01 before any LU presents it. */
const NEW_LU = { deviceId: 'naa.600144f0000000000000000000005555', lun: 5, zvol: '/dev/zvol/rdsk/tank/vmfs/lun5', dataset: 'tank/vmfs/lun5' };
const NEW_VMFS = '6a000001-00000002-0003-000c29000004';
/** The replica of extent 1 on the DR host, presented under a new GUID. */
const REPLICA = { deviceId: 'naa.600144f0dddddddddddddddddddd0003', zvol: '/dev/zvol/rdsk/dr/vmfs/lun3' };

interface Lu {
  lun: number;
  deviceId: string;
  zvol: string;
}
const PROD_LUS: Lu[] = [
  { lun: EXTENT1.lun, deviceId: EXTENT1.deviceId, zvol: EXTENT1.zvol },
  { lun: EXTENT2.lun, deviceId: EXTENT2.deviceId, zvol: EXTENT2.zvol },
];

function exportOf(lus: Lu[], iqn = IQN): TestArtifact {
  return {
    kind: 'iscsitgt-smf',
    fileName: 'iscsitgt.xml',
    sourcePath: 'svccfg export iscsitgt',
    bytes: enc(
      iscsitgtExport({
        targets: [{ name: 'prod', iqn, luns: lus.map((l) => ({ lun: l.lun, guid: l.deviceId.slice(4), backingStore: l.zvol, blocks: 0xc800000 })) }],
      }),
    ),
  };
}

function listingOf(snapshots: { dataset: string; name: string; created: Date }[]): TestArtifact {
  return {
    kind: 'zfs-snapshots',
    fileName: 'zfs-snapshots.txt',
    sourcePath: 'zfs list -t snapshot',
    bytes: enc(zfsListSnapshots(snapshots.map((s) => ({ name: `${s.dataset}@${s.name}`, creation: unix(s.created), used: 1024 })))),
  };
}

describeEachFlavour('health events from captures', (flavour) => {
  let catalog: TestCatalog;
  let clock = at(3);
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => clock });
    await seedDatacenter(catalog);
  });
  afterAll(async () => catalog?.close());

  const events = async (query: string): Promise<Json[]> => {
    const res = await catalog.request(`/v1/events${query}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as Json).events;
  };
  const capture = (host: string, hours: number, artifacts: TestArtifact[]) => {
    clock = at(hours);
    return ingest(catalog, { host, hostKind: host.startsWith('esx') ? 'esxi' : 'solaris', collectedAt: at(hours), artifacts });
  };

  it('a consistent datacenter raises none of them', async () => {
    for (const type of ['target-guid-mismatch', 'backing-store-missing', 'host-stale']) expect(await events(`?type=${type}`), type).toEqual([]);
  });

  it('target-guid-mismatch: an extent no captured LU presents, resolved once its LU is captured', async () => {
    await capture('esx01', 24, [
      {
        kind: 'vmfs-header',
        fileName: `${NEW_LU.deviceId}.hex`,
        sourcePath: `/vmfs/devices/disks/${NEW_LU.deviceId}`,
        device: NEW_LU.deviceId,
        bytes: buildVmfsDisk({
          lvmMajor: 5,
          vmfsUuid: NEW_VMFS,
          segmentUuid: '6a000000-00000002-0003-000c29000004',
          label: 'new-ds',
          deviceId: NEW_LU.deviceId,
          lun: NEW_LU.lun,
          noiseSeed: 9,
        }),
      },
    ]);
    const [raised, ...more] = await events('?type=target-guid-mismatch');
    expect(more).toEqual([]);
    expect(raised).toMatchObject({
      severity: 'warning',
      host: 'esx01',
      deviceId: NEW_LU.deviceId,
      vmfsUuid: NEW_VMFS,
      resolvedAt: null,
      condition: `target-guid-mismatch:extent:${NEW_LU.deviceId}`,
      details: { seenBy: ['esx01'], storageHosts: ['sol01'] },
    });
    expect(raised.message).toContain('presented by no LU');
    // The next esx01 capture sees the same extent: still one event.
    await capture('esx01', 25, [
      {
        kind: 'vmfs-header',
        fileName: `${NEW_LU.deviceId}.hex`,
        sourcePath: `/vmfs/devices/disks/${NEW_LU.deviceId}`,
        device: NEW_LU.deviceId,
        bytes: buildVmfsDisk({
          lvmMajor: 5,
          vmfsUuid: NEW_VMFS,
          segmentUuid: '6a000000-00000002-0003-000c29000004',
          label: 'new-ds',
          deviceId: NEW_LU.deviceId,
          lun: NEW_LU.lun,
          noiseSeed: 9,
        }),
      },
    ]);
    expect((await events('?type=target-guid-mismatch')).map((e) => e.id)).toEqual([raised.id]);

    // sol01 now presents it, its zvol snapshotted like the others.
    await capture('sol01', 26, [
      exportOf([...PROD_LUS, { lun: NEW_LU.lun, deviceId: NEW_LU.deviceId, zvol: NEW_LU.zvol }]),
      listingOf([
        { dataset: EXTENT1.dataset, name: 'h26', created: at(25.5) },
        { dataset: EXTENT2.dataset, name: 'h26', created: at(25.5) },
        { dataset: NEW_LU.dataset, name: 'h26', created: at(25.5) },
      ]),
    ]);
    const [after] = await events('?type=target-guid-mismatch');
    expect(after.id).toBe(raised.id);
    expect(after.resolvedAt).toBe(at(26).toISOString());
    expect(await events('?type=target-guid-mismatch&status=open')).toEqual([]);
    expect((await events('?type=target-guid-mismatch&status=resolved')).map((e) => e.id)).toEqual([raised.id]);
    expect(await events('?type=backing-store-missing')).toEqual([]);
  });

  it('target-guid-mismatch: an LU on a DR storage host whose zvol holds a header naming another device', async () => {
    // dr01 presents the replica of extent 1 under a new GUID; the collector dumped the LU's zvol.
    const { artifacts } = await capture('dr01', 27, [
      exportOf([{ lun: EXTENT1.lun, deviceId: REPLICA.deviceId, zvol: REPLICA.zvol }], 'iqn.1986-03.com.sun:02:dr'),
      { kind: 'vmfs-header', fileName: 'vmfs-header-replica.bin', sourcePath: REPLICA.zvol, device: REPLICA.deviceId, bytes: extent1Dump() },
    ]);
    const found = await events('?type=target-guid-mismatch&status=open');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      severity: 'critical',
      host: 'dr01',
      deviceId: EXTENT1.deviceId,
      vmfsUuid: PROD.vmfsUuid,
      details: { luDeviceId: REPLICA.deviceId, headerDeviceId: EXTENT1.deviceId, backingStore: REPLICA.zvol, lun: EXTENT1.lun },
    });
    expect(found[0].message).toContain(EXTENT1.deviceId.slice(4).toUpperCase());
    // Reported once, as target-guid-mismatch: the dump is not also a device-id-changed drift.
    const dump = artifacts.find((a) => a.kind === 'vmfs-header')!;
    expect((await events('?type=device-id-changed')).filter((e) => e.artifactId === dump.id)).toEqual([]);
    // The volume's own view lists it (the event names the header's device).
    const volume = (await (await catalog.request(`/v1/volumes/${PROD.vmfsUuid}`)).json()) as Json;
    expect(volume.events.map((e: Json) => e.id)).toContain(found[0].id);

    // The DR LU given the saved GUID: resolved.
    await capture('dr01', 28, [
      exportOf([{ lun: EXTENT1.lun, deviceId: EXTENT1.deviceId, zvol: REPLICA.zvol }], 'iqn.1986-03.com.sun:02:dr'),
      { kind: 'vmfs-header', fileName: 'vmfs-header-replica.bin', sourcePath: REPLICA.zvol, device: EXTENT1.deviceId, bytes: extent1Dump() },
    ]);
    expect(await events('?type=target-guid-mismatch&status=open')).toEqual([]);
  });

  it('backing-store-missing: a zvol gone from the snapshot listing, and one whose newest snapshot is too old', async () => {
    await capture('sol01', 80, [
      exportOf([...PROD_LUS, { lun: NEW_LU.lun, deviceId: NEW_LU.deviceId, zvol: NEW_LU.zvol }]),
      listingOf([
        // lun3 still snapshotted hourly; lun4 not since hour 25.5 (54.5 h > 48 h); lun5 gone.
        { dataset: EXTENT1.dataset, name: 'h80', created: at(79.5) },
        { dataset: EXTENT2.dataset, name: 'h26', created: at(25.5) },
      ]),
    ]);
    const open = await events('?type=backing-store-missing&status=open');
    const byDataset = new Map(open.map((e) => [e.details.dataset, e]));
    expect([...byDataset.keys()].sort()).toEqual([EXTENT2.dataset, NEW_LU.dataset]);
    expect(byDataset.get(NEW_LU.dataset)).toMatchObject({
      severity: 'critical',
      host: 'sol01',
      deviceId: NEW_LU.deviceId,
      details: { reason: 'not-listed', listedBefore: true },
    });
    expect(byDataset.get(NEW_LU.dataset)!.message).toContain('no longer appears');
    expect(byDataset.get(EXTENT2.dataset)).toMatchObject({
      severity: 'warning',
      host: 'sol01',
      deviceId: EXTENT2.deviceId,
      vmfsUuid: null,
      details: { reason: 'no-recent-snapshot', newestSnapshot: 'h26', replicationPeriodHours: 48 },
    });
    // The volume's events (?vmfsUuid=) hold those of its devices, as its page lists them.
    const ofVolume = await events(`?vmfsUuid=${PROD.vmfsUuid}&type=backing-store-missing&status=open`);
    expect(ofVolume.map((e) => e.id)).toEqual([byDataset.get(EXTENT2.dataset)!.id]);
    const page = (await (await catalog.request(`/v1/volumes/${PROD.vmfsUuid}`)).json()) as Json;
    expect(page.events.map((e: Json) => e.id)).toContain(byDataset.get(EXTENT2.dataset)!.id);

    // Replication caught up and lun5 snapshotted again: both resolved by the next capture.
    await capture('sol01', 81, [
      exportOf([...PROD_LUS, { lun: NEW_LU.lun, deviceId: NEW_LU.deviceId, zvol: NEW_LU.zvol }]),
      listingOf([
        { dataset: EXTENT1.dataset, name: 'h81', created: at(80.5) },
        { dataset: EXTENT2.dataset, name: 'h81', created: at(80.5) },
        { dataset: NEW_LU.dataset, name: 'h81', created: at(80.5) },
      ]),
    ]);
    expect(await events('?type=backing-store-missing&status=open')).toEqual([]);
    const resolved = await events('?type=backing-store-missing&status=resolved');
    expect(resolved.map((e) => e.id).sort()).toEqual(open.map((e) => e.id).sort());
    expect(resolved.every((e) => e.resolvedAt === at(81).toISOString())).toBe(true);
  });

  it("host-stale: raised once by the scheduled run, resolved by the host's next capture; acknowledged ones filter apart", async () => {
    // Hour 100: esx01 last captured at 25, esx02 at 2, dr01 at 28 — stale; sol01 at 81 is not.
    clock = at(100);
    const first = await runMaintenance(catalog.services);
    expect(first.events?.raised).toBe(3);
    const stale = await events('?type=host-stale&status=open');
    expect(stale.map((e) => e.host).sort()).toEqual(['dr01', 'esx01', 'esx02']);
    expect(stale.find((e) => e.host === 'esx02')).toMatchObject({
      severity: 'warning',
      condition: 'host-stale:esx02',
      details: { lastCollectedAt: at(2).toISOString(), hoursSince: 98, staleAfterHours: 36 },
    });
    // Again through the admin route: nothing new.
    const scan = await catalog.request('/v1/admin/events/scan', { method: 'POST' });
    expect(scan.status).toBe(200);
    expect(await scan.json()).toMatchObject({ raised: 0, resolved: 0 });
    expect(await events('?type=host-stale')).toHaveLength(3);

    // esx02 sends a capture: its host-stale is resolved by the commit.
    await capture('esx02', 101, [exportOfNothing()]);
    const esx02 = (await events('?type=host-stale&host=esx02'))[0];
    expect(esx02.resolvedAt).toBe(at(101).toISOString());

    // An operator acknowledges dr01's with a note: it leaves the open list.
    const dr01 = (await events('?type=host-stale&host=dr01'))[0];
    const ack = await catalog.request(`/v1/events/${dr01.id}/ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'DR host powered off for the move' }),
    });
    expect(ack.status).toBe(200);
    expect((await events('?type=host-stale&status=open')).map((e) => e.host)).toEqual(['esx01']);
    expect(await events('?type=host-stale&status=acknowledged')).toMatchObject([{ host: 'dr01', ackNote: 'DR host powered off for the move' }]);
    // Still stale at the next scan, acknowledged: not raised again.
    expect((await runMaintenance(catalog.services)).events?.raised).toBe(0);
    const bogus = await catalog.request('/v1/events?status=bogus');
    expect(bogus.status).toBe(400);
  });
});

/** An ESX capture with an empty inventory: enough to count as the host's capture. */
function exportOfNothing(): TestArtifact {
  return {
    kind: 'esx-inventory',
    fileName: 'inventory.txt',
    sourcePath: 'esxcli',
    bytes: enc(collectorFile([{ command: 'esxcli storage core device list', output: esxcliDeviceList([]) }])),
  };
}
