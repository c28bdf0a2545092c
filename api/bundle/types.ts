/**
 * The shapes of a restore bundle's selection: the typed rows the queries gather
 * (api/bundle/rows.ts), and what the pure selection makes of them (api/bundle/select.ts).
 */
import type { CheckedObject, StoredChunk } from '../read/content.js';
import type { DrPlan } from '../dr/plan.js';
import type { RestorePlan } from './restore-script.js';
import type { PartitionView, SnapshotView, TargetView } from '../schemas/catalog.js';

/** What a bundle is for: a volume, or one LUN (device). */
export type BundleSubject = { vmfsUuid: string; deviceId?: undefined } | { deviceId: string; vmfsUuid?: undefined };

/** One stored artifact, as the bundle needs it. */
export interface ArtifactRef {
  id: string;
  captureId: string;
  kind: string;
  host: string;
  fileName: string;
  sourcePath: string;
  device: string | null;
  /** ISO 8601. */
  collectedAt: string;
  size: number;
  sha256: string;
  chunks: StoredChunk[];
}

/** An extent row linked to the subject, with the artifact it was read from. */
export interface ExtentRow extends PartitionView {
  /** `header` (read from a header dump) or `inventory` (an ESX inventory's extent list). */
  source: string;
  /** The host the extent was seen on. */
  host: string;
  artifact: ArtifactRef;
  deviceId: string | null;
  vml: string | null;
  lun: number | null;
  devicePath: string | null;
}

/** An FS descriptor copy (.vh.sf, long dump) of one of the bundle's volumes. */
export interface DescriptorRow {
  vmfsUuid: string;
  artifact: ArtifactRef;
}

/** Everything the catalog knows about a subject as of a time: the queries' output, the selection's input. */
export interface BundleRows {
  /** The subject volume, or the volumes on the subject device. */
  volumes: string[];
  /** Extents on the subject, newest artifact first (then by extent id). */
  extents: ExtentRow[];
  /** Descriptor copies of `volumes`, every one at or before the time. */
  descriptors: DescriptorRow[];
  /** The newest ESX inventory of each series on the hosts that saw the subject. */
  inventories: ArtifactRef[];
  /** The newest vmfs-undelete archive of each series naming one of `volumes`. */
  undelete: ArtifactRef[];
  /** iSCSI LUs presenting the subject's devices. */
  targets: TargetView[];
  /** The newest target configuration and snapshot list of each series on the storage hosts of `targets`. */
  storageConfig: ArtifactRef[];
  /** Snapshots of the targets' backing datasets. */
  snapshots: SnapshotView[];
  /** Label and version, when `volumes` is one volume the catalog has a row for. */
  volume: { label: string | null; version: string | null } | null;
}

/** One artifact as the bundle carries it: the stored artifact, where it sits in the tar, and what it is. */
export interface BundleFile extends Omit<ArtifactRef, 'id'> {
  /** Relative to the bundle root. */
  path: string;
  artifactId: string;
  /** One line for RESTORE.md: what this file is. */
  describes: string;
}

export interface BundleSelection {
  vmfsUuid: string | null;
  deviceId: string | null;
  label: string | null;
  version: string | null;
  /** As of (ISO 8601). */
  at: string;
  generatedAt: string;
  /** Top directory inside the tar. */
  root: string;
  files: BundleFile[];
  plan: RestorePlan;
  targets: TargetView[];
  snapshots: SnapshotView[];
  /** Volumes on the subject's devices (for a LUN bundle), else [vmfsUuid]. */
  volumes: string[];
  /** The storage-side DR plan (api/dr/plan.ts), when the caller asked for it. */
  drPlan?: DrPlan;
  /** Artifacts left out because a chunk of theirs is damaged or gone (api/bundle/intact.ts); absent or empty: none. */
  leftOut?: LeftOutFile[];
  /**
   * Extents restored from a header dump older than the newest capture that saw their device
   * (api/bundle/fallback.ts): which dump went in, what it stands in for, and what differs.
   */
  olderDumps?: OlderDump[];
  /**
   * Every extent row the catalog holds on the subject at or before the time, the left-out
   * artifacts' included (api/bundle/select.ts): what the newest capture said of each device.
   */
  deviceFacts?: readonly ExtentRow[];
  /** The stored objects of its chunks checked before the answer started, that go out as they are when read again unchanged (api/bundle/intact.ts). */
  checked?: ReadonlyMap<string, CheckedObject>;
}

/** An artifact a bundle left out: the chunk that failed, and the other capture's copy carried instead, if any. */
export interface LeftOutFile {
  artifactId: string;
  host: string;
  kind: string;
  fileName: string;
  sourcePath: string;
  collectedAt: string;
  /** The damaged or missing chunk. */
  chunk: string;
  reason: string;
  /**
   * What the bundle carries instead: for a header dump, the dump its device's extent is
   * restored from (any host's, any series); for any other file, the next newest of its
   * series (host, kind, source path, device). Null: none.
   */
  replacedBy: DumpRef | null;
}

/** One stored artifact a bundle carries, named as the admin finds it in the catalog. */
export interface DumpRef {
  artifactId: string;
  captureId: string;
  host: string;
  /** Bundle-relative path. */
  path: string;
  /** ISO 8601. */
  collectedAt: string;
}

/** A fact of a device two captures may disagree on. */
export interface FactDifference {
  fact: 'lun' | 'partition';
  /** As the dump the bundle carries has it. */
  dump: string | number | null;
  /** As the newest capture has it. */
  newest: string | number | null;
}

/** An extent restored from a header dump older than the newest capture that saw its device. */
export interface OlderDump {
  /** The extent's number in the restore plan. */
  extent: number;
  deviceId: string | null;
  /** The dump restore.sh takes the extent from. */
  used: DumpRef;
  /** The newest capture's artifact that saw the device. */
  newest: {
    artifactId: string;
    captureId: string;
    host: string;
    kind: string;
    fileName: string;
    collectedAt: string;
  };
  /**
   * Why the older dump: `left-out` (the newer dump is damaged in the catalog and left out),
   * `lost-table` (the newer dump had lost the partition table), `no-dump` (the newer capture
   * saw the device in its inventory but holds no header dump of it).
   */
  reason: 'left-out' | 'lost-table' | 'no-dump';
  /** The device facts the two disagree on; empty: none found. */
  differences: FactDifference[];
  /** One sentence for the admin when `differences` is not empty: what differs, what to check before restore.sh; else null. */
  warning: string | null;
}
