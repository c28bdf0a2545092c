/**
 * Search: whatever an operator pastes (docs/architecture.md "Who uses it"), typed by
 * `parseQuery` (formats/ids.ts), answered with scored hits, best first.
 * Every lookup rides an index: primary keys (UUIDs, device ids, also for
 * prefixes through a key range), btree indexes on device ids / vml / datasets,
 * and pg_trgm GIN indexes for label, host name, IQN and backing-store fragments.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { SearchHit, SearchResultBody } from '../schemas/catalog.js';
import { queryRows, type Db } from '../../db/client.js';
import { canonicalDeviceId, canonicalVmfsUuid, parseQuery, parseVml, type SearchQuery } from '../../formats/ids.js';
import { datasetOfBackingStore } from '../../formats/zfs.js';
import { volumesOnDevices } from './volumes.js';
import { inList, iso, num, str } from './rows.js';

/** The hits are the response schema's (api/schemas/catalog.ts). */
export type { SearchHit } from '../schemas/catalog.js';
type VolumeHit = Extract<SearchHit, { type: 'volume' }>;
type LunHit = Extract<SearchHit, { type: 'lun' }>;
type TargetHit = Extract<SearchHit, { type: 'target' }>;
type SnapshotHit = Extract<SearchHit, { type: 'snapshot' }>;

/** How a term was understood; `partition` when a device id carried a `:N` partition suffix. */
export type UnderstoodQuery = SearchQuery & { partition?: number };

/** The search answer: `SearchResult` of the response schema, with the query as parseQuery typed it. */
export type SearchResult = SearchResultBody & { query: UnderstoodQuery };

export const DEFAULT_SEARCH_LIMIT = 25;
export const MAX_SEARCH_LIMIT = 200;

type Row = Record<string, unknown>;

/** Escapes LIKE wildcards so a pasted `_` or `%` means itself. */
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The next hex digit, for the open upper end of a prefix range (`9` → `a`, `f` → `g`). */
function nextHexChar(c: string): string {
  if (c === '9') return 'a';
  return String.fromCharCode(c.charCodeAt(0) + 1);
}

/**
 * A key range `[lo, hi)` holding every canonical id that starts with `prefix`.
 * Canonical UUIDs and naa ids are lower-case hex with fixed dashes, so they order
 * the same under the C collation and the usual libc ones (which skip dashes at the
 * first level); the LIKE beside the range makes the match exact either way.
 */
export function prefixRange(prefix: string): { lo: string; hi: string } {
  let p = prefix;
  while (p.endsWith('-')) p = p.slice(0, -1);
  return { lo: p, hi: p.slice(0, -1) + nextHexChar(p.slice(-1)) };
}

function volumeHit(r: Row, score: number, match: string): VolumeHit {
  return { type: 'volume', score, match, vmfsUuid: String(r.vmfs_uuid), label: str(r.label), version: str(r.version), lastSeen: iso(r.last_seen) };
}

function lunHit(r: Row, score: number, match: string): LunHit {
  return {
    type: 'lun',
    score,
    match,
    deviceId: String(r.device_id),
    lun: num(r.lun),
    vml: str(r.vml),
    vendor: str(r.vendor),
    model: str(r.model),
    sizeBytes: num(r.size_bytes),
    lastSeen: iso(r.last_seen),
  };
}

function targetHit(r: Row, score: number, match: string): TargetHit {
  return {
    type: 'target',
    score,
    match,
    storageHost: String(r.storage_host),
    stack: String(r.stack),
    iqn: str(r.iqn),
    alias: str(r.alias),
    lun: num(r.lun),
    deviceId: str(r.device_id),
    backingStore: str(r.backing_store),
    sizeBytes: num(r.size_bytes),
    seenAt: iso(r.seen_at),
  };
}

function snapshotHit(r: Row, score: number, match: string): SnapshotHit {
  return {
    type: 'snapshot',
    score,
    match,
    host: String(r.host),
    dataset: String(r.dataset),
    snapshot: String(r.snapshot),
    name: String(r.name),
    createdAt: iso(r.created_at),
    usedBytes: num(r.used_bytes),
  };
}

