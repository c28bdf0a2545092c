/**
 * Typed rows for the bundle's pure functions (api/bundle/types.ts), built by hand:
 * each helper fills what a table row does not care about.
 */
import type { ArtifactRef, BundleRows, DescriptorRow, ExtentRow } from '../../api/bundle/types.js';
import type { SnapshotView, TargetView } from '../../api/schemas/catalog.js';

let nextId = 0;

/** An artifact; `id` defaults to a fresh 32-hex id whose first 8 digits count up. */
export function artifact(over: Partial<ArtifactRef> = {}): ArtifactRef {
  nextId += 1;
  return {
    id: `${nextId.toString(16).padStart(8, '0')}aaaabbbbccccddddeeeeffff`,
    captureId: 'c0ffee00-0000-7000-8000-000000000001',
    kind: 'vmfs-header',
    host: 'esx01',
    fileName: 'naa.600144f0aabbccddeeff001122334455.hex',
    sourcePath: '/vmfs/devices/disks/naa.600144f0aabbccddeeff001122334455',
    device: 'naa.600144f0aabbccddeeff001122334455',
    collectedAt: '2026-10-01T02:00:00.000Z',
    size: 2 * 1024 * 1024,
    sha256: 'ab'.repeat(32),
    chunks: [],
    ...over,
  };
}

/**
 * A header-dump extent with an intact MBR table, unless told otherwise: partition 1, type 0xFB (VMFS), from LBA 128 as
 * VMFS3 lays it out (docs/formats.md §2, after glandium/vmfs-tools and the MBR layout in util-linux libfdisk).
 */
export function header(over: Partial<Omit<ExtentRow, 'artifact'>> & { artifact?: Partial<ArtifactRef> } = {}): ExtentRow {
  const { artifact: a, ...rest } = over;
  const deviceId = rest.deviceId === undefined ? 'naa.600144f0aabbccddeeff001122334455' : rest.deviceId;
  return {
    source: 'header',
    host: a?.host ?? 'esx01',
    deviceId,
    vml: null,
    lun: 3,
    devicePath: null,
    scheme: 'mbr',
    index: 1,
    startLba: 128,
    endLba: 209715199,
    type: '0xfb',
    missing: false,
    ...rest,
    artifact: artifact({ device: deviceId, fileName: `${deviceId ?? 'disk'}.hex`, sourcePath: `/vmfs/devices/disks/${deviceId ?? 'disk'}`, ...a }),
  };
}

/** A dump taken after the accident: no partition table entry (the parser then reports scheme 'none', VMFS found at LBA 128). */
export function wiped(over: Parameters<typeof header>[0] = {}): ExtentRow {
  return header({ scheme: 'none', index: null, endLba: null, type: null, missing: false, ...over });
}

/** An extent row from an ESX inventory (no dump behind it). */
export function inventoryExtent(host: string, deviceId: string): ExtentRow {
  return {
    source: 'inventory',
    host,
    deviceId,
    vml: null,
    lun: null,
    devicePath: null,
    scheme: null,
    index: 1,
    startLba: null,
    endLba: null,
    type: null,
    missing: false,
    artifact: artifact({ kind: 'esx-inventory', host, fileName: 'inventory.txt', sourcePath: 'esxcli', device: null }),
  };
}

export function descriptor(vmfsUuid: string, over: Partial<ArtifactRef> = {}): DescriptorRow {
  return { vmfsUuid, artifact: artifact({ kind: 'vh-sf', fileName: 'ds.vh.sf', sourcePath: `/vmfs/volumes/${vmfsUuid}/.vh.sf`, device: null, ...over }) };
}

export function target(over: Partial<TargetView> = {}): TargetView {
  return {
    storageHost: 'sol01',
    stack: 'iscsitgt',
    iqn: 'iqn.1986-03.com.sun:02:prod',
    alias: null,
    lun: 3,
    deviceId: 'naa.600144f0aabbccddeeff001122334455',
    backingStore: '/dev/zvol/rdsk/tank/vmfs/lun3',
    sizeBytes: 1 << 30,
    seenAt: '2026-10-01T03:00:00.000Z',
    artifactId: 'f'.repeat(32),
    ...over,
  };
}

export function snapshot(over: Partial<SnapshotView> = {}): SnapshotView {
  return {
    host: 'sol01',
    dataset: 'tank/vmfs/lun3',
    snapshot: 'daily',
    name: 'tank/vmfs/lun3@daily',
    createdAt: '2026-10-01T01:50:00.000Z',
    usedBytes: 2048,
    artifactId: 'e'.repeat(32),
    ...over,
  };
}

export function rows(over: Partial<BundleRows> = {}): BundleRows {
  return { volumes: [], extents: [], descriptors: [], inventories: [], undelete: [], targets: [], storageConfig: [], snapshots: [], volume: null, ...over };
}

/** `collectedAt` this many hours after 2026-10-01T02:00Z. */
export function hoursAfterT0(h: number): string {
  return new Date(Date.parse('2026-10-01T02:00:00.000Z') + h * 3_600_000).toISOString();
}
