/**
 * Search: whatever an operator pastes (docs/architecture.md "Who uses it", "Search"), typed by
 * `parseQuery` (formats/ids.ts), answered with scored hits, best first.
 * Each query type is one round trip. Device ids, vml ids and LVM UUIDs are one call of the
 * plpgsql function search_id_hits (db/migrations/0013), which reads `search_keys` (one row per
 * distinct id → volume or device, kept by triggers: db/schema.ts) and primary keys; text
 * fragments one statement on `search_names`, through its word-start index (0012), for a
 * fragment no word starts with also from a word start inside the fragment (`namesLike`) or
 * through its trigram index; exact IQNs and zvol paths btree indexes on targets.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { SearchHit, SearchResultBody } from '../schemas/catalog.js';
import { queryRows, type Db } from '../../db/client.js';
import { canonicalDeviceId, canonicalVmfsUuid, parseQuery, parseVml, type SearchQuery } from '../../formats/ids.js';
import { datasetOfBackingStore } from '../../formats/zfs.js';
import { inList, iso, num, str } from './rows.js';
import { queryPrepared, queryPreparedText } from './prepared.js';
import { latestSnapshotRows, targetFields } from './volumes.js';

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
    ...targetFields(r),
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

/** The latest row of each target LU among the target rows matching `where`, newest first. */
function latestTargetsSql(where: SQL, limit: number): SQL {
  return sql`
    SELECT * FROM (
      SELECT DISTINCT ON (${TARGET_KEY}) t.*
        FROM targets t
       WHERE ${where}
       ORDER BY ${TARGET_KEY}, t.seen_at DESC, t.id DESC
    ) x ORDER BY x.seen_at DESC LIMIT ${limit}`;
}

/** The latest row of each target LU matching `where`. */
async function targetRows(db: Db, where: SQL, limit: number): Promise<Row[]> {
  return queryPrepared<Row>(db, latestTargetsSql(where, limit));
}

/**
 * Where the word index (search_name_words, db/migrations/0012) is read for a fragment: the
 * fragment lower-cased, from its first letter or digit (a word never starts with a separator),
 * at most the 200 characters a word start is kept to. Empty when it has no letter or digit.
 */
function wordProbe(fragment: string): string {
  return fragment
    .toLowerCase()
    .replace(/^[^\p{L}\p{N}]+/u, '')
    .slice(0, 200);
}

/** The tsquery `'probe':*`: every indexed word start that begins with `probe`. */
function prefixTsquery(probe: string): string {
  return `'${probe.replace(/\\/g, '\\\\').replace(/'/g, "''")}':*`;
}

/**
 * When a fragment starts no word, `pg_trgm`'s GIN index reads the posting list of every
 * trigram of the `%fragment%` pattern, and the trigrams of words most names share (`ds-`,
 * `prod`, `iqn.`) have lists as long as the table. So the index is asked for the fragment's
 * rarest-looking run — its longest run of letters and digits, one with digits first (numbers
 * tell names apart, words repeat) — and the whole fragment is checked on the few names that
 * come back (`namesLike`). Same answer, a fraction of the index read.
 */
function indexedRun(fragment: string): string {
  const runs = fragment.split(/[^\p{L}\p{N}]+/u).filter((r) => r.length >= 3);
  if (runs.length === 0) return fragment;
  const digits = (r: string) => (/\d/.test(r) ? 1 : 0);
  return runs.reduce((best, r) => (digits(r) > digits(best) || (digits(r) === digits(best) && r.length > best.length) ? r : best));
}

/** An ASCII letter or digit, `[[:alnum:]]` in every locale (db/migrations/0012); any other ASCII character separates words. */
const ASCII_ALNUM = /[a-z0-9]/;

/**
 * Where the lower-cased fragment holds a word start of its own after a separator
 * (`test-123456` → `123456`, `qn.1986-03` → `1986-03`), the fragment from the first such place
 * (at most 200 characters). Every name that contains the fragment, wherever it does, has a word
 * starting there: the separator that makes it a word start is inside the fragment. So the names
 * starting a word with it, checked for the whole fragment, are every name containing the
 * fragment — a word-start read, not a trigram one. A word start where digits follow a letter
 * (`esx0042` → `0042`) is not used: in hex ids such as an IQN's every few characters start one,
 * and short numbers begin thousands of them. ASCII fragments only: their word starts are the
 * same in JavaScript and in every database locale. Null when there is none.
 */
function innerWordStart(lower: string): string | null {
  if (!/^\p{ASCII}*$/u.test(lower)) return null;
  for (let at = 1; at < lower.length; at++) {
    const c = lower[at];
    if (ASCII_ALNUM.test(c) && !ASCII_ALNUM.test(lower[at - 1])) return lower.slice(at, at + 200);
  }
  return null;
}

