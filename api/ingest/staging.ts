/**
 * Write once, verify before publishing (docs/architecture.md). Upload URLs point at a
 * capture's staging keys (`staging/<captureId>/<sha256>`), never at `chunks/…`; the commit
 * verifies each staged object and only then publishes it under its content-addressed key
 * with a write-once create, so no upload URL can change bytes another capture relies on.
 *
 * Dedup is scoped per host (`host_chunks`): a chunk counts as present for host H only when a
 * committed capture of H holds it, and the store still has it. Any other chunk H names is
 * uploaded (to staging) and verified — publishing is then a no-op when the canonical object
 * already rests there. So `begin` is no oracle for other hosts' chunks, and no host can
 * reference bytes it never had.
 */
import { and, eq, inArray, lt, type SQL, sql } from 'drizzle-orm';
import type { ChunkEncoding } from '../../formats/protocol.js';
import { queryRows, type Db } from '../../db/client.js';
import { blobs, captures } from '../../db/schema.js';
import type { Services } from '../context.js';
import { captureOfStagingKey, chunkKey, type BlobStore } from '../store/types.js';
import { ChunkError, decodeChunk, keptOf, type VerifiedChunk } from '../pipeline/chunks.js';
import { ApiError } from '../errors.js';
import { onePer } from '../one-per.js';

/** How long a store's answer that a chunk exists is believed (an unchanged run asks once). */
export const PRESENCE_TTL_MS = 60_000;

/**
 * How long a chunk the catalog verified in the store (`blobs.last_verified`: written when it
 * was published, moved on each time the store answers for it again) is believed present
 * without asking the store. Each chunk's window is between one and two of these, spread by
 * its hash. What keeps the records fresh is the maintenance pass (api/maintenance.ts): each
 * hour, whatever SCRUB_PERCENT says, it lists every chunk key and vouches for each chunk the
 * listing shows at its recorded size (`vouchListed`), and doubts each one it does not show,
 * so the next capture naming a lost chunk asks the store, finds it gone and has it uploaded
 * again — a loss is noticed within the hour, and an unchanged daily run asks the store
 * nothing per chunk. Longer than a day, so a missed pass or two does not make captures ask;
 * where no pass runs (a catalog used only through `npm run catalog`, or a deployment whose
 * schedule was removed), a capture asks the store about each chunk once a window (HEAD on S3,
 * stat on fs, 16 at a time, or one listing), and a loss is noticed within one to two windows
 * (`check` and downloads still notice it at once).
 */
export const CHUNK_TRUST_MS = 25 * 3600_000;

/**
 * A listing renews a chunk's record only when it is older than this, so an hourly pass writes
 * each `blobs` row about four times a day, not every hour.
 */
export const VOUCH_REFRESH_MS = 6 * 3600_000;

type BlobRow = typeof blobs.$inferSelect;

/** Whether `blobs` alone may vouch for this chunk at `at` (see CHUNK_TRUST_MS). */
export function trustedRecord(row: Pick<BlobRow, 'sha256' | 'lastVerified'>, at: Date): boolean {
  const verified = row.lastVerified.getTime();
  const spread = (Number.parseInt(row.sha256.slice(0, 2), 16) / 256) * CHUNK_TRUST_MS;
  return verified <= at.getTime() && at.getTime() < verified + CHUNK_TRUST_MS + (Number.isFinite(spread) ? spread : 0);
}

/**
 * What one listing of every chunk key (started at `from`) says of the `blobs` rows: a chunk
 * listed at its recorded stored size was in the store then, so its record is renewed to `from`
 * (when older than VOUCH_REFRESH_MS); a chunk published before the listing began that it does
 * not show, or shows at another size, is doubted — its record is moved out of its trust window,
 * so the next begin or commit naming it asks the store and, finding it gone, has it uploaded
 * again (also a record already past its window: a doubted record says the store lacks the
 * chunk, which chunk-missing events read). A chunk published while the listing ran is left
 * alone. Rows only, no store request.
 */
