/**
 * Search: whatever an operator pastes (docs/architecture.md "Who uses it", "Search"), typed by
 * `parseQuery` (formats/ids.ts), answered with scored hits, best first.
 * Each query type is one round trip, a text fragment two when the newest target rows hold it.
 * Device ids, vml ids and LVM UUIDs are one call of the plpgsql function search_id_hits
 * (db/migrations/0013), which reads `search_keys` (one row per distinct id → volume or device,
 * kept by triggers: db/schema.ts) and primary keys; text fragments a statement rendered once for
 * each shape of fragment (`fragmentSql`): the newest target rows, and `search_names` through its
 * word-start indexes (0012, 0017, 0018), for a fragment no word starts with also from a word
 * start inside the fragment (`midWordRows`) or through its trigram index; exact IQNs and zvol
 * paths btree indexes on targets.
 */
import { fillPlaceholders, sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
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

/**
 * A volume found by one of its labels (`r.matched`, volume_labels): scored on that name as on
 * the current label (exact 95, prefix 80, else 60), five less and with `earlierLabel` set
 * when it is a label the volume no longer carries.
 */
function labelHit(r: Row, lowerQuery: string, exact?: number): VolumeHit {
  const matched = str(r.matched) ?? str(r.label) ?? '';
  const lower = matched.toLowerCase();
  const score = exact ?? (lower === lowerQuery ? 95 : lower.startsWith(lowerQuery) ? 80 : 60);
  if (matched === str(r.label)) return volumeHit(r, score, 'label');
  return { ...volumeHit(r, score - 5, 'earlierLabel'), earlierLabel: matched };
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
 * come back (`midWordRows`). Same answer, a fraction of the index read.
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

/** The kinds of search_names each word-start index holds (db/migrations/0017): volumes' and hosts' names, and target LUs'. */
const VOLUME_HOST_KINDS = ['label', 'host'];
const TARGET_KINDS = ['iqn', 'alias', 'backingStore'];
const TARGET_COLUMN: Record<string, string> = { iqn: 'iqn', alias: 'alias', backingStore: 'backing_store' };

/**
 * `kinds` written into the statement as literals, not parameters: PostgreSQL uses a partial
 * index only where the statement's own text shows its predicate, generic plans included.
 */
function kindList(kinds: string[]): SQL {
  for (const k of kinds) if (!VOLUME_HOST_KINDS.includes(k) && !TARGET_KINDS.includes(k)) throw new Error(`not a search_names kind: ${k}`);
  return sql.raw(`(${kinds.map((k) => `'${k}'`).join(', ')})`);
}

const raw = (b: boolean) => sql.raw(b ? 'true' : 'false');

/** What a fragment's statement text depends on (`fragmentSql`): its kinds and how the fragment reads. */
interface FragmentShape {
  kinds: string[];
  /** The fragment has a letter or digit: it has word starts (`wordProbe`). */
  probe: boolean;
  /** The fragment holds more than its probe (`-prod`, `Prod`), checked on every name its probe finds. */
  whole: boolean;
  /** It begins with a separator: its word starts are every name containing it. */
  wordStartsAlone: boolean;
  /** ASCII: containment checked by strpos answers as ILIKE does (db/migrations/0012). */
  ascii: boolean;
  /** A target name's word start is checked by a regular expression (`wordStartPattern`), else by search_name_words. */
  wordPattern: boolean;
  /** Labels and host names are read from search_name_starts (an ASCII probe), else from the word-start GIN index. */
  nameStarts: boolean;
  /** The mid-word read is from a word start inside the fragment (`innerWordStart`), else the trigram index. */
  midWords: boolean;
  /** The trigram read is of a run of the fragment, the whole fragment checked after (`indexedRun`). */
  midChecked: boolean;
  /**
   * The statement without the window of newest target rows, for a fragment they do not hold
   * (`fragmentSql`), reading at most this many target names (TARGET_NAMES); 0 for the whole one.
   */
  sparse: number;
}

/** The values a fragment's statement runs with, each a parameter named as here (`T`). */
interface FragmentTerms {
  fragment: string;
  lower: string;
  probe: string;
  /** The first string after every one starting with the probe (`afterPrefix`), for search_name_starts. */
  probeEnd: string;
  /** `'probe':*` (`prefixTsquery`). */
  probeWords: string;
  whole: string;
  wordPattern: string;
  midWords: string;
  midLike: string;
  enough: number;
  enoughLess: number;
  cap: number;
  capPlus: number;
  window: number;
  probeRows: number;
  /** The window is read whatever the newest rows hold: the sparse statement found too many target names. */
  wide: boolean;
}

/** Each term as the parameter it is in a fragment's statement. */
const T = Object.fromEntries(
  [
    'fragment',
    'lower',
    'probe',
    'probeEnd',
    'probeWords',
    'whole',
    'wordPattern',
    'midWords',
    'midLike',
    'enough',
    'enoughLess',
    'cap',
    'capPlus',
    'window',
    'probeRows',
    'wide',
  ].map((name) => [name, sql`${sql.placeholder(name)}`]),
) as Record<keyof FragmentTerms, SQL>;

/** How far a fragment's reads go (SearchOptions): the newest `window` target rows, `cap` names ranked, `names` target names before the window. */
interface FragmentReads {
  window: number;
  cap: number;
  names: number;
}

/** A fragment's shape and terms, `enough` answers of each kind. */
function fragmentTerms(kinds: string[], fragment: string, enough: number, { window, cap }: FragmentReads): { shape: FragmentShape; terms: FragmentTerms } {
  const lower = fragment.toLowerCase();
  const probe = wordProbe(fragment);
  const inner = innerWordStart(lower);
  // Digits tell names apart; a word start such as 'lun' or '1' can begin a million of them,
  // where the trigram index may find the fragment's own rare run ('datastore-1').
  const midWords = inner !== null && inner.length >= 3 && /[0-9]/.test(inner);
  const run = indexedRun(fragment);
  const pattern = probe ? wordStartPattern(probe) : null;
  const hasVolumeHost = kinds.some((k) => VOLUME_HOST_KINDS.includes(k));
  return {
    shape: {
      kinds,
      probe: probe !== '',
      whole: probe !== lower,
      wordStartsAlone: probe !== '' && inner === probe,
      ascii: /^\p{ASCII}*$/u.test(lower),
      wordPattern: pattern !== null,
      nameStarts: hasVolumeHost && /^[\x20-\x7e]+$/.test(probe),
      midWords,
      midChecked: !midWords && run !== fragment,
      sparse: 0,
    },
    terms: {
      fragment,
      lower,
      probe,
      probeEnd: probe && /^[\x20-\x7e]+$/.test(probe) ? afterPrefix(probe) : '',
      probeWords: prefixTsquery(probe),
      whole: lower,
      wordPattern: pattern ?? '',
      midWords: midWords ? prefixTsquery(inner) : '',
      midLike: `%${likeEscape(run)}%`,
      enough,
      enoughLess: enough - 1,
      cap,
      capPlus: cap + 1,
      window,
      probeRows: Math.min(PROBE_ROWS, window),
      wide: false,
    },
  };
}

/**
 * search_names rows of `kinds` with a word matching `words` (a prefix tsquery, `prefixTsquery`),
 * and holding `whole` where given: one range read of each word-start index the kinds are in.
 */
function wordStartRows(kinds: string[], words: SQL, whole: SQL | null): SQL {
  const reads = [VOLUME_HOST_KINDS, TARGET_KINDS]
    .map((index) => kinds.filter((k) => index.includes(k)))
    .filter((some) => some.length > 0)
    .map(
      (some) => sql`SELECT n.kind, n.name, n.ref FROM search_names n
       WHERE search_name_words(n.name) @@ ${words}::tsquery ${whole === null ? sql`` : sql`AND strpos(lower(n.name), ${whole}) > 0`} AND n.kind IN ${kindList(some)}`,
    );
  return sql.join(reads, sql` UNION ALL `);
}

/**
 * How many label and host names a text fragment's word starts are ranked by similarity. A
 * fragment that starts a word of more (`prod-1`: 22,000 labels at 1 M volumes) is answered with
 * the first this many read in the order of search_name_starts_trigrams — exact name first, then
 * fewest trigrams, then byte order of the word (`nameRank`) — and the answer says so (`capped`).
 * At least the answer's size (limit + 1), so a capped answer is still cut by `truncated`.
 */
export const RANKED_NAMES = 200;

/** The first string after every string starting with an ASCII `prefix`, in byte order. */
function afterPrefix(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/**
 * The CTEs `ns` (rows of search_name_starts whose word starts with an ASCII `probe`, in byte
 * order of the word, at most `cap` + 1 of them: all of them when there are at most `cap`) and
 * `nb` (only when `ns` found more: the first `cap` such rows by the name's trigram count, then
 * byte order of the word, each count a lazy range of search_name_starts_trigrams, numbered in
 * that order: `ord`), and `vh`, the distinct label and host rows of `kinds` they name, each with
 * its first `ord` (null when not capped). Both reads take only names holding the whole fragment
 * where it is more than its probe (`whole`), and stop at their LIMIT: `cap` rows however many
 * names the fragment starts a word of (db/migrations/0018). A name in which the probe starts two
 * words is two rows of the cap.
 */
function nameStartsCtes(kinds: string[], whole: boolean): SQL {
  // A fragment that holds more than its probe ('-prod') is filtered here, in the index-only reads
  // (name is in their INCLUDE), not after the cap: the capped names would be the probe's ('prod-…'),
  // few of which hold the fragment.
  const holds = whole ? sql` AND strpos(lower(s.name), ${T.whole}) > 0` : sql``;
  const range = sql`s.word ~>=~ ${T.probe} AND s.word ~<~ ${T.probeEnd} AND s.kind IN ${kindList(kinds)}${holds}`;
  return sql`ns AS MATERIALIZED (SELECT s.kind, s.name, s.ref FROM search_name_starts s WHERE ${range} ORDER BY s.word USING ~<~ LIMIT ${T.capPlus}),
      nb AS MATERIALIZED (
        SELECT y.*, row_number() OVER () AS ord FROM (
          SELECT x.kind, x.name, x.ref FROM generate_series((SELECT min(trigrams) FROM search_name_starts), (SELECT max(trigrams) FROM search_name_starts)) b(trigrams)
            CROSS JOIN LATERAL (SELECT s.kind, s.name, s.ref FROM search_name_starts s WHERE s.trigrams = b.trigrams AND ${range} ORDER BY s.word USING ~<~ LIMIT ${T.cap}) x
           WHERE (SELECT count(*) FROM ns) > ${T.cap}
           LIMIT ${T.cap}) y),
      vh AS MATERIALIZED (
        SELECT kind, name, ref, min(ord) AS ord FROM (
          SELECT *, NULL::bigint AS ord FROM ns WHERE (SELECT count(*) FROM ns) <= ${T.cap} UNION ALL SELECT * FROM nb) m
         GROUP BY kind, name, ref)`;
}

/**
 * search_names rows of `kinds` holding the fragment mid-word ('rod-12', 'nonprod-12'): a second
 * word-start read when the fragment holds a word start of its own after a separator, with digits
 * in what follows it (`innerWordStart`: `test-123456` reads the words starting `123456`, a
 * handful of names), else the trigram index.
 */
function midWordRows(kinds: string[], shape: FragmentShape): SQL {
  if (shape.midWords) return wordStartRows(kinds, T.midWords, T.lower);
  return sql`SELECT n.kind, n.name, n.ref FROM search_names n
     WHERE n.name ILIKE ${T.midLike} ${shape.midChecked ? sql`AND strpos(lower(n.name), ${T.lower}) > 0` : sql``} AND n.kind IN ${kindList(kinds)}`;
}

/**
 * A regular expression true where a word of the lower-cased name starts with an ASCII `probe`,
 * by the rule search_name_words (db/migrations/0012) cuts words by: after the name's start or
 * any character that is not a letter or digit, or, for a probe starting with a digit, after a
 * letter. The same answer as the function and its index, for a few target rows at a fraction of
 * the function's cost. Null for other probes (their letters' case and classes are the locale's).
 */
function wordStartPattern(probe: string): string | null {
  if (!/^[a-z0-9][\x20-\x7e]*$/.test(probe)) return null;
  const literal = probe.replace(/[^a-z0-9]/g, (c) => `\\${c}`);
  return `${/^[0-9]/.test(probe) ? '(^|[^[:alnum:]]|[[:alpha:]])' : '(^|[^[:alnum:]])'}${literal}`;
}

/** Names (kind, name, ref) not read in a capped answer's order: `ord` null (`nameRank`). */
function unranked(names: SQL): SQL {
  return sql`SELECT u.kind, u.name, u.ref, NULL::bigint AS ord FROM (${names}) u`;
}

/** `first` and the rows of `more` not in it. */
function namesUnion(first: SQL, more: SQL): SQL {
  return sql`SELECT * FROM (${first}) a UNION ALL
    SELECT * FROM (${more}) b WHERE NOT EXISTS (SELECT 1 FROM (${first}) a WHERE a.kind = b.kind AND a.name = b.name AND a.ref IS NOT DISTINCT FROM b.ref)`;
}

/**
 * The target rows whose IQN, alias or backing store is one of `names` (a SELECT of kind, name),
 * each name looked up by its own index (LATERAL: however many names the planner expects, never
 * a scan of every target row).
 */
function targetRowsNamed(names: SQL): SQL {
  return sql`SELECT t.* FROM (${names}) m CROSS JOIN LATERAL (
      SELECT t2.* FROM targets t2 WHERE m.kind = 'iqn' AND lower(t2.iqn) = lower(m.name) AND t2.iqn = m.name
      UNION ALL SELECT t2.* FROM targets t2 WHERE m.kind = 'alias' AND t2.alias = m.name
      UNION ALL SELECT t2.* FROM targets t2 WHERE m.kind = 'backingStore' AND t2.backing_store = m.name) t`;
}

/** The latest row of each target LU among `rows` (target rows, any repeated), newest first, `enough` of them. */
function latestOf(rows: SQL): SQL {
  return sql`
    SELECT * FROM (
      SELECT DISTINCT ON (${TARGET_KEY}) t.*
        FROM (${rows}) t
       ORDER BY ${TARGET_KEY}, t.seen_at DESC, t.id DESC
    ) x ORDER BY x.seen_at DESC, x.id DESC LIMIT ${T.enough}`;
}

/**
 * How close a name of `names` (kind, name, ref, ord) is to the fragment: 2 for the exact name,
 * plus its pg_trgm similarity — or, in a capped answer (`ord`, `nameStartsCtes`), the order it
 * was read in: fewest trigrams, then byte order of the word. Similarity divides by the trigrams
 * of both strings, so among names a fragment starts a word of, those with fewer trigrams are the
 * more similar ones; ranking the capped names by the order they are read in gives that answer
 * without working out a similarity for each of the 1,000, and without a tie for last seen to
 * break among hundreds of names of one length (each a volume to read).
 */
function nameRank(m: string): SQL {
  const name = sql.raw(`${m}.name`);
  const ord = sql.raw(`${m}.ord`);
  return sql`(lower(${name}) = ${T.lower})::int * 2 + CASE WHEN ${ord} IS NULL THEN similarity(${name}, ${T.fragment}) ELSE 1 / (1 + ${ord})::float8 END`;
}

/**
 * The volumes labelled with one of `names` (now or earlier: volume_labels), each by its best
 * name's `nameRank` (exact label first, then pg_trgm similarity, or a capped answer's order),
 * then last seen, then VMFS UUID (so ties at a cut answer alike), with the name that matched
 * (`matched`). The rank is worked out on the names (a label row's name is one of the volume's labels),
 * and only the volumes that can make the answer are read: those ranking at least as high as the
 * limit-th name (so ties at the cut are all weighed by last seen).
 */
function volumesNamed(names: SQL): SQL {
  return sql`
    WITH r AS MATERIALIZED (
      SELECT DISTINCT ON (m.ref) m.ref, m.name, ${nameRank('m')} AS rank FROM (${names}) m WHERE m.kind = 'label' ORDER BY m.ref, 3 DESC)
    SELECT v.vmfs_uuid, v.label, v.version, v.last_seen, r.name AS matched
      FROM r CROSS JOIN LATERAL (SELECT * FROM volumes v WHERE v.vmfs_uuid = r.ref) v
     WHERE r.rank >= coalesce((SELECT c.rank FROM r c ORDER BY c.rank DESC LIMIT 1 OFFSET ${T.enoughLess}), -1)
     ORDER BY r.rank DESC, v.last_seen DESC, v.vmfs_uuid LIMIT ${T.enough}`;
}

/** The hosts named in `names`, by `nameRank`, then last seen (then name, so ties at a cut answer alike). */
function hostsNamed(names: SQL): SQL {
  return sql`
    SELECT h.name, h.kind, h.last_seen FROM (${names}) m CROSS JOIN LATERAL (SELECT * FROM hosts h WHERE h.name = m.ref) h
     WHERE m.kind = 'host'
     ORDER BY ${nameRank('m')} DESC, h.last_seen DESC, h.name LIMIT ${T.enough}`;
}

/** How many of the newest target rows a fragment's target LUs are first looked for in (`fragmentSql`). */
export const TARGET_WINDOW = 1000;

/**
 * How many target names the statement without the window (`fragmentSql`, sparse) reads before it
 * gives way to the one with it: a fragment the newest rows do not hold may still be in a good
 * part of the table (`n.1986-03.com.sun:02:a`, 62,500 IQNs at 1 M volumes, when the newest rows
 * are another storage host's), and reading every name it is in, and the target rows of each, took
 * seconds where the window answers from 1,000 rows.
 */
const TARGET_NAMES = 1000;

/**
 * How many of the newest target rows are read first to see whether the fragment is in any: a
 * fragment none of them holds is rare among target names, and the window is not read for it.
 */
const PROBE_ROWS = 100;

/** A fragment's rows, tagged: `volume`, `host` (only for kinds holding label, host) and `target`. */
type FragmentRow = { hit: 'volume' | 'host' | 'target' | 'capped' | 'dense'; row: Row };

/**
 * The volumes, hosts and target LUs named by a search_names row of `kinds` matching `fragment`
 * (any case), each kind in its own order and to its own limit (volumes: `volumesNamed`, hosts:
 * `hostsNamed`, target LUs: the latest row of each, newest first). The names matching are those
 * with a word that starts with the fragment (a range read of a word-start index: 'prod-12' finds
 * 'ds-prod-12', 'ds-prod-120'), and, when those are fewer than `enough` (the answer's size), all
 * those holding it anywhere ('rod-12', 'nonprod-12'): an answer not cut short holds every name
 * containing the fragment, as a substring search would; one cut short is filled with word
 * starts first. A fragment that begins with a separator (`-vmfs`) is found by its word starts
 * alone: they already hold every name containing it.
 *
 * The names of target LUs are the many ('rdsk/tank' starts a word of every backing store of a
 * pool), and their answer is the newest LUs: so the newest `window` target rows are read first
 * (the index on seen_at), and where the LUs matching there fill the answer, or the window holds
 * every target row, the answer is taken from them and no index of names is read for targets.
 * The window is read only when one of the newest `PROBE_ROWS` rows (at most the window) holds the
 * fragment (or they are the whole table): a fragment as rare as most label fragments goes to the names at once.
 * Only when that does not settle it are the target names read from their word-start index
 * (and, for the count, the volumes' and hosts' names from theirs, a separate index, so a
 * fragment that starts a million backing stores costs a label search nothing). One statement:
 * each branch sits behind a one-time filter, so only the reads the answer needs start.
 *
 * PostgreSQL still sets up every branch of a plan on each run, so a fragment is first run as the
 * `sparse` statement: the newest `PROBE_ROWS` rows, and where none holds the probe, the answer
 * from the names alone, without the window's branches (a label fragment's usual case, a fifth
 * less of the database's work); where one does, the statement answers only `dense` and the whole
 * one is run. The same answer either way.
 */
function fragmentSql(shape: FragmentShape): SQL {
  const { kinds } = shape;
  const volumeHost = kinds.filter((k) => VOLUME_HOST_KINDS.includes(k));
  const target = kinds.filter((k) => TARGET_KINDS.includes(k));
  const outputs = (names: SQL, gate: SQL) => [
    ...(volumeHost.includes('label') ? [sql`SELECT 'volume' AS hit, to_jsonb(v) AS row FROM (${volumesNamed(names)}) v WHERE ${gate}`] : []),
    ...(volumeHost.includes('host') ? [sql`SELECT 'host' AS hit, to_jsonb(h) AS row FROM (${hostsNamed(names)}) h WHERE ${gate}`] : []),
  ];
  if (!shape.probe) {
    // No letter or digit: no word starts, only the trigram index.
    const names = midWordRows(kinds, shape);
    return sql.join(
      [
        ...outputs(unranked(names), sql`true`),
        sql`SELECT 'target' AS hit, to_jsonb(x) AS row FROM (${latestOf(targetRowsNamed(sql`SELECT kind, name FROM (${names}) m`))}) x`,
      ],
      sql` UNION ALL `,
    );
  }
  const whole = shape.whole ? T.whole : null;
  const { wordStartsAlone, ascii } = shape;
  const col = (k: string) => sql.raw(`w.${TARGET_COLUMN[k]}`);
  const wordMatch = (k: string) =>
    sql`(strpos(lower(${col(k)}), ${T.probe}) > 0 AND ${
      shape.wordPattern ? sql`lower(${col(k)}) ~ ${T.wordPattern}` : sql`search_name_words(${col(k)}) @@ ${T.probeWords}::tsquery`
    } ${whole === null ? sql`` : sql`AND strpos(lower(${col(k)}), ${whole}) > 0`})`;
  const flag = (k: string) => sql.raw(`w_${TARGET_COLUMN[k]}`);
  // An ASCII probe reads the labels' and hosts' word starts from their btree (`nameStartsCtes`,
  // at most RANKED_NAMES of them); another, whose lower case the app and the database may
  // spell apart, the GIN index of search_name_words.
  const { nameStarts } = shape;
  const volumeHostWords = volumeHost.length
    ? wordStartRows(volumeHost, T.probeWords, whole)
    : sql`SELECT ''::text AS kind, ''::text AS name, ''::text AS ref WHERE false`;
  const targetWords = wordStartRows(target, T.probeWords, whole);
  // The target LUs are taken from the window's `rows` (tw, tc) when it holds them all or enough of them.
  const fromWindow = (rows: string) => sql`((SELECT complete FROM f) OR (SELECT count(*) FROM ${sql.raw(rows)}) >= ${T.enough})`;
  const names = sql`${nameStarts ? nameStartsCtes(volumeHost, shape.whole) : sql`vh AS MATERIALIZED (${unranked(volumeHostWords)})`},
      vh_all AS MATERIALIZED (${volumeHost.length ? namesUnion(sql`SELECT * FROM vh`, unranked(midWordRows(volumeHost, shape))) : sql`SELECT * FROM vh`}),
      dense AS MATERIALIZED (
        SELECT count(*) < ${T.probeRows} OR coalesce(bool_or(strpos(w.names, ${T.probe}) > 0), false) OR ${T.wide} AS dense
          FROM (SELECT lower(concat_ws(E'\\n', ${sql.join(
            target.map((k) => sql.raw(`t.${TARGET_COLUMN[k]}`)),
            sql`, `,
          )})) AS names FROM targets t ORDER BY t.seen_at DESC, t.id DESC LIMIT ${T.probeRows}) w)`;
  const outputsFrom = (capped: SQL) => [
    ...(nameStarts ? [sql`SELECT 'capped' AS hit, NULL::jsonb AS row WHERE ${capped}`] : []),
    // One output of each kind, over the names or target rows the answer is taken from: each
    // branch of the plan is set up on every run, whether it runs or not.
    ...outputs(sql`SELECT * FROM vh WHERE (SELECT word_starts FROM f) UNION ALL SELECT * FROM vh_all WHERE NOT (SELECT word_starts FROM f)`, sql`true`),
  ];
  if (shape.sparse) {
    // Counted to the limit only (the CTEs are read as far as they are pulled), and the limit in
    // the text: a LIMIT on the CTEs themselves changed their estimates enough that PostgreSQL
    // planned every run of some shapes again rather than keep the generic plan.
    const limit = sql.raw(String(shape.sparse + 1));
    // No window: the newest target rows hold no name with the probe, so the target LUs come from
    // their names' word starts. When they do hold one, or the names it would read are more than
    // TARGET_NAMES (a fragment common among targets, just not among the newest 100 rows), only
    // the row 'dense' comes back (word_starts is null), and the whole statement is run.
    const selects = [
      sql`SELECT 'dense' AS hit, NULL::jsonb AS row WHERE (SELECT word_starts FROM f) IS NULL`,
      ...outputsFrom(sql`(SELECT word_starts FROM f) IS NOT NULL AND (SELECT count(*) FROM ns) > ${T.cap}`),
      sql`SELECT 'target' AS hit, to_jsonb(x) AS row FROM (${latestOf(
        targetRowsNamed(
          sql`SELECT kind, name FROM tn WHERE (SELECT word_starts FROM f) UNION ALL SELECT kind, name FROM tn_all WHERE NOT (SELECT word_starts FROM f)`,
        ),
      )}) x`,
    ];
    return sql`WITH ${names},
      tn AS MATERIALIZED (${targetWords}),
      tn_all AS MATERIALIZED (${namesUnion(sql`SELECT * FROM tn`, midWordRows(target, shape))}),
      f AS MATERIALIZED (
        SELECT CASE WHEN (SELECT dense FROM dense) OR (SELECT count(*) FROM (SELECT 1 FROM tn LIMIT ${limit}) n) >= ${limit} THEN NULL
                    WHEN ${raw(wordStartsAlone)} OR (SELECT count(*) FROM vh) + (SELECT count(*) FROM tn) >= ${T.enough} THEN true
                    WHEN (SELECT count(*) FROM (SELECT 1 FROM tn_all LIMIT ${limit}) n) >= ${limit} THEN NULL
                    ELSE false END AS word_starts)
      ${sql.join(selects, sql` UNION ALL `)}`;
  }
  const withBlock = sql`WITH ${names},
      win AS MATERIALIZED (SELECT t.* FROM targets t WHERE (SELECT dense FROM dense) ORDER BY t.seen_at DESC, t.id DESC LIMIT ${T.window}),
      tm AS MATERIALIZED (
        SELECT w.*, ${sql.join(
          target.map((k) => sql`${wordMatch(k)} AS ${flag(k)}`),
          sql`, `,
        )}, (${sql.join(
          target.map((k) => sql`strpos(lower(${col(k)}), ${T.lower}) > 0`),
          sql` OR `,
        )}) AS contains
          FROM win w WHERE ${sql.join(
            target.map((k) => sql`strpos(lower(${col(k)}), ${T.probe}) > 0`),
            sql` OR `,
          )}),
      tw AS MATERIALIZED (${latestOf(
        sql`SELECT * FROM tm WHERE ${sql.join(
          target.map((k) => flag(k)),
          sql` OR `,
        )}`,
      )}),
      tc AS MATERIALIZED (${latestOf(sql`SELECT * FROM tm WHERE contains`)}),
      tn AS MATERIALIZED (${targetWords}),
      tn_all AS MATERIALIZED (${namesUnion(sql`SELECT * FROM tn`, midWordRows(target, shape))}),
      p AS MATERIALIZED (
        SELECT (SELECT count(*) FROM vh) AS vh,
               (SELECT ${sql.join(
                 target.map((k) => sql`count(DISTINCT CASE WHEN ${flag(k)} THEN ${sql.raw(TARGET_COLUMN[k])} END)`),
                 sql` + `,
               )} FROM tm) AS tw_names,
               (SELECT dense FROM dense) AND (SELECT count(*) FROM win) < ${T.window} AS complete),
      f AS MATERIALIZED (
        SELECT CASE WHEN ${raw(wordStartsAlone)} OR p.vh + p.tw_names >= ${T.enough} THEN true
                    WHEN p.complete THEN false
                    ELSE p.vh + (SELECT count(*) FROM tn) >= ${T.enough} END AS word_starts,
               p.complete
          FROM p)`;
  const selects = [
    ...outputsFrom(sql`(SELECT count(*) FROM ns) > ${T.cap}`),
    sql`SELECT 'target' AS hit, to_jsonb(x) AS row FROM tw x WHERE (SELECT word_starts FROM f) AND ${fromWindow('tw')}
        UNION ALL SELECT 'target', to_jsonb(x) FROM tc x WHERE NOT (SELECT word_starts FROM f) AND ${raw(ascii)} AND ${fromWindow('tc')}`,
    sql`SELECT 'target' AS hit, to_jsonb(x) AS row FROM (${latestOf(
      targetRowsNamed(sql`SELECT kind, name FROM tn WHERE (SELECT word_starts FROM f) AND NOT ${fromWindow('tw')}
        UNION ALL SELECT kind, name FROM tn_all WHERE NOT (SELECT word_starts FROM f) AND NOT (${raw(ascii)} AND ${fromWindow('tc')})`),
    )}) x`,
  ];
  return sql`${withBlock} ${sql.join(selects, sql` UNION ALL `)}`;
}

/**
 * The statement text of each fragment shape, rendered once: a search's own values go in as
 * parameters (`fragmentTerms`), so a request builds and renders no statement, and each
 * connection prepares each shape once.
 */
const fragmentStatements = new Map<string, { text: string; params: unknown[] }>();
const dialect = new PgDialect();

/** Runs `fragmentSql` for a fragment: its shape's statement with its terms. */
async function fragmentRows(db: Db, kinds: string[], fragment: string, enough: number, reads: FragmentReads): Promise<FragmentRow[]> {
  const { shape, terms } = fragmentTerms(kinds, fragment, enough, reads);
  const run = async (shape: FragmentShape) => {
    const key = JSON.stringify(shape);
    let statement = fragmentStatements.get(key);
    if (!statement) {
      const { sql: text, params } = dialect.sqlToQuery(fragmentSql(shape));
      statement = { text, params };
      fragmentStatements.set(key, statement);
    }
    return queryPreparedText<FragmentRow>(db, statement.text, fillPlaceholders(statement.params, terms as unknown as Record<string, unknown>));
  };
  // Most fragments are not in the newest target rows: first the statement without the window.
  if (!shape.probe) return run(shape);
  const rows = await run({ ...shape, sparse: reads.names });
  if (!rows.some((r) => r.hit === 'dense')) return rows;
  terms.wide = true;
  return run(shape);
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

/** How a search is run; the answer never depends on it. */
export interface SearchOptions {
  /** How many of the newest target rows a fragment's target LUs are first looked for in (`fragmentSql`); tests shrink it. */
  targetWindow?: number;
  /** How many label and host names a fragment's word starts are ranked by similarity (RANKED_NAMES); tests shrink it. */
  rankedNames?: number;
  /** How many target names a fragment not in the newest target rows is read from before the window is (TARGET_NAMES); tests shrink it. */
  targetNames?: number;
}

/** Runs a typed query against the catalog; at most `limit` hits, best first. */
export async function searchCatalog(db: Db, typed: SearchQuery, limit: number = DEFAULT_SEARCH_LIMIT, options: SearchOptions = {}): Promise<SearchResult> {
  const query = withoutPartitionSuffix(typed);
  const window = Math.max(1, options.targetWindow ?? TARGET_WINDOW);
  const n = Math.max(1, Math.min(limit, MAX_SEARCH_LIMIT)) + 1;
  const cap = Math.max(1, options.rankedNames ?? Math.max(RANKED_NAMES, n));
  const reads: FragmentReads = { window, cap, names: Math.max(1, options.targetNames ?? TARGET_NAMES) };
  let capped = false;
  const hits = new Hits();
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
        for (const { row } of await fragmentRows(db, ['iqn'], query.iqn, n, reads)) hits.add(targetHit(row, 70, 'iqn'));
      }
      break;
    }
    case 'backingStore':
      await esxPathHits(db, hits, query.path, n);
      await backingStoreHits(db, hits, query.path, query.dataset, n, reads);
      break;
    case 'text':
      capped = await textHits(db, hits, query.text, n, reads);
      break;
  }
  const sorted = hits.sorted();
  const max = Math.max(1, Math.min(limit, MAX_SEARCH_LIMIT));
  return { query, hits: sorted.slice(0, max), truncated: sorted.length > max, ...(capped ? { capped: true as const } : {}) };
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
      SELECT v.vmfs_uuid, v.label, v.version, v.last_seen, s.name AS matched FROM search_names s JOIN volumes v ON v.vmfs_uuid = s.ref
       WHERE s.kind = 'label' AND s.name ILIKE ${likeEscape(label)} AND lower(s.name) = ${label.toLowerCase()} LIMIT ${n}`,
    );
    for (const r of byLabel) hits.add(labelHit(r, label.toLowerCase(), 95));
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

async function backingStoreHits(db: Db, hits: Hits, path: string, dataset: string | null, n: number, reads: FragmentReads): Promise<void> {
  const snapshotName = path.includes('@') && !path.startsWith('/') ? path : null;
  const exact: string[] = [path];
  if (dataset) exact.push(`/dev/zvol/rdsk/${dataset}`, `/dev/zvol/dsk/${dataset}`);
  const targets = await targetRows(db, sql`t.backing_store IN ${inList(exact)}`, n);
  for (const r of targets) hits.add(targetHit(r, 100, 'backingStore'));
  if (targets.length === 0) {
    const fragment = dataset ?? path;
    for (const { row } of await fragmentRows(db, ['backingStore'], fragment, n, reads)) hits.add(targetHit(row, 70, 'backingStore'));
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
 * A text fragment: volumes by label, hosts by name, target LUs by IQN, alias or backing store
 * (`fragmentSql`). Exact beats prefix beats fragment; pg_trgm similarity orders the fragments;
 * each kind has its own order and limit.
 */
async function textHits(db: Db, hits: Hits, text: string, n: number, reads: FragmentReads): Promise<boolean> {
  const lower = text.toLowerCase();
  const rows = await fragmentRows(db, ['label', 'host', 'iqn', 'alias', 'backingStore'], text, n, reads);
  let capped = false;
  for (const { hit, row } of rows) {
    if (hit === 'capped') capped = true;
    else if (hit === 'volume') hits.add(labelHit(row, lower));
    else if (hit === 'host') {
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
  return capped;
}
