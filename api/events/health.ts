/**
 * Health conditions across hosts, which no single artifact shows: an extent whose device
 * no captured LU presents, an LU whose GUID differs from the VMFS header its zvol holds,
 * an LU whose zvol has no (recent) snapshot. `healthConditions` is a pure function of the
 * catalog's current state (`gatherHealthState`); `reconcileHealth` turns its answer into
 * events: one unresolved event per condition (`events.condition`), resolved when a later
 * capture or scan no longer finds it. After a commit only the conditions its captures can
 * change are evaluated (`healthScopeOf`, `gatherScopedHealthState`).
 */
import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import { inList } from '../read/rows.js';
import { datasetOfBackingStore } from '../../formats/zfs.js';
import type { Severity } from '../pipeline/drift.js';
import type { HEALTH_EVENT_TYPES } from './types.js';
import { VMFS_OF_EXTENT } from '../read/segment-claims.js';

export type HealthEventType = (typeof HEALTH_EVENT_TYPES)[number];

/** A condition that holds now; its key names it across captures (chunk-missing is one too: events/chunk-missing.ts). */
export interface HealthCondition {
  condition: string;
  type: HealthEventType | 'chunk-missing';
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
  /**
   * Every storage host (one whose newest target capture presents an LU), and the OUIs of every
   * such LU; when absent, both are read from `lus`. A scoped state (`gatherScopedHealthState`)
   * holds only some LUs, so it carries these two itself (the OUIs of the devices in question).
   */
  storageHosts?: string[];
  knownOuis?: ReadonlySet<string>;
}

/**
 * The conditions one evaluation covers: the LU and backing-store conditions of `hosts` (each
 * is about one storage host's own rows), and the extent conditions of `devices` and of every
 * device whose OUI is one of `vendors`. The full pass covers every condition (no scope).
 */
export interface HealthScope {
  hosts: ReadonlySet<string>;
  devices: ReadonlySet<string>;
  vendors: ReadonlySet<string>;
}

const EXTENT_CONDITION = 'target-guid-mismatch:extent:';

function deviceInScope(deviceId: string, scope: HealthScope): boolean {
  const oui = ouiOf(deviceId);
  return scope.devices.has(deviceId) || (oui !== null && scope.vendors.has(oui));
}

