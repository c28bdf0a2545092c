/**
 * A small datacenter for the read-side tests, ingested through the real protocol:
 * - esx01 (ESXi): header dumps of the two extents of "prod-datastore-01" (VMFS3,
 *   MBR, legacy 2 MiB dumps without the FS descriptor, so they link to the volume
 *   only through the segment UUID), its `.vh.sf`, and an ESX inventory;
 * - sol01 (OpenSolaris, iscsitgt): the target export presenting both LUs
 *   (GUID = NAA of the extents) from zvols, and the zvols' snapshot list;
 * - esx02: an unrelated volume "scratch-vmfs" whose dump reaches the FS descriptor.
 */
import { buildVml } from '../../formats/ids.js';
import { buildVhSf, buildVmfsDisk, type VmfsImageOptions } from '../fixtures/vmfs-images.js';
import { esxcliDeviceList, esxcliExtentList, iscsitgtExport, zfsListSnapshots } from '../fixtures/text-fixtures.js';
import type { TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import type { CommitResponse } from '../../formats/protocol.js';

const enc = (s: string) => new TextEncoder().encode(s);

export const T0 = new Date('2026-10-01T02:00:00Z');
export const HOUR = 3_600_000;

export const PROD = {
  vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c',
  segmentUuid: '5a1c3e7e-11223344-5566-0050569a1b2c',
  label: 'prod-datastore-01',
} as const;

export const EXTENT1 = {
  deviceId: 'naa.600144f0aabbccddeeff001122334455',
  lun: 3,
  extentUuid: '5a1c3e7d-aabbccdd-eeff-0050569a1b2c',
  zvol: '/dev/zvol/rdsk/tank/vmfs/lun3',
  dataset: 'tank/vmfs/lun3',
} as const;

export const EXTENT2 = {
  deviceId: 'naa.600144f0c0ffee00000000000000beef',
  lun: 4,
  extentUuid: '5a1c3f10-99887766-5544-0050569a1b2c',
  zvol: '/dev/zvol/rdsk/tank/vmfs/lun4',
  dataset: 'tank/vmfs/lun4',
} as const;

export const SCRATCH = {
  vmfsUuid: '61a2b3c4-5d6e7f80-1234-001b21aabbcc',
  segmentUuid: '61a2b3c3-01020304-0506-001b21aabbcc',
  label: 'scratch-vmfs',
  deviceId: 'naa.6006016012345678abcdef0123456789',
  lun: 7,
} as const;

export const IQN = 'iqn.1986-03.com.sun:02:prod-datastore';

/** The vml ESX derives for an extent's device (docs/formats.md §3). */
export function vmlOf(deviceId: string, lun: number, model = 'COMSTAR'): string {
  return buildVml({ idType: 2, deviceType: 0, lun, deviceIdBytes: Buffer.from(deviceId.slice(4), 'hex'), model });
}

const common: VmfsImageOptions = {
  lvmMajor: 3,
  scheme: 'mbr',
  vmfsUuid: PROD.vmfsUuid,
  segmentUuid: PROD.segmentUuid,
  label: PROD.label,
  vendor: 'SUN',
  model: 'COMSTAR',
  revision: '1.0',
  extentCount: 2,
  deviceSizeBytes: 100 * 1024 ** 3,
};

/** Header dump of extent 1: 2 MiB from LBA 0 (MBR, LVM header, volume table; no FS descriptor). */
export function extent1Dump(overrides: VmfsImageOptions = {}): Uint8Array {
  return buildVmfsDisk({
    ...common,
    deviceId: EXTENT1.deviceId,
    lun: EXTENT1.lun,
    extentUuid: EXTENT1.extentUuid,
    peCount: 400,
    noiseSeed: 1,
    dumpLength: 'legacy',
    ...overrides,
  });
}

/** Header dump of extent 2 (the volume's second device). */
export function extent2Dump(overrides: VmfsImageOptions = {}): Uint8Array {
  return buildVmfsDisk({
    ...common,
    deviceId: EXTENT2.deviceId,
    lun: EXTENT2.lun,
    extentUuid: EXTENT2.extentUuid,
    firstPE: 400,
    fsDescriptor: false,
    noiseSeed: 2,
    dumpLength: 'legacy',
    ...overrides,
  });
}

export function prodVhSf(): Uint8Array {
  return buildVhSf({ lvmMajor: 3, vmfsUuid: PROD.vmfsUuid, segmentUuid: PROD.segmentUuid, label: PROD.label });
}

export interface Seeded {
  esx01: CommitResponse;
  sol01: CommitResponse;
  esx02: CommitResponse;
}

/** Ingests the datacenter above; collection times T0, T0+1h, T0+2h. */
export async function seedDatacenter(catalog: TestCatalog): Promise<Seeded> {
  const esx01 = await ingest(catalog, {
    host: 'esx01',
    hostKind: 'esxi',
    collectedAt: T0,
    artifacts: [
      {
        kind: 'vmfs-header',
        fileName: `${EXTENT1.deviceId}.hex`,
        sourcePath: `/vmfs/devices/disks/${EXTENT1.deviceId}`,
        device: EXTENT1.deviceId,
        bytes: extent1Dump(),
      },
      {
        kind: 'vmfs-header',
        fileName: `${EXTENT2.deviceId}.hex`,
        sourcePath: `/vmfs/devices/disks/${EXTENT2.deviceId}`,
        device: EXTENT2.deviceId,
        bytes: extent2Dump(),
        gzip: true,
      },
      { kind: 'vh-sf', fileName: 'prod-datastore-01.vh.sf', sourcePath: `/vmfs/volumes/${PROD.vmfsUuid}/.vh.sf`, bytes: prodVhSf() },
      {
        kind: 'esx-inventory',
        fileName: 'inventory.txt',
        sourcePath: 'esxcli',
        bytes: enc(
          [
            esxcliDeviceList([
              { id: EXTENT1.deviceId, vendor: 'SUN', model: 'COMSTAR', sizeMb: 102400, vml: vmlOf(EXTENT1.deviceId, EXTENT1.lun) },
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
  const sol01 = await ingest(catalog, {
    host: 'sol01',
    hostKind: 'solaris',
    collectedAt: new Date(T0.getTime() + HOUR),
    artifacts: [
      {
        kind: 'iscsitgt-smf',
        fileName: 'iscsitgt.xml',
        sourcePath: 'svccfg export iscsitgt',
        bytes: enc(
          iscsitgtExport({
            targets: [
              {
                name: 'prod',
                iqn: IQN,
                alias: 'prod-ds',
                luns: [
                  { lun: EXTENT1.lun, guid: EXTENT1.deviceId.slice(4), backingStore: EXTENT1.zvol, blocks: 0xc800000 },
                  { lun: EXTENT2.lun, guid: EXTENT2.deviceId.slice(4), backingStore: EXTENT2.zvol, blocks: 0xc800000 },
                ],
              },
            ],
          }),
        ),
      },
      {
        kind: 'zfs-snapshots',
        fileName: 'zfs-snapshots.txt',
        sourcePath: 'zfs list -t snapshot',
        bytes: enc(
          zfsListSnapshots([
            { name: `${EXTENT1.dataset}@daily-2026-09-30`, creation: Math.floor(T0.getTime() / 1000) - 86400, used: 1024 },
            { name: `${EXTENT1.dataset}@daily-2026-10-01`, creation: Math.floor(T0.getTime() / 1000) - 600, used: 2048 },
            { name: `${EXTENT2.dataset}@daily-2026-10-01`, creation: Math.floor(T0.getTime() / 1000) - 600, used: 4096 },
          ]),
        ),
      },
    ],
  });
  const esx02 = await ingest(catalog, {
    host: 'esx02',
    hostKind: 'esxi',
    collectedAt: new Date(T0.getTime() + 2 * HOUR),
    artifacts: [
      {
        kind: 'vmfs-header',
        fileName: `${SCRATCH.deviceId}.hex`,
        device: SCRATCH.deviceId,
        bytes: buildVmfsDisk({
          lvmMajor: 5,
          vmfsUuid: SCRATCH.vmfsUuid,
          segmentUuid: SCRATCH.segmentUuid,
          label: SCRATCH.label,
          deviceId: SCRATCH.deviceId,
          lun: SCRATCH.lun,
          noiseSeed: 3,
        }),
      },
    ],
  });
  return { esx01, sol01, esx02 };
}

/** Creates a token of a role through the admin API. */
export async function tokenFor(catalog: TestCatalog, role: 'operator' | 'collector', host?: string): Promise<string> {
  const res = await catalog.request('/v1/tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ role, name: `${role}-test`, ...(host ? { host } : {}) }),
  });
  if (res.status !== 201) throw new Error(`token create answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}
