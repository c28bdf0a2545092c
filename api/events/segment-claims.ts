/**
 * segment-claim-conflict: an FS descriptor that is not a header dump's (a `.vh.sf`) ties a
 * segment to a volume, where a header dump ties that segment to another volume or that volume
 * to another segment. api/read/segment-claims.ts does not use such a claim for the volume's
 * extents, restore bundle or DR plan; this event says so, naming the host that sent it. One open
 * event per claiming host, volume and segment (`segment-claim-conflict:<host>:<vmfsUuid>:<segmentUuid>`),
 * on the claimed volume and the device whose header contradicts it (so the page of the volume
 * that device holds lists it too). A commit only adds rows, so it can raise a conflict and never
 * end one: the health pass after commits raises those its captures' segments take part in, and
 * the full pass (scheduled, after rebuild, reindex and retention) evaluates every claim and
 * resolves those whose claim or contradicting dump is gone.
 */
import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import { applyConditions, type CommittedCapture, type HealthCondition, type Reconciled } from './health.js';

type Row = Record<string, unknown>;

/** A claim per host, volume and segment, with its newest artifact, among the `segments` rows `s` that `where` picks. */
function claimsWhere(where: SQL): SQL {
  return sql`
    SELECT s.segment_uuid, s.vmfs_uuid, a.host, (array_agg(a.id ORDER BY a.collected_at DESC, a.id DESC))[1] AS artifact_id
      FROM segments s JOIN artifacts a ON a.id = s.artifact_id
     WHERE a.kind <> 'vmfs-header' AND ${where}
     GROUP BY s.segment_uuid, s.vmfs_uuid, a.host`;
}

/**
 * The contradicted claims: all of them, or with `captureIds` those sharing a segment or a volume
 * with the FS descriptors of those captures (each an index probe: a commit reads what it touched).
 */
async function conflicts(tx: Db, captureIds?: readonly string[]): Promise<HealthCondition[]> {
  const touched = captureIds
    ? sql`touched AS MATERIALIZED (
        SELECT DISTINCT t.segment_uuid, t.vmfs_uuid FROM segments t JOIN artifacts ta ON ta.id = t.artifact_id
         WHERE ta.capture_id IN (SELECT jsonb_array_elements_text(${JSON.stringify(captureIds)}::jsonb))),
      claims AS (
        ${claimsWhere(sql`s.segment_uuid IN (SELECT segment_uuid FROM touched)`)}
        UNION
        ${claimsWhere(sql`s.vmfs_uuid IN (SELECT vmfs_uuid FROM touched)`)})`
    : sql`claims AS (${claimsWhere(sql`true`)})`;
  const rows = await queryRows<Row>(
    tx,
    sql`
    WITH ${touched}
    SELECT c.segment_uuid, c.vmfs_uuid, c.host, c.artifact_id,
           h.segment_uuid AS told_segment, h.vmfs_uuid AS told_vmfs, h.host AS told_host, h.artifact_id AS told_artifact,
           (SELECT e.device_id FROM extents e WHERE e.artifact_id = h.artifact_id AND e.source = 'header' LIMIT 1) AS told_device
      FROM claims c CROSS JOIN LATERAL (
        SELECT n.segment_uuid, n.vmfs_uuid, na.host, na.id AS artifact_id
          FROM segments n JOIN artifacts na ON na.id = n.artifact_id
         WHERE na.kind = 'vmfs-header'
           AND ((n.segment_uuid = c.segment_uuid AND n.vmfs_uuid <> c.vmfs_uuid)
             OR (n.vmfs_uuid = c.vmfs_uuid AND n.segment_uuid <> c.segment_uuid))
         -- A header tying the segment to another volume says more than one giving the volume another segment.
         ORDER BY (n.segment_uuid = c.segment_uuid) DESC, na.collected_at DESC, na.id DESC LIMIT 1) h
     ORDER BY c.host, c.vmfs_uuid, c.segment_uuid`,
  );
  return rows.map((r) => {
    const host = String(r.host);
    const vmfsUuid = String(r.vmfs_uuid);
    const segmentUuid = String(r.segment_uuid);
    const device = r.told_device == null ? null : String(r.told_device);
    const dump = `the header dump of ${device ?? 'a device'} from ${String(r.told_host)}`;
    const why =
      String(r.told_segment) === segmentUuid
        ? `${dump} ties that segment to volume ${String(r.told_vmfs)}`
        : `${dump} gives the volume segment ${String(r.told_segment)} (a VMFS volume lives on one segment)`;
    return {
      condition: `segment-claim-conflict:${host}:${vmfsUuid}:${segmentUuid}`,
      type: 'segment-claim-conflict' as const,
      severity: 'warning' as const,
      host,
      vmfsUuid,
      deviceId: device,
      message:
        `an FS descriptor from ${host} ties segment ${segmentUuid} to volume ${vmfsUuid}, but ${why}: ` +
        `the claim adds nothing to the volume's extents, restore bundle or DR plan; find out why ${host} sent it`,
      details: {
        segmentUuid,
        artifactId: String(r.artifact_id),
        headerHost: String(r.told_host),
        headerArtifactId: String(r.told_artifact),
        headerDeviceId: device,
        headerSegmentUuid: String(r.told_segment),
        headerVmfsUuid: String(r.told_vmfs),
      },
    };
  });
}

/**
 * Raises segment-claim-conflict for the claims these captures' FS descriptors take part in: their
 * own, and those a header dump among them now contradicts. Resolves nothing (an empty scope).
 */
export async function raiseSegmentClaimConflicts(tx: Db, captures: readonly CommittedCapture[], at: Date): Promise<Reconciled> {
  const holding = await conflicts(
    tx,
    captures.map((c) => c.captureId),
  );
  if (holding.length === 0) return { raised: [], resolved: [] };
  const newest = captures[captures.length - 1]?.captureId ?? null;
  return applyConditions(tx, ['segment-claim-conflict'], holding, at, newest, { hosts: new Set(), devices: new Set(), vendors: new Set() });
}

/** Every segment-claim-conflict that holds, raised; the open ones that no longer hold, resolved. */
export async function reconcileSegmentClaimConflicts(tx: Db, at: Date): Promise<Reconciled> {
  return applyConditions(tx, ['segment-claim-conflict'], await conflicts(tx), at, null);
}
