/**
 * The one advisory lock that makes garbage collection safe against ingest.
 *
 * The rule: a chunk is swept only when no committed artifact and no open (begun, not yet
 * committed) capture references it. Three steps make that hold against concurrent work:
 *
 * 1. `begin` inserts its open capture row while holding this lock SHARED (api/ingest/begin.ts),
 *    before it tells the collector which chunks are present. The sweep holds it EXCLUSIVE
 *    while it re-checks a batch against open captures and captures committed since the mark,
 *    deletes the batch's `blobs` and `host_chunks` rows and deletes the objects. So a begin
 *    either came first (its capture is open: its chunks are protected) or comes after the
 *    batch (the chunks are no longer held by its host: it is asked to upload them). The begin's
 *    statement reads which chunks its host holds too, with the snapshot it started with: one
 *    that had to wait for a batch reads them again once it holds the lock
 *    (INGEST_LOCK_WAITED_QUERY), as that snapshot predates the batch's deletes. (A batch ending
 *    in the microseconds between a statement's start and its lock request goes unnoticed: the
 *    commit then finds the chunk not held and refuses it as never uploaded, 422, and the
 *    collector begins again and uploads it.)
 * 2. A commit's transaction takes the lock SHARED too and then checks that every chunk its
 *    artifacts reference still has its `blobs` row (api/ingest/commit.ts). A commit that
 *    reused an object a batch then swept (possible only for bytes its begin never named:
 *    redacted SMF output) fails with 503 and is retried by the collector, instead of
 *    committing a capture that references a deleted chunk.
 * 3. Only chunks with a `blobs` row are candidates; an object a commit in flight has just
 *    published has none yet, so it is never swept under it (`check` lists real orphans).
 * 4. Artifacts' chunk lists (api/pipeline/chunk-lists.ts) are chunks the catalog writes itself,
 *    and a commit decides which to store only once it holds the lock: a list with its row stays
 *    until the commit's rows name it, one without is stored then, before the manifest, and
 *    given its row in the same transaction. The mark counts `artifacts.chunk_list` as a
 *    reference, so a manifest never names a list a sweep deleted.
 *
 * On PGlite (one connection) the transaction itself already excludes every other query;
 * the advisory lock is then a no-op but harmless.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';

/** The lock's key (any constant the catalog uses for nothing else: "vrcg"). */
const SWEEP_LOCK_KEY = 0x76726367;

/**
 * The shared lock as a query, for a statement that takes it itself (a CTE): that statement's
 * transaction, even an implicit one, then holds it until it ends.
 */
export const INGEST_LOCK_QUERY = sql.raw(`select pg_advisory_xact_lock_shared(${SWEEP_LOCK_KEY})`);

/**
 * INGEST_LOCK_QUERY answering `waited`: whether a sweep batch held the lock when the statement
 * asked for it (then it waited for the batch to end). Such a statement read the catalog as it
 * was when it started, before the batch's deletes were committed: what it read of `blobs` and
 * `host_chunks` beside the lock must be read again (api/ingest/begin.ts).
 */
export const INGEST_LOCK_WAITED_QUERY = sql.raw(
  `select case when t.free then false else (select true from (select pg_advisory_xact_lock_shared(${SWEEP_LOCK_KEY})) l) end as waited
     from (select pg_try_advisory_xact_lock_shared(${SWEEP_LOCK_KEY}) as free) t`,
);

/** Inside a transaction: wait until no sweep batch runs, and keep sweeps out until it ends. */
export async function holdIngestLock(tx: Db): Promise<void> {
  await tx.execute(INGEST_LOCK_QUERY);
}

/** Inside a transaction: wait until no begin or commit holds the lock, and keep them out until it ends. */
export async function holdSweepLock(tx: Db): Promise<void> {
  await tx.execute(sql.raw(`select pg_advisory_xact_lock(${SWEEP_LOCK_KEY})`));
}
