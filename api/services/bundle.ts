/**
 * Restore bundles: everything needed to bring one VMFS volume (or one LUN) back,
 * as of a point in time, in one streamed `.tar.gz`:
 *   <root>/RESTORE.md   what each file is and the steps for each accident
 *   <root>/restore.sh   prints (and with --apply, after a device check, writes) the partition tables
 *   <root>/bundle.json  the same selection, machine-readable
 *   <root>/SHA256SUMS   `sha256sum -c` format, paths relative to <root>
 *   <root>/<host>/<kind>/<file>  the artifacts, bytes straight from the store's chunks
 * Selection is "the latest capture of each artifact series at or before `at`", where
 * a series is one host's one source (host, kind, source path, device).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGzip, constants as zlibConstants } from 'node:zlib';
import { sql, type SQL } from 'drizzle-orm';
import { Header, Pax } from 'tar';
import { queryRows, type Db } from '../../db/client.js';
import { ApiError } from '../errors.js';
import type { BlobStore } from '../store/types.js';
import { artifactBytes, chunkList, type StoredChunk } from './content.js';
import type { DrPlan } from '../dr/plan.js';
import { renderDrPlanText, type PlanStep } from '../dr/plan.js';
import { expectedIdHex, extentAction, renderRestoreScript, visible, type RestoreExtent, type RestorePlan } from './restore-script.js';
import {
  datasetOfBackingStore, inList, iso, num, segmentsOfVolume, snapshotsOfDatasets, str, targetsOfDevices, volumesOnDevices,
  type PartitionView, type SnapshotView, type TargetView,
} from './volume.js';

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

/** `sha256sum -c` lines: `<hex>  <path>`. */
export function renderSha256Sums(entries: Array<{ path: string; sha256: string }>): string {
  return entries.map((e) => `${e.sha256}  ${e.path}\n`).join('');
}

/** A Markdown table cell: one line, control characters shown escaped, `|` escaped. */
function mdCell(s: string | number | null | undefined): string {
  return visible(String(s ?? '—')).replace(/\|/g, '\\|');
}

/**
 * RESTORE.md: what each file is, where it came from, and the steps for each accident. Pure.
 * Collector-supplied text (labels, host names, device paths) appears with control
 * characters escaped, so it can neither break a line nor open a code block; commands
 * in code blocks quote their arguments as restore.sh does.
 */
