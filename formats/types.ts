/**
 * The typed results every parser in formats/ returns. The collector's `inspect`
 * prints them, the catalog indexes them: one vocabulary for both.
 */

export const ARTIFACT_KINDS = [
  'vmfs-header',
  'vh-sf',
  'vmfs-undelete',
  'iscsitgt-smf',
  'stmf-smf',
  'comstar-listing',
  'esx-inventory',
  'zfs-snapshots',
  'unknown',
] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

/** Where the VMFS partition sits on its disk. `index` is 1-based; 0 when the table is missing. */
export interface PartitionInfo {
  scheme: 'mbr' | 'gpt' | 'none';
  index: number;
  /** `0xfb` for MBR; the upper-case type GUID for GPT; `''` when the table is missing. */
  type: string;
  startLba: number;
  /** Inclusive last LBA; 0 when unknown (missing table). */
  endLba: number;
  /** True when no partition table entry describes the VMFS found by probing: the "deleted datastore". */
  missing: boolean;
}

/** The device as recorded in an extent's LVM header. */
export interface DeviceInfo {
  /** Canonical: `naa.<lower hex>`, `eui.<hex>`, `t10.…`, `mpx.…`. */
  deviceId: string;
  vml: string;
  lun: number;
  vendor: string;
  model: string;
  revision: string;
  sizeBytes: number;
  /** This extent's device UUID (LVM header +0x82), canonical 8-8-4-12. */
  extentUuid: string;
}

/** What the FS descriptor (or, without it, the volume table) says about the volume. */
export interface VmfsInfo {
  /** Canonical 8-8-4-12 lower-case; null when only the LVM header was reached. */
  vmfsUuid: string | null;
  label: string | null;
  /** `VMFS-3.31`; from the LVM major version alone (`VMFS-5`) without the descriptor. */
  version: string;
  /** File block size in bytes; null without the descriptor. */
  blockSize: number | null;
  segmentUuid: string | null;
  /** ISO 8601 creation time decoded from the VMFS UUID (or descriptor ctime). */
  createdAt: string | null;
  /** The creating host's MAC as `00:50:56:9a:1b:2c`. */
  creatorMac: string | null;
}

/** One iSCSI LU as presented by a target, normalised across iscsitgt and COMSTAR. */
export interface TargetLu {
  stack: 'iscsitgt' | 'comstar';
  /** Target IQN; null when a COMSTAR view is open to all targets. */
  iqn: string | null;
  alias: string | null;
  lun: number | null;
  /** The LU GUID as `naa.<lower hex>`; null while iscsitgt still says `0`. */
  deviceId: string | null;
  /** zvol path or file; null when unknown. */
  backingStore: string | null;
  sizeBytes: number | null;
  tpgs: string[];
  /** Initiator IQNs allowed; empty = no ACL. */
  acl: string[];
}

export interface ZfsSnapshot {
  name: string;
  dataset: string;
  snapshot: string;
  createdAt: string;
  usedBytes: number;
}

/** One device line of an ESX inventory. */
export interface EsxDevice {
  deviceId: string;
  vml: string | null;
  displayName: string | null;
  vendor: string | null;
  model: string | null;
  revision: string | null;
  sizeBytes: number | null;
  devfsPath: string | null;
}

/** One VMFS extent as the ESX host maps it. */
export interface EsxExtent {
  volumeName: string | null;
  vmfsUuid: string;
  extentNumber: number | null;
  /** Canonical device id, or the `/dev/sdX` path on ESX 3. */
  deviceId: string | null;
  devicePath: string | null;
  vmhba: string | null;
  partition: number | null;
}

/**
 * A parsed artifact: the `inspect --json` object without `file`/`ok`/`error`.
 * `details` is kind-specific; the well-known keys below are what the catalog indexes.
 */
export interface ParsedArtifact {
  kind: ArtifactKind;
  partition: PartitionInfo | null;
  device: DeviceInfo | null;
  vmfs: VmfsInfo | null;
  details: ArtifactDetails;
}

/** What a parser answers for a kind that names no partition, device or volume itself (listings, exports, opaque archives). */
export function detailsOnly(kind: ArtifactKind, details: ArtifactDetails): ParsedArtifact {
  return { kind, partition: null, device: null, vmfs: null, details };
}

export interface ArtifactDetails {
  /** iscsitgt-smf, stmf-smf, comstar-listing. */
  targetLus?: TargetLu[];
  /** esx-inventory. */
  systemUuid?: string | null;
  devices?: EsxDevice[];
  extents?: EsxExtent[];
  /** zfs-snapshots. */
  snapshots?: ZfsSnapshot[];
  /** Names of secret-bearing fields that were redacted (never their values). */
  redacted?: string[];
  [key: string]: unknown;
}
