/**
 * The volume and LUN views: one VMFS volume joined to everything the catalog knows
 * about it. The links (docs/formats.md §1 "How the pieces link"):
 *   FS descriptor (`.vh.sf`, long dumps) → segments: segment UUID → VMFS UUID
 *   header dumps → extents(source 'header'): segment UUID, device id, LUN, partition
 *   ESX inventories → extents(source 'inventory'): VMFS UUID, device id / path
 *   device id (NAA = LU GUID) → targets of the storage hosts → backing store → zfs snapshots.
 * Child rows count only through an `artifacts` row, which exists only once its capture committed.
 */
import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import { ApiError } from '../errors.js';
import { inList, iso, num, str, unique } from './rows.js';
import { datasetOfBackingStore } from '../../formats/zfs.js';
import { segmentRowStands, volumeLink, type VolumeLink } from './segment-claims.js';
import {
  type ArtifactSummaryView,
  type EventView,
  type ExtentView,
  type LunView,
  type SnapshotView,
  type TargetView,
  type VolumeView,
  VIEW_LIMITS,
} from '../schemas/catalog.js';

// The view types are the response schemas' (api/schemas/catalog.ts).

type Row = Record<string, unknown>;

/** A volume's vmfs-undelete archives (linked by the path they were saved under) are the newest so many. */
const UNDELETE_ARCHIVES_LIMIT = 50;

function extentView(r: Row): ExtentView {
  const scheme = str(r.partition_scheme);
  return {
    deviceId: str(r.device_id),
    vml: str(r.vml),
    lun: num(r.lun),
    vendor: str(r.vendor),
    model: str(r.model),
    revision: str(r.revision),
    sizeBytes: num(r.size_bytes),
    vmfsUuid: str(r.vmfs_uuid),
    segmentUuid: str(r.segment_uuid),
    extentUuid: str(r.extent_uuid),
    host: String(r.host),
    devicePath: str(r.device_path),
    partition:
      scheme || r.partition_missing
        ? {
            scheme,
            index: num(r.partition_index),
            startLba: num(r.partition_start),
            endLba: num(r.partition_end),
            type: str(r.partition_type),
            missing: Boolean(r.partition_missing),
          }
        : null,
    source: String(r.source),
    seenAt: iso(r.seen_at)!,
    firstSeenAt: iso(r.first_seen ?? r.seen_at)!,
    artifactId: String(r.artifact_id),
  };
}

/** A targets row's LU fields, as both the views and the search hits show them. */
export function targetFields(r: Row) {
  return {
    storageHost: String(r.storage_host),
    stack: String(r.stack),
    iqn: str(r.iqn),
    alias: str(r.alias),
    lun: num(r.lun),
    deviceId: str(r.device_id),
    backingStore: str(r.backing_store),
    sizeBytes: num(r.size_bytes),
  };
}

function targetView(r: Row): TargetView {
  return { ...targetFields(r), seenAt: iso(r.seen_at)!, artifactId: String(r.artifact_id) };
}

/** A zfs_snapshots row (raw) as the view lists it. */
export function snapshotView(r: Row): SnapshotView {
  return {
    host: String(r.host),
    dataset: String(r.dataset),
    snapshot: String(r.snapshot),
    name: String(r.name),
    createdAt: iso(r.created_at)!,
    usedBytes: num(r.used_bytes),
    artifactId: String(r.artifact_id),
  };
}

/** An artifacts row (raw) as the summary the views list. */
export function artifactSummary(r: Row): ArtifactSummaryView {
  return {
    id: String(r.id),
    captureId: String(r.capture_id),
    kind: String(r.kind),
    fileName: String(r.file_name),
    sourcePath: String(r.source_path),
    device: str(r.device),
    host: String(r.host),
    collectedAt: iso(r.collected_at)!,
    size: num(r.size) ?? 0,
    sha256: String(r.sha256),
    parseStatus: String(r.parse_status),
  };
}

/** An events row (raw) as the API shows it. */
export function eventView(r: Row): EventView {
  return {
    id: num(r.id)!,
    type: String(r.type),
    severity: String(r.severity),
    vmfsUuid: str(r.vmfs_uuid),
    deviceId: str(r.device_id),
    host: str(r.host),
    captureId: str(r.capture_id),
    artifactId: str(r.artifact_id),
    message: String(r.message),
    details: r.details ?? null,
    createdAt: iso(r.created_at)!,
    acknowledged: Boolean(r.acknowledged),
    acknowledgedAt: iso(r.acknowledged_at),
    acknowledgedBy: str(r.acknowledged_by),
    ackNote: str(r.ack_note),
    condition: str(r.condition),
    resolvedAt: iso(r.resolved_at),
  };
}