class Hits {
  private readonly byKey = new Map<string, SearchHit>();
  add(hit: SearchHit): void {
    const key = hitKey(hit);
    const old = this.byKey.get(key);
    if (!old || old.score < hit.score) this.byKey.set(key, hit);
  }
  sorted(): SearchHit[] {
    return [...this.byKey.values()].sort((a, b) => b.score - a.score || (hitTime(b) ?? '').localeCompare(hitTime(a) ?? ''));
  }
}

function hitKey(h: SearchHit): string {
  switch (h.type) {
    case 'volume':
      return `volume:${h.vmfsUuid}`;
    case 'lun':
      return `lun:${h.deviceId}`;
    case 'host':
      return `host:${h.name}`;
    case 'target':
      return `target:${h.storageHost}|${h.stack}|${h.iqn ?? ''}|${h.lun ?? ''}|${h.deviceId ?? ''}`;
    case 'snapshot':
      return `snapshot:${h.host}|${h.name}`;
  }
}

function hitTime(h: SearchHit): string | null {
  switch (h.type) {
    case 'target':
      return h.seenAt;
    case 'snapshot':
      return h.createdAt;
    default:
      return h.lastSeen;
  }
}

const TARGET_KEY = sql.raw(`t.storage_host, t.stack, coalesce(t.iqn, ''), coalesce(t.lun, -1), coalesce(t.device_id, '')`);

/** The latest row of each target LU matching `where` (over committed artifacts). */
async function targetRows(db: Db, where: SQL, limit: number): Promise<Row[]> {
  return queryRows<Row>(
    db,
    sql`
    SELECT * FROM (
      SELECT DISTINCT ON (${TARGET_KEY}) t.*
        FROM targets t JOIN artifacts a ON a.id = t.artifact_id
       WHERE ${where}
       ORDER BY ${TARGET_KEY}, t.seen_at DESC, t.id DESC
    ) x ORDER BY x.seen_at DESC LIMIT ${limit}`,
  );
}

/** Volume rows for some VMFS UUIDs; UUIDs only seen in extents/segments get a bare row. */
async function volumeRows(db: Db, uuids: string[]): Promise<Row[]> {
  if (uuids.length === 0) return [];
  const rows = await queryRows<Row>(db, sql`SELECT vmfs_uuid, label, version, last_seen FROM volumes WHERE vmfs_uuid IN ${inList(uuids)}`);
  const found = new Set(rows.map((r) => String(r.vmfs_uuid)));
  for (const u of uuids) if (!found.has(u)) rows.push({ vmfs_uuid: u, label: null, version: null, last_seen: null });
  return rows;
}

/** A VMFS UUID the catalog knows from a volume row, an inventory extent or an FS descriptor. */
async function knownVolume(db: Db, vmfsUuid: string): Promise<Row | null> {
  const [row] = await queryRows<Row>(db, sql`SELECT vmfs_uuid, label, version, last_seen FROM volumes WHERE vmfs_uuid = ${vmfsUuid}`);
  if (row) return row;
  const [seen] = await queryRows<Row>(
    db,
    sql`
    SELECT max(x.seen_at) AS last_seen FROM (
      SELECT s.seen_at FROM segments s JOIN artifacts a ON a.id = s.artifact_id WHERE s.vmfs_uuid = ${vmfsUuid}
      UNION ALL
      SELECT e.seen_at FROM extents e JOIN artifacts a ON a.id = e.artifact_id WHERE e.vmfs_uuid = ${vmfsUuid}
    ) x`,
  );
  return seen?.last_seen ? { vmfs_uuid: vmfsUuid, label: null, version: null, last_seen: seen.last_seen } : null;
}

