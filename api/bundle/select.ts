
import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import { ApiError } from '../errors.js';
import { chunkList, type StoredChunk } from '../read/content.js';
import type { DrPlan } from '../dr/plan.js';
import { expectedIdHex, type RestoreExtent, type RestorePlan } from './restore-script.js';
import { datasetOfBackingStore, segmentsOfVolume, snapshotsOfDatasets, targetsOfDevices, volumesOnDevices } from '../read/volumes.js';
import type { PartitionView, SnapshotView, TargetView } from '../schemas/catalog.js';
import { inList, iso, num, str } from '../read/rows.js';

/** What a bundle is for: a volume, or one LUN (device). */
export type BundleSubject = { vmfsUuid: string; deviceId?: undefined } | { deviceId: string; vmfsUuid?: undefined };

export interface BundleFile {
  /** Relative to the bundle root. */
  path: string;
  artifactId: string;
  captureId: string;
  kind: string;
  host: string;
  fileName: string;
  sourcePath: string;
  device: string | null;
  collectedAt: string;
  size: number;
  sha256: string;
  chunks: StoredChunk[];
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
}

/** Artifact kinds a storage host's target configuration lives in. */
const STORAGE_KINDS = ['iscsitgt-smf', 'stmf-smf', 'comstar-listing', 'zfs-snapshots'] as const;

type Row = Record<string, unknown>;

const ARTIFACT_COLUMNS = sql.raw(`a.id AS a_id, a.capture_id AS a_capture_id, a.kind AS a_kind, a.host AS a_host, a.file_name AS a_file_name,
  a.source_path AS a_source_path, a.device AS a_device, a.collected_at AS a_collected_at, a.size AS a_size, a.sha256 AS a_sha256, a.chunks AS a_chunks`);

interface ArtifactRef {
  id: string; captureId: string; kind: string; host: string; fileName: string; sourcePath: string; device: string | null;
  collectedAt: string; size: number; sha256: string; chunks: StoredChunk[];
}

function artifactRef(r: Row): ArtifactRef {
  return {
    id: String(r.a_id), captureId: String(r.a_capture_id), kind: String(r.a_kind), host: String(r.a_host), fileName: String(r.a_file_name),
    sourcePath: String(r.a_source_path), device: str(r.a_device), collectedAt: iso(r.a_collected_at)!, size: num(r.a_size) ?? 0,
    sha256: String(r.a_sha256), chunks: chunkList(r.a_chunks),
  };
}

function seriesKey(a: ArtifactRef): string {
  return `${a.host}\u0000${a.kind}\u0000${a.sourcePath}\u0000${a.device ?? ''}`;
}

/** The newest artifact of each series among `rows` (already at or before `at`). */
function latestPerSeries<T extends { artifact: ArtifactRef }>(rows: T[]): T[] {
  const best = new Map<string, T>();
  for (const r of rows) {
    const k = seriesKey(r.artifact);
    const old = best.get(k);
    if (!old || old.artifact.collectedAt < r.artifact.collectedAt) best.set(k, r);
  }
  return [...best.values()];
}

/** Path-safe name: no separators, no leading dot, nothing a shell or sha256sum line would trip on. */
export function safeName(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9._@+=,-]/g, '_').replace(/^\.+/, '_').slice(0, 120);
  return cleaned || '_';
}

function compactTime(isoTime: string): string {
  return isoTime.replace(/[-:]/g, '').replace(/\.\d+/, '');
}

interface HeaderExtent extends PartitionView {
  artifact: ArtifactRef;
  deviceId: string | null;
  vml: string | null;
  lun: number | null;
  devicePath: string | null;
}

function headerExtent(r: Row): HeaderExtent {
  return {
    artifact: artifactRef(r), deviceId: str(r.device_id), vml: str(r.vml), lun: num(r.lun), devicePath: str(r.device_path),
    scheme: str(r.partition_scheme), index: num(r.partition_index), startLba: num(r.partition_start), endLba: num(r.partition_end),
    type: str(r.partition_type), missing: Boolean(r.partition_missing),
  };
}

function intact(e: HeaderExtent): boolean {
  return (e.scheme === 'mbr' || e.scheme === 'gpt') && !e.missing;
}

/** Where restore.sh writes by default: the path the dump was read from, else the ESXi device node. */
function defaultDevicePath(e: HeaderExtent): string {
  for (const p of [e.devicePath, e.artifact.device]) if (p && p.startsWith('/')) return p;
  return `/vmfs/devices/disks/${e.deviceId ?? e.artifact.device ?? 'UNKNOWN-DEVICE'}`;
}

async function artifactsOfHosts(db: Db, hosts: string[], kinds: readonly string[], at: Date, extra: SQL = sql``): Promise<ArtifactRef[]> {
  if (hosts.length === 0) return [];
  const rows = await queryRows<Row>(db, sql`
    SELECT DISTINCT ON (a.host, a.kind, a.source_path, coalesce(a.device, '')) ${ARTIFACT_COLUMNS}
      FROM artifacts a
     WHERE a.host IN ${inList(hosts)} AND a.kind IN ${inList([...kinds])} AND a.collected_at <= ${at.toISOString()} ${extra}
     ORDER BY a.host, a.kind, a.source_path, coalesce(a.device, ''), a.collected_at DESC`);
  return rows.map(artifactRef);
}