export async function vouchListed(
  db: Db,
  listed: ReadonlyMap<string, number>,
  rows: ReadonlyArray<Pick<BlobRow, 'sha256' | 'storedSize' | 'firstStored' | 'lastVerified'>>,
  from: Date,
): Promise<{ vouched: number; doubted: number }> {
  const renew: string[] = [];
  const doubt: string[] = [];
  for (const r of rows) {
    const size = listed.get(r.sha256);
    if (size === r.storedSize) {
      if (r.lastVerified.getTime() < from.getTime() - VOUCH_REFRESH_MS) renew.push(r.sha256);
    } else if (r.firstStored.getTime() < from.getTime() && r.lastVerified.getTime() !== DOUBTED.getTime()) doubt.push(r.sha256);
  }
  // Each only where no answer of the store newer than the listing's start moved the record since.
  for (const [shas, at] of [
    [renew, from],
    [doubt, DOUBTED],
  ] as const)
    for (let i = 0; i < shas.length; i += 1000)
      await db
        .update(blobs)
        .set({ lastVerified: at })
        .where(and(inArray(blobs.sha256, shas.slice(i, i + 1000)), lt(blobs.lastVerified, from)));
  return { vouched: renew.length, doubted: doubt.length };
}

/** The `last_verified` of a record a listing doubted: outside every trust window (api/events/chunk-missing.ts reads it as "missing"). */
export const DOUBTED = new Date(0);

/** Moves these chunks' records out of every trust window: the next capture naming one asks the store. */
export async function doubtRecords(db: Db, shas: string[]): Promise<void> {
  await markVerified(db, shas, DOUBTED);
}

/** Records that the store answered for these chunks at `at` (their trust window starts again). */
export async function markVerified(db: Db, shas: string[], at: Date): Promise<void> {
  for (let i = 0; i < shas.length; i += 1000) {
    await db
      .update(blobs)
      .set({ lastVerified: at })
      .where(inArray(blobs.sha256, shas.slice(i, i + 1000)));
  }
}

/**
 * What one page of a listing (up to 1000 keys) costs, counted in HEAD requests: on Swift's
 * s3api a page of chunk keys takes ~150 ms, a HEAD ~7 ms. A batch of questions about chunks
 * is answered by one listing of every chunk key when its pages cost less than a HEAD each.
 */
export const LIST_PAGE_COST_IN_HEADS = 20;
const LIST_PAGE_KEYS = 1000;

/** How many chunk objects the store holds, counting at most `atMost` (an estimate that is cheap to bound). */
export type ChunkCount = (atMost: number) => Promise<number>;

/** `blobs` rows, counted up to `atMost`: how many chunk keys a listing of `chunks/` would walk. */
export function countBlobs(db: Db): ChunkCount {
  return async (atMost) => {
    const capped = db
      .select({ one: sql`1` })
      .from(blobs)
      .limit(atMost + 1)
      .as('capped');
    const [row] = await db.select({ n: sql<number>`count(*)` }).from(capped);
    return Number(row?.n ?? 0);
  };
}

/**
 * The store's answers to "is chunk X there, with what stored size", cached briefly per
 * store. Only positive answers are kept: a chunk found missing is asked about again.
 */
class PresenceCache {
  private readonly seen = new Map<string, { storedSize: number; at: number }>();
  constructor(private readonly store: BlobStore) {}

  private cached(sha256: string, now: number): number | undefined {
    const hit = this.seen.get(sha256);
    return hit && now - hit.at < PRESENCE_TTL_MS && now >= hit.at ? hit.storedSize : undefined;
  }

  private remember(sha256: string, size: number | null, now: number): void {
    if (size === null) {
      this.seen.delete(sha256);
      return;
    }
    if (this.seen.size > 200_000) this.seen.clear();
    this.seen.set(sha256, { storedSize: size, at: now });
  }

  async storedSize(sha256: string, now: number): Promise<number | null> {
    const hit = this.cached(sha256, now);
    if (hit !== undefined) return hit;
    const head = await this.store.head(chunkKey(sha256));
    this.remember(sha256, head ? head.size : null, now);
    return head ? head.size : null;
  }