const EXTENT_KEY = sql.raw(`e.host, e.source, coalesce(e.device_id, ''), coalesce(e.device_path, ''), coalesce(e.lun, -1)`);

/** `AND a.collected_at <= at` (the artifacts joined as `a`, or as `alias`), or nothing without a time. */
function collectedBy(at: Date | undefined, alias = 'a'): SQL {
  return at ? sql`AND ${sql.raw(alias)}.collected_at <= ${at.toISOString()}` : sql``;
}

/** Latest sighting of each extent of a volume (per host, source, device and LUN), with its first sighting. */
async function extentsWhere(db: Db, where: SQL): Promise<ExtentView[]> {
  const rows = await queryRows<Row>(
    db,
    sql`
    SELECT * FROM (
      SELECT DISTINCT ON (${EXTENT_KEY}) e.*, min(e.seen_at) OVER (PARTITION BY ${EXTENT_KEY}) AS first_seen
        FROM extents e JOIN artifacts a ON a.id = e.artifact_id
       WHERE ${where}
       ORDER BY ${EXTENT_KEY}, e.seen_at DESC, e.id DESC
    ) x ORDER BY x.seen_at DESC, x.host, x.device_id
    LIMIT ${VIEW_LIMITS.extents}`,
  );
  return rows.map(extentView);
}

/** The latest row of each target LU (per storage host, stack, IQN, LUN, device) presenting any of the devices. */
export async function targetsOfDevices(db: Db, deviceIds: string[], at?: Date): Promise<TargetView[]> {
  if (deviceIds.length === 0) return [];
  const before = collectedBy(at);
  const rows = await queryRows<Row>(
    db,
    sql`
    SELECT * FROM (
      SELECT DISTINCT ON (t.storage_host, t.stack, coalesce(t.iqn, ''), coalesce(t.lun, -1), t.device_id) t.*
        FROM targets t JOIN artifacts a ON a.id = t.artifact_id
       WHERE t.device_id IN ${inList(deviceIds)} ${before}
       ORDER BY t.storage_host, t.stack, coalesce(t.iqn, ''), coalesce(t.lun, -1), t.device_id, t.seen_at DESC, (t.backing_store IS NULL), t.id DESC
    ) x ORDER BY x.seen_at DESC, x.storage_host, x.iqn
    LIMIT ${VIEW_LIMITS.targets}`,
  );
  return rows.map(targetView);
}

/**
 * The zfs snapshots of some datasets, as the latest snapshot list of each (host,
 * dataset) shows them: a snapshot destroyed since is not offered as a clone source.
 */
export async function snapshotsOfDatasets(db: Db, datasets: string[], at?: Date): Promise<SnapshotView[]> {
  return (await latestSnapshotRows(db, datasets, VIEW_LIMITS.snapshots, at)).map(snapshotView);
}

/** The zfs_snapshots rows behind {@link snapshotsOfDatasets}, newest first, at most `limit`. */
export async function latestSnapshotRows(db: Db, datasets: string[], limit: number, at?: Date): Promise<Row[]> {
  if (datasets.length === 0) return [];
  const before = collectedBy(at);
  return await queryRows<Row>(
    db,
    sql`
    WITH latest AS (
      SELECT DISTINCT ON (z.host, z.dataset) z.host, z.dataset, z.artifact_id
        FROM zfs_snapshots z JOIN artifacts a ON a.id = z.artifact_id
       WHERE z.dataset IN ${inList(datasets)} ${before}
       ORDER BY z.host, z.dataset, a.collected_at DESC
    )
    SELECT z.* FROM zfs_snapshots z JOIN latest l ON l.artifact_id = z.artifact_id AND l.dataset = z.dataset
     ORDER BY z.created_at DESC, z.name
     LIMIT ${limit}`,
  );
}

/** A list cut at its limit: the rows kept, and whether more were there than it holds. */
interface Cut<T> {
  rows: T[];
  more: boolean;
}

/** The newest of `ids` up to the limit; `more` when `cut` (ids already left out) or more are held than listed. */
async function artifactsByIds(db: Db, ids: string[], cut: boolean): Promise<Cut<ArtifactSummaryView>> {
  if (ids.length === 0) return { rows: [], more: cut };
  const rows = await queryRows<Row>(
    db,
    sql`
    SELECT id, capture_id, kind, file_name, source_path, device, host, collected_at, size, sha256, parse_status
      FROM artifacts WHERE id IN ${inList(ids)}
     ORDER BY collected_at DESC, host, file_name
     LIMIT ${VIEW_LIMITS.artifacts + 1}`,
  );
  return { rows: rows.slice(0, VIEW_LIMITS.artifacts).map(artifactSummary), more: cut || rows.length > VIEW_LIMITS.artifacts };
}