export function renderRestoreGuide(sel: BundleSelection): string {
  const title = visible(sel.vmfsUuid ? `VMFS volume ${sel.vmfsUuid}${sel.label ? ` ("${sel.label}")` : ''}` : `LUN ${sel.deviceId}`);
  const out: string[] = [];
  out.push(`# Restore bundle: ${title}`);
  out.push('');
  out.push(`As of **${sel.at}** (the newest capture of every source at or before that time). Generated ${sel.generatedAt} by the VMFS Recovery Catalog.`);
  if (sel.version) out.push(`Filesystem: ${visible(sel.version)}.`);
  if (sel.deviceId && sel.volumes.length) out.push(`Volumes on this device: ${visible(sel.volumes.join(', '))}.`);
  out.push('');
  out.push('First, in this directory: `sha256sum -c SHA256SUMS` (Solaris/illumos: `digest -a sha256 <file>` per line; `restore.sh` does this itself). Do not use a bundle that fails it.');
  out.push('');
  out.push('## Extents');
  out.push('');
  if (sel.plan.extents.length === 0) {
    out.push('No header dump of this volume\'s devices was captured by then: the partition table cannot be restored from this bundle.');
  } else {
    out.push('| # | device id | LUN | host | device path | partition table (from the dump) | saved dump |');
    out.push('|---|---|---|---|---|---|---|');
    for (const e of sel.plan.extents) {
      const p = e.partition;
      const part = p.scheme === 'none' || p.missing ? `none saved (VMFS at LBA ${p.startLba})` : `${p.scheme.toUpperCase()} #${p.index}, LBA ${p.startLba}–${p.endLba}, type ${p.type}`;
      out.push(`| ${e.number} | ${mdCell(e.deviceId)} | ${mdCell(e.lun)} | ${mdCell(e.host)} | ${mdCell(e.devicePath)} | ${mdCell(part)} | ${mdCell(e.headerFile)} (${mdCell(e.headerCollectedAt)}) |`);
    }
    out.push('');
    out.push('What `restore.sh` would run for each (dry run: `sh restore.sh`; write: `sh restore.sh --apply`, after it checks the device\'s LVM header at partition + 0x100000 carries the device id above):');
    out.push('');
    out.push('```');
    for (const e of sel.plan.extents) {
      const a = extentAction(e, e.devicePath);
      out.push(`# extent ${e.number}: ${visible(e.deviceId ?? 'unknown device')}`);
      out.push(a.kind === 'none' ? `# nothing automatic: ${visible(a.reason)}` : a.command);
    }
    out.push('```');
    out.push('');
    out.push('Device paths differ between hosts and boots (`/dev/sdX` on ESX 3, `/vmfs/devices/disks/<id>` on ESXi, `/dev/zvol/rdsk/<dataset>` on the storage host): name the right one with `--device N=PATH`. If the device\'s LVM header is gone or carries another id, the script refuses; once you have checked the device yourself (for instance when the id recorded above is wrong), `--force-device PATH` lets it write that one device. `--apply` exits 0 when it wrote every extent it could, 2 when an extent was refused or failed, 3 when there was nothing to write.');
  }
  out.push('');
  if (sel.targets.length) {
    out.push('## iSCSI LUs presenting these devices');
    out.push('');
    out.push('| storage host | stack | target IQN | alias | LUN | LU GUID / device id | backing store | size |');
    out.push('|---|---|---|---|---|---|---|---|');
    for (const t of sel.targets) out.push(`| ${mdCell(t.storageHost)} | ${mdCell(t.stack)} | ${mdCell(t.iqn)} | ${mdCell(t.alias)} | ${mdCell(t.lun)} | ${mdCell(t.deviceId)} | ${mdCell(t.backingStore)} | ${mdCell(t.sizeBytes)} |`);
    out.push('');
  }
  if (sel.snapshots.length) {
    out.push('## ZFS snapshots of the backing stores');
    out.push('');
    out.push('Newest first, as the last snapshot list at or before the bundle time showed them:');
    out.push('');
    for (const s of sel.snapshots.slice(0, 50)) out.push(`- \`${visible(s.name)}\` (${s.createdAt}, on ${visible(s.host)})`);
    if (sel.snapshots.length > 50) out.push(`- … ${sel.snapshots.length - 50} more in the zfs-snapshots list`);
    out.push('');
  }
  if (sel.drPlan) out.push(...renderDrPlanSection(sel.drPlan), '');
  out.push('## Files');
  out.push('');
  out.push('| file | what it is | host | captured | bytes | SHA-256 |');
  out.push('|---|---|---|---|---|---|');
  for (const f of sel.files) out.push(`| ${mdCell(f.path)} | ${mdCell(f.describes)} | ${mdCell(f.host)} | ${mdCell(f.collectedAt)} | ${f.size} | \`${f.sha256}\` |`);
  out.push('| restore.sh | the restore script (POSIX sh) | | | | |');
  if (sel.drPlan) out.push('| DR-PLAN.txt | the DR plan as `sh restore.sh --plan` prints it | | | | |');
  out.push('| bundle.json | this selection, machine-readable | | | | |');
  out.push('');
  out.push('## Steps for each accident');
  out.push('');
  out.push('### Wiped partition table (the datastore "disappeared")');
  out.push('The LVM header and the data are still on the LUN; only sector 0 (MBR) or the GPT lost the VMFS entry.');
  out.push('1. `sh restore.sh` — verifies the bundle and prints, per extent, the `dd` (MBR: the saved first sector) or `partedUtil setptbl` (GPT) line, and whether the device\'s LVM header carries the expected id.');
  out.push('2. `sh restore.sh --apply` (add `--device N=PATH` when the device path differs).');
  out.push('3. ESXi: `esxcli storage core adapter rescan --all`, then `esxcli storage filesystem list`; ESX 3.x: `esxcfg-rescan vmhbaN`, `vmkfstools -V`.');
  out.push('If the newest dump had already lost the table, this bundle also holds the newest dump that still had it and the script uses that one; otherwise ask for a bundle with an earlier `at`.');
  out.push('');
  out.push('### LUN re-presented under another LUN ID, or as a snapshot LUN (resignature)');
  out.push('ESX compares the device id and LUN in the LVM header with what it sees; a mismatch makes the volume a *snapshot LUN* that is not mounted.');
  out.push('- Best: present the LU again with its old LUN number (table above). COMSTAR: `stmfadm remove-view -l <GUID> -a` then `stmfadm add-view -n <LUN> <GUID>`; iscsitgt: recreate the LU with the same LUN (`iscsitadm create target -u <LUN> -b <backing store> <name>`).');
  out.push('- Or mount keeping the signature (same VMFS UUID, VMs stay registered): ESXi `esxcli storage vmfs snapshot list`, `esxcli storage vmfs snapshot mount -u <VMFS UUID>`; ESX 3.x: set `LVM.DisallowSnapshotLun = 0`, rescan. Never while the original is also mounted.');
  out.push('- Or resignature (new VMFS UUID; every VM must be re-registered): `esxcli storage vmfs snapshot resignature -u <VMFS UUID>`, ESX 3.x `LVM.EnableResignature = 1`.');
  out.push('');
  out.push('### DR target whose LU GUID (NAA) differs from the one in the VMFS header');
  out.push('A replica or clone presented under a new GUID is a snapshot LUN to ESX. Either give the LU the original GUID (COMSTAR: `stmfadm create-lu -p guid=<original 32 hex digits> <zvol>`; iscsitgt: the `guid` in the `param_<target>_<lun>` group of the saved SMF export) or mount keeping the signature as above. `restore.sh` checks the header, not the live NAA, so it accepts a replica whose header still carries the original id.');
  out.push('');
  out.push('### Damaged VMFS header or `.vh.sf`');
  out.push('The saved `.vh.sf` copy holds the FS descriptor at +0x200000 (VMFS UUID, label, block size); the header dumps hold the LVM header and volume table at partition + 0x100000. Compare them with the damaged device before writing anything (`dd ... | xxd`); copying VMs off read-only with vmfs-tools (`vmfs-fuse`) using these files is safer than writing metadata back. Writing a header region back is a last resort, on a clone of the LUN (ZFS: `zfs clone <snapshot> <pool>/clones/<name>`).');
  out.push('');
  out.push('### Lost iSCSI target configuration');
  out.push('- Legacy iscsitgt: `svcadm disable iscsitgt`, `svccfg import <iscsitgt-smf file>`, `svcadm enable iscsitgt`; secrets were redacted at capture, so set CHAP secrets again (`iscsitadm modify admin -C`).');
  out.push('- COMSTAR: `svcadm disable stmf`, `svccfg import <stmf-smf file>`, `svcadm enable stmf`; or rebuild from the listings: `stmfadm create-lu -p guid=<GUID> <data file>` (or `stmfadm import-lu`/`sbdadm import-lu` when the zvol still has its metadata), `stmfadm add-view -n <LUN> <GUID>`, `itadm create-target -n <IQN>`, `itadm create-tpg`.');
  out.push('- Keep every GUID and LUN exactly as above, or ESX sees snapshot LUNs.');
  out.push('');
  out.push('### Deleted vmdk');
  out.push('If a vmfs-undelete archive is listed above, restore with VMware\'s vmfs-undelete utility on the host it came from; otherwise clone a ZFS snapshot from before the deletion and copy the vmdk off it.');
  out.push('');
  return out.join('\n');
}

