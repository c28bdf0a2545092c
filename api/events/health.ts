/**
 * Health conditions across hosts, which no single artifact shows: an extent whose device
 * no captured LU presents, an LU whose GUID differs from the VMFS header its zvol holds,
 * an LU whose zvol has no (recent) snapshot. `healthConditions` is a pure function of the
 * catalog's current state (`gatherHealthState`); `reconcileHealth` turns its answer into
 * events: one unresolved event per condition (`events.condition`), resolved when a later
 * capture or scan no longer finds it.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import { inList } from '../read/rows.js';
import { datasetOfBackingStore } from '../../formats/zfs.js';
import type { Severity } from '../pipeline/drift.js';

export type HealthEventType = 'target-guid-mismatch' | 'backing-store-missing' | 'host-stale';

/** A condition that holds now; its key names it across captures. */
export interface HealthCondition {
  condition: string;
  type: HealthEventType;
  severity: Severity;
  host: string | null;
  vmfsUuid: string | null;
  deviceId: string | null;
  message: string;
  details: Record<string, unknown>;
}

/** An LU as the newest target capture of its storage host presents it. */
export interface CurrentLu {
  storageHost: string;
  deviceId: string;
  lun: number | null;
  iqn: string | null;
  backingStore: string | null;
  artifactId: string;
}

/** An extent as the newest capture of an ESX host (or an import) saw it. */
export interface CurrentExtent {
  host: string;
  deviceId: string;
  vmfsUuid: string | null;
  lun: number | null;
  artifactId: string;
}

/** The newest header dump a storage host took of one path (an LU's backing store). */
export interface StorageHeader {
  host: string;
  sourcePath: string;
  deviceId: string | null;
  vmfsUuid: string | null;
  artifactId: string;
}

/** The newest snapshot listing of a host: newest snapshot per dataset, and datasets earlier listings held. */
export interface SnapshotListing {
  host: string;
  artifactId: string;
  collectedAt: Date;
  newest: Map<string, { snapshot: string; createdAt: Date }>;
  listedBefore: Set<string>;
}

export interface HealthState {
  lus: CurrentLu[];
  extents: CurrentExtent[];
  storageHeaders: StorageHeader[];
  listings: SnapshotListing[];
}

/**
 * The IEEE company id (OUI) of an NAA 5 or 6 device id: the 24 bits after the 4-bit NAA
 * type (docs/formats.md §3; COMSTAR and iscsitgt GUIDs carry Sun's 00144F). Null for
 * other NAA types and other id kinds.
 */
export function ouiOf(deviceId: string): string | null {
  const m = /^naa\.([56])([0-9a-f]{6})/.exec(deviceId);
  return m ? m[2] : null;
}

/** Two backing store paths naming the same zvol (`dsk` and `rdsk` are the block and raw nodes of one zvol). */
function sameStore(a: string, b: string): boolean {
  const da = datasetOfBackingStore(a);
  const db = datasetOfBackingStore(b);
  return da !== null && db !== null ? da === db : a === b;
}

export interface HealthOptions {
  /** Hours after the newest snapshot of an LU's zvol before replication counts as stopped. */
  replicationPeriodHours: number;
}