  /**
   * Stored sizes of many chunks (null: absent), asking the store as little as it can: on S3
   * one listing of every chunk key when its pages (`chunkCount` bounds how many there are)
   * cost fewer requests than a HEAD per chunk, otherwise a HEAD (stat) each, 16 at a time. Both answer
   * the same question the same way; a listing only trades many small requests for few.
   */
  async storedSizes(shas: string[], now: number, chunkCount: ChunkCount): Promise<Map<string, number | null>> {
    const out = new Map<string, number | null>();
    const ask: string[] = [];
    for (const sha of new Set(shas)) {
      const hit = this.cached(sha, now);
      if (hit !== undefined) out.set(sha, hit);
      else ask.push(sha);
    }
    // On the filesystem a listing stats every chunk file: never cheaper than a stat each.
    const pagesWorthIt = this.store.kind === 's3' ? Math.floor((ask.length - 1) / LIST_PAGE_COST_IN_HEADS) : 0;
    if (pagesWorthIt >= 1 && (await chunkCount(pagesWorthIt * LIST_PAGE_KEYS)) <= pagesWorthIt * LIST_PAGE_KEYS) {
      const wanted = new Set(ask);
      let found = 0;
      for await (const o of this.store.list('chunks/')) {
        const sha = o.key.slice(o.key.lastIndexOf('/') + 1);
        if (!wanted.has(sha) || o.key !== chunkKey(sha) || out.has(sha)) continue;
        out.set(sha, o.size);
        if (++found === wanted.size) break;
      }
      for (const sha of ask) {
        if (!out.has(sha)) out.set(sha, null);
        this.remember(sha, out.get(sha)!, now);
      }
      return out;
    }
    await pool(ask, 16, async (sha) => {
      out.set(sha, await this.storedSize(sha, now));
    });
    return out;
  }

  forget(sha256: string): void {
    this.seen.delete(sha256);
  }
}

/** The presence cache of one store (shared by every request the process serves). */
export const presenceOf = onePer((store: BlobStore) => new PresenceCache(store));

/** Rows of `blobs` for these chunks. */
export async function knownBlobs(db: Db, shas: string[]): Promise<Map<string, BlobRow>> {
  const m = new Map<string, BlobRow>();
  for (let i = 0; i < shas.length; i += 1000) {
    const rows = await db
      .select()
      .from(blobs)
      .where(inArray(blobs.sha256, shas.slice(i, i + 1000)));
    for (const r of rows) m.set(r.sha256, r);
  }
  return m;
}

/** A `blobs` row as PostgreSQL's json_agg spells it. */
export interface BlobJson {
  sha256: string;
  size: number;
  encoding: string;
  stored_size: number;
  first_stored: string;
  last_verified: string;
}

/** A json or jsonb value as the driver answered it: postgres.js parses it, PGlite may hand back its text. */
export function jsonOf<T>(value: T | string | null): T | null {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}

/** `blobs` rows read as json_agg (several lookups in one statement), by chunk. */
export function blobRowsOf(rows: BlobJson[] | null): Map<string, BlobRow> {
  const m = new Map<string, BlobRow>();
  for (const r of rows ?? []) {
    m.set(r.sha256, {
      sha256: r.sha256,
      size: r.size,
      encoding: r.encoding,
      storedSize: r.stored_size,
      firstStored: new Date(r.first_stored),
      lastVerified: new Date(r.last_verified),
    });
  }
  return m;
}

/** What confirmHeld reads of a `blobs` row: whether it vouches for the chunk, and for which stored size. */
export type HeldRow = Pick<BlobRow, 'sha256' | 'storedSize' | 'lastVerified'>;

/** A heldBlobsJson value as the driver answered it. */
export type HeldJson = Array<[string, number, string]> | string | null;

/**
 * The `blobs` records of those of these chunks the host holds, as one JSON value (heldRowsOf
 * reads it back): a part of a statement, so the begin reads them with its capture's row
 * (api/ingest/begin.ts). The hashes go as one JSON parameter and the three columns it needs
 * come back as one JSON value — a day's 351 distinct chunks as 351 parameters and full rows
 * cost the embedded database about twice as long.
 */