/** RESTORE.md's "DR plan" section: the NAA checks, missing links, and each step's commands in a code block. */
function renderDrPlanSection(plan: DrPlan): string[] {
  const out: string[] = ['## DR plan', ''];
  out.push('The storage commands, in order, that bring these LUNs back with the NAA the VMFS header expects (`sh restore.sh --plan` prints the same).'
    + (plan.at ? ` Planned as of ${visible(plan.at)}: the LUs are backed by clones of the newest snapshot at or before that time.` : ''));
  out.push('');
  for (const c of plan.naaChecks) out.push(`- **NAA check (${c.verdict})**: ${visible(c.message)}`);
  for (const m of plan.missing) out.push(`- **Missing ${m.link}**: ${visible(m.message)} — ${visible(m.collector)}`);
  if (plan.naaChecks.length || plan.missing.length) out.push('');
  const from = (s: PlanStep) => s.from.map((f) => visible(f.bundlePath ?? `${f.kind} ${f.fileName} (${f.host}, not in this bundle)`)).join(', ');
  for (const s of plan.steps) {
    out.push(`${s.n}. **${visible(s.title)}** (${s.stage}; from ${from(s)})${s.note ? ` — ${visible(s.note)}` : ''}`);
    if (s.commands.length) {
      out.push('');
      out.push('   ```');
      for (const c of s.commands) out.push(`   ${c}`);
      out.push('   ```');
    }
  }
  return out;
}

/** bundle.json: the selection without chunk lists. */
export function renderBundleJson(sel: BundleSelection): string {
  return JSON.stringify({
    format: 'vmfs-catalog-bundle/1',
    vmfsUuid: sel.vmfsUuid, deviceId: sel.deviceId, label: sel.label, version: sel.version, at: sel.at, generatedAt: sel.generatedAt,
    volumes: sel.volumes,
    files: sel.files.map(({ chunks: _chunks, ...f }) => f),
    extents: sel.plan.extents,
    targets: sel.targets,
    snapshots: sel.snapshots,
    drPlan: sel.drPlan ?? null,
  }, null, 2) + '\n';
}

