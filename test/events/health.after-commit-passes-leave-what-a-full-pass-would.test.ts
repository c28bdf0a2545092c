/**
 * The health pass after a commit evaluates only the conditions its capture can change
 * (healthScopeOf); the scheduled pass evaluates all of them. After every capture of a
 * sequence across two ESX hosts and three storage hosts, a full pass (run in a transaction
 * that is rolled back) finds nothing to raise and nothing to resolve: the scoped passes left
 * exactly the unresolved events a full pass would. The sequence covers an LU moving from one
 * storage host to another, a GUID mismatch raised by a storage capture and resolved by an ESX
 * capture, a snapshot listing going stale and fresh again, a zvol's header naming another
 * device, captures dropping an LU and an extent, and a storage host presenting a new vendor's
 * LU (which changes which extents are expected to be presented anywhere: a full pass).
 * After each capture the scoped state also yields, condition for condition (messages and
 * details included), what the full state yields within the scope.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import {
  conditionInScope,
  gatherHealthState,
  gatherScopedHealthState,
  healthConditions,
  healthScopeOf,
  reconcileHealth,
  type HealthCondition,
  type HealthScope,
  type Reconciled,
} from '../../api/events/health.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, type TestArtifact } from '../helpers/ingest-client.js';
import { collectorFile, esxcliExtentList, iscsitgtExport, zfsListSnapshots } from '../fixtures/text-fixtures.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';

const enc = (s: string) => new TextEncoder().encode(s);
const T0 = new Date('2026-11-01T00:00:00Z');
const at = (hours: number) => new Date(T0.getTime() + hours * 3_600_000);
const OPTIONS = { replicationPeriodHours: 48 };

/** Sun (COMSTAR) device ids, and two of another array vendor (EMC, OUI 006016). */
const sun = (n: number) => `naa.600144f0${String(n).padStart(24, '0')}`;
const EMC1 = 'naa.60060160aaaaaaaaaaaaaaaaaaaaaaa1';
const EMC2 = 'naa.60060160aaaaaaaaaaaaaaaaaaaaaaa2';
const EMC3 = 'naa.60060160aaaaaaaaaaaaaaaaaaaaaaa3';
const VMFS = '6b000001-00000002-0003-000c29000001';
const SUN = '00144f';
const EMC = '006016';

interface Lu {
  lun: number;
  deviceId: string;
  dataset: string;
}
const lu = (lun: number, deviceId: string, dataset = `tank/lun${lun}`): Lu => ({ lun, deviceId, dataset });

function targetExport(lus: Lu[]): TestArtifact {
  return {
    kind: 'iscsitgt-smf',
    fileName: 'iscsitgt.xml',
    sourcePath: 'svccfg export iscsitgt',
    bytes: enc(
      iscsitgtExport({
        targets: [
          {
            name: 'vmfs',
            iqn: 'iqn.1986-03.com.sun:02:vmfs',
            luns: lus.map((l) => ({ lun: l.lun, guid: l.deviceId.slice(4), backingStore: `/dev/zvol/rdsk/${l.dataset}`, blocks: 0x100000 })),
          },
        ],
      }),
    ),
  };
}

/** `zfs list -t snapshot`: one snapshot of each dataset, taken at `taken`. */
function listing(datasets: string[], taken: Date): TestArtifact {
  return {
    kind: 'zfs-snapshots',
    fileName: 'zfs-snapshots.txt',
    sourcePath: 'zfs list -t snapshot',
    bytes: enc(zfsListSnapshots(datasets.map((d) => ({ name: `${d}@auto`, creation: Math.floor(taken.getTime() / 1000), used: 1024 })))),
  };
}

/** A storage host's dump of an LU's zvol, whose VMFS header names `deviceId` (a small data offset: a 4 MiB dump, not 20). */
function zvolHeader(dataset: string, deviceId: string): TestArtifact {
  return {
    kind: 'vmfs-header',
    fileName: `${dataset.replaceAll('/', '-')}.bin`,
    sourcePath: `/dev/zvol/rdsk/${dataset}`,
    device: deviceId,
    bytes: buildVmfsDisk({
      lvmMajor: 5,
      dataOffset: 0x200000,
      vmfsUuid: VMFS,
      segmentUuid: '6b000000-00000002-0003-000c29000001',
      label: 'ds',
      deviceId,
      lun: 1,
      noiseSeed: 3,
    }),
  };
}

/** An ESX host's `esxcli storage vmfs extent list`: one extent on each device. */
function extents(deviceIds: string[]): TestArtifact {
  return {
    kind: 'esx-inventory',
    fileName: 'inventory.txt',
    sourcePath: 'esxcli',
    bytes: enc(
      collectorFile([
        {
          command: 'esxcli storage vmfs extent list',
          output: esxcliExtentList(deviceIds.map((d, i) => ({ volumeName: `ds-${i}`, vmfsUuid: VMFS, extentNumber: i, deviceName: d, partition: 1 }))),
        },
      ]),
    ),
  };
}

class RolledBack extends Error {}