export function heldBlobsJson(host: string, shas: string[]): SQL {
  return sql`(SELECT json_agg(json_build_array(b.sha256, b.stored_size, b.last_verified))
      FROM jsonb_array_elements_text(${JSON.stringify(shas)}::jsonb) AS w(sha256)
      JOIN host_chunks h ON h.host = ${host} AND h.sha256 = w.sha256
      JOIN blobs b ON b.sha256 = w.sha256)`;
}

/** heldBlobsJson as a statement of its own, for a begin whose statement read them before a sweep batch ended (api/ingest/begin.ts). */
export async function readHeldBlobs(db: Db, host: string, shas: string[]): Promise<Map<string, HeldRow>> {
  const [row] = await queryRows<{ held: HeldJson }>(db, sql`SELECT ${heldBlobsJson(host, shas)} AS held`);
  return heldRowsOf(row?.held ?? null);
}

/** The records a heldBlobsJson value holds, by chunk. */
export function heldRowsOf(value: HeldJson): Map<string, HeldRow> {
  const m = new Map<string, HeldRow>();
  for (const [sha256, storedSize, lastVerified] of jsonOf(value) ?? [])
    m.set(sha256, { sha256, storedSize: Number(storedSize), lastVerified: new Date(lastVerified) });
  return m;
}

/**
 * Which of a host's chunks really are in the store: held by the host, known to `blobs` (`known`,
 * read with heldBlobsJson), and answered by the store (HEAD/stat, cached briefly) with the stored
 * size `blobs` recorded.
 * A chunk `blobs` calls present that the store lacks is marked missing (its row deleted),
 * so it is handed out for upload again instead of wedging every commit.
 */
export async function confirmHeld(db: Db, store: BlobStore, now: Date, known: Map<string, HeldRow>): Promise<Map<string, HeldRow>> {
  const presence = presenceOf(store);
  const confirmed = new Map<string, HeldRow>();
  const lost: string[] = [];
  const answered: string[] = [];
  const untrusted: HeldRow[] = [];
  for (const row of known.values()) {
    if (trustedRecord(row, now)) confirmed.set(row.sha256, row);
    else untrusted.push(row);
  }
  const sizes = await presence.storedSizes(
    untrusted.map((r) => r.sha256),
    now.getTime(),
    countBlobs(db),
  );
  for (const row of untrusted) {
    const size = sizes.get(row.sha256);
    if (size === row.storedSize) {
      confirmed.set(row.sha256, row);
      answered.push(row.sha256);
    } else if (size === null) lost.push(row.sha256);
  }
  await markVerified(db, answered, now);
  await markMissing(db, store, lost);
  return confirmed;
}

/** Forgets chunks the store lacks: their `blobs` rows go, so no one is told they are present. */
export async function markMissing(db: Db, store: BlobStore, shas: string[]): Promise<void> {
  const presence = presenceOf(store);
  for (const s of shas) presence.forget(s);
  keptOf(store).forget(shas);
  for (let i = 0; i < shas.length; i += 1000) await db.delete(blobs).where(inArray(blobs.sha256, shas.slice(i, i + 1000)));
}

/** A chunk as the manifest records it, plus the `blobs` row to write when this commit stored or first verified it. */
export interface Published {
  stored: { sha256: string; size: number; encoding: ChunkEncoding; storedSize: number };
  newBlob: typeof blobs.$inferInsert | null;
}

/**
 * Publishes verified chunk bytes under the chunk's key, write-once. When an object already
 * rests there it is kept if `blobs` vouches for it (same stored size) or it reads back as
 * the chunk; one that does not (damaged in the store) is replaced by the verified bytes.
 */