/**
 * search_names rows of `kinds` matching `fragment` (any case): those with a word that starts
 * with it (a range read of the word index: 'prod-12' finds 'ds-prod-12', 'ds-prod-120'), and,
 * when those are fewer than `enough` (the answer's size), also those holding it mid-word
 * ('rod-12', 'nonprod-12'). So an answer that is not cut short holds every name containing the
 * fragment, as a substring search would; one that is cut short is filled with word starts
 * first. One statement: the mid-word read sits behind a one-time filter on the count of the
 * first part. The mid-word read is a second word-start read when the fragment holds a word
 * start of its own after a separator, with digits in what follows it (`innerWordStart`:
 * `test-123456` reads the words starting `123456`, a handful of names), else the trigram
 * index; a fragment that begins with a separator (`-vmfs`) needs neither, its word-start read
 * already holds every name containing it.
 */
function namesLike(kinds: string[], fragment: string, enough: number): SQL {
  const lower = fragment.toLowerCase();
  const probe = wordProbe(fragment);
  const inKinds = inList(kinds);
  const contains = sql`strpos(lower(n.name), ${lower}) > 0`;
  const wordStarts = (p: string, checked: boolean) =>
    sql`SELECT n.kind, n.name, n.ref FROM search_names n
       WHERE search_name_words(n.name) @@ ${prefixTsquery(p)}::tsquery ${checked ? sql`AND ${contains}` : sql``} AND n.kind IN ${inKinds}`;
  const inner = innerWordStart(lower);
  if (probe && inner === probe) return wordStarts(probe, true);
  let midWord: SQL;
  if (inner && inner.length >= 3 && /[0-9]/.test(inner)) {
    // Digits tell names apart; a word start such as 'lun' or '1' can begin a million of them,
    // where the trigram index may find the fragment's own rare run ('datastore-1').
    midWord = wordStarts(inner, true);
  } else {
    const run = indexedRun(fragment);
    midWord = sql`SELECT n.kind, n.name, n.ref FROM search_names n
     WHERE n.name ILIKE ${'%' + likeEscape(run) + '%'} ${run === fragment ? sql`` : sql`AND ${contains}`} AND n.kind IN ${inKinds}`;
  }
  if (!probe) return midWord;
  return sql`
    WITH w AS MATERIALIZED (${wordStarts(probe, probe !== lower)})
    SELECT * FROM w
    UNION ALL
    SELECT * FROM (${midWord}) f
     WHERE (SELECT count(*) FROM w) < ${enough}
       AND NOT EXISTS (SELECT 1 FROM w WHERE w.kind = f.kind AND w.name = f.name AND w.ref IS NOT DISTINCT FROM f.ref)`;
}

/** Target rows whose IQN, alias or backing store is one of the names in `names` (a SELECT of kind, name). */
function targetsNamed(names: SQL): SQL {
  return sql`t.id IN (
    SELECT t2.id FROM (${names}) m JOIN targets t2 ON lower(t2.iqn) = lower(m.name) AND t2.iqn = m.name WHERE m.kind = 'iqn'
    UNION SELECT t2.id FROM (${names}) m JOIN targets t2 ON t2.alias = m.name WHERE m.kind = 'alias'
    UNION SELECT t2.id FROM (${names}) m JOIN targets t2 ON t2.backing_store = m.name WHERE m.kind = 'backingStore')`;
}

/** Volume rows for some VMFS UUIDs; UUIDs only seen in extents/segments get a bare row. */
async function volumeRows(db: Db, uuids: string[]): Promise<Row[]> {
  if (uuids.length === 0) return [];
  const rows = await queryRows<Row>(db, sql`SELECT vmfs_uuid, label, version, last_seen FROM volumes WHERE vmfs_uuid IN ${inList(uuids)}`);
  const found = new Set(rows.map((r) => String(r.vmfs_uuid)));
  for (const u of uuids) if (!found.has(u)) rows.push({ vmfs_uuid: u, label: null, version: null, last_seen: null });
  return rows;
}

/** A VMFS UUID the catalog knows from a volume row, an inventory extent or an FS descriptor (search_volume_row, db/migrations/0013). */
async function knownVolume(db: Db, vmfsUuid: string): Promise<Row | null> {
  const [found] = await queryPrepared<{ row: Row | null }>(db, sql`SELECT search_volume_row(${vmfsUuid}) AS row`);
  return found?.row ?? null;
}

