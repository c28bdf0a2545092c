/**
 * The queries behind a restore bundle: everything the catalog knows about a subject
 * at or before a time, as typed rows (api/bundle/types.ts). No selection happens here
 * beyond "newest of each series" where the query itself answers it.
 */
import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import { chunkList } from '../read/content.js';
import { snapshotsOfDatasets, targetsOfDevices, volumesOnDevices } from '../read/volumes.js';
import { segmentsOfVolume, volumeLink, type VolumeLink } from '../read/segment-claims.js';
import { inList, iso, num, str } from '../read/rows.js';
import { backingDatasetsOf, esxHostsOf, storageHostsOf, subjectDeviceIds } from './choose.js';
import type { ArtifactRef, BundleRows, BundleSubject, DescriptorRow, ExtentRow } from './types.js';

/** Artifact kinds a storage host's target configuration lives in. */
const STORAGE_KINDS = ['iscsitgt-smf', 'stmf-smf', 'comstar-listing', 'zfs-snapshots'] as const;

type Row = Record<string, unknown>;

const ARTIFACT_COLUMNS = sql.raw(`a.id AS a_id, a.capture_id AS a_capture_id, a.kind AS a_kind, a.host AS a_host, a.file_name AS a_file_name,
  a.source_path AS a_source_path, a.device AS a_device, a.collected_at AS a_collected_at, a.size AS a_size, a.sha256 AS a_sha256, a.chunks AS a_chunks`);

function artifactRef(r: Row): ArtifactRef {
  return {
    id: String(r.a_id),
    captureId: String(r.a_capture_id),
    kind: String(r.a_kind),
    host: String(r.a_host),
    fileName: String(r.a_file_name),
    sourcePath: String(r.a_source_path),
    device: str(r.a_device),
    collectedAt: iso(r.a_collected_at)!,
    size: num(r.a_size) ?? 0,
    sha256: String(r.a_sha256),
    chunks: chunkList(r.a_chunks),
  };
}

function extentRow(r: Row): ExtentRow {
  return {
    source: String(r.source),
    host: String(r.host),
    artifact: artifactRef(r),
    deviceId: str(r.device_id),
    vml: str(r.vml),
    lun: num(r.lun),
    devicePath: str(r.device_path),
    scheme: str(r.partition_scheme),
    index: num(r.partition_index),
    startLba: num(r.partition_start),
    endLba: num(r.partition_end),
    type: str(r.partition_type),
    missing: Boolean(r.partition_missing),
  };
}

/** The newest artifact of each (host, kind, source path, device) series of `kinds` on `hosts`. */
async function artifactsOfHosts(db: Db, hosts: string[], kinds: readonly string[], at: Date, extra: SQL = sql``): Promise<ArtifactRef[]> {
  if (hosts.length === 0) return [];
  const rows = await queryRows<Row>(
    db,
    sql`
    SELECT DISTINCT ON (a.host, a.kind, a.source_path, coalesce(a.device, '')) ${ARTIFACT_COLUMNS}
      FROM artifacts a
     WHERE a.host IN ${inList(hosts)} AND a.kind IN ${inList([...kinds])} AND a.collected_at <= ${at.toISOString()} ${extra}
     ORDER BY a.host, a.kind, a.source_path, coalesce(a.device, ''), a.collected_at DESC`,
  );
  return rows.map(artifactRef);
}

/**
 * Extents on the subject (a volume through its UUID or its segments as api/read/segment-claims.ts
 * decides them, or one device), newest artifact first.
 */
async function extentsOf(db: Db, link: VolumeLink | null, subject: BundleSubject, at: Date): Promise<ExtentRow[]> {
  const rows = await queryRows<Row>(
    db,
    sql`
    SELECT e.*, ${ARTIFACT_COLUMNS}
      FROM extents e JOIN artifacts a ON a.id = e.artifact_id
     WHERE ${link ? link.where : sql`e.device_id = ${subject.deviceId}`} AND a.collected_at <= ${at.toISOString()}
     ORDER BY a.collected_at DESC, e.id`,
  );
  return rows.map(extentRow);
}

