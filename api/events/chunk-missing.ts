/**
 * `chunk-missing`: chunks that kept artifacts reference and the store no longer shows (the
 * object deleted, a bucket prefix gone, a store mount that is not there). A chunk is missing
 * when its `blobs` record is doubted (a listing did not show it, a scrub or a download found
 * it gone: api/ingest/staging.ts `doubtRecords`) or gone (a capture asked the store and found
 * it absent), and no open chunk-corrupt event already names it (a chunk set aside as damaged).
 *
 * One event per volume the affected artifacts describe, and one per host for its affected
 * artifacts on no volume — never one per chunk: a store mount missing whole loses every
 * chunk at once, and the operator needs one critical event on each volume's page saying so,
 * with how many chunks and artifacts, not a webhook per chunk. Each is a condition
 * (`chunk-missing:volume:<vmfsUuid>`, `chunk-missing:host:<host>`): raised once while it
 * holds, resolved when none of its chunks is missing any more — the store showing them again
 * at the next maintenance pass, or a commit that stored them again (a collector's upload).
 * Only a listing that succeeded evaluates them: a store that cannot be listed fails that step
 * and raises nothing.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import type { Services } from '../context.js';
import { DOUBTED } from '../ingest/staging.js';
import { applyConditions, type HealthCondition, type Reconciled } from './health.js';
import { enqueueEvents, kickDelivery } from './webhook.js';

/** Chunk hashes and artifact ids an event's details list at most; chunkCount and artifactCount say how many there are. */
export const LISTED_AT_MOST = 50;

/** The affected artifacts of one volume (or of one host, on no volume), as the database sums them up. */
export interface MissingGroup {
  vmfsUuid: string | null;
  /** The host of the newest affected artifact (for a host's group, the host). */
  host: string;
  deviceId: string | null;
  captureId: string;
  fileName: string;
  chunkCount: number;
  artifactCount: number;
  /** Up to LISTED_AT_MOST, in hash order. */
  chunks: string[];
  /** Up to LISTED_AT_MOST, newest first. */
  artifacts: string[];
}

/** The condition key of a group: its volume, or its host for artifacts on no volume. */
export function chunkMissingCondition(g: Pick<MissingGroup, 'vmfsUuid' | 'host'>): string {
  return g.vmfsUuid ? `${OF_VOLUME}${g.vmfsUuid}` : `${OF_HOST}${g.host}`;
}

const OF_VOLUME = 'chunk-missing:volume:';
const OF_HOST = 'chunk-missing:host:';

/** The chunk-missing conditions that hold for these groups (pure). */
export function chunkMissingConditions(groups: readonly MissingGroup[]): HealthCondition[] {
  return groups.map((g) => {
    const chunks = `${g.chunkCount} stored chunk${g.chunkCount === 1 ? '' : 's'}`;
    const others = g.artifactCount > 1 ? ` and ${g.artifactCount - 1} other artifact${g.artifactCount > 2 ? 's' : ''}` : '';
    return {
      condition: chunkMissingCondition(g),
      type: 'chunk-missing',
      severity: 'critical',
      vmfsUuid: g.vmfsUuid,
      deviceId: g.deviceId,
      host: g.host,
      message:
        `${chunks} of ${g.fileName}${others} ${g.vmfsUuid ? 'of this volume' : `of ${g.host}`} ${g.chunkCount === 1 ? 'is' : 'are'} missing from the store: ` +
        'check the store (an unmounted directory, a deleted bucket prefix, another bucket) and put the objects back; ' +
        'the next capture of a host holding the same bytes uploads them again; resolved once none is missing',
      details: {
        chunkCount: g.chunkCount,
        chunks: g.chunks,
        artifactCount: g.artifactCount,
        artifacts: g.artifacts,
        newestArtifact: g.artifacts[0],
        captureId: g.captureId,
      },
    };
  });
}

/**
 * Whether any chunk could be missing or any chunk-missing event is open: two probes, so a pass
 * over a whole store pays for the scan below only while something is amiss.
 */
async function worthScanning(db: Db): Promise<boolean> {
  const [r] = await queryRows<{ doubted: boolean; open: boolean }>(
    db,
    sql`select exists (select 1 from blobs where last_verified = ${DOUBTED.toISOString()}::timestamptz) as doubted,
               exists (select 1 from events where condition like 'chunk-missing:%' and resolved_at is null) as open`,
  );
  return r.doubted || r.open;
}