interface GeneratedFile { path: string; bytes: Uint8Array; mode: number }

/** The generated files of a bundle, SHA256SUMS last (it lists all the others and every artifact). */
export function generatedFiles(sel: BundleSelection): GeneratedFile[] {
  const enc = new TextEncoder();
  const files: GeneratedFile[] = [
    { path: 'RESTORE.md', bytes: enc.encode(renderRestoreGuide(sel)), mode: 0o644 },
    { path: 'restore.sh', bytes: enc.encode(renderRestoreScript(sel.plan)), mode: 0o755 },
    { path: 'bundle.json', bytes: enc.encode(renderBundleJson(sel)), mode: 0o644 },
  ];
  if (sel.drPlan) files.push({ path: 'DR-PLAN.txt', bytes: enc.encode(renderDrPlanText(sel.drPlan)), mode: 0o644 });
  const sums = [
    ...files.map((f) => ({ path: f.path, sha256: createHash('sha256').update(f.bytes).digest('hex') })),
    ...sel.files.map((f) => ({ path: f.path, sha256: f.sha256 })),
  ];
  files.push({ path: 'SHA256SUMS', bytes: enc.encode(renderSha256Sums(sums)), mode: 0o644 });
  return files;
}

/** One tar header block (plus a pax header when the path does not fit ustar). */
function tarHeader(path: string, size: number, mtime: Date, mode: number): Uint8Array[] {
  const data = { path, size, mtime, mode, type: 'File' as const, uid: 0, gid: 0, uname: 'root', gname: 'root' };
  const header = new Header(data);
  const blocks: Uint8Array[] = [];
  if (header.encode()) blocks.push(new Pax(data).encode());
  blocks.push(header.block!);
  return blocks;
}

function padding(size: number): Uint8Array | null {
  const rem = size % 512;
  return rem === 0 ? null : new Uint8Array(512 - rem);
}

/** The bundle as an uncompressed tar stream; artifact bytes come chunk by chunk from the store. */
export async function* bundleTar(store: BlobStore, sel: BundleSelection): AsyncGenerator<Uint8Array> {
  const generatedAt = new Date(sel.generatedAt);
  for (const f of generatedFiles(sel)) {
    yield* tarHeader(`${sel.root}/${f.path}`, f.bytes.length, generatedAt, f.mode);
    yield f.bytes;
    const pad = padding(f.bytes.length);
    if (pad) yield pad;
  }
  for (const f of sel.files) {
    yield* tarHeader(`${sel.root}/${f.path}`, f.size, new Date(f.collectedAt), 0o644);
    let sent = 0;
    for await (const part of artifactBytes(store, f.chunks)) {
      sent += part.length;
      yield part;
    }
    // A short artifact would shift every later entry: refuse rather than emit a corrupt tar.
    if (sent !== f.size) throw new Error(`artifact ${f.artifactId}: store gave ${sent} bytes, expected ${f.size}`);
    const pad = padding(f.size);
    if (pad) yield pad;
  }
  yield new Uint8Array(1024); // two zero blocks end the archive
}

/** The bundle as a `.tar.gz` byte stream. Level 1: header dumps are mostly zeros, which any level squeezes. */
export function bundleTarGz(store: BlobStore, sel: BundleSelection): Readable {
  const gzip = createGzip({ level: zlibConstants.Z_BEST_SPEED });
  return pipeline(Readable.from(bundleTar(store, sel), { objectMode: false }), gzip, () => {}) as unknown as Readable;
}

/** The bundle's download name. */
export function bundleFileName(sel: BundleSelection): string {
  return `${sel.root}.tar.gz`;
}

/**
 * Store key of an assembled bundle: the same selection (same files, same `at` when
 * one was asked for) maps to the same object, so repeated redirects reuse it.
 */
export function bundleObjectKey(sel: BundleSelection, explicitAt: boolean): string {
  const signature = createHash('sha256')
    .update(JSON.stringify({ v: sel.vmfsUuid, d: sel.deviceId, at: explicitAt ? sel.at : null, files: sel.files.map((f) => [f.path, f.sha256]) }))
    .digest('hex');
  return `bundles/${safeName(sel.vmfsUuid ?? sel.deviceId ?? 'bundle')}/${signature}.tar.gz`;
}
