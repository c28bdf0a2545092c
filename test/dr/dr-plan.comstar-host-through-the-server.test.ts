/**
 * The DR plan for a volume on a COMSTAR storage host, from real captures through the
 * catalog on both flavours: an ESX host's header dump and .vh.sf, and the storage host's
 * `svccfg export -a stmf`, its stmfadm/itadm/sbdadm listings and its zfs snapshot list.
 * The plan brings the LU back (import-lu, else create-lu with the GUID the VMFS header expects), re-creates the host group, the
 * target group, the portal group and the target, and presents the LU as the saved LUN.
 * Command syntax sources: illumos stmfadm(1M), itadm(1M), zfs(1M); esxcli storage.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  collectorFile,
  itadmListTarget,
  itadmListTpg,
  sbdadmListLu,
  stmfadmListGroups,
  stmfadmListLu,
  stmfadmListView,
  stmfExport,
  zfsListSnapshots,
} from '../fixtures/text-fixtures.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingestComstarEsxVolume, ingestComstarStorageHost } from '../helpers/comstar-captures.js';
import { ingest } from '../helpers/ingest-client.js';

const GUID = '600144F0C6E7D3B400004F9A2C4E0001';
const NAA = `naa.${GUID.toLowerCase()}`;
const ZVOL = '/dev/zvol/rdsk/tank/iscsi/esx-vol0';
const TGT = 'iqn.2010-08.org.illumos:02:0b7f2b8e-6c1d-e611-a2f4-b1c2d3e4f5a6';
const ESX = 'iqn.1998-01.com.vmware:esx01-4a1b2c3d';
const UUID = '4f9a2c4e-1a2b3c4d-5e6f-001b21c0ffee';
const LABEL = 'comstar-ds';
const T0 = new Date('2026-11-20T02:00:00Z');
const enc = (s: string) => new TextEncoder().encode(s);

describeEachFlavour('DR plan for a volume on a COMSTAR host', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    await ingestComstarEsxVolume(catalog, { host: 'esx01', collectedAt: T0, guid: GUID, lun: 0, vmfsUuid: UUID, label: LABEL });
    const listing = collectorFile([
      { command: 'stmfadm list-lu -v', output: stmfadmListLu([{ guid: GUID, alias: 'esx-vol0', dataFile: ZVOL, sizeBytes: 107374182400 }]) },
      { command: `stmfadm list-view -l ${GUID}`, output: stmfadmListView([{ entry: 0, hostGroup: 'esx', targetGroup: 'tg0', lun: 0 }]) },
      { command: 'sbdadm list-lu', output: sbdadmListLu([{ guid: GUID, sizeBytes: 107374182400, source: ZVOL }]) },
      { command: 'itadm list-target -v', output: itadmListTarget([{ iqn: TGT, alias: 'storage-a', tpgTags: [{ tpg: 'tpg-a', tag: 2 }] }]) },
      { command: 'itadm list-tpg -v', output: itadmListTpg([{ name: 'tpg-a', portals: ['192.0.2.10:3260'] }]) },
      { command: 'stmfadm list-hg -v', output: stmfadmListGroups('host', [{ name: 'esx', members: [ESX] }]) },
      { command: 'stmfadm list-tg -v', output: stmfadmListGroups('target', [{ name: 'tg0', members: [TGT] }]) },
    ]);
    await ingestComstarStorageHost(catalog, {
      host: 'zfs01',
      collectedAt: new Date(T0.getTime() + 3_600_000),
      listing,
      listingSource: 'stmfadm/itadm/sbdadm',
      stmfExport: stmfExport({
        hostGroups: [{ name: 'esx', members: [ESX] }],
        targetGroups: [{ name: 'tg0', members: [TGT] }],
        lus: [{ guid: GUID, views: [{ entry: 0, hostGroup: 'esx', targetGroup: 'tg0', lun: 0 }] }],
      }),
      more: [
        {
          kind: 'zfs-snapshots',
          fileName: 'zfs-snapshots.txt',
          sourcePath: 'zfs list -t snapshot',
          bytes: enc(
            zfsListSnapshots([
              { name: 'tank/iscsi/esx-vol0@hourly-0100', creation: Math.floor(T0.getTime() / 1000) - 3600, used: 4096 },
              { name: 'tank/iscsi/esx-vol0@hourly-0200', creation: Math.floor(T0.getTime() / 1000), used: 8192 },
            ]),
          ),
        },
      ],
    });
  }, 240_000);
  afterAll(async () => catalog?.close());

  it("gives the LU the header's GUID, re-creates groups, portal group and target, and presents LUN 0", async () => {
    const res = await catalog.request(`/v1/volumes/${UUID}/dr-plan?at=${encodeURIComponent(new Date(T0.getTime() + 2 * 3_600_000).toISOString())}`);
    expect(res.status).toBe(200);
    const plan = (await res.json()) as { complete: boolean; naaChecks: Array<Record<string, unknown>>; steps: Array<{ commands: string[] }> };
    expect(plan.naaChecks).toMatchObject([{ verdict: 'match', headerDeviceId: NAA, luDeviceId: NAA, headerLun: 0, luLun: 0 }]);
    expect(plan.complete).toBe(true);
    expect(plan.steps.flatMap((s) => s.commands)).toEqual([
      'zfs create -p tank/clones',
      'zfs clone tank/iscsi/esx-vol0@hourly-0200 tank/clones/esx-vol0-hourly-0200',
      'stmfadm list-lu -v 600144F0C6E7D3B400004F9A2C4E0001',
      'stmfadm delete-lu -k 600144F0C6E7D3B400004F9A2C4E0001',
      `stmfadm import-lu /dev/zvol/rdsk/tank/clones/esx-vol0-hourly-0200 || stmfadm create-lu -p guid=${GUID} -p blk=512 -p alias=esx-vol0 /dev/zvol/rdsk/tank/clones/esx-vol0-hourly-0200`,
      `stmfadm list-lu -v ${GUID}`,
      'stmfadm create-hg esx',
      `stmfadm add-hg-member -g esx ${ESX}`,
      'stmfadm create-tg tg0',
      'itadm create-tpg tpg-a 192.0.2.10:3260',
      `itadm create-target -n ${TGT} -l storage-a -t tpg-a`,
      `stmfadm offline-target ${TGT}`,
      `stmfadm add-tg-member -g tg0 ${TGT}`,
      `stmfadm online-target ${TGT}`,
      `stmfadm add-view -n 0 -h esx -t tg0 ${GUID}`,
      `stmfadm list-view -l ${GUID}`,
      'esxcli storage core adapter rescan --all',
      'esxcli storage vmfs snapshot list',
      'esxcli storage vmfs extent list',
    ]);
    // A later snapshot list offers a newer snapshot, but the plan as of before that capture keeps the one it knew.
    await ingest(catalog, {
      host: 'zfs01',
      hostKind: 'solaris',
      collectedAt: new Date(T0.getTime() + 5 * 3_600_000),
      artifacts: [
        {
          kind: 'zfs-snapshots',
          fileName: 'zfs-snapshots.txt',
          sourcePath: 'zfs list -t snapshot',
          bytes: enc(
            zfsListSnapshots([
              { name: 'tank/iscsi/esx-vol0@hourly-0200', creation: Math.floor(T0.getTime() / 1000), used: 8192 },
              { name: 'tank/iscsi/esx-vol0@hourly-0600', creation: Math.floor(T0.getTime() / 1000) + 4 * 3600, used: 8192 },
            ]),
          ),
        },
      ],
    });
    const planAt = async (t: number) =>
      (
        (await (await catalog.request(`/v1/volumes/${UUID}/dr-plan?at=${encodeURIComponent(new Date(t).toISOString())}`)).json()) as {
          steps: Array<{ commands: string[] }>;
        }
      ).steps
        .flatMap((s) => s.commands)
        .find((c) => c.startsWith('zfs clone'));
    expect(await planAt(T0.getTime() + 2 * 3_600_000)).toBe('zfs clone tank/iscsi/esx-vol0@hourly-0200 tank/clones/esx-vol0-hourly-0200');
    expect(await planAt(T0.getTime() + 6 * 3_600_000)).toBe('zfs clone tank/iscsi/esx-vol0@hourly-0600 tank/clones/esx-vol0-hourly-0600');
  });
});