/** A device the catalog knows (luns row, else its latest extent or target sighting). */
async function knownDevice(db: Db, deviceId: string): Promise<Row | null> {
  const [row] = await queryRows<Row>(db, sql`SELECT * FROM luns WHERE device_id = ${deviceId}`);
  if (row) return row;
  const [ext] = await queryRows<Row>(
    db,
    sql`
    SELECT e.device_id, e.lun, e.vml, e.vendor, e.model, e.size_bytes, e.seen_at AS last_seen
      FROM extents e JOIN artifacts a ON a.id = e.artifact_id WHERE e.device_id = ${deviceId}
     ORDER BY e.seen_at DESC LIMIT 1`,
  );
  if (ext) return ext;
  const [tgt] = await queryRows<Row>(
    db,
    sql`
    SELECT t.device_id, t.lun, NULL AS vml, NULL AS vendor, NULL AS model, t.size_bytes, t.seen_at AS last_seen
      FROM targets t JOIN artifacts a ON a.id = t.artifact_id WHERE t.device_id = ${deviceId}
     ORDER BY t.seen_at DESC LIMIT 1`,
  );
  return tgt ?? null;
}

/**
 * The SQL of a device's rows, one per line, tagged `hit`: its LUN (the luns row, else its
 * latest extent, else its latest target sighting), the latest row of each target LU
 * presenting it, and the volumes on it (a bare row for a UUID no volume row names).
 * Every branch is an indexed lookup; they travel in one statement.
 */
function deviceRowsSql(deviceId: string, limit: number): SQL {
  return sql`
    SELECT 'lun' AS hit, to_jsonb(d) AS row FROM (
      SELECT * FROM (
        (SELECT device_id, lun, vml, vendor, model, size_bytes, last_seen, 1 AS pri FROM luns WHERE device_id = ${deviceId})
        UNION ALL
        (SELECT e.device_id, e.lun, e.vml, e.vendor, e.model, e.size_bytes, e.seen_at, 2
           FROM extents e JOIN artifacts a ON a.id = e.artifact_id WHERE e.device_id = ${deviceId} ORDER BY e.seen_at DESC LIMIT 1)
        UNION ALL
        (SELECT t.device_id, t.lun, NULL, NULL, NULL, t.size_bytes, t.seen_at, 3
           FROM targets t JOIN artifacts a ON a.id = t.artifact_id WHERE t.device_id = ${deviceId} ORDER BY t.seen_at DESC LIMIT 1)
      ) k ORDER BY pri LIMIT 1
    ) d
    UNION ALL
    SELECT 'target', to_jsonb(x) FROM (
      SELECT * FROM (
        SELECT DISTINCT ON (${TARGET_KEY}) t.*
          FROM targets t JOIN artifacts a ON a.id = t.artifact_id
         WHERE t.device_id = ${deviceId}
         ORDER BY ${TARGET_KEY}, t.seen_at DESC, t.id DESC
      ) y ORDER BY y.seen_at DESC LIMIT ${limit}
    ) x
    UNION ALL
    SELECT 'volume', jsonb_build_object('vmfs_uuid', i.vmfs_uuid, 'label', v.label, 'version', v.version, 'last_seen', v.last_seen) FROM (
      SELECT DISTINCT coalesce(e.vmfs_uuid, s.vmfs_uuid) AS vmfs_uuid
        FROM extents e JOIN artifacts a ON a.id = e.artifact_id
        LEFT JOIN segments s ON e.vmfs_uuid IS NULL AND s.segment_uuid = e.segment_uuid
       WHERE e.device_id = ${deviceId}
    ) i LEFT JOIN volumes v ON v.vmfs_uuid = i.vmfs_uuid WHERE i.vmfs_uuid IS NOT NULL`;
}

/** Adds the hits of deviceRowsSql's rows. */
function addDeviceRows(hits: Hits, rows: Row[], match: string, score: number): void {
  for (const r of rows) {
    const row = r.row as Row;
    if (r.hit === 'lun') hits.add(lunHit(row, score, match));
    else if (r.hit === 'target') hits.add(targetHit(row, score - 5, match));
    else if (r.hit === 'volume') hits.add(volumeHit(row, score - 10, match));
  }
}