/** Whether a condition is one `scope` covers (the same rule in SQL: `unresolvedInScope`). */
export function conditionInScope(c: HealthCondition, scope: HealthScope): boolean {
  return c.condition.startsWith(EXTENT_CONDITION)
    ? deviceInScope(c.condition.slice(EXTENT_CONDITION.length), scope)
    : c.host !== null && scope.hosts.has(c.host);
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

/**
 * Every target-guid-mismatch and backing-store-missing condition that holds in a state, or
 * with `scope` those of them it covers (the state then needs to hold only what they read).
 */
export function healthConditions(state: HealthState, options: HealthOptions, scope?: HealthScope): HealthCondition[] {
  const out: HealthCondition[] = [];
  const presented = new Set(state.lus.map((l) => l.deviceId));
  // Only devices of the storage vendors the catalog has captures of are expected to be
  // presented by a captured LU: an extent on another array is not this catalog's to find.
  const knownOuis = state.knownOuis ?? new Set(state.lus.map((l) => ouiOf(l.deviceId)).filter((o): o is string => !!o));
  const ownHost = (lu: CurrentLu) => !scope || scope.hosts.has(lu.storageHost);

  const unpresented = new Map<string, CurrentExtent[]>();
  for (const e of state.extents) {
    if (scope && !deviceInScope(e.deviceId, scope)) continue;
    if (presented.has(e.deviceId)) continue;
    const oui = ouiOf(e.deviceId);
    if (!oui || !knownOuis.has(oui)) continue;
    const list = unpresented.get(e.deviceId) ?? [];
    list.push(e);
    unpresented.set(e.deviceId, list);
  }
  const storageHosts = [...new Set(state.storageHosts ?? state.lus.map((l) => l.storageHost))].sort();
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
    if (!lu.backingStore || !ownHost(lu)) continue;
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
    if (!dataset || !listing || !ownHost(lu)) continue;
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
const jsonList = (values: Iterable<string>) => JSON.stringify([...values]);

/**
 * Each host's newest capture with rows in `table` matching `where` (alias `x`): one index
 * probe per host on (host, seen_at), not a scan of every sighting ever recorded; its rows are
 * joined back on (host, seen_at) too, which that index answers (a capture's rows share seen_at).
 * With `hosts`, only those: the probes start from the names given, so a pass about a few hosts
 * never probes every host the catalog knows.
 */
const NEWEST_PER_HOST = (table: 'targets' | 'extents', hostColumn: 'storage_host' | 'host', where: SQL, hosts?: readonly string[]) => {
  const newest = (name: SQL) => sql`
     SELECT x.capture_id, x.seen_at FROM ${sql.raw(table)} x WHERE x.${sql.raw(hostColumn)} = ${name} AND ${where}
      ORDER BY x.seen_at DESC, x.capture_id DESC LIMIT 1`;
  return hosts
    ? sql`
  SELECT w.name AS ${sql.raw(hostColumn)}, l.capture_id, l.seen_at FROM ${namesIn(hosts)} w
   CROSS JOIN LATERAL (${newest(sql`w.name`)}) l
   WHERE EXISTS (SELECT 1 FROM hosts h WHERE h.name = w.name OFFSET 0)`
    : sql`
  SELECT h.name AS ${sql.raw(hostColumn)}, l.capture_id, l.seen_at FROM hosts h
   CROSS JOIN LATERAL (${newest(sql`h.name`)}) l`;
};

/** The distinct names of a list, as a relation `(name)` to start from (one JSON parameter whatever its length). */
const namesIn = (names: Iterable<string>) => sql`(SELECT DISTINCT jsonb_array_elements_text(${jsonList(new Set(names))}::jsonb) AS name)`;

/** Whether row `t` of targets belongs to its host's newest target capture (the one NEWEST_PER_HOST finds). */
const IN_NEWEST_TARGET_CAPTURE = sql.raw(`
  EXISTS (SELECT 1 FROM hosts h WHERE h.name = t.storage_host OFFSET 0)
  AND (t.seen_at, t.capture_id) = (SELECT x.seen_at, x.capture_id FROM targets x WHERE x.storage_host = t.storage_host
                                    ORDER BY x.seen_at DESC, x.capture_id DESC LIMIT 1)`);

const luOf = (r: Row): CurrentLu => ({
  storageHost: String(r.storage_host),
  deviceId: String(r.device_id),
  lun: numOrNull(r.lun),
  iqn: strOrNull(r.iqn),
  backingStore: strOrNull(r.backing_store),
  artifactId: String(r.artifact_id),
});

const extentOf = (r: Row): CurrentExtent => ({
  host: String(r.host),
  deviceId: String(r.device_id),
  vmfsUuid: strOrNull(r.vmfs_uuid),
  lun: numOrNull(r.lun),
  artifactId: String(r.artifact_id),
});

/** The newest LUs of every storage host, or of `hosts` only. */
async function currentLus(db: Db, hosts?: readonly string[]): Promise<CurrentLu[]> {
  const rows = await queryRows<Row>(
    db,
    sql`
    WITH newest AS (${NEWEST_PER_HOST('targets', 'storage_host', sql`TRUE`, hosts)})
    SELECT t.storage_host, t.device_id, t.lun, t.iqn, t.backing_store, t.artifact_id
      FROM newest n CROSS JOIN LATERAL (
        SELECT * FROM targets t WHERE t.storage_host = n.storage_host AND t.seen_at = n.seen_at AND t.capture_id = n.capture_id AND t.device_id IS NOT NULL
        OFFSET 0) t
     ORDER BY t.storage_host, t.device_id, t.lun`,
  );
  return rows.map(luOf);
}

/**
 * What the LU and backing-store conditions of these storage hosts read besides their LUs:
 * the header dumps of each one's newest capture that has any, and each one's newest snapshot
 * listing (the newest snapshot of each dataset, and the datasets its LUs name that earlier
 * listings held).
 */
async function storageSideOf(db: Db, storageHosts: readonly string[], lus: readonly CurrentLu[]): Promise<Pick<HealthState, 'storageHeaders' | 'listings'>> {
  if (!storageHosts.length) return { storageHeaders: [], listings: [] };
  const headerRows = await queryRows<Row>(
    db,
    sql`
    WITH newest AS (${NEWEST_PER_HOST('extents', 'host', sql`x.source = 'header'`, storageHosts)})
    SELECT e.host, a.source_path, e.device_id, ${VMFS_OF_EXTENT} AS vmfs_uuid, e.artifact_id
      FROM newest n CROSS JOIN LATERAL (
        SELECT * FROM extents e WHERE e.host = n.host AND e.seen_at = n.seen_at AND e.capture_id = n.capture_id AND e.source = 'header' OFFSET 0) e
      JOIN artifacts a ON a.id = e.artifact_id
     ORDER BY e.host, a.source_path`,
  );
  const storageHeaders: StorageHeader[] = headerRows.map((r) => ({
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
      SELECT w.name AS host, l.id AS artifact_id, l.collected_at FROM ${namesIn(storageHosts)} w
       CROSS JOIN LATERAL (
         SELECT a.id, a.collected_at FROM artifacts a
          WHERE a.host = w.name AND a.kind = 'zfs-snapshots' AND a.parse_status = 'ok'
          ORDER BY a.collected_at DESC, a.id DESC LIMIT 1) l
       WHERE EXISTS (SELECT 1 FROM hosts h WHERE h.name = w.name OFFSET 0)
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
  const listings = [...byHost.values()];
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
  return { storageHeaders, listings };
}

/**
 * The catalog's current state for the health checks: each storage host's newest target
 * capture, each other host's newest extent sightings, the header dumps storage hosts took
 * of their backing stores, and each storage host's newest snapshot listing.
 */
export async function gatherHealthState(db: Db): Promise<HealthState> {
  const lus = await currentLus(db);
  const storageHosts = [...new Set(lus.map((l) => l.storageHost))];
  const notStorage = storageHosts.length ? sql`AND e.host NOT IN ${inList(storageHosts)}` : sql``;
  const extentRows = await queryRows<Row>(
    db,
    sql`
    WITH newest AS (${NEWEST_PER_HOST('extents', 'host', sql`x.device_id IS NOT NULL`)})
    SELECT e.host, e.device_id, ${VMFS_OF_EXTENT} AS vmfs_uuid, e.lun, e.artifact_id
      FROM extents e JOIN newest n ON n.host = e.host AND n.seen_at = e.seen_at AND n.capture_id = e.capture_id
     WHERE e.device_id IS NOT NULL ${notStorage}
     ORDER BY e.host, e.device_id, e.source, e.artifact_id`,
  );
  return { lus, extents: extentRows.map(extentOf), ...(await storageSideOf(db, storageHosts, lus)) };
}

/** Every host's newest extent sightings of devices whose OUI is one of `vendors`: the devices. */
async function devicesOfVendors(db: Db, vendors: ReadonlySet<string>): Promise<string[]> {
  if (vendors.size === 0) return [];
  const rows = await queryRows<Row>(
    db,
    sql`
    WITH newest AS (${NEWEST_PER_HOST('extents', 'host', sql`x.device_id IS NOT NULL`)})
    SELECT DISTINCT e.device_id FROM newest n CROSS JOIN LATERAL (
      SELECT e.device_id FROM extents e WHERE e.host = n.host AND e.seen_at = n.seen_at AND e.capture_id = n.capture_id
         AND e.device_id ~ ${sql.raw(NAA_WITH_OUI)} AND substr(e.device_id, 6, 6) IN (SELECT jsonb_array_elements_text(${jsonList(vendors)}::jsonb))
      OFFSET 0) e`,
  );
  return rows.map((r) => String(r.device_id));
}

/** The device ids ouiOf reads an OUI from (as an SQL literal: a partial match must name it the same way). */
const NAA_WITH_OUI = `'^naa\\.[56][0-9a-f]{6}'`;

/**
 * What the conditions `scope` covers read, and nothing else: the LUs, header dumps and
 * listings of the scope's hosts; for its devices (and those of its vendors that hosts see),
 * the LUs presenting them on any storage host, the newest extent sightings of them by hosts
 * that are not storage hosts, and which of their OUIs any LU carries; and, only when one of
 * their conditions holds (its message names them), the storage hosts. Each read is an index
 * probe per device or per host named, so its cost follows the scope, not the catalog (a
 * vendor's devices are found among every host's newest extents: rare, see healthScopeOf).
 */
export async function gatherScopedHealthState(db: Db, scope: HealthScope): Promise<HealthState> {
  const hosts = [...scope.hosts];
  const own = hosts.length ? await currentLus(db, hosts) : [];
  const side = await storageSideOf(db, [...new Set(own.map((l) => l.storageHost))], own);
  const devices = new Set([...scope.devices, ...(await devicesOfVendors(db, scope.vendors))]);
  if (devices.size === 0) return { lus: own, extents: [], ...side, storageHosts: [], knownOuis: new Set() };

  const [presentingRows, extentRows] = await Promise.all([
    queryRows<Row>(
      db,
      sql`
      SELECT t.storage_host, t.device_id, t.lun, t.iqn, t.backing_store, t.artifact_id FROM ${namesIn(devices)} w
       CROSS JOIN LATERAL (SELECT * FROM targets t WHERE t.device_id = w.name AND ${IN_NEWEST_TARGET_CAPTURE} OFFSET 0) t
       ORDER BY t.storage_host, t.device_id, t.lun`,
    ),
    // The newest sightings by hosts whose newest target capture presents no LU.
    queryRows<Row>(
      db,
      sql`
      SELECT e.host, e.device_id, ${VMFS_OF_EXTENT} AS vmfs_uuid, e.lun, e.artifact_id FROM ${namesIn(devices)} w
       CROSS JOIN LATERAL (
         SELECT * FROM extents e WHERE e.device_id = w.name
            AND EXISTS (SELECT 1 FROM hosts h WHERE h.name = e.host OFFSET 0)
            AND (e.seen_at, e.capture_id) = (SELECT x.seen_at, x.capture_id FROM extents x WHERE x.host = e.host AND x.device_id IS NOT NULL
                                              ORDER BY x.seen_at DESC, x.capture_id DESC LIMIT 1)
            AND NOT EXISTS (SELECT 1 FROM targets t WHERE t.storage_host = e.host AND t.device_id IS NOT NULL AND ${IN_NEWEST_TARGET_CAPTURE} OFFSET 0)
          OFFSET 0) e
       ORDER BY e.host, e.device_id, e.source, e.artifact_id`,
    ),
  ]);
  const lus = [...own, ...presentingRows.map(luOf).filter((l) => !scope.hosts.has(l.storageHost))];
  const extents = extentRows.map(extentOf);
  // An OUI matters only for a device seen and not presented; most are presented.
  const presented = new Set(lus.map((l) => l.deviceId));
  const unpresented = extents.filter((e) => !presented.has(e.deviceId));
  const asked = [...new Set(unpresented.map((e) => ouiOf(e.deviceId)))].filter((o): o is string => !!o);
  const knownOuis = new Set<string>();
  if (asked.length) {
    const rows = await queryRows<Row>(
      db,
      sql`
      WITH RECURSIVE ${STORAGE_HOSTS}
      SELECT o.name AS oui FROM ${namesIn(asked)} o
       CROSS JOIN LATERAL (
         SELECT 1 FROM storage_hosts s
          CROSS JOIN LATERAL (SELECT 1 FROM targets t WHERE t.storage_host = s.host AND t.seen_at = s.seen_at AND t.capture_id = s.capture_id
                                 AND t.device_id ~ ${sql.raw(NAA_WITH_OUI)} AND substr(t.device_id, 6, 6) = o.name LIMIT 1) t
          LIMIT 1) known`,
    );
    for (const r of rows) knownOuis.add(String(r.oui));
  }
  const holds = unpresented.some((e) => knownOuis.has(ouiOf(e.deviceId) ?? ''));
  const storageHosts = holds ? (await queryRows<Row>(db, sql`WITH RECURSIVE ${STORAGE_HOSTS} SELECT host FROM storage_hosts`)).map((r) => String(r.host)) : [];
  return { lus, extents, ...side, storageHosts, knownOuis };
}

/**
 * `storage_hosts (host, seen_at, capture_id)`: every host whose newest target capture presents
 * an LU, with that capture (what currentLus reads, without reading the LUs). The distinct
 * target hosts are walked on the (storage_host, seen_at) index, one probe each, rather than
 * probing every host the catalog knows; read lazily, an EXISTS over it stops at the first match.
 */
const STORAGE_HOSTS = sql.raw(`
  target_hosts(host) AS (
    (SELECT storage_host FROM targets ORDER BY storage_host LIMIT 1)
    UNION ALL
    SELECT (SELECT t.storage_host FROM targets t WHERE t.storage_host > p.host ORDER BY t.storage_host LIMIT 1) FROM target_hosts p WHERE p.host IS NOT NULL
  ),
  storage_hosts AS (
    SELECT th.host, l.seen_at, l.capture_id FROM target_hosts th JOIN hosts h ON h.name = th.host
     CROSS JOIN LATERAL (SELECT x.seen_at, x.capture_id FROM targets x WHERE x.storage_host = th.host
                          ORDER BY x.seen_at DESC, x.capture_id DESC LIMIT 1) l
     WHERE EXISTS (SELECT 1 FROM targets t WHERE t.storage_host = th.host AND t.seen_at = l.seen_at AND t.capture_id = l.capture_id AND t.device_id IS NOT NULL OFFSET 0)
  )`);

/** A committed capture and its host. */
export interface CommittedCapture {
  captureId: string;
  host: string;
  /** Set when the collector's clock was ahead and the capture was stored at its receipt (api/ingest/collector-clock.ts). */
  clock?: { sentAt: Date; receivedAt: Date; aheadMs: number } | null;
}

const symmetricDifference = (a: ReadonlySet<string>, b: ReadonlySet<string>) => [...a, ...b].filter((x) => !(a.has(x) && b.has(x)));
const ouisOf = (ids: Iterable<string>) => new Set([...ids].map(ouiOf).filter((o): o is string => !!o));

/**
 * The conditions these committed captures can change. Why this is enough, from healthConditions:
 *
 * A capture adds rows of its own host H only (targets, extents, artifacts, zfs_snapshots all
 * carry the capture's host).
 * - An LU or backing-store condition of storage host S reads S's newest LUs, the header dumps
 *   S took, S's newest snapshot listing and the datasets S listed before: S's rows only. So a
 *   capture of H changes those of H alone, and all of H's are evaluated (`hosts`).
 * - `target-guid-mismatch:extent:D` holds when a host that is not a storage host has D among
 *   its newest extents, no storage host's newest LUs present D, and D's OUI is that of some
 *   newest LU. It reads H only through: D among H's newest extents, D among H's newest LUs,
 *   the OUIs of H's newest LUs, and whether H has any (a storage host's extents do not count).
 *   A capture C with extent rows moves H's newest extents from B (H's newest extent capture
 *   ordered before C, by seen_at then capture id as NEWEST_PER_HOST orders) to C; one with
 *   target rows does the same for its LUs. So D's condition can change only when D is in one
 *   of B, C and not the other (`devices`: a daily capture that saw what the day before did
 *   adds none); when D's OUI is one H's LUs gained or lost, which may be the first or last of
 *   that vendor among all LUs (`vendors`: every extent condition of that OUI; H's first target
 *   capture, or a new vendor's LU, is rare); or when H gained its first LU or lost its last, so
 *   that its extents stop or start counting (all of H's extents, before and after, in
 *   `devices`).
 * - A capture ordered before H's newest changes nothing; its differences are evaluated for
 *   nothing. Several captures of H (in one batch, or in passes in any order) each bring their
 *   own differences, whose union holds every device that changed from the first to the last.
 * - What a condition says beyond its key (its volume through another host's segments, the
 *   hosts seeing the device, the list of storage hosts) is read when it is raised and never
 *   updated, so it does not widen the scope.
 * Rows that change without a commit are evaluated by a full pass: rebuild, reindex and a
 * retention run that dropped captures end with one (reevaluateHealth).
 */
export async function healthScopeOf(db: Db, captures: readonly CommittedCapture[]): Promise<HealthScope> {
  const ids = captures.map((c) => c.captureId);
  // Per capture and table: the device ids of the capture ('self', present when the capture has
  // rows there: any targets row makes a capture its host's newest target capture, extents
  // count with a device id; a null device when it presents no LU) and of the host's newest
  // capture before it ('before').
  const rows = await queryRows<Row>(
    db,
    sql`
    WITH c AS MATERIALIZED (
      SELECT c.id, c.host, c.collected_at FROM ${namesIn(ids)} w CROSS JOIN LATERAL (SELECT * FROM captures c WHERE c.id = w.name OFFSET 0) c
    )
    SELECT c.id AS cid, 'lu' AS kind, s.side, r.device_id FROM c
     CROSS JOIN LATERAL (
       SELECT 'self' AS side, c.collected_at AS seen_at, c.id AS capture_id
       UNION ALL
       (SELECT 'before', x.seen_at, x.capture_id FROM targets x
         WHERE x.storage_host = c.host AND x.seen_at <= c.collected_at AND (x.seen_at < c.collected_at OR x.capture_id < c.id)
         ORDER BY x.seen_at DESC, x.capture_id DESC LIMIT 1)) s
     CROSS JOIN LATERAL (
       SELECT DISTINCT t.device_id FROM targets t WHERE t.storage_host = c.host AND t.seen_at = s.seen_at AND t.capture_id = s.capture_id) r
     WHERE EXISTS (SELECT 1 FROM targets x WHERE x.storage_host = c.host AND x.seen_at = c.collected_at AND x.capture_id = c.id OFFSET 0)
    UNION ALL
    SELECT c.id, 'extent', s.side, r.device_id FROM c
     CROSS JOIN LATERAL (
       SELECT 'self' AS side, c.collected_at AS seen_at, c.id AS capture_id
       UNION ALL
       (SELECT 'before', x.seen_at, x.capture_id FROM extents x
         WHERE x.host = c.host AND x.device_id IS NOT NULL AND x.seen_at <= c.collected_at AND (x.seen_at < c.collected_at OR x.capture_id < c.id)
         ORDER BY x.seen_at DESC, x.capture_id DESC LIMIT 1)) s
     CROSS JOIN LATERAL (
       SELECT DISTINCT e.device_id FROM extents e
        WHERE e.host = c.host AND e.seen_at = s.seen_at AND e.capture_id = s.capture_id AND e.device_id IS NOT NULL) r`,
  );
  const sides = new Map<string, { self: Set<string> | null; before: Set<string> }>();
  for (const r of rows) {
    const key = `${r.cid} ${r.kind}`;
    let s = sides.get(key);
    if (!s) {
      s = { self: null, before: new Set() };
      sides.set(key, s);
    }
    if (r.side === 'self') s.self ??= new Set();
    const set = r.side === 'self' ? s.self! : s.before;
    if (r.device_id !== null && r.device_id !== undefined) set.add(String(r.device_id));
  }
  const devices = new Set<string>();
  const vendors = new Set<string>();
  const turned = new Set<string>();
  for (const c of captures) {
    const lu = sides.get(`${c.captureId} lu`);
    const extent = sides.get(`${c.captureId} extent`);
    if (lu?.self) {
      for (const d of symmetricDifference(lu.self, lu.before)) devices.add(d);
      for (const o of symmetricDifference(ouisOf(lu.self), ouisOf(lu.before))) vendors.add(o);
      if (lu.self.size > 0 !== lu.before.size > 0) turned.add(c.host);
    }
    if (extent?.self) for (const d of symmetricDifference(extent.self, extent.before)) devices.add(d);
    // A host that gained its first LU or lost its last: its extents, before and after, count or stop counting.
    if (turned.has(c.host)) for (const d of [...(extent?.self ?? []), ...(extent?.before ?? [])]) devices.add(d);
  }
  if (turned.size) {
    const newest = await queryRows<Row>(
      db,
      sql`
      WITH newest AS (${NEWEST_PER_HOST('extents', 'host', sql`x.device_id IS NOT NULL`, [...turned])})
      SELECT DISTINCT e.device_id FROM newest n CROSS JOIN LATERAL (
        SELECT e.device_id FROM extents e WHERE e.host = n.host AND e.seen_at = n.seen_at AND e.capture_id = n.capture_id AND e.device_id IS NOT NULL
        OFFSET 0) e`,
    );
    for (const r of newest) devices.add(String(r.device_id));
  }
  return { hosts: new Set(captures.map((c) => c.host)), devices, vendors };
}

/** What one reconciliation did: the ids of the events it raised and resolved. */
export interface Reconciled {
  raised: number[];
  resolved: number[];
}

/**
 * The unresolved events a scope covers (alias-free, for the UPDATE below): the extent
 * conditions of its devices by key and of its vendors by the OUI in the key, and the other
 * conditions whose host is one of its hosts (an LU or backing-store condition names its
 * storage host). conditionInScope is the same rule.
 */
function unresolvedInScope(scope: HealthScope): SQL {
  const extentKeys = jsonList([...scope.devices].map((d) => `${EXTENT_CONDITION}${d}`));
  const device = sql.raw(`substr(condition, ${EXTENT_CONDITION.length + 1})`);
  const ofVendors = scope.vendors.size
    ? sql`OR (condition LIKE ${`${EXTENT_CONDITION}%`} AND ${device} ~ ${sql.raw(NAA_WITH_OUI)}
              AND substr(${device}, 6, 6) IN (SELECT jsonb_array_elements_text(${jsonList(scope.vendors)}::jsonb)))`
    : sql``;
  return sql`AND (condition IN (SELECT jsonb_array_elements_text(${extentKeys}::jsonb)) ${ofVendors}
                  OR (condition NOT LIKE ${`${EXTENT_CONDITION}%`} AND host IN (SELECT jsonb_array_elements_text(${jsonList(scope.hosts)}::jsonb))))`;
}

/**
 * Raises an event for each condition that holds and has no unresolved event yet, and
 * resolves the unresolved events of `types` (within `scope`, when given) whose condition no
 * longer holds. The partial unique index on events(condition) keeps two concurrent
 * reconciliations from raising one condition twice. Two statements whatever the number of
 * conditions (they travel as one JSON parameter each): a health pass over hundreds of hosts
 * must not cost hundreds of round trips, and a condition already open is skipped before it
 * takes an id.
 */
export async function applyConditions(
  tx: Db,
  types: HealthCondition['type'][],
  holding: HealthCondition[],
  at: Date,
  captureId: string | null,
  scope?: HealthScope,
): Promise<Reconciled> {
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
       AND condition NOT IN (SELECT jsonb_array_elements_text(${keys}::jsonb)) ${scope ? unresolvedInScope(scope) : sql``}
     RETURNING id`,
  );
  return { raised, resolved: resolvedRows.map((r) => Number(r.id)) };
}

const HEALTH_TYPES: HealthEventType[] = ['target-guid-mismatch', 'backing-store-missing'];

/**
 * Re-evaluates target-guid-mismatch and backing-store-missing: over the whole catalog, or
 * `after` committed captures only the conditions they can change (healthScopeOf), raising and
 * resolving exactly what the whole pass would among them.
 */
export async function reconcileHealth(
  tx: Db,
  at: Date,
  captureId: string | null,
  options: HealthOptions,
  after?: readonly CommittedCapture[],
): Promise<Reconciled> {
  // The statements below are index probes, but a list parameter counts as 100 rows in the
  // estimates, which then pass jit_above_cost: PostgreSQL would spend half a second compiling
  // a statement that runs in a millisecond. For this transaction only (the caller's).
  await tx.execute(sql`SET LOCAL jit = off`);
  if (!after) return applyConditions(tx, HEALTH_TYPES, healthConditions(await gatherHealthState(tx), options), at, captureId);
  const scope = await healthScopeOf(tx, after);
  const conditions = healthConditions(await gatherScopedHealthState(tx, scope), options, scope);
  return applyConditions(tx, HEALTH_TYPES, conditions, at, captureId, scope);
}
