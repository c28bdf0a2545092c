/**
 * Hosts: every collector host with its last committed capture and whether it is
 * stale (no capture within the configured hours of the injected clock's now).
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import { type CaptureView, HOST_VIEW_LIMITS, type HostDetailView, type HostView } from '../schemas/catalog.js';
import { iso, num, str } from './rows.js';
import { VMFS_OF_EXTENT } from './segment-claims.js';
import { artifactSummary, eventView } from './volumes.js';

type Row = Record<string, unknown>;

function captureView(r: Row): CaptureView {
  return {
    id: String(r.id),
    collectedAt: iso(r.collected_at)!,
    committedAt: iso(r.committed_at),
    collectorVersion: String(r.collector_version),
    artifactCount: num(r.artifact_count) ?? 0,
  };
}

/** Hosts a page of GET /v1/hosts (and the console's hosts page) lists unless asked for fewer. */
export const DEFAULT_HOST_LIMIT = 100;
/** The most hosts one page lists. */
export const MAX_HOST_LIMIT = 1000;

/** Hosts (one, or a page by name: those named after `after`, at most `limit`) with their newest committed capture. */
async function hostRows(db: Db, which: { name: string } | { after: string | null; limit: number }): Promise<Row[]> {
  const where = 'name' in which ? sql`h.name = ${which.name}` : which.after === null ? sql`TRUE` : sql`h.name > ${which.after}`;
  const limit = 'name' in which ? sql`` : sql`LIMIT ${which.limit}`;
  return queryRows<Row>(
    db,
    sql`
    SELECT h.*, lc.id AS c_id, lc.collected_at AS c_collected_at, lc.committed_at AS c_committed_at,
           lc.collector_version AS c_collector_version,
           (SELECT count(*) FROM artifacts a WHERE a.capture_id = lc.id) AS c_artifact_count
      FROM hosts h
      LEFT JOIN LATERAL (
        SELECT c.* FROM captures c WHERE c.host = h.name AND c.state = 'committed'
         ORDER BY c.collected_at DESC LIMIT 1
      ) lc ON TRUE
     WHERE ${where}
     ORDER BY h.name ${limit}`,
  );
}

function hostView(r: Row, now: Date, staleAfterHours: number): HostView {
  const lastCapture = r.c_id
    ? captureView({
        id: r.c_id,
        collected_at: r.c_collected_at,
        committed_at: r.c_committed_at,
        collector_version: r.c_collector_version,
        artifact_count: r.c_artifact_count,
      })
    : null;
  const hours = lastCapture ? (now.getTime() - new Date(lastCapture.collectedAt).getTime()) / 3_600_000 : null;
  return {
    name: String(r.name),
    kind: String(r.kind),
    systemUuid: str(r.system_uuid),
    firstSeen: iso(r.first_seen)!,
    lastSeen: iso(r.last_seen)!,
    lastCapture,
    stale: hours === null || hours > staleAfterHours,
    hoursSinceLastCapture: hours === null ? null : Math.round(hours * 10) / 10,
  };
}

/**
 * One page of hosts by name: at most `limit`, named after `after` (the previous page's
 * `nextAfter`; null for the first page), and the `after` of the next page (null on the last).
 * Keyed by the name, not an offset: a host brought in meanwhile neither repeats nor hides another.
 */
export async function listHosts(
  db: Db,
  now: Date,
  staleAfterHours: number,
  page: { after: string | null; limit: number },
): Promise<{ hosts: HostView[]; nextAfter: string | null }> {
  const rows = await hostRows(db, { after: page.after, limit: page.limit + 1 });
  const hosts = rows.slice(0, page.limit).map((r) => hostView(r, now, staleAfterHours));
  return { hosts, nextAfter: rows.length > page.limit ? hosts[hosts.length - 1].name : null };
}