/** Hits for one device: the LUN, the volumes on it, the target LUs presenting it (one round trip). */
async function deviceHits(db: Db, hits: Hits, deviceId: string, match: string, score: number, limit: number): Promise<void> {
  addDeviceRows(hits, await queryRows<Row>(db, deviceRowsSql(deviceId, limit)), match, score);
}

/** A device id or vml id with a partition suffix, as `esxcfg-scsidevs -m` and /vmfs/devices/disks print them. */
const PARTITION_SUFFIX = /^((?:naa|eui|t10|mpx|vml)\.[^\s:]+):(\d{1,3})$/i;

/**
 * The device a `naa.…:1` or `vml.…:1` names (the partition suffix is dropped: a search
 * answers with the device, its volumes and targets). Any other query is returned as is.
 */
export function withoutPartitionSuffix(query: SearchQuery): UnderstoodQuery {
  if (query.type !== 'text') return query;
  const m = PARTITION_SUFFIX.exec(query.text);
  if (!m) return query;
  const inner = parseQuery(m[1]);
  if (inner.type !== 'deviceId' && inner.type !== 'vml') return query;
  return { ...inner, raw: query.raw, partition: Number(m[2]) };
}

/** Runs a typed query against the catalog; at most `limit` hits, best first. */
export async function searchCatalog(db: Db, typed: SearchQuery, limit: number = DEFAULT_SEARCH_LIMIT): Promise<SearchResult> {
  const query = withoutPartitionSuffix(typed);
  const hits = new Hits();
  const n = Math.max(1, Math.min(limit, MAX_SEARCH_LIMIT)) + 1;
  switch (query.type) {
    case 'vmfsUuid':
      await uuidHits(db, hits, query.vmfsUuid, n);
      break;
    case 'hex': {
      if (query.vmfsUuid) await uuidHits(db, hits, query.vmfsUuid, n);
      if (query.deviceId) await deviceHits(db, hits, query.deviceId, 'deviceId', 100, n);
      break;
    }
    case 'uuidPrefix':
      await prefixHits(db, hits, query.prefix, !query.raw.includes('-'), n);
      break;
    case 'deviceId':
      await deviceHits(db, hits, query.deviceId, 'deviceId', 100, n);
      // 16 bare hex digits are an 8-byte NAA id, or the first two words of a VMFS UUID.
      if (/^[0-9a-f]{16}$/i.test(query.raw.trim())) await prefixHits(db, hits, query.raw.trim().toLowerCase(), false, n);
      break;
    case 'vml': {
      // A vml also names the LUN it was seen at: where that exact vml was recorded rides along.
      const rows = await queryRows<Row>(
        db,
        sql`
        ${deviceRowsSql(query.deviceId, n)}
        UNION ALL
        SELECT 'byVml', to_jsonb(l) FROM (SELECT * FROM luns WHERE vml = ${query.vml} LIMIT 1) l`,
      );
      addDeviceRows(hits, rows, 'vml', 100);
      for (const r of rows) if (r.hit === 'byVml') hits.add(lunHit(r.row as Row, 100, 'vml'));
      break;
    }
    case 'iqn': {
      const exact = await targetRows(db, sql`lower(t.iqn) = ${query.iqn}`, n);
      for (const r of exact) hits.add(targetHit(r, 100, 'iqn'));
      // An initiator's IQN: the target LUs whose ACL names it.
      const allowed = await aclTargetRows(db, [...new Set([query.iqn, query.raw.trim()])], n);
      for (const r of allowed) hits.add(targetHit(r, 90, 'acl'));
      // A fragment of an IQN (shared prefixes make this the slow path: only when nothing matched exactly).
      if (exact.length === 0 && allowed.length === 0) {
        for (const r of await targetRows(db, sql`t.iqn ILIKE ${'%' + likeEscape(query.iqn) + '%'}`, n)) hits.add(targetHit(r, 70, 'iqn'));
      }
      break;
    }
    case 'backingStore':
      await esxPathHits(db, hits, query.path, n);
      await backingStoreHits(db, hits, query.path, query.dataset, n);
      break;
    case 'text':
      await textHits(db, hits, query.text, n);
      break;
  }
  const sorted = hits.sorted();
  const max = Math.max(1, Math.min(limit, MAX_SEARCH_LIMIT));
  return { query, hits: sorted.slice(0, max), truncated: sorted.length > max };
}