/** Every target-guid-mismatch and backing-store-missing condition that holds in a state. */
export function healthConditions(state: HealthState, options: HealthOptions): HealthCondition[] {
  const out: HealthCondition[] = [];
  const presented = new Set(state.lus.map((l) => l.deviceId));
  // Only devices of the storage vendors the catalog has captures of are expected to be
  // presented by a captured LU: an extent on another array is not this catalog's to find.
  const knownOuis = new Set(state.lus.map((l) => ouiOf(l.deviceId)).filter((o): o is string => !!o));

  const unpresented = new Map<string, CurrentExtent[]>();
  for (const e of state.extents) {
    if (presented.has(e.deviceId)) continue;
    const oui = ouiOf(e.deviceId);
    if (!oui || !knownOuis.has(oui)) continue;
    const list = unpresented.get(e.deviceId) ?? [];
    list.push(e);
    unpresented.set(e.deviceId, list);
  }
  const storageHosts = [...new Set(state.lus.map((l) => l.storageHost))].sort();
  for (const [deviceId, seen] of [...unpresented].sort(([a], [b]) => a.localeCompare(b))) {
    const hosts = [...new Set(seen.map((e) => e.host))].sort();
    const first = seen[0];
    out.push({
      condition: `target-guid-mismatch:extent:${deviceId}`,
      type: 'target-guid-mismatch',
      severity: 'warning',
      host: first.host,
      vmfsUuid: first.vmfsUuid,
      deviceId,
      message:
        `the VMFS extent on ${deviceId} (seen by ${hosts.join(', ')}) is presented by no LU on the captured storage hosts ` +
        `(${storageHosts.join(', ')}): a DR target rebuilt from these captures would not present it under this NAA`,
      details: { deviceId, seenBy: hosts, lun: first.lun, artifactId: first.artifactId, storageHosts },
    });
  }

  for (const lu of state.lus) {
    if (!lu.backingStore) continue;
    const header = state.storageHeaders.find((h) => h.host === lu.storageHost && sameStore(h.sourcePath, lu.backingStore!));
    if (!header?.deviceId || header.deviceId === lu.deviceId) continue;
    out.push({
      condition: `target-guid-mismatch:lu:${lu.storageHost}:${lu.deviceId}`,
      type: 'target-guid-mismatch',
      severity: 'critical',
      host: lu.storageHost,
      vmfsUuid: header.vmfsUuid,
      deviceId: header.deviceId,
      message:
        `the LU ${lu.deviceId} on ${lu.storageHost} (LUN ${lu.lun ?? '?'}) is backed by ${lu.backingStore}, whose VMFS header names ` +
        `device ${header.deviceId}: ESX will see a snapshot LUN; give the LU the GUID ${header.deviceId.slice(4).toUpperCase()} or resignature`,
      details: {
        luDeviceId: lu.deviceId,
        headerDeviceId: header.deviceId,
        storageHost: lu.storageHost,
        lun: lu.lun,
        iqn: lu.iqn,
        backingStore: lu.backingStore,
        luArtifactId: lu.artifactId,
        headerArtifactId: header.artifactId,
      },
    });
  }

  const periodMs = options.replicationPeriodHours * 3_600_000;
  const listingOf = new Map(state.listings.map((l) => [l.host, l]));
  const headerOf = (lu: CurrentLu) => state.storageHeaders.find((h) => h.host === lu.storageHost && sameStore(h.sourcePath, lu.backingStore!));
  const done = new Set<string>();
  for (const lu of state.lus) {
    const dataset = datasetOfBackingStore(lu.backingStore);
    const listing = listingOf.get(lu.storageHost);
    if (!dataset || !listing) continue;
    const key = `${lu.storageHost}:${dataset}`;
    if (done.has(key)) continue;
    done.add(key);
    const vmfsUuid = headerOf(lu)?.vmfsUuid ?? null;
    const newest = listing.newest.get(dataset);
    const base = {
      storageHost: lu.storageHost,
      dataset,
      luDeviceId: lu.deviceId,
      lun: lu.lun,
      backingStore: lu.backingStore,
      listingArtifactId: listing.artifactId,
    };
    if (!newest) {
      const before = listing.listedBefore.has(dataset);
      out.push({
        condition: `backing-store-missing:${key}:not-listed`,
        type: 'backing-store-missing',
        severity: 'critical',
        host: lu.storageHost,
        vmfsUuid,
        deviceId: lu.deviceId,
        message:
          `the zvol ${dataset} backing LU ${lu.deviceId} on ${lu.storageHost} ${before ? 'no longer appears' : 'does not appear'} ` +
          `in the host's snapshot listing of ${listing.collectedAt.toISOString()}: nothing to restore it from`,
        details: { ...base, reason: 'not-listed', listedBefore: before },
      });
      continue;
    }
    const ageMs = listing.collectedAt.getTime() - newest.createdAt.getTime();
    if (ageMs > periodMs) {
      out.push({
        condition: `backing-store-missing:${key}:no-recent-snapshot`,
        type: 'backing-store-missing',
        severity: 'warning',
        host: lu.storageHost,
        vmfsUuid,
        deviceId: lu.deviceId,
        message:
          `the newest snapshot of ${dataset} (backing LU ${lu.deviceId} on ${lu.storageHost}) is ${dataset}@${newest.snapshot} ` +
          `of ${newest.createdAt.toISOString()}, ${Math.round(ageMs / 3_600_000)} h before the listing: longer than the ` +
          `${options.replicationPeriodHours} h replication period`,
        details: {
          ...base,
          reason: 'no-recent-snapshot',
          newestSnapshot: newest.snapshot,
          newestCreatedAt: newest.createdAt.toISOString(),
          listedAt: listing.collectedAt.toISOString(),
          replicationPeriodHours: options.replicationPeriodHours,
        },
      });
    }
  }
  return out;
}

type Row = Record<string, unknown>;
const dateOf = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** An extent's volume: named in its header, or (a dump without the FS descriptor) through its segment UUID. */
const VMFS_OF_EXTENT = sql.raw(`coalesce(e.vmfs_uuid, (SELECT s.vmfs_uuid FROM segments s WHERE s.segment_uuid = e.segment_uuid LIMIT 1))`);