/**
 * The affected groups, summed up by the database (a store lost whole is every artifact: what
 * comes back is a row per volume and host, not per chunk). `volumes`/`hosts` limit it to
 * those groups (a commit re-evaluating the events of its own volumes and host).
 */
export async function missingGroups(db: Db, only?: { volumes: readonly string[]; hosts: readonly string[] }): Promise<MissingGroup[]> {
  const limit = only
    ? sql`where (p.vmfs_uuid in (select jsonb_array_elements_text(${JSON.stringify(only.volumes)}::jsonb))
             or (p.vmfs_uuid is null and p.host in (select jsonb_array_elements_text(${JSON.stringify(only.hosts)}::jsonb))))`
    : sql``;
  const rows = await queryRows<{
    vmfs_uuid: string | null;
    host: string;
    device_id: string | null;
    capture_id: string;
    file_name: string;
    chunk_count: number | string;
    artifact_count: number | string;
    chunks: string[];
    artifacts: string[];
  }>(
    db,
    sql`
    with missing as (
      select distinct a.id as artifact_id, x.sha
        from artifacts a join captures cap on cap.id = a.capture_id and cap.state = 'committed'
        cross join lateral (select c->>'sha256' as sha from jsonb_array_elements(a.chunks) c
                            union all select a.chunk_list where a.chunk_list is not null) x
        left join blobs b on b.sha256 = x.sha
       where (b.sha256 is null or b.last_verified = ${DOUBTED.toISOString()}::timestamptz)
         and not exists (select 1 from events e where e.type = 'chunk-corrupt' and e.resolved_at is null and e.details->>'sha256' = x.sha)
    ),
    volumes as (
      select artifact_id, vmfs_uuid from extents where vmfs_uuid is not null and artifact_id in (select artifact_id from missing)
      union select artifact_id, vmfs_uuid from segments where artifact_id in (select artifact_id from missing)
    ),
    p as (
      select m.artifact_id, m.sha, v.vmfs_uuid, case when v.vmfs_uuid is null then a.host end as host, a.collected_at
        from missing m join artifacts a on a.id = m.artifact_id left join volumes v on v.artifact_id = m.artifact_id
    ),
    arts as (
      select vmfs_uuid, host, artifact_id,
             row_number() over (partition by vmfs_uuid, host order by collected_at desc, artifact_id) as n
        from (select distinct vmfs_uuid, host, artifact_id, collected_at from p ${limit}) d
    ),
    grouped as (
      select p.vmfs_uuid, p.host, count(distinct p.sha) as chunk_count,
             (array_agg(distinct p.sha order by p.sha))[1:${LISTED_AT_MOST}] as chunks
        from p ${limit} group by p.vmfs_uuid, p.host
    )
    select g.vmfs_uuid, a.host, g.chunk_count, g.chunks,
           (select count(*) from arts where arts.vmfs_uuid is not distinct from g.vmfs_uuid and arts.host is not distinct from g.host) as artifact_count,
           (select array_agg(artifact_id order by n) from arts
             where arts.vmfs_uuid is not distinct from g.vmfs_uuid and arts.host is not distinct from g.host and n <= ${LISTED_AT_MOST}) as artifacts,
           coalesce((select e.device_id from extents e where e.artifact_id = a.id and e.vmfs_uuid = g.vmfs_uuid and e.device_id is not null limit 1), a.device) as device_id,
           a.capture_id, a.file_name
      from grouped g
      join arts newest on newest.vmfs_uuid is not distinct from g.vmfs_uuid and newest.host is not distinct from g.host and newest.n = 1
      join artifacts a on a.id = newest.artifact_id
     order by g.vmfs_uuid nulls last, a.host`,
  );
  return rows.map((r) => ({
    vmfsUuid: r.vmfs_uuid,
    host: r.host,
    deviceId: r.device_id,
    captureId: r.capture_id,
    fileName: r.file_name,
    chunkCount: Number(r.chunk_count),
    artifactCount: Number(r.artifact_count),
    chunks: r.chunks,
    artifacts: r.artifacts,
  }));
}

type MissingServices = Pick<Services, 'db' | 'config' | 'logger' | 'now'>;