/**
 * ESX paths an operator copies from a shell: `/vmfs/volumes/<uuid or label>[/…]` and
 * `/vmfs/devices/disks/<device id>[:partition]`.
 */
async function esxPathHits(db: Db, hits: Hits, path: string, n: number): Promise<void> {
  const volume = /^\/vmfs\/volumes\/([^/]+)/.exec(path);
  if (volume) {
    const uuid = canonicalVmfsUuid(volume[1]);
    const v = uuid ? await knownVolume(db, uuid) : null;
    if (v) hits.add(volumeHit(v, 100, 'vmfsUuid'));
    const byLabel = await queryRows<Row>(
      db,
      sql`SELECT vmfs_uuid, label, version, last_seen FROM volumes WHERE lower(label) = ${volume[1].toLowerCase()} LIMIT ${n}`,
    );
    for (const r of byLabel) hits.add(volumeHit(r, 95, 'label'));
  }
  const disk = /^\/vmfs\/devices\/disks\/([^/:]+)(?::\d+)?$/.exec(path);
  if (disk) {
    let deviceId: string | null = null;
    try {
      deviceId = canonicalDeviceId(disk[1]);
    } catch {
      /* vml. or not an id */
    }
    if (!deviceId && disk[1].toLowerCase().startsWith('vml.')) {
      try {
        deviceId = parseVml(disk[1]).deviceId;
      } catch {
        /* a vml the catalog may still know verbatim */
      }
    }
    if (!deviceId && disk[1].toLowerCase().startsWith('vml.')) {
      const [byVml] = await queryRows<Row>(db, sql`SELECT device_id FROM luns WHERE vml = ${disk[1].toLowerCase()}`);
      deviceId = str(byVml?.device_id);
    }
    if (deviceId) await deviceHits(db, hits, deviceId, 'deviceId', 100, n);
  }
}

/**
 * A UUID-shaped term may be an LVM segment UUID (the volume table's, which names the
 * volume) or an extent UUID (LVM header + 0x82, which names one device of it): see
 * docs/formats.md. Segment → the volume(s) it belongs to and the devices holding it;
 * extent → its device, with that device's volumes and targets.
 */
async function _lvmUuidHits(db: Db, hits: Hits, uuid: string, n: number): Promise<void> {
  const volumes = await queryRows<Row>(
    db,
    sql`
    SELECT s.vmfs_uuid FROM segments s JOIN artifacts a ON a.id = s.artifact_id WHERE s.segment_uuid = ${uuid}
    UNION
    SELECT e.vmfs_uuid FROM extents e JOIN artifacts a ON a.id = e.artifact_id WHERE e.segment_uuid = ${uuid} AND e.vmfs_uuid IS NOT NULL`,
  );
  for (const r of await volumeRows(
    db,
    volumes.map((v) => String(v.vmfs_uuid)),
  ))
    hits.add(volumeHit(r, 95, 'segmentUuid'));
  const segmentDevices = await queryRows<Row>(
    db,
    sql`
    SELECT DISTINCT e.device_id FROM extents e JOIN artifacts a ON a.id = e.artifact_id
     WHERE e.segment_uuid = ${uuid} AND e.device_id IS NOT NULL LIMIT ${n}`,
  );
  for (const r of segmentDevices) {
    const device = await knownDevice(db, String(r.device_id));
    if (device) hits.add(lunHit(device, 85, 'segmentUuid'));
  }
  const extentDevices = await queryRows<Row>(
    db,
    sql`
    SELECT DISTINCT e.device_id FROM extents e JOIN artifacts a ON a.id = e.artifact_id
     WHERE e.extent_uuid = ${uuid} AND e.device_id IS NOT NULL LIMIT ${n}`,
  );
  for (const r of extentDevices) await deviceHits(db, hits, String(r.device_id), 'extentUuid', 100, n);
}