/**
 * Each host's newest capture with rows in `table` matching `where` (alias `x`): one index
 * probe per host on (host, seen_at), not a scan of every sighting ever recorded; its rows are
 * joined back on (host, seen_at) too, which that index answers (a capture's rows share seen_at).
 */
const NEWEST_PER_HOST = (table: 'targets' | 'extents', hostColumn: 'storage_host' | 'host', where: ReturnType<typeof sql>) => sql`
  SELECT h.name AS ${sql.raw(hostColumn)}, l.capture_id, l.seen_at FROM hosts h
   CROSS JOIN LATERAL (
     SELECT x.capture_id, x.seen_at FROM ${sql.raw(table)} x WHERE x.${sql.raw(hostColumn)} = h.name AND ${where}
      ORDER BY x.seen_at DESC, x.capture_id DESC LIMIT 1) l`;

/**
 * The catalog's current state for the health checks: each storage host's newest target
 * capture, each other host's newest extent sightings, the header dumps storage hosts took
 * of their backing stores, and each storage host's newest snapshot listing.
 */
export async function gatherHealthState(db: Db): Promise<HealthState> {
  const luRows = await queryRows<Row>(
    db,
    sql`
    WITH newest AS (${NEWEST_PER_HOST('targets', 'storage_host', sql`TRUE`)})
    SELECT t.storage_host, t.device_id, t.lun, t.iqn, t.backing_store, t.artifact_id
      FROM targets t JOIN newest n ON n.storage_host = t.storage_host AND n.seen_at = t.seen_at AND n.capture_id = t.capture_id
     WHERE t.device_id IS NOT NULL
     ORDER BY t.storage_host, t.device_id, t.lun`,
  );
  const lus: CurrentLu[] = luRows.map((r) => ({
    storageHost: String(r.storage_host),
    deviceId: String(r.device_id),
    lun: numOrNull(r.lun),
    iqn: strOrNull(r.iqn),
    backingStore: strOrNull(r.backing_store),
    artifactId: String(r.artifact_id),
  }));
  const storageHosts = [...new Set(lus.map((l) => l.storageHost))];
  const notStorage = storageHosts.length ? sql`AND e.host NOT IN ${inList(storageHosts)}` : sql``;
  const extentRows = await queryRows<Row>(
    db,
    sql`
    WITH newest AS (${NEWEST_PER_HOST('extents', 'host', sql`x.device_id IS NOT NULL`)})
    SELECT e.host, e.device_id, ${VMFS_OF_EXTENT} AS vmfs_uuid, e.lun, e.artifact_id
      FROM extents e JOIN newest n ON n.host = e.host AND n.seen_at = e.seen_at AND n.capture_id = e.capture_id
     WHERE e.device_id IS NOT NULL ${notStorage}
     ORDER BY e.host, e.device_id, e.source`,
  );
  const extents: CurrentExtent[] = extentRows.map((r) => ({
    host: String(r.host),
    deviceId: String(r.device_id),
    vmfsUuid: strOrNull(r.vmfs_uuid),
    lun: numOrNull(r.lun),
    artifactId: String(r.artifact_id),
  }));
  let storageHeaders: StorageHeader[] = [];
  let listings: SnapshotListing[] = [];
  if (storageHosts.length) {
    // The header dumps of each storage host's newest capture that has any.
    const headerRows = await queryRows<Row>(
      db,
      sql`
      WITH newest AS (${NEWEST_PER_HOST('extents', 'host', sql`x.source = 'header'`)})
      SELECT e.host, a.source_path, e.device_id, ${VMFS_OF_EXTENT} AS vmfs_uuid, e.artifact_id
        FROM extents e JOIN newest n ON n.host = e.host AND n.seen_at = e.seen_at AND n.capture_id = e.capture_id JOIN artifacts a ON a.id = e.artifact_id
       WHERE e.source = 'header' AND e.host IN ${inList(storageHosts)}
       ORDER BY e.host, a.source_path`,
    );
    storageHeaders = headerRows.map((r) => ({
      host: String(r.host),
      sourcePath: String(r.source_path),
      deviceId: strOrNull(r.device_id),
      vmfsUuid: strOrNull(r.vmfs_uuid),
      artifactId: String(r.artifact_id),
    }));
    // The newest snapshot of each dataset only: a listing holds every snapshot ever kept.
    const listingRows = await queryRows<Row>(
      db,
      sql`
      WITH newest AS (
        SELECT h.name AS host, l.id AS artifact_id, l.collected_at FROM hosts h
         CROSS JOIN LATERAL (
           SELECT a.id, a.collected_at FROM artifacts a
            WHERE a.host = h.name AND a.kind = 'zfs-snapshots' AND a.parse_status = 'ok'
            ORDER BY a.collected_at DESC, a.id DESC LIMIT 1) l
         WHERE h.name IN ${inList(storageHosts)}
      )
      SELECT DISTINCT ON (n.host, s.dataset) n.host, n.artifact_id, n.collected_at, s.dataset, s.snapshot, s.created_at
        FROM newest n LEFT JOIN zfs_snapshots s ON s.artifact_id = n.artifact_id
       ORDER BY n.host, s.dataset, s.created_at DESC, s.snapshot DESC`,
    );
    const byHost = new Map<string, SnapshotListing>();
    for (const r of listingRows) {
      const host = String(r.host);
      let l = byHost.get(host);
      if (!l) {
        l = { host, artifactId: String(r.artifact_id), collectedAt: dateOf(r.collected_at), newest: new Map(), listedBefore: new Set() };
        byHost.set(host, l);
      }
      if (r.dataset !== null && r.dataset !== undefined) l.newest.set(String(r.dataset), { snapshot: String(r.snapshot), createdAt: dateOf(r.created_at) });
    }
    listings = [...byHost.values()];
    // Datasets an earlier listing of the host held, among those the LUs name and the newest lacks.
    for (const l of listings) {
      const wanted = [...new Set(lus.filter((u) => u.storageHost === l.host).map((u) => datasetOfBackingStore(u.backingStore)))].filter(
        (d): d is string => !!d && !l.newest.has(d),
      );
      if (!wanted.length) continue;
      const rows = await queryRows<Row>(
        db,
        sql`
        SELECT DISTINCT dataset FROM zfs_snapshots WHERE host = ${l.host} AND dataset IN ${inList(wanted)}`,
      );
      for (const r of rows) l.listedBefore.add(String(r.dataset));
    }
  }
  return { lus, extents, storageHeaders, listings };
}