async function eventsWhere(db: Db, where: SQL): Promise<EventView[]> {
  const rows = await queryRows<Row>(db, sql`SELECT * FROM events WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT ${VIEW_LIMITS.events}`);
  return rows.map(eventView);
}
/**
 * The artifact ids whose rows link to the volume (its segments and extent rows, `link`) or its
 * devices, the newest seen up to the limit; `more` when others link too (one more row is read).
 */
async function linkedArtifactIds(db: Db, link: { vmfsUuid: string; volume: VolumeLink } | null, deviceIds: string[]): Promise<Cut<string>> {
  const parts: SQL[] = [];
  if (link) {
    const { vmfsUuid, volume } = link;
    if (volume.segmentUuids.length) {
      parts.push(sql`SELECT artifact_id, seen_at FROM segments WHERE vmfs_uuid = ${vmfsUuid} AND segment_uuid IN ${inList(volume.segmentUuids)}`);
    }
    parts.push(sql`SELECT e.artifact_id, e.seen_at FROM extents e WHERE ${volume.where}`);
  }
  if (deviceIds.length) {
    parts.push(sql`SELECT artifact_id, seen_at FROM extents WHERE device_id IN ${inList(deviceIds)}`);
    parts.push(sql`SELECT artifact_id, seen_at FROM targets WHERE device_id IN ${inList(deviceIds)}`);
  }
  if (parts.length === 0) return { rows: [], more: false };
  const rows = await queryRows<Row>(
    db,
    sql`
    SELECT artifact_id FROM (${sql.join(parts, sql` UNION ALL `)}) l
     GROUP BY artifact_id ORDER BY max(seen_at) DESC LIMIT ${VIEW_LIMITS.artifacts + 1}`,
  );
  return { rows: rows.slice(0, VIEW_LIMITS.artifacts).map((r) => String(r.artifact_id)), more: rows.length > VIEW_LIMITS.artifacts };
}

/** The extents of a volume: those its header dumps and inventories name, and those of its segments (api/read/segment-claims.ts). */
async function extentsOfVolume(db: Db, link: VolumeLink): Promise<ExtentView[]> {
  return extentsWhere(db, link.where);
}

/**
 * Which events are a volume's, as its page lists them: those raised on the volume and those on
 * its devices (an LU's backing-store-missing, a LUN's lun-id-changed). GET /v1/events?vmfsUuid= too.
 */
export async function volumeEventsWhere(db: Db, vmfsUuid: string, deviceIds?: string[]): Promise<SQL> {
  deviceIds ??= unique((await extentsOfVolume(db, await volumeLink(db, vmfsUuid))).map((e) => e.deviceId));
  return deviceIds.length ? sql`(vmfs_uuid = ${vmfsUuid} OR device_id IN ${inList(deviceIds)})` : sql`vmfs_uuid = ${vmfsUuid}`;
}

/** The volume view, or 404 when the catalog has never seen the volume. */
export async function getVolume(db: Db, vmfsUuid: string): Promise<VolumeView> {
  const [volume] = await queryRows<Row>(db, sql`SELECT * FROM volumes WHERE vmfs_uuid = ${vmfsUuid}`);
  const link = await volumeLink(db, vmfsUuid);
  const { segmentUuids } = link;
  const extents = await extentsOfVolume(db, link);
  if (!volume && extents.length === 0 && segmentUuids.length === 0) {
    throw new ApiError('not_found', `no volume ${vmfsUuid} in the catalog`);
  }
  const deviceIds = unique(extents.map((e) => e.deviceId));
  const targets = await targetsOfDevices(db, deviceIds);
  const snapshots = await snapshotsOfDatasets(db, unique(targets.map((t) => datasetOfBackingStore(t.backingStore))));
  const linked = await linkedArtifactIds(db, { vmfsUuid, volume: link }, deviceIds);
  const artifactIds = unique([...linked.rows, ...snapshots.map((s) => s.artifactId)]);
  let undeleteCut = false;
  const hosts = unique(extents.map((e) => e.host));
  // vmfs-undelete archives are opaque: they link to a volume through the path they were saved under.
  if (hosts.length) {
    const undelete = await queryRows<Row>(
      db,
      sql`
      SELECT id FROM artifacts WHERE host IN ${inList(hosts)} AND kind = 'vmfs-undelete'
         AND (source_path LIKE ${'%' + vmfsUuid + '%'} OR device = ${vmfsUuid})
       ORDER BY collected_at DESC LIMIT ${UNDELETE_ARCHIVES_LIMIT + 1}`,
    );
    artifactIds.push(...undelete.slice(0, UNDELETE_ARCHIVES_LIMIT).map((r) => String(r.id)));
    undeleteCut = undelete.length > UNDELETE_ARCHIVES_LIMIT;
  }
  const events = await eventsWhere(db, await volumeEventsWhere(db, vmfsUuid, deviceIds));
  const artifacts = await artifactsByIds(db, unique(artifactIds), linked.more || undeleteCut);
  return {
    vmfsUuid,
    label: str(volume?.label),
    version: str(volume?.version),
    blockSize: num(volume?.block_size),
    createdAt: iso(volume?.created_at),
    creatorMac: str(volume?.creator_mac),
    firstSeen: iso(volume?.first_seen),
    lastSeen: iso(volume?.last_seen) ?? extents[0]?.seenAt ?? null,
    segmentUuids,
    extents,
    targets,
    snapshots,
    artifacts: artifacts.rows,
    artifactsTruncated: artifacts.more,
    events,
  };
}