/** One host with its captures, last artifacts, volumes seen, LUs presented and events; null when unknown. */
export async function getHost(db: Db, name: string, now: Date, staleAfterHours: number): Promise<HostDetailView | null> {
  const [row] = await hostRows(db, { name });
  if (!row) return null;
  const host = hostView(row, now, staleAfterHours);
  const captures = await queryRows<Row>(
    db,
    sql`
    SELECT c.id, c.collected_at, c.committed_at, c.collector_version,
           (SELECT count(*) FROM artifacts a WHERE a.capture_id = c.id) AS artifact_count
      FROM captures c WHERE c.host = ${name} AND c.state = 'committed'
     ORDER BY c.collected_at DESC LIMIT ${HOST_VIEW_LIMITS.captures + 1}`,
  );
  const open = await queryRows<Row>(
    db,
    sql`
    SELECT c.id, c.collected_at, coalesce(c.last_begun_at, c.received_at) AS last_begun_at,
           jsonb_array_length(c.request->'artifacts') AS artifact_count, coalesce(c.request->>'partial' = 'true', false) AS partial, j.state AS job_state, j.attempts AS job_attempts, j.error AS job_error
      FROM captures c LEFT JOIN commit_jobs j ON j.capture_id = c.id
     WHERE lower(c.host) = lower(${name}) AND c.state = 'open'
     ORDER BY 3 DESC LIMIT ${HOST_VIEW_LIMITS.openCaptures}`,
  );
  const artifacts = host.lastCapture
    ? await queryRows<Row>(db, sql`SELECT * FROM artifacts WHERE capture_id = ${host.lastCapture.id} ORDER BY kind, file_name`)
    : [];
  const volumes = await queryRows<Row>(
    db,
    sql`
    SELECT x.vmfs_uuid, v.label, x.last_seen FROM (
      SELECT ${VMFS_OF_EXTENT} AS vmfs_uuid, max(e.seen_at) AS last_seen
        FROM extents e JOIN artifacts a ON a.id = e.artifact_id
       WHERE e.host = ${name}
       GROUP BY 1
    ) x LEFT JOIN volumes v ON v.vmfs_uuid = x.vmfs_uuid
     WHERE x.vmfs_uuid IS NOT NULL
     ORDER BY x.last_seen DESC LIMIT ${HOST_VIEW_LIMITS.volumes}`,
  );
  // Each artifact of the host's newest capture that lists targets describes the current configuration.
  const targets = await queryRows<Row>(
    db,
    sql`
    SELECT t.* FROM targets t
     WHERE t.capture_id = (
       SELECT t2.capture_id FROM targets t2 JOIN artifacts a ON a.id = t2.artifact_id
        WHERE t2.storage_host = ${name} ORDER BY a.collected_at DESC LIMIT 1)
     ORDER BY t.iqn, t.lun LIMIT ${HOST_VIEW_LIMITS.targets}`,
  );
  const events = await queryRows<Row>(db, sql`SELECT * FROM events WHERE host = ${name} ORDER BY created_at DESC, id DESC LIMIT ${HOST_VIEW_LIMITS.events}`);
  return {
    ...host,
    captures: captures.slice(0, HOST_VIEW_LIMITS.captures).map(captureView),
    capturesTruncated: captures.length > HOST_VIEW_LIMITS.captures,
    openCaptures: open.map((o) => ({
      id: String(o.id),
      collectedAt: iso(o.collected_at)!,
      lastBegunAt: iso(o.last_begun_at)!,
      artifactCount: num(o.artifact_count) ?? 0,
      partial: o.partial === true,
      commitJob: o.job_state === null ? null : { state: String(o.job_state), attempts: num(o.job_attempts) ?? 0, error: jobError(o.job_error) },
    })),
    artifacts: artifacts.map(artifactSummary),
    volumes: volumes.map((v) => ({ vmfsUuid: String(v.vmfs_uuid), label: str(v.label), lastSeen: iso(v.last_seen)! })),
    targets: targets.map((t) => ({
      stack: String(t.stack),
      iqn: str(t.iqn),
      alias: str(t.alias),
      lun: num(t.lun),
      deviceId: str(t.device_id),
      backingStore: str(t.backing_store),
      sizeBytes: num(t.size_bytes),
      seenAt: iso(t.seen_at)!,
    })),
    events: events.map(eventView),
  };
}

/** A failed commit job's stored error ({ status, code, message }) as one line. */
function jobError(v: unknown): string | null {
  const e = (typeof v === 'string' ? JSON.parse(v) : v) as { status?: number; code?: string; message?: string } | null;
  return e ? `${e.status ?? ''} ${e.code ?? ''}: ${e.message ?? ''}`.trim() : null;
}