/** What one reconciliation did: the ids of the events it raised and resolved. */
export interface Reconciled {
  raised: number[];
  resolved: number[];
}

/**
 * Raises an event for each condition that holds and has no unresolved event yet, and
 * resolves the unresolved events of `types` whose condition no longer holds. The partial
 * unique index on events(condition) keeps two concurrent reconciliations from raising one
 * condition twice. Two statements whatever the number of conditions (they travel as one
 * JSON parameter each): a health pass over hundreds of hosts must not cost hundreds of
 * round trips, and a condition already open is skipped before it takes an id.
 */
export async function applyConditions(tx: Db, types: HealthEventType[], holding: HealthCondition[], at: Date, captureId: string | null): Promise<Reconciled> {
  const raised: number[] = [];
  if (holding.length > 0) {
    const conditions = JSON.stringify(
      holding.map((c) => ({
        type: c.type,
        severity: c.severity,
        vmfsUuid: c.vmfsUuid,
        deviceId: c.deviceId,
        host: c.host,
        message: c.message,
        details: c.details,
        condition: c.condition,
      })),
    );
    const rows = await queryRows<Row>(
      tx,
      sql`
      INSERT INTO events (type, severity, vmfs_uuid, device_id, host, capture_id, artifact_id, message, details, created_at, condition)
      SELECT c->>'type', c->>'severity', c->>'vmfsUuid', c->>'deviceId', c->>'host', ${captureId}::text, NULL, c->>'message', c->'details',
             ${at.toISOString()}::timestamptz, c->>'condition'
        FROM jsonb_array_elements(${conditions}::jsonb) WITH ORDINALITY AS j(c, n)
       WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.condition = c->>'condition' AND e.resolved_at IS NULL)
       ORDER BY j.n
      ON CONFLICT DO NOTHING RETURNING id`,
    );
    for (const r of rows) raised.push(Number(r.id));
    raised.sort((a, b) => a - b);
  }
  const keys = JSON.stringify(holding.map((c) => c.condition));
  const resolvedRows = await queryRows<Row>(
    tx,
    sql`
    UPDATE events SET resolved_at = ${at.toISOString()}
     WHERE resolved_at IS NULL AND condition IS NOT NULL AND type IN ${inList(types)}
       AND condition NOT IN (SELECT jsonb_array_elements_text(${keys}::jsonb))
     RETURNING id`,
  );
  return { raised, resolved: resolvedRows.map((r) => Number(r.id)) };
}

/** Re-evaluates target-guid-mismatch and backing-store-missing over the whole catalog. */
export async function reconcileHealth(tx: Db, at: Date, captureId: string | null, options: HealthOptions): Promise<Reconciled> {
  const conditions = healthConditions(await gatherHealthState(tx), options);
  return applyConditions(tx, ['target-guid-mismatch', 'backing-store-missing'], conditions, at, captureId);
}