describeEachFlavour('health passes after commits', (flavour) => {
  let catalog: TestCatalog;
  let db: Db;
  let clock = at(0);
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => clock });
    db = catalog.services.db;
  });
  afterAll(async () => catalog?.close());

  /** What a full pass would raise and resolve now (its transaction rolled back). */
  async function fullPassWouldChange(): Promise<Reconciled> {
    let out: Reconciled = { raised: [], resolved: [] };
    await db
      .transaction(async (tx) => {
        out = await reconcileHealth(tx as unknown as Db, clock, null, OPTIONS);
        throw new RolledBack();
      })
      .catch((e: unknown) => {
        if (!(e instanceof RolledBack)) throw e;
      });
    return out;
  }

  const open = async () =>
    (
      await queryRows<{ condition: string }>(
        db,
        sql`SELECT condition FROM events WHERE resolved_at IS NULL AND type IN ('target-guid-mismatch', 'backing-store-missing') ORDER BY condition`,
      )
    ).map((r) => r.condition);

  const byKey = (cs: HealthCondition[]) => [...cs].sort((a, b) => (a.condition < b.condition ? -1 : 1));

  /** The scoped state yields exactly the full state's conditions (`all`, gathered from the database as it is now) within `scope`. */
  async function expectScopedStateAgrees(scope: HealthScope, all: HealthCondition[]): Promise<void> {
    const full = all.filter((c) => conditionInScope(c, scope));
    const scoped = healthConditions(await gatherScopedHealthState(db, scope), OPTIONS, scope);
    expect(byKey(scoped)).toEqual(byKey(full));
  }

  /**
   * One capture through the server; then the scope its pass evaluated, and the checks that the
   * scoped passes left what a full pass would.
   */
  async function capture(host: string, hours: number, artifacts: TestArtifact[]): Promise<HealthScope> {
    clock = at(hours);
    const committed = await ingest(catalog, { host, hostKind: host.startsWith('esx') ? 'esxi' : 'solaris', collectedAt: at(hours), artifacts });
    const scope = await healthScopeOf(db, [{ captureId: committed.captureId, host }]);
    expect(await fullPassWouldChange(), `after ${host} at hour ${hours}`).toEqual({ raised: [], resolved: [] });
    // The full state is gathered once for both comparisons below (nothing is written between them).
    const all = healthConditions(await gatherHealthState(db), OPTIONS);
    await expectScopedStateAgrees(scope, all);
    // Everything the catalog knows as one scope: the scoped gather reads what the full one does.
    const everything = await queryRows<{ host: string | null; device_id: string | null }>(
      db,
      sql`SELECT name AS host, NULL AS device_id FROM hosts UNION SELECT NULL, device_id FROM extents UNION SELECT NULL, device_id FROM targets`,
    );
    await expectScopedStateAgrees(
      {
        hosts: new Set(everything.flatMap((r) => (r.host ? [r.host] : []))),
        devices: new Set(everything.flatMap((r) => (r.device_id ? [r.device_id] : []))),
        vendors: new Set(),
      },
      all,
    );
    return scope;
  }

  const devicesOf = (scope: HealthScope) => [...scope.devices].sort();
  const vendorsOf = (scope: HealthScope) => [...scope.vendors].sort();

  it('storage hosts and ESX hosts come in; an extent no LU presents is raised, another vendor is not', async () => {
    // A storage host's first LUs: every extent condition of their vendor is evaluated.
    expect(vendorsOf(await capture('sol01', 1, [targetExport([lu(1, sun(1)), lu(2, sun(2))]), listing(['tank/lun1', 'tank/lun2'], at(0.5))]))).toEqual([SUN]);
    expect(vendorsOf(await capture('sol02', 2, [targetExport([lu(3, sun(3))]), listing(['tank/lun3'], at(1.5))]))).toEqual([SUN]);
    // esx01's first capture: every device is new to it; none is the concern of a full pass.
    const esx01 = await capture('esx01', 3, [extents([sun(1), sun(2), EMC1, EMC2])]);
    expect(devicesOf(esx01)).toEqual([EMC1, EMC2, sun(1), sun(2)].sort());
    await capture('esx02', 4, [extents([sun(2), sun(3), sun(4)])]);
    expect(await open()).toEqual([`target-guid-mismatch:extent:${sun(4)}`]);
    // The same devices the next day: nothing to evaluate but esx01's own (LU and backing-store) conditions.
    expect(devicesOf(await capture('esx01', 27, [extents([sun(1), sun(2), EMC1, EMC2])]))).toEqual([]);
  });

  it('an LU moving between storage hosts: raised while no host presents it, resolved once the other does', async () => {
    // sol01 drops LU 2 (a capture dropping an LU): esx01 and esx02 still see it.
    expect(devicesOf(await capture('sol01', 28, [targetExport([lu(1, sun(1))]), listing(['tank/lun1', 'tank/lun2'], at(27.5))]))).toEqual([sun(2)]);
    expect(await open()).toEqual([`target-guid-mismatch:extent:${sun(2)}`, `target-guid-mismatch:extent:${sun(4)}`]);
    // sol02 presents it now, from a zvol of its own.
    expect(
      devicesOf(await capture('sol02', 29, [targetExport([lu(2, sun(2), 'tank/moved2'), lu(3, sun(3))]), listing(['tank/moved2', 'tank/lun3'], at(28.5))])),
    ).toEqual([sun(2)]);
    expect(await open()).toEqual([`target-guid-mismatch:extent:${sun(4)}`]);
  });

  it('a GUID mismatch raised by a storage capture and resolved by an ESX capture', async () => {
    // sol02 presents LU 3 under a new GUID (a re-created LU): esx02 still sees the old device.
    expect(
      devicesOf(await capture('sol02', 30, [targetExport([lu(2, sun(2), 'tank/moved2'), lu(3, sun(33))]), listing(['tank/moved2', 'tank/lun3'], at(29.5))])),
    ).toEqual([sun(3), sun(33)]);
    expect(await open()).toEqual([`target-guid-mismatch:extent:${sun(3)}`, `target-guid-mismatch:extent:${sun(4)}`]);
    // esx02 rescans: it sees the LU under its new GUID, and no longer the old device.
    expect(devicesOf(await capture('esx02', 31, [extents([sun(2), sun(33), sun(4)])]))).toEqual([sun(3), sun(33)]);
    expect(await open()).toEqual([`target-guid-mismatch:extent:${sun(4)}`]);
    // esx02 drops the extent no LU presents (a capture dropping an extent): resolved.
    expect(devicesOf(await capture('esx02', 32, [extents([sun(2), sun(33)])]))).toEqual([sun(4)]);
    expect(await open()).toEqual([]);
  });

  it('a snapshot listing going stale, a zvol no longer listed, and fresh again; a capture of the listing alone', async () => {
    await capture('sol01', 90, [listing(['tank/lun1'], at(30))]);
    expect(await open()).toEqual(['backing-store-missing:sol01:tank/lun1:no-recent-snapshot']);
    await capture('sol01', 91, [listing(['tank/other'], at(90))]);
    expect(await open()).toEqual(['backing-store-missing:sol01:tank/lun1:not-listed']);
    await capture('sol01', 92, [targetExport([lu(1, sun(1))]), listing(['tank/lun1'], at(91.5))]);
    expect(await open()).toEqual([]);
  });

  it("a zvol whose header names another device than its LU's, on the host that dumped it", async () => {
    await capture('sol02', 93, [
      targetExport([lu(2, sun(2), 'tank/moved2'), lu(3, sun(33))]),
      listing(['tank/moved2', 'tank/lun3'], at(92.5)),
      zvolHeader('tank/lun3', sun(3)),
    ]);
    expect(await open()).toEqual([`target-guid-mismatch:lu:sol02:${sun(33)}`]);
    await capture('sol02', 94, [
      targetExport([lu(2, sun(2), 'tank/moved2'), lu(3, sun(33))]),
      listing(['tank/moved2', 'tank/lun3'], at(93.5)),
      zvolHeader('tank/lun3', sun(33)),
    ]);
    expect(await open()).toEqual([]);
  });

  it("a storage host presenting another vendor's LU: every extent of that vendor is expected now", async () => {
    // sol03's first capture, with an LU of esx01's EMC1: EMC2, which esx01 also sees, is now unpresented.
    expect(vendorsOf(await capture('sol03', 95, [targetExport([lu(7, EMC1)]), listing(['tank/lun7'], at(94.5))]))).toEqual([EMC]);
    expect(await open()).toEqual([`target-guid-mismatch:extent:${EMC2}`]);
    // sol01 adds an EMC LU beside its Sun one.
    expect(vendorsOf(await capture('sol01', 96, [targetExport([lu(1, sun(1)), lu(8, EMC2)]), listing(['tank/lun1', 'tank/lun8'], at(95.5))]))).toEqual([EMC]);
    expect(await open()).toEqual([]);
    // sol03 presents a Sun LU instead: EMC1 is unpresented (sol01's EMC LU keeps the vendor known).
    expect(vendorsOf(await capture('sol03', 97, [targetExport([lu(9, sun(9))]), listing(['tank/lun9'], at(96.5))]))).toEqual([SUN, EMC]);
    expect(await open()).toEqual([`target-guid-mismatch:extent:${EMC1}`]);
  });

  it('a host that starts presenting LUs is a storage host: its own sightings stop counting', async () => {
    await capture('sol04', 98, [extents([EMC3])]);
    expect(await open()).toEqual([`target-guid-mismatch:extent:${EMC1}`, `target-guid-mismatch:extent:${EMC3}`]);
    // Its first LU is a Sun one: the EMC device it sees is in the scope for the turn alone.
    const turned = await capture('sol04', 99, [targetExport([lu(1, sun(11))]), listing(['tank/lun1'], at(98.5))]);
    expect(vendorsOf(turned)).toEqual([SUN]);
    expect(devicesOf(turned)).toEqual([EMC3, sun(11)].sort());
    expect(await open()).toEqual([`target-guid-mismatch:extent:${EMC1}`]);
  });
});