/** A device the catalog knows: its luns row, else its latest extent or target sighting (search_lun_row, db/migrations/0013). */
async function knownDevice(db: Db, deviceId: string): Promise<Row | null> {
  const [found] = await queryPrepared<{ row: Row | null }>(db, sql`SELECT search_lun_row(${deviceId}) AS row`);
  return found?.row ?? null;
}

/** What one id search is asked: a VMFS UUID (also as segment / extent UUID), a device id, a vml. */
interface IdTerms {
  uuid?: string | null;
  deviceId?: string | null;
  /** How the device id was given: `deviceId` or `vml`. */
  deviceMatch?: string;
  vml?: string | null;
}

const ID_HITS = `SELECT o_hit AS hit, o_match AS match, o_score AS score, o_row AS row
  FROM search_id_hits($1::text, $2::text, $3::text, $4::text, $5::integer)`;

/**
 * One call of search_id_hits (db/migrations/0013), its rows tagged hit / match / score:
 * - each device (the one named, and those an extent UUID names): its LUN (score 100), the
 *   latest row of each target LU presenting it (95), the volumes on it (90, search_keys
 *   `deviceVolume`; a bare row for a UUID no volume row names);
 * - a VMFS UUID: the volume (100); the same UUID as an LVM segment UUID: its volumes (95) and
 *   the devices holding it (85) — see docs/formats.md for segment vs extent UUIDs;
 * - a vml: the LUN recorded with that exact vml (100), when the device's own row does not carry it.
 * A function rather than one statement: the branches a usual answer does not need are never started.
 */