/**
 * A VMFS UUID term in one round trip: the volume (its row, else when an FS descriptor or an
 * inventory extent saw it), and the same UUID as an LVM segment UUID (its volumes, the
 * devices holding it) or extent UUID (its device ids); lvmUuidHits explains both. Only a
 * term that is an extent UUID takes a second round trip per device it names.
 */
async function uuidHits(db: Db, hits: Hits, uuid: string, n: number): Promise<void> {
  const rows = await queryRows<Row>(
    db,
    sql`
    SELECT 'volume' AS hit, to_jsonb(v) AS row FROM (
      SELECT * FROM (
        (SELECT vmfs_uuid, label, version, last_seen, 1 AS pri FROM volumes WHERE vmfs_uuid = ${uuid})
        UNION ALL
        (SELECT ${uuid}::text, NULL, NULL, max(x.seen_at), 2 FROM (
          SELECT s.seen_at FROM segments s JOIN artifacts a ON a.id = s.artifact_id WHERE s.vmfs_uuid = ${uuid}
          UNION ALL
          SELECT e.seen_at FROM extents e JOIN artifacts a ON a.id = e.artifact_id WHERE e.vmfs_uuid = ${uuid}
        ) x HAVING max(x.seen_at) IS NOT NULL)
      ) k ORDER BY pri LIMIT 1
    ) v
    UNION ALL
    SELECT 'segmentVolume', jsonb_build_object('vmfs_uuid', i.vmfs_uuid, 'label', vo.label, 'version', vo.version, 'last_seen', vo.last_seen) FROM (
      SELECT s.vmfs_uuid FROM segments s JOIN artifacts a ON a.id = s.artifact_id WHERE s.segment_uuid = ${uuid}
      UNION
      SELECT e.vmfs_uuid FROM extents e JOIN artifacts a ON a.id = e.artifact_id WHERE e.segment_uuid = ${uuid} AND e.vmfs_uuid IS NOT NULL
    ) i LEFT JOIN volumes vo ON vo.vmfs_uuid = i.vmfs_uuid
    UNION ALL
    SELECT 'segmentDevice', to_jsonb(d) FROM (
      SELECT DISTINCT ON (e.device_id) e.device_id,
             coalesce(l.lun, e.lun) AS lun, coalesce(l.vml, e.vml) AS vml, coalesce(l.vendor, e.vendor) AS vendor,
             coalesce(l.model, e.model) AS model, coalesce(l.size_bytes, e.size_bytes) AS size_bytes, coalesce(l.last_seen, e.seen_at) AS last_seen
        FROM extents e JOIN artifacts a ON a.id = e.artifact_id LEFT JOIN luns l ON l.device_id = e.device_id
       WHERE e.segment_uuid = ${uuid} AND e.device_id IS NOT NULL
       ORDER BY e.device_id, e.seen_at DESC LIMIT ${n}
    ) d
    UNION ALL
    SELECT 'extentDevice', jsonb_build_object('device_id', x.device_id) FROM (
      SELECT DISTINCT e.device_id FROM extents e JOIN artifacts a ON a.id = e.artifact_id
       WHERE e.extent_uuid = ${uuid} AND e.device_id IS NOT NULL LIMIT ${n}
    ) x`,
  );
  for (const r of rows) {
    const row = r.row as Row;
    if (r.hit === 'volume') hits.add(volumeHit(row, 100, 'vmfsUuid'));
    else if (r.hit === 'segmentVolume') hits.add(volumeHit(row, 95, 'segmentUuid'));
    else if (r.hit === 'segmentDevice') hits.add(lunHit(row, 85, 'segmentUuid'));
  }
  for (const r of rows) if (r.hit === 'extentDevice') await deviceHits(db, hits, String((r.row as Row).device_id), 'extentUuid', 100, n);
}

/**
 * Target LUs whose latest sighting's ACL names one of `initiators` (RFC 3720 names compare
 * case-insensitively; ACLs keep the spelling the storage host printed, so both the
 * lower-cased and the pasted spelling are tried). A target whose ACL dropped the initiator
 * later is not answered.
 */