export async function publishChunk(
  db: Db,
  store: BlobStore,
  at: Date,
  chunk: Omit<VerifiedChunk, 'bytes'> & { sha256: string; size: number; storedBytes: Uint8Array },
  known: BlobRow | undefined,
  /** The stored size a listing just found under the chunk key (null: absent); undefined when none was made. */
  listed?: number | null,
  /** The staging key the bytes were read from, which the store may publish as it rests (putIfAbsent). */
  staged?: string,
): Promise<Published> {
  const key = chunkKey(chunk.sha256);
  const size = chunk.size;
  const ours: Published = {
    stored: { sha256: chunk.sha256, size, encoding: chunk.encoding, storedSize: chunk.storedSize },
    newBlob: { sha256: chunk.sha256, size, encoding: chunk.encoding, storedSize: chunk.storedSize, firstStored: at, lastVerified: at },
  };
  // A key a listing found taken is not written again (write once), and asking whether it is
  // taken once more would only repeat the listing's answer.
  const outcome = typeof listed === 'number' ? 'exists' : await store.putIfAbsent(key, chunk.storedBytes, { seenAbsent: listed === null, staged });
  presenceOf(store).forget(chunk.sha256);
  if (outcome === 'created') {
    // A row describing an object that was lost (maybe another encoding) must not survive it.
    if (known) await db.delete(blobs).where(eq(blobs.sha256, chunk.sha256));
    return ours;
  }
  const head = typeof listed === 'number' ? { size: listed } : await store.head(key);
  if (known && head && known.storedSize === head.size && known.size === size) {
    return { stored: { sha256: chunk.sha256, size, encoding: known.encoding as ChunkEncoding, storedSize: known.storedSize }, newBlob: null };
  }
  const existing = await store.getBytes(key);
  if (existing) {
    try {
      const v = await decodeChunk(chunk.sha256, size, existing);
      return {
        stored: { sha256: chunk.sha256, size, encoding: v.encoding, storedSize: v.storedSize },
        newBlob: { ...ours.newBlob!, encoding: v.encoding, storedSize: v.storedSize },
      };
    } catch (e) {
      if (!(e instanceof ChunkError)) throw e;
    }
  }
  // Damaged or vanished since: the verified bytes are the chunk, whoever wrote the bad ones.
  await store.put(key, chunk.storedBytes);
  if (known) await db.delete(blobs).where(eq(blobs.sha256, chunk.sha256));
  return ours;
}

/**
 * Chunks verified and published at once. Each is a PUT (and, from staging, a GET) to the
 * store, small and latency-bound, so more in flight than cores is what keeps them moving.
 */
export const PUBLISH_CONCURRENCY = 16;

/**
 * Runs `publish` over chunks about to be published write-once, PUBLISH_CONCURRENCY at a time.
 * On a store without native write-once creates (Swift: a look, then a PUT), the keys of those
 * `looked` picks are first asked about together (presence.storedSizes: one listing when that is
 * fewer requests) and each publish is handed its answer; whether the server has them is learnt
 * from the first publish.
 */
export async function publishEach<T extends { sha256: string }>(
  db: Db,
  store: BlobStore,
  at: Date,
  items: T[],
  publish: (item: T, listed?: number | null) => Promise<void>,
  looked: (item: T) => boolean = () => true,
): Promise<void> {
  let rest = items;
  let listed = new Map<string, number | null>();
  if (rest.length > 1 && store.conditionalWrites && store.conditionalWrites() !== true) {
    if (store.conditionalWrites() === undefined) {
      await publish(rest[0]);
      rest = rest.slice(1);
    }
    if (store.conditionalWrites() === false) {
      listed = await presenceOf(store).storedSizes(
        rest.filter(looked).map((c) => c.sha256),
        at.getTime(),
        countBlobs(db),
      );
    }
  }
  await pool(rest, PUBLISH_CONCURRENCY, (c) => publish(c, listed.get(c.sha256)));
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}

/** Staged uploads of an open capture are kept this long after its latest begin. */
export const STAGING_MAX_AGE_MS = 24 * 3600_000;
/**
 * An open capture still declared in part (POST /v1/captures/{id}/partial) is kept this long
 * after its latest begin. Its collector sends parts only while it reads, and spools nothing
 * until it has read everything: one left in part is a run that stopped while it read (killed,
 * rebooted, out of memory), which never sends it again, and kept 24 h each would take up its
 * host's open captures (MAX_OPEN_CAPTURES) where such runs repeat. A run that only spooled
 * later (or reads for longer than this without a part) begins it again whole under its id: a
 * new row, its chunks sent again.
 */