/** Chooses the bundle's files and restore plan for a subject as of `at`; 404 when nothing is known by then. */
export async function selectBundle(db: Db, subject: BundleSubject, at: Date, now: Date): Promise<BundleSelection> {
  const atIso = at.toISOString();
  let volumes: string[];
  let link: SQL;
  if (subject.vmfsUuid) {
    volumes = [subject.vmfsUuid];
    const segs = await segmentsOfVolume(db, subject.vmfsUuid, at);
    link = segs.length ? sql`(e.vmfs_uuid = ${subject.vmfsUuid} OR e.segment_uuid IN ${inList(segs)})` : sql`e.vmfs_uuid = ${subject.vmfsUuid}`;
  } else {
    volumes = await volumesOnDevices(db, [subject.deviceId!], at);
    link = sql`e.device_id = ${subject.deviceId}`;
  }
  const extentRows = await queryRows<Row>(db, sql`
    SELECT e.*, ${ARTIFACT_COLUMNS}
      FROM extents e JOIN artifacts a ON a.id = e.artifact_id
     WHERE ${link} AND a.collected_at <= ${atIso}
     ORDER BY a.collected_at DESC, e.id`);
  const headers = extentRows.filter((r) => r.source === 'header').map(headerExtent);
  const inventoryHosts = extentRows.filter((r) => r.source !== 'header').map((r) => String(r.host));
  const deviceIds = [...new Set(extentRows.map((r) => str(r.device_id)).filter((d): d is string => !!d))];
  if (subject.deviceId && !deviceIds.includes(subject.deviceId)) deviceIds.push(subject.deviceId);

  // Header dumps: the newest of each series, plus — when that one lost its partition
  // table (the accident already happened) — the newest one that still had it.
  const chosenHeaders: HeaderExtent[] = [];
  const seriesLatest = latestPerSeries(headers);
  for (const latest of seriesLatest) {
    chosenHeaders.push(latest);
    if (!intact(latest)) {
      const good = headers.filter((h) => seriesKey(h.artifact) === seriesKey(latest.artifact) && intact(h))
        .sort((a, b) => b.artifact.collectedAt.localeCompare(a.artifact.collectedAt))[0];
      if (good) chosenHeaders.push(good);
    }
  }

  // FS descriptor copies (.vh.sf, long dumps) of the volume(s).
  const descriptorRows = volumes.length ? await queryRows<Row>(db, sql`
    SELECT s.vmfs_uuid, ${ARTIFACT_COLUMNS}
      FROM segments s JOIN artifacts a ON a.id = s.artifact_id
     WHERE s.vmfs_uuid IN ${inList(volumes)} AND a.collected_at <= ${atIso}`) : [];
  const descriptors = latestPerSeries(descriptorRows.map((r) => ({ artifact: artifactRef(r), vmfsUuid: String(r.vmfs_uuid) })));

  const esxHosts = [...new Set([...chosenHeaders.map((h) => h.artifact.host), ...inventoryHosts, ...descriptors.map((d) => d.artifact.host)])];
  const inventories = await artifactsOfHosts(db, esxHosts, ['esx-inventory'], at);
  const undelete = volumes.length
    ? await artifactsOfHosts(db, esxHosts, ['vmfs-undelete'], at,
      sql`AND (${sql.join(volumes.map((v) => sql`a.source_path LIKE ${'%' + v + '%'} OR a.device = ${v}`), sql` OR `)})`)
    : [];

  const targets = await targetsOfDevices(db, deviceIds, at);
  const storageHosts = [...new Set(targets.map((t) => t.storageHost))];
  const storageConfig = await artifactsOfHosts(db, storageHosts, STORAGE_KINDS, at);
  const datasets = [...new Set(targets.map((t) => datasetOfBackingStore(t.backingStore)).filter((d): d is string => !!d))];
  const snapshots = await snapshotsOfDatasets(db, datasets, at);

  if (chosenHeaders.length === 0 && descriptors.length === 0 && targets.length === 0 && inventoryHosts.length === 0) {
    const what = subject.vmfsUuid ? `volume ${subject.vmfsUuid}` : `device ${subject.deviceId}`;
    throw new ApiError('not_found', `the catalog holds nothing for ${what} at or before ${atIso}`);
  }

  const [volume] = volumes.length === 1 ? await queryRows<Row>(db, sql`SELECT label, version FROM volumes WHERE vmfs_uuid = ${volumes[0]}`) : [];

  // Files, one per artifact, at <host>/<kind>/<file name>.
  const files: BundleFile[] = [];
  const byArtifact = new Map<string, BundleFile>();
  const taken = new Set<string>();
  const addFile = (a: ArtifactRef, describes: string): BundleFile => {
    const existing = byArtifact.get(a.id);
    if (existing) return existing;
    let path = `${safeName(a.host)}/${safeName(a.kind)}/${safeName(a.fileName)}`;
    if (taken.has(path)) path = `${safeName(a.host)}/${safeName(a.kind)}/${compactTime(a.collectedAt)}-${a.id.slice(0, 8)}-${safeName(a.fileName)}`;
    taken.add(path);
    const file: BundleFile = {
      path, artifactId: a.id, captureId: a.captureId, kind: a.kind, host: a.host, fileName: a.fileName, sourcePath: a.sourcePath,
      device: a.device, collectedAt: a.collectedAt, size: a.size, sha256: a.sha256, chunks: a.chunks, describes,
    };
    byArtifact.set(a.id, file);
    files.push(file);
    return file;
  };

  for (const h of chosenHeaders) {
    const part = h.scheme && h.scheme !== 'none' && !h.missing
      ? `${h.scheme.toUpperCase()} partition ${h.index ?? '?'} (LBA ${h.startLba}–${h.endLba}, type ${h.type})`
      : `no partition table entry (VMFS found at LBA ${h.startLba ?? '?'})`;
    addFile(h.artifact, `header dump of ${h.deviceId ?? h.artifact.device ?? 'a device'}${h.lun !== null ? ` LUN ${h.lun}` : ''} read on ${h.artifact.host} from ${h.devicePath ?? h.artifact.device ?? h.artifact.sourcePath}; ${part}`);
  }
  for (const d of descriptors) addFile(d.artifact, `${d.artifact.kind === 'vh-sf' ? '.vh.sf copy' : 'FS descriptor copy'} of volume ${d.vmfsUuid} from ${d.artifact.host} (${d.artifact.sourcePath})`);
  for (const a of inventories) addFile(a, `ESX inventory of ${a.host} (${a.sourcePath}): device ↔ vmhba ↔ VMFS UUID map`);
  for (const a of undelete) addFile(a, `vmfs-undelete archive from ${a.host} (${a.sourcePath}); opaque, kept as saved`);
  for (const a of storageConfig) {
    const what = a.kind === 'iscsitgt-smf' ? 'iscsitgt SMF export (targets, LUs, GUIDs, backing stores)'
      : a.kind === 'stmf-smf' ? 'COMSTAR stmf SMF export (LUs, views, host/target groups)'
        : a.kind === 'comstar-listing' ? 'COMSTAR listing (stmfadm/itadm/sbdadm output)'
          : 'zfs snapshot list';
    addFile(a, `${what} of storage host ${a.host} (${a.sourcePath})`);
  }

  // Restore extents: one per device, from the newest dump that still had the table.
  const byDevice = new Map<string, HeaderExtent[]>();
  for (const h of chosenHeaders) {
    const k = h.deviceId ?? `${h.artifact.host}:${defaultDevicePath(h)}`;
    byDevice.set(k, [...(byDevice.get(k) ?? []), h]);
  }
  const extents: RestoreExtent[] = [];
  const ordered = [...byDevice.values()].sort((a, b) => (a[0].lun ?? 0) - (b[0].lun ?? 0) || String(a[0].deviceId).localeCompare(String(b[0].deviceId)));
  for (const group of ordered) {
    const sorted = [...group].sort((a, b) => b.artifact.collectedAt.localeCompare(a.artifact.collectedAt));
    const source = sorted.find(intact) ?? sorted[0];
    extents.push({
      number: extents.length + 1,
      host: source.artifact.host,
      deviceId: source.deviceId,
      vml: source.vml,
      lun: source.lun,
      devicePath: defaultDevicePath(source),
      headerFile: byArtifact.get(source.artifact.id)?.path ?? null,
      headerCollectedAt: source.artifact.collectedAt,
      partition: {
        scheme: source.scheme === 'mbr' || source.scheme === 'gpt' ? source.scheme : 'none',
        index: source.index ?? 0, startLba: source.startLba ?? 0, endLba: source.endLba ?? 0, type: source.type ?? '', missing: source.missing,
      },
      expectedIdHex: expectedIdHex(source.deviceId, source.vml),
    });
  }

  const subjectName = subject.vmfsUuid ?? subject.deviceId;
  const generatedAt = now.toISOString();
  return {
    vmfsUuid: subject.vmfsUuid ?? (volumes.length === 1 ? volumes[0] : null),
    deviceId: subject.deviceId ?? null,
    label: str(volume?.label),
    version: str(volume?.version),
    at: atIso,
    generatedAt,
    root: `vmfs-restore-${safeName(subjectName)}-${compactTime(atIso)}`,
    files,
    plan: {
      vmfsUuid: subject.vmfsUuid ?? (volumes.length === 1 ? volumes[0] : null),
      label: str(volume?.label),
      at: atIso,
      generatedAt,
      extents,
    },
    targets,
    snapshots,
    volumes,
  };
}
