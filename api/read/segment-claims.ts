/**
 * Which LVM segments are a VMFS volume's, and so which devices its view, restore bundle and
 * DR plan name. Any host's collector token can send a `.vh.sf` whose FS descriptor ties any
 * segment UUID to any VMFS UUID, so an FS descriptor is weighed by where it was read:
 *
 * - A header dump that reached the FS descriptor is the device's own word: the segment in its
 *   volume table belongs to the VMFS UUID in its descriptor ("told": a `segments` row of a
 *   `vmfs-header` artifact). Such a segment is always the volume's.
 * - Any other FS descriptor (a `.vh.sf`: "a claim") counts only when no header dump contradicts
 *   it: none ties its segment to another volume, none ties its volume to another segment. A
 *   VMFS volume lives on exactly one LVM logical volume, the same segment UUID in every extent's
 *   volume table (vmfs-tools libvmfs/vmfs_lvm.c vmfs_lvm_add_extent: "is not part of the LVM";
 *   libvmfs/vmfs_fs.c vmfs_fs_open: "FS doesn't belong to the underlying LVM"), so either is a
 *   claim that cannot be true. A contradicted claim adds nothing and raises
 *   segment-claim-conflict (api/events/segment-claims.ts).
 * - A device joins a volume through a segment only by a header row that names no VMFS UUID of
 *   its own (a later extent, or a dump that ended before the descriptor), and only when no
 *   host's newest header dump of that device names another volume, itself or through a segment
 *   a header dump ties to another volume.
 */
import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import { inList } from './rows.js';

type Row = Record<string, unknown>;

/** `AND <alias>.collected_at <= at`, or nothing without a time. */
function by(alias: string, at: Date | undefined): SQL {
  return at ? sql`AND ${sql.raw(alias)}.collected_at <= ${at.toISOString()}` : sql``;
}

/** A header dump at or before `at` ties the segment of `s` to another volume, or the volume of `s` to another segment. */
function contradicted(at?: Date): SQL {
  return sql`EXISTS (
    SELECT 1 FROM segments n JOIN artifacts na ON na.id = n.artifact_id
     WHERE na.kind = 'vmfs-header' ${by('na', at)}
       AND ((n.segment_uuid = s.segment_uuid AND n.vmfs_uuid <> s.vmfs_uuid)
         OR (n.vmfs_uuid = s.vmfs_uuid AND n.segment_uuid <> s.segment_uuid)))`;
}

/**
 * True for a `segments` row `s` (its artifact joined as `artifact`, default `a`) that is a header
 * dump's, or a claim no header dump at or before `at` contradicts: the rule wherever a segments
 * row links a device to a volume.
 */
export function segmentRowStands(at?: Date, artifact = 'a'): SQL {
  return sql`(${sql.raw(artifact)}.kind = 'vmfs-header' OR NOT ${contradicted(at)})`;
}

/** The VMFS UUID of extent row `e`: its own, else (a dump without the FS descriptor) that of its segment, where one stands. */
export const VMFS_OF_EXTENT: SQL = sql`coalesce(e.vmfs_uuid, (SELECT s.vmfs_uuid FROM segments s JOIN artifacts sa ON sa.id = s.artifact_id
                                                  WHERE s.segment_uuid = e.segment_uuid AND ${segmentRowStands(undefined, 'sa')} LIMIT 1))`;

/** Segment UUIDs of a volume (see above): those its header dumps tell, and claims none contradicts. */
export async function segmentsOfVolume(db: Db, vmfsUuid: string, at?: Date): Promise<string[]> {
  // Each distinct claim once before the check: a volume's daily `.vh.sf` copies are one claim,
  // not one probe each.
  const rows = await queryRows<Row>(
    db,
    sql`
    SELECT DISTINCT s.segment_uuid FROM (
      SELECT DISTINCT s.segment_uuid, s.vmfs_uuid, (a.kind = 'vmfs-header') AS told
        FROM segments s JOIN artifacts a ON a.id = s.artifact_id
       WHERE s.vmfs_uuid = ${vmfsUuid} ${by('a', at)}
    ) s
     WHERE s.told OR NOT ${contradicted(at)}
     ORDER BY 1`,
  );
  return rows.map((r) => String(r.segment_uuid));
}

/**
 * Devices that header rows of `segmentUuids` (naming no volume themselves) would join to the
 * volume, but whose newest header dump from some host names another volume: by its own FS
 * descriptor, or by a segment a header dump ties to another volume.
 */
async function devicesOfOtherVolumes(db: Db, vmfsUuid: string, segmentUuids: string[], at?: Date): Promise<string[]> {
  if (segmentUuids.length === 0) return [];
  const rows = await queryRows<Row>(
    db,
    sql`
    SELECT DISTINCT d.device_id FROM (
      SELECT DISTINCT ON (h.device_id, h.host) h.device_id, h.vmfs_uuid, h.segment_uuid
        FROM extents h JOIN artifacts a ON a.id = h.artifact_id
       WHERE h.source = 'header' ${by('a', at)}
         AND h.device_id IN (SELECT e.device_id FROM extents e
                              WHERE e.segment_uuid IN ${inList(segmentUuids)} AND e.vmfs_uuid IS NULL AND e.device_id IS NOT NULL)
       ORDER BY h.device_id, h.host, a.collected_at DESC, h.id DESC
    ) d
     WHERE d.vmfs_uuid <> ${vmfsUuid}
        OR EXISTS (SELECT 1 FROM segments n JOIN artifacts na ON na.id = n.artifact_id
                    WHERE na.kind = 'vmfs-header' AND n.segment_uuid = d.segment_uuid AND n.vmfs_uuid <> ${vmfsUuid} ${by('na', at)})`,
  );
  return rows.map((r) => String(r.device_id));
}

/** The volume's segments, and the condition on `extents e` that picks the volume's extent rows. */
export interface VolumeLink {
  segmentUuids: string[];
  /** Rows naming the volume, and header rows of its segments that name none, on no other volume's device. */
  where: SQL;
}

/** How a volume's extent rows are found at or before `at` (see the rule above). */
export async function volumeLink(db: Db, vmfsUuid: string, at?: Date): Promise<VolumeLink> {
  const segmentUuids = await segmentsOfVolume(db, vmfsUuid, at);
  if (segmentUuids.length === 0) return { segmentUuids, where: sql`e.vmfs_uuid = ${vmfsUuid}` };
  const foreign = await devicesOfOtherVolumes(db, vmfsUuid, segmentUuids, at);
  const notForeign = foreign.length ? sql`AND (e.device_id IS NULL OR e.device_id NOT IN ${inList(foreign)})` : sql``;
  return {
    segmentUuids,
    where: sql`(e.vmfs_uuid = ${vmfsUuid} OR (e.vmfs_uuid IS NULL AND e.segment_uuid IN ${inList(segmentUuids)} ${notForeign}))`,
  };
}