export const PARTIAL_MAX_AGE_MS = 3600_000;
const SWEEP_INTERVAL_MS = 3600_000;
const lastSweep = new WeakMap<BlobStore, number>();

export interface SweepResult {
  /** Staged objects deleted. */
  deleted: number;
  /** Captures whose staging area was removed. */
  captures: number;
  /** Open captures deleted because their latest begin was longer ago than the sweep's age. */
  expired: number;
}

/**
 * Removes the staged uploads no commit will read: those of committed captures (a commit
 * that died before its cleanup), of captures the catalog does not know, and of open
 * captures last begun more than `maxAgeMs` ago, or still declared in part and last begun
 * more than PARTIAL_MAX_AGE_MS ago (abandoned; a later begin hands out new URLs). The `capture_chunks` records of such captures go too. Runs from the commit path at
 * most once an hour per process (`maybeSweepStaging`).
 */
export async function sweepStaging(services: Pick<Services, 'db' | 'store' | 'now'>, options: { maxAgeMs?: number } = {}): Promise<SweepResult> {
  const { db, store, now } = services;
  const maxAge = options.maxAgeMs ?? STAGING_MAX_AGE_MS;
  const ids = new Set<string>();
  for await (const o of store.list('staging/')) {
    const id = captureOfStagingKey(o.key);
    if (id) ids.add(id);
    if (ids.size >= 10_000) break; // bounded work per sweep; the next one continues
  }
  // Records of chunks delivered through the catalog by captures no commit will read.
  const cutoff = new Date(now().getTime() - maxAge).toISOString();
  await db.execute(sql`
    DELETE FROM capture_chunks cc WHERE NOT EXISTS (
      SELECT 1 FROM captures c WHERE c.id = cc.capture_id AND c.state = 'open' AND coalesce(c.last_begun_at, c.received_at) >= ${cutoff}::timestamptz)`);
  // Open captures last begun that long ago are abandoned: a collector that comes back begins
  // them again (the same id opens a new row), and meanwhile each would hold its begin request
  // (which may name thousands of chunks) in the database, count toward its host's open
  // captures (api/ingest/begin.ts MAX_OPEN_CAPTURES) and keep its chunks from garbage
  // collection forever. One whose commit a worker holds or waits for stays (its job decides);
  // a failed job's row goes with its capture.
  // Their staging areas go below, with every other staging area no commit will read.
  // One still declared in part goes after PARTIAL_MAX_AGE_MS (its commit is refused, so no job holds it).
  const partialCutoff = new Date(now().getTime() - Math.min(maxAge, PARTIAL_MAX_AGE_MS)).toISOString();
  const expired = await deleteOpenCaptures(
    db,
    sql`(coalesce(c.last_begun_at, c.received_at) < ${cutoff}::timestamptz
         OR (coalesce(c.last_begun_at, c.received_at) < ${partialCutoff}::timestamptz AND (c.request->>'partial') = 'true'))
        AND NOT EXISTS (SELECT 1 FROM commit_jobs j WHERE j.capture_id = c.id AND j.state <> 'failed')`,
  );
  const result: SweepResult = { deleted: 0, captures: 0, expired: expired.length };
  const all = [...ids];
  for (let i = 0; i < all.length; i += 500) {
    const batch = all.slice(i, i + 500);
    const rows = await db
      .select({ id: captures.id, state: captures.state, receivedAt: captures.receivedAt, lastBegunAt: captures.lastBegunAt })
      .from(captures)
      .where(inArray(captures.id, batch));
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of batch) {
      const row = byId.get(id);
      const begun = row ? (row.lastBegunAt ?? row.receivedAt).getTime() : 0;
      const abandoned = !row || row.state === 'committed' || now().getTime() - begun > maxAge;
      if (!abandoned) continue;
      for await (const _ of store.list(`staging/${id}/`)) result.deleted++;
      await store.closeStaging(id);
      result.captures++;
    }
  }
  return result;
}