async function aclTargetRows(db: Db, initiators: string[], limit: number): Promise<Row[]> {
  const names = sql.join(
    initiators.map((i) => sql`t.acl @> ${JSON.stringify([i])}::jsonb`),
    sql` OR `,
  );
  const namesX = sql.join(
    initiators.map((i) => sql`x.acl @> ${JSON.stringify([i])}::jsonb`),
    sql` OR `,
  );
  return queryRows<Row>(
    db,
    sql`
    WITH named AS (
      SELECT DISTINCT t.storage_host, t.stack, coalesce(t.iqn, '') AS iqn, coalesce(t.lun, -1) AS lun, coalesce(t.device_id, '') AS device_id
        FROM targets t JOIN artifacts a ON a.id = t.artifact_id WHERE ${names}
    )
    SELECT * FROM (
      SELECT DISTINCT ON (${TARGET_KEY}) t.*
        FROM targets t JOIN artifacts a ON a.id = t.artifact_id
        JOIN named k ON k.storage_host = t.storage_host AND k.stack = t.stack AND k.iqn = coalesce(t.iqn, '')
                    AND k.lun = coalesce(t.lun, -1) AND k.device_id = coalesce(t.device_id, '')
       ORDER BY ${TARGET_KEY}, t.seen_at DESC, t.id DESC
    ) x WHERE ${namesX} ORDER BY x.seen_at DESC LIMIT ${limit}`,
  );
}

/** Volumes whose UUID starts with `prefix`; for bare hex also devices whose NAA id does. */
async function prefixHits(db: Db, hits: Hits, prefix: string, alsoDevices: boolean, n: number): Promise<void> {
  const digits = prefix.replace(/-/g, '');
  const { lo, hi } = prefixRange(dashed(digits));
  const rows = await queryRows<Row>(
    db,
    sql`
    SELECT vmfs_uuid, label, version, last_seen FROM volumes
     WHERE vmfs_uuid >= ${lo} AND vmfs_uuid < ${hi} AND vmfs_uuid LIKE ${likeEscape(lo) + '%'}
     ORDER BY last_seen DESC LIMIT ${n}`,
  );
  for (const r of rows) hits.add(volumeHit(r, 90, 'uuidPrefix'));
  if (!alsoDevices) return;
  // Bare hex may also be the start of an NAA id (a truncated `naa.6001…` copied from a log).
  const dev = prefixRange('naa.' + digits);
  const luns = await queryRows<Row>(
    db,
    sql`
    SELECT * FROM luns WHERE device_id >= ${dev.lo} AND device_id < ${dev.hi} AND device_id LIKE ${likeEscape(dev.lo) + '%'}
     ORDER BY last_seen DESC LIMIT ${n}`,
  );
  for (const r of luns) hits.add(lunHit(r, 80, 'deviceIdPrefix'));
}

/** Up to 32 hex digits with the VMFS UUID dashes (after 8, 16, 20). */
function dashed(digits: string): string {
  return [digits.slice(0, 8), digits.slice(8, 16), digits.slice(16, 20), digits.slice(20)].filter((p) => p).join('-');
}