/**
 * VMFS UUIDs whose extents sit on any of the devices (directly, or through a segment UUID an
 * FS descriptor ties to the volume that no header dump contradicts: api/read/segment-claims.ts).
 * Each distinct claim is checked once: joined row by row, a device's daily dumps without the FS
 * descriptor times the volume's daily `.vh.sf` copies each ran the check over every segment row,
 * cubic in the days kept (a year of one host's captures: minutes).
 */
export async function volumesOnDevices(db: Db, deviceIds: string[], at?: Date): Promise<string[]> {
  if (deviceIds.length === 0) return [];
  const before = collectedBy(at);
  const rows = await queryRows<Row>(
    db,
    sql`
    SELECT DISTINCT e.vmfs_uuid FROM extents e JOIN artifacts a ON a.id = e.artifact_id
     WHERE e.device_id IN ${inList(deviceIds)} AND e.vmfs_uuid IS NOT NULL ${before}
    UNION
    SELECT DISTINCT s.vmfs_uuid FROM (
      SELECT DISTINCT s.segment_uuid, s.vmfs_uuid, a.kind FROM segments s JOIN artifacts a ON a.id = s.artifact_id
       WHERE s.segment_uuid IN (SELECT e.segment_uuid FROM extents e JOIN artifacts ea ON ea.id = e.artifact_id
                                 WHERE e.device_id IN ${inList(deviceIds)} AND e.vmfs_uuid IS NULL ${collectedBy(at, 'ea')}) ${before}
    ) s
     WHERE ${segmentRowStands(at, 's')}`,
  );
  return unique(rows.map((r) => str(r.vmfs_uuid)));
}

/** The LUN view, or 404 when no extent, target or lun row knows the device. */
export async function getLun(db: Db, deviceId: string): Promise<LunView> {
  const [lun] = await queryRows<Row>(db, sql`SELECT * FROM luns WHERE device_id = ${deviceId}`);
  const extents = await extentsWhere(db, sql`e.device_id = ${deviceId}`);
  const targets = await targetsOfDevices(db, [deviceId]);
  if (!lun && extents.length === 0 && targets.length === 0) throw new ApiError('not_found', `no device ${deviceId} in the catalog`);
  const uuids = await volumesOnDevices(db, [deviceId]);
  const volumes = uuids.length ? await queryRows<Row>(db, sql`SELECT vmfs_uuid, label, version FROM volumes WHERE vmfs_uuid IN ${inList(uuids)}`) : [];
  const known = new Map(volumes.map((v) => [String(v.vmfs_uuid), v]));
  const snapshots = await snapshotsOfDatasets(db, unique(targets.map((t) => datasetOfBackingStore(t.backingStore))));
  const latest = extents.find((e) => e.source === 'header') ?? extents[0];
  const linked = await linkedArtifactIds(db, null, [deviceId]);
  const artifacts = await artifactsByIds(db, unique([...linked.rows, ...snapshots.map((s) => s.artifactId)]), linked.more);
  return {
    deviceId,
    lun: num(lun?.lun) ?? latest?.lun ?? targets[0]?.lun ?? null,
    vml: str(lun?.vml) ?? latest?.vml ?? null,
    vendor: str(lun?.vendor) ?? latest?.vendor ?? null,
    model: str(lun?.model) ?? latest?.model ?? null,
    sizeBytes: num(lun?.size_bytes) ?? latest?.sizeBytes ?? targets[0]?.sizeBytes ?? null,
    lastSeen: iso(lun?.last_seen) ?? latest?.seenAt ?? targets[0]?.seenAt ?? null,
    volumes: uuids.map((u) => ({ vmfsUuid: u, label: str(known.get(u)?.label), version: str(known.get(u)?.version) })),
    extents,
    targets,
    snapshots,
    artifacts: artifacts.rows,
    artifactsTruncated: artifacts.more,
    events: await eventsWhere(db, sql`device_id = ${deviceId}`),
  };
}