/** FS descriptor copies (.vh.sf, long dumps) of the volumes, of the segments that are theirs (a contradicted claim is none). */
async function descriptorsOf(db: Db, volumes: string[], at: Date, link: VolumeLink | null): Promise<DescriptorRow[]> {
  const out: DescriptorRow[] = [];
  for (const vmfsUuid of volumes) {
    const segs = link?.segmentUuids ?? (await segmentsOfVolume(db, vmfsUuid, at));
    if (segs.length === 0) continue;
    const rows = await queryRows<Row>(
      db,
      sql`
      SELECT s.vmfs_uuid, ${ARTIFACT_COLUMNS}
        FROM segments s JOIN artifacts a ON a.id = s.artifact_id
       WHERE s.vmfs_uuid = ${vmfsUuid} AND s.segment_uuid IN ${inList(segs)} AND a.collected_at <= ${at.toISOString()}`,
    );
    out.push(...rows.map((r) => ({ vmfsUuid: String(r.vmfs_uuid), artifact: artifactRef(r) })));
  }
  return out;
}

/** vmfs-undelete archives on `hosts` whose source path or device names one of the volumes. */
function undeleteOf(db: Db, hosts: string[], volumes: string[], at: Date): Promise<ArtifactRef[]> {
  if (volumes.length === 0) return Promise.resolve([]);
  return artifactsOfHosts(
    db,
    hosts,
    ['vmfs-undelete'],
    at,
    sql`AND (${sql.join(
      volumes.map((v) => sql`a.source_path LIKE ${'%' + v + '%'} OR a.device = ${v}`),
      sql` OR `,
    )})`,
  );
}

/**
 * The volume's label and version: those of its newest FS descriptor at or before the bundle's
 * time among `descriptors` (so a contradicted `.vh.sf` claim, which is none of them, names
 * nothing), else the volumes row (the newest sighting of all, an inventory's name included).
 */
async function volumeMeta(db: Db, volumes: string[], descriptors: DescriptorRow[]): Promise<BundleRows['volume']> {
  if (volumes.length !== 1) return null;
  const key = (d: DescriptorRow) => `${d.artifact.collectedAt} ${d.artifact.id}`;
  const newest = descriptors.reduce<DescriptorRow | null>((n, d) => (!n || key(d) > key(n) ? d : n), null);
  const [row] = newest
    ? await queryRows<Row>(
        db,
        sql`SELECT parsed->'vmfs'->>'label' AS label, parsed->'vmfs'->>'version' AS version FROM artifacts WHERE id = ${newest.artifact.id}`,
      )
    : await queryRows<Row>(db, sql`SELECT label, version FROM volumes WHERE vmfs_uuid = ${volumes[0]}`);
  return row ? { label: str(row.label), version: str(row.version) } : null;
}

/** Everything the catalog holds about `subject` at or before `at`. */
export async function gatherBundleRows(db: Db, subject: BundleSubject, at: Date): Promise<BundleRows> {
  const volumes = subject.vmfsUuid ? [subject.vmfsUuid] : await volumesOnDevices(db, [subject.deviceId!], at);
  const link = subject.vmfsUuid ? await volumeLink(db, subject.vmfsUuid, at) : null;
  const extents = await extentsOf(db, link, subject, at);
  const descriptors = await descriptorsOf(db, volumes, at, link);
  const esxHosts = esxHostsOf(extents, descriptors);
  const inventories = await artifactsOfHosts(db, esxHosts, ['esx-inventory'], at);
  const undelete = await undeleteOf(db, esxHosts, volumes, at);
  const targets = await targetsOfDevices(db, subjectDeviceIds(extents, subject), at);
  const storageConfig = await artifactsOfHosts(db, storageHostsOf(targets), STORAGE_KINDS, at);
  const snapshots = await snapshotsOfDatasets(db, backingDatasetsOf(targets), at);
  const volume = await volumeMeta(db, volumes, descriptors);
  return { volumes, extents, descriptors, inventories, undelete, targets, storageConfig, snapshots, volume };
}