async function backingStoreHits(db: Db, hits: Hits, path: string, dataset: string | null, n: number): Promise<void> {
  const snapshotName = path.includes('@') && !path.startsWith('/') ? path : null;
  const exact: string[] = [path];
  if (dataset) exact.push(`/dev/zvol/rdsk/${dataset}`, `/dev/zvol/dsk/${dataset}`);
  const targets = await targetRows(db, sql`t.backing_store IN ${inList(exact)}`, n);
  for (const r of targets) hits.add(targetHit(r, 100, 'backingStore'));
  if (targets.length === 0) {
    const fragment = dataset ?? path;
    for (const r of await targetRows(db, sql`t.backing_store ILIKE ${'%' + likeEscape(fragment) + '%'}`, n)) hits.add(targetHit(r, 70, 'backingStore'));
  }
  // The datastore on that zvol: the zvol path is often all a storage admin has.
  const devices = [...new Set(targets.map((t) => str(t.device_id)).filter((d): d is string => !!d))];
  for (const r of await volumeRows(db, await volumesOnDevices(db, devices))) hits.add(volumeHit(r, 85, 'backingStore'));
  for (const d of devices) {
    const device = await knownDevice(db, d);
    if (device) hits.add(lunHit(device, 80, 'backingStore'));
  }
  const datasets = new Set<string>();
  if (dataset) datasets.add(dataset);
  for (const t of targets) {
    const ds = datasetOfBackingStore(str(t.backing_store));
    if (ds) datasets.add(ds);
  }
  if (datasets.size) {
    const snaps = await queryRows<Row>(
      db,
      sql`
      WITH latest AS (
        SELECT DISTINCT ON (z.host, z.dataset) z.host, z.dataset, z.artifact_id
          FROM zfs_snapshots z JOIN artifacts a ON a.id = z.artifact_id
         WHERE z.dataset IN ${inList([...datasets])}
         ORDER BY z.host, z.dataset, a.collected_at DESC
      )
      SELECT z.* FROM zfs_snapshots z JOIN latest l ON l.artifact_id = z.artifact_id AND l.dataset = z.dataset
       ORDER BY z.created_at DESC LIMIT ${n}`,
    );
    for (const r of snaps) hits.add(snapshotHit(r, snapshotName && r.name === snapshotName ? 100 : 75, 'dataset'));
  }
}

async function textHits(db: Db, hits: Hits, text: string, n: number): Promise<void> {
  const contains = '%' + likeEscape(text) + '%';
  const lower = text.toLowerCase();
  // Labels: exact beats prefix beats fragment; pg_trgm similarity orders the fragments.
  // Volumes, hosts and target LUs travel in one statement, each branch with its own order and limit.
  const rows = await queryRows<Row>(
    db,
    sql`
    SELECT 'volume' AS hit, to_jsonb(v) AS row FROM (
      SELECT vmfs_uuid, label, version, last_seen FROM volumes WHERE label ILIKE ${contains}
       ORDER BY (lower(label) = ${lower}) DESC, similarity(label, ${text}) DESC, last_seen DESC LIMIT ${n}
    ) v
    UNION ALL
    SELECT 'host', to_jsonb(h) FROM (
      SELECT name, kind, last_seen FROM hosts WHERE name ILIKE ${contains}
       ORDER BY (lower(name) = ${lower}) DESC, similarity(name, ${text}) DESC LIMIT ${n}
    ) h
    UNION ALL
    SELECT 'target', to_jsonb(x) FROM (
      SELECT * FROM (
        SELECT DISTINCT ON (${TARGET_KEY}) t.*
          FROM targets t JOIN artifacts a ON a.id = t.artifact_id
         WHERE (t.iqn ILIKE ${contains} OR t.alias ILIKE ${contains} OR t.backing_store ILIKE ${contains})
         ORDER BY ${TARGET_KEY}, t.seen_at DESC, t.id DESC
      ) y ORDER BY y.seen_at DESC LIMIT ${n}
    ) x`,
  );
  for (const { hit, row } of rows as Array<{ hit: string; row: Row }>) {
    if (hit === 'volume') {
      const label = String(row.label).toLowerCase();
      hits.add(volumeHit(row, label === lower ? 95 : label.startsWith(lower) ? 80 : 60, 'label'));
    } else if (hit === 'host') {
      const name = String(row.name).toLowerCase();
      hits.add({
        type: 'host',
        score: name === lower ? 95 : name.startsWith(lower) ? 75 : 55,
        match: 'host',
        name: String(row.name),
        kind: String(row.kind),
        lastSeen: iso(row.last_seen),
      });
    } else {
      const alias = str(row.alias)?.toLowerCase();
      hits.add(
        targetHit(row, alias === lower ? 90 : 50, alias?.includes(lower) ? 'alias' : str(row.iqn)?.toLowerCase().includes(lower) ? 'iqn' : 'backingStore'),
      );
    }
  }
}