/** sweepStaging at most once an hour per store and process; never fails the caller. */
export async function maybeSweepStaging(services: Services): Promise<void> {
  const at = services.now().getTime();
  const last = lastSweep.get(services.store);
  if (last !== undefined && at - last < SWEEP_INTERVAL_MS && at >= last) return;
  lastSweep.set(services.store, at);
  try {
    const r = await sweepStaging(services);
    if (r.captures > 0 || r.expired > 0) services.logger.info('staging swept', { ...r });
  } catch (e) {
    services.logger.warn('staging sweep failed', { error: (e as Error).message });
  }
}

/**
 * Deletes the open captures `which` selects (a condition on `captures c`) in one statement
 * (PostgreSQL runs every data-modifying WITH part whether or not the query reads it): each
 * row, its records of chunks delivered through the catalog and its commit job, the way
 * both the staging sweep and `dropOpenCapture` drop a capture. Their staging areas are the
 * caller's to close. Returns what went, with how many chunk records each had.
 */
async function deleteOpenCaptures(db: Db, which: SQL): Promise<Array<{ id: string; host: string; chunkRecords: number }>> {
  const rows = await queryRows<{ id: string; host: string; chunk_records: number | string }>(
    db,
    sql`
    WITH dropped AS (DELETE FROM captures c WHERE c.state = 'open' AND ${which} RETURNING c.id, c.host),
         records AS (DELETE FROM capture_chunks cc USING dropped d WHERE cc.capture_id = d.id RETURNING cc.capture_id),
         jobs AS (DELETE FROM commit_jobs j USING dropped d WHERE j.capture_id = d.id)
    SELECT d.id, d.host, (SELECT count(*) FROM records r WHERE r.capture_id = d.id) AS chunk_records FROM dropped d`,
  );
  return rows.map((r) => ({ id: r.id, host: r.host, chunkRecords: Number(r.chunk_records) }));
}

/**
 * Drops an open capture now, as the staging sweep drops one 24 h after its last begin: its
 * row, its records of chunks delivered through the catalog, a commit job that waits or failed,
 * and its staging area. For an operator whose host is refused new captures (MAX_OPEN_CAPTURES)
 * or who wants a stuck capture gone. A committed capture is not dropped (retention decides
 * about those); neither is one a worker is committing under a lease (its job decides). A
 * commit that runs at the same moment either wins (the drop then finds the capture committed:
 * 409) or finds no open capture to claim (404, as after the sweep). The collector still holds
 * the capture in its spool and begins it again with its next run; chunks it published through
 * the catalog stay in the store without a `blobs` row, as after the sweep, and are used again
 * by that begin.
 */
export async function dropOpenCapture(
  services: Pick<Services, 'db' | 'store' | 'now' | 'logger'>,
  captureId: string,
): Promise<{ captureId: string; host: string; chunkRecords: number }> {
  const { db, store, now } = services;
  const dropped = await db.transaction(async (txRaw) => {
    const tx = txRaw as unknown as Db;
    const [row] = await queryRows<{ host: string; state: string; job_state: string | null; lease_until: Date | string | null }>(
      tx,
      sql`
      SELECT c.host, c.state, j.state AS job_state, j.lease_until
        FROM captures c LEFT JOIN commit_jobs j ON j.capture_id = c.id
       WHERE c.id = ${captureId} FOR UPDATE OF c`,
    );
    if (!row) throw new ApiError('not_found', `no open capture ${captureId}`);
    if (row.state !== 'open') throw new ApiError('conflict', `capture ${captureId} is committed; retention decides what happens to committed captures`);
    if (row.job_state === 'running' && row.lease_until !== null && new Date(row.lease_until) > now()) {
      throw new ApiError('conflict', `a worker is committing capture ${captureId}; ask again once POST /v1/captures/${captureId}/commit answers`);
    }
    const [gone] = await deleteOpenCaptures(tx, sql`c.id = ${captureId}`);
    return { captureId, host: gone.host, chunkRecords: gone.chunkRecords };
  });
  await store
    .closeStaging(captureId)
    .catch((e) => services.logger.warn('staging cleanup failed; the staging sweep removes it', { captureId, error: (e as Error).message }));
  return dropped;
}