/**
 * Raises a chunk-missing event for each group that has none open and resolves each open one
 * whose chunks are all back, queuing their webhooks and sending them at once (as
 * chunk-corrupt's are). Run by the maintenance pass after a listing that succeeded (and the
 * scrub), so what it reads is the store's word of this hour.
 */
export async function reconcileChunkMissing(services: MissingServices): Promise<ChunkMissingPass> {
  const { db } = services;
  if (!(await worthScanning(db))) return { raised: 0, resolved: 0, holding: 0 };
  const at = services.now();
  const done = await db.transaction(async (txRaw) => {
    const tx = txRaw as unknown as Db;
    const holding = chunkMissingConditions(await missingGroups(tx));
    const r = await applyConditions(tx, ['chunk-missing'], holding, at, null);
    await queue(tx, services, at, r);
    return { ...r, holding: holding.length };
  });
  if (done.raised.length || done.resolved.length) kickDelivery(services);
  return { raised: done.raised.length, resolved: done.resolved.length, holding: done.holding };
}

/** What one evaluation did: events raised and resolved, and how many volumes and hosts have chunks missing now (an open event each). */
export interface ChunkMissingPass {
  raised: number;
  resolved: number;
  holding: number;
}

/**
 * After commits that stored chunks: the open chunk-missing events of their volumes and hosts
 * whose chunks are all back now are resolved (a collector uploaded the lost chunks again). Run
 * once for the captures a health pass answers for (api/events/checks.ts), not once a commit:
 * one indexed probe when none is open; raising stays the maintenance pass's. Never fails a
 * commit: the next pass resolves what this could not.
 */
export async function resolveChunkMissingAfterCommits(services: MissingServices, committed: ReadonlyArray<{ captureId: string; host: string }>): Promise<void> {
  const { db } = services;
  if (committed.length === 0) return;
  const captureIds = JSON.stringify([...new Set(committed.map((c) => c.captureId))]);
  const hostNames = JSON.stringify([...new Set(committed.map((c) => c.host))]);
  try {
    const open = await queryRows<{ condition: string; vmfs_uuid: string | null; host: string | null }>(
      db,
      // Equality on the condition: probes of the partial index of open conditions, whatever the events table holds.
      sql`select condition, vmfs_uuid, host from events
           where resolved_at is null and condition in (
             select ${OF_VOLUME}::text || x.vmfs_uuid from artifacts a join extents x on x.artifact_id = a.id
              where a.capture_id in (select jsonb_array_elements_text(${captureIds}::jsonb)) and x.vmfs_uuid is not null
             union select ${OF_VOLUME}::text || s.vmfs_uuid from artifacts a join segments s on s.artifact_id = a.id
              where a.capture_id in (select jsonb_array_elements_text(${captureIds}::jsonb))
             union select ${OF_HOST}::text || h.name from jsonb_array_elements_text(${hostNames}::jsonb) as h(name))`,
    );
    if (open.length === 0) return;
    const at = services.now();
    const resolved = await db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const volumes = open.flatMap((e) => (e.vmfs_uuid ? [e.vmfs_uuid] : []));
      const hosts = open.flatMap((e) => (e.vmfs_uuid ? [] : [e.host ?? '']));
      const still = new Set((await missingGroups(tx, { volumes, hosts })).map(chunkMissingCondition));
      const back = open.map((e) => e.condition).filter((c) => !still.has(c));
      if (back.length === 0) return [];
      const rows = await queryRows<{ id: number | string }>(
        tx,
        sql`update events set resolved_at = ${at.toISOString()}
             where resolved_at is null and condition in (select jsonb_array_elements_text(${JSON.stringify(back)}::jsonb)) returning id`,
      );
      const ids = rows.map((r) => Number(r.id));
      await queue(tx, services, at, { raised: [], resolved: ids });
      return ids;
    });
    if (resolved.length) kickDelivery(services);
  } catch (e) {
    services.logger.warn('chunk-missing events not re-evaluated after commit', {
      captureIds: committed.map((c) => c.captureId),
      error: e instanceof Error ? e.message : String(e),
    });
  }
}

async function queue(tx: Db, services: MissingServices, at: Date, r: Reconciled): Promise<void> {
  await enqueueEvents(tx, services.config, at, 'event.raised', r.raised);
  await enqueueEvents(tx, services.config, at, 'event.resolved', r.resolved);
}