async function idHits(db: Db, hits: Hits, terms: IdTerms, n: number): Promise<void> {
  const rows = await queryPreparedText<{ hit: string; match: string; score: number; row: Row }>(db, ID_HITS, [
    terms.uuid ?? null,
    terms.deviceId ?? null,
    terms.deviceMatch ?? 'deviceId',
    terms.vml ?? null,
    n,
  ]);
  for (const { hit, match, score, row } of rows) {
    const s = Number(score);
    if (hit === 'lun') hits.add(lunHit(row, s, match));
    else if (hit === 'target') hits.add(targetHit(row, s, match));
    else if (hit === 'volume') hits.add(volumeHit(row, s, match));
  }
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
      await idHits(db, hits, { uuid: query.vmfsUuid }, n);
      break;
    case 'hex':
      await idHits(db, hits, { uuid: query.vmfsUuid, deviceId: query.deviceId }, n);
      break;
    case 'uuidPrefix':
      await prefixHits(db, hits, query.prefix, !query.raw.includes('-'), n);
      break;
    case 'deviceId':
      await idHits(db, hits, { deviceId: query.deviceId }, n);
      // 16 bare hex digits are an 8-byte NAA id, or the first two words of a VMFS UUID.
      if (/^[0-9a-f]{16}$/i.test(query.raw.trim())) await prefixHits(db, hits, query.raw.trim().toLowerCase(), false, n);
      break;
    case 'vml':
      // A vml also names the LUN it was seen at: where that exact vml was recorded rides along.
      await idHits(db, hits, { deviceId: query.deviceId, deviceMatch: 'vml', vml: query.vml }, n);
      break;
    case 'iqn': {
      // The target LUs with this IQN, and (an initiator's IQN) those whose latest ACL names it.
      const initiators = [...new Set([query.iqn, query.raw.trim()])];
      const rows = await queryPrepared<{ hit: string; row: Row }>(
        db,
        sql`
        SELECT 'iqn' AS hit, to_jsonb(x) AS row FROM (${latestTargetsSql(sql`lower(t.iqn) = ${query.iqn}`, n)}) x
        UNION ALL
        SELECT 'acl', to_jsonb(x) FROM (${aclTargetsSql(initiators, n)}) x`,
      );
      for (const { hit, row } of rows) hits.add(targetHit(row, hit === 'iqn' ? 100 : 90, hit));
      // A fragment of an IQN: only when nothing matched exactly.
      if (rows.length === 0) {
        for (const r of await targetRows(db, targetsNamed(namesLike(['iqn'], query.iqn, n)), n)) hits.add(targetHit(r, 70, 'iqn'));
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
    const label = volume[1];
    const byLabel = await queryPrepared<Row>(
      db,
      sql`
      SELECT v.vmfs_uuid, v.label, v.version, v.last_seen FROM search_names s JOIN volumes v ON v.vmfs_uuid = s.ref
       WHERE s.kind = 'label' AND s.name ILIKE ${likeEscape(label)} AND lower(s.name) = ${label.toLowerCase()} LIMIT ${n}`,
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
      const [byVml] = await queryPrepared<Row>(db, sql`SELECT device_id FROM luns WHERE vml = ${disk[1].toLowerCase()}`);
      deviceId = str(byVml?.device_id);
    }
    if (deviceId) await idHits(db, hits, { deviceId }, n);
  }
}

/**
 * Target LUs whose latest sighting's ACL names one of `initiators` (RFC 3720 names compare
 * case-insensitively; ACLs keep the spelling the storage host printed, so both the
 * lower-cased and the pasted spelling are tried). A target whose ACL dropped the initiator
 * later is not answered.
 */
function aclTargetsSql(initiators: string[], limit: number): SQL {
  const names = sql.join(
    initiators.map((i) => sql`t.acl @> ${JSON.stringify([i])}::jsonb`),
    sql` OR `,
  );
  const namesX = sql.join(
    initiators.map((i) => sql`x.acl @> ${JSON.stringify([i])}::jsonb`),
    sql` OR `,
  );
  return sql`
    SELECT * FROM (
      SELECT DISTINCT ON (${TARGET_KEY}) t.*
        FROM targets t
        JOIN (SELECT DISTINCT t.storage_host, t.stack, coalesce(t.iqn, '') AS iqn, coalesce(t.lun, -1) AS lun, coalesce(t.device_id, '') AS device_id
                FROM targets t WHERE ${names}) k
          ON k.storage_host = t.storage_host AND k.stack = t.stack AND k.iqn = coalesce(t.iqn, '')
         AND k.lun = coalesce(t.lun, -1) AND k.device_id = coalesce(t.device_id, '')
       ORDER BY ${TARGET_KEY}, t.seen_at DESC, t.id DESC
    ) x WHERE ${namesX} ORDER BY x.seen_at DESC LIMIT ${limit}`;
}

/** Volumes whose UUID starts with `prefix`; for bare hex also devices whose NAA id does. */
async function prefixHits(db: Db, hits: Hits, prefix: string, alsoDevices: boolean, n: number): Promise<void> {
  const digits = prefix.replace(/-/g, '');
  const { lo, hi } = prefixRange(dashed(digits));
  const rows = await queryPrepared<Row>(
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
  const luns = await queryPrepared<Row>(
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
    for (const r of await targetRows(db, targetsNamed(namesLike(['backingStore'], fragment, n)), n)) hits.add(targetHit(r, 70, 'backingStore'));
  }
  // The datastore on that zvol: the zvol path is often all a storage admin has.
  const devices = [...new Set(targets.map((t) => str(t.device_id)).filter((d): d is string => !!d))];
  const onDevices = devices.length
    ? await queryRows<Row>(db, sql`SELECT DISTINCT ref FROM search_keys WHERE key IN ${inList(devices)} AND kind = 'deviceVolume'`)
    : [];
  for (const r of await volumeRows(
    db,
    onDevices.map((r) => String(r.ref)),
  ))
    hits.add(volumeHit(r, 85, 'backingStore'));
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
    const snaps = await latestSnapshotRows(db, [...datasets], n);
    for (const r of snaps) hits.add(snapshotHit(r, snapshotName && r.name === snapshotName ? 100 : 75, 'dataset'));
  }
}

/**
 * A text fragment: volumes by label, hosts by name, target LUs by IQN, alias or backing store,
 * all from one read of search_names. Exact beats prefix beats fragment; pg_trgm similarity
 * orders the fragments; each kind has its own order and limit.
 */
async function textHits(db: Db, hits: Hits, text: string, n: number): Promise<void> {
  const lower = text.toLowerCase();
  const rows = await queryPrepared<{ hit: string; row: Row }>(
    db,
    sql`
    WITH m AS MATERIALIZED (${namesLike(['label', 'host', 'iqn', 'alias', 'backingStore'], text, n)})
    SELECT 'volume' AS hit, to_jsonb(v) AS row FROM (
      SELECT v.vmfs_uuid, v.label, v.version, v.last_seen FROM m JOIN volumes v ON v.vmfs_uuid = m.ref
       WHERE m.kind = 'label'
       ORDER BY (lower(v.label) = ${lower}) DESC, similarity(v.label, ${text}) DESC, v.last_seen DESC LIMIT ${n}
    ) v
    UNION ALL
    SELECT 'host', to_jsonb(h) FROM (
      SELECT h.name, h.kind, h.last_seen FROM m JOIN hosts h ON h.name = m.ref
       WHERE m.kind = 'host'
       ORDER BY (lower(h.name) = ${lower}) DESC, similarity(h.name, ${text}) DESC LIMIT ${n}
    ) h
    UNION ALL
    SELECT 'target', to_jsonb(x) FROM (${latestTargetsSql(targetsNamed(sql`SELECT kind, name FROM m`), n)}) x`,
  );
  for (const { hit, row } of rows) {
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
