/**
 * Verify, the first stage of the pipeline: every chunk of a capture is read back,
 * checked against its size and SHA-256, and published write-once under its hash.
 * The server never trusts client metadata.
 */
import type { CaptureManifest, ChunkEncoding, ManifestChunk } from '../../formats/protocol.js';
import { type SQL, sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import type { blobs } from '../../db/schema.js';
import { ApiError } from '../errors.js';
import { stagingKey, stagingPrefix, type BlobStore } from '../store/types.js';
import { ChunkCache, ChunkError, decodeChunk, keptOf, sparseOf, type VerifiedChunk } from './chunks.js';
import { receivedOf, type DeliveredRow } from '../ingest/chunks.js';
import {
  blobRowsOf,
  type BlobJson,
  countBlobs,
  jsonOf,
  markMissing,
  markVerified,
  pool,
  presenceOf,
  publishChunk,
  publishEach,
  PUBLISH_CONCURRENCY,
  trustedRecord,
  type Published,
} from '../ingest/staging.js';

/** What the catalog's records say of a capture's chunks: their `blobs` rows, which the host holds, which the capture delivered through the catalog. */
export interface ChunkRecords {
  known: Map<string, typeof blobs.$inferSelect>;
  held: Set<string>;
  delivered: Map<string, DeliveredRow>;
}

/**
 * A capture's chunk records, read once when first asked for: a commit that first weighs
 * whether to run inline (ingest/commit-jobs.ts stagedBytesToVerify) and then verifies reads
 * them once, not twice. One statement: the three lookups were a round trip and a transaction each.
 */
export function chunkRecordsOnce(db: Db, host: string, captureId: string, shas: string[]): () => Promise<ChunkRecords> {
  let read: Promise<ChunkRecords> | null = null;
  return () => (read ??= chunkRecords(db, host, captureId, shas));
}

async function chunkRecords(db: Db, host: string, captureId: string, shas: string[]): Promise<ChunkRecords> {
  const [row] = await queryRows<{ records: ChunkRecordsJson | string }>(
    db,
    sql`SELECT ${chunkRecordsJson(sql`SELECT w.sha256 FROM jsonb_array_elements_text(${JSON.stringify(shas)}::jsonb) AS w(sha256)`, sql`${host}`, sql`${captureId}`)} AS records`,
  );
  return chunkRecordsOf(row.records);
}

/** A capture's chunk records as chunkRecordsJson builds them. */
export interface ChunkRecordsJson {
  known: BlobJson[] | null;
  held: string[] | null;
  delivered: DeliveredJson[] | null;
}

/**
 * A capture's chunk records as one json value, for a statement that reads them with others: the
 * `blobs` rows of the chunks `wanted` (a query of one column) names, which of them `host`
 * holds, and every `capture_chunks` row of `captureId`. `wanted` runs once, its hashes made
 * distinct (a commit's are every chunk reference of its request, expanded from its row), and
 * both lookups take that one array.
 */
export function chunkRecordsJson(wanted: SQL, host: SQL, captureId: SQL): SQL {
  return sql`(SELECT json_build_object(
    'known', (SELECT json_agg(b) FROM blobs b WHERE b.sha256 = ANY(w.shas)),
    'held', (SELECT json_agg(h.sha256) FROM host_chunks h WHERE h.host = ${host} AND h.sha256 = ANY(w.shas)),
    'delivered', (SELECT json_agg(cc) FROM capture_chunks cc WHERE cc.capture_id = ${captureId}))
    FROM (SELECT array_agg(DISTINCT x.sha256) AS shas FROM (${wanted}) AS x(sha256)) w)`;
}

/** The chunk records a chunkRecordsJson value holds. */
export function chunkRecordsOf(value: ChunkRecordsJson | string): ChunkRecords {
  const records = jsonOf(value)!;
  const delivered = new Map<string, DeliveredRow>();
  for (const r of records.delivered ?? []) {
    delivered.set(r.sha256, {
      captureId: r.capture_id,
      sha256: r.sha256,
      size: r.size,
      encoding: r.encoding,
      storedSize: r.stored_size,
      receivedAt: new Date(r.received_at),
    });
  }
  return { known: blobRowsOf(records.known), held: new Set(records.held ?? []), delivered };
}

/** A `capture_chunks` row as PostgreSQL's json_agg spells it. */
interface DeliveredJson {
  capture_id: string;
  sha256: string;
  size: number;
  encoding: string;
  stored_size: number;
  received_at: string;
}

/** One chunk as a manifest records it: how it actually rests in the store. */
export type StoredChunk = ManifestChunk;
export type ManifestArtifact = CaptureManifest['artifacts'][number];

/** Stored sizes of a capture's staged uploads, by chunk hash (one listing). */
export async function stagedSizes(store: BlobStore, captureId: string): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  const prefix = stagingPrefix(captureId);
  for await (const o of store.list(prefix)) m.set(o.key.slice(prefix.length), o.size);
  return m;
}

export type BlobRow = typeof blobs.$inferInsert;

/** A staged upload read back and checked against its hash and size (ChunkError if it fails); null when nothing is staged. */
async function readStaged(store: BlobStore, captureId: string, c: { sha256: string; size: number }) {
  // A chunk this process received through the catalog and staged is not read back.
  const storedBytes = receivedOf(store).get(captureId, c.sha256)?.stored ?? (await store.getBytes(stagingKey(captureId, c.sha256)));
  return storedBytes && { ...(await decodeChunk(c.sha256, c.size, storedBytes)), sha256: c.sha256, size: c.size, storedBytes };
}

/** A staged chunk as read back and checked: how it rests, and its bytes as stored. */
export type StagedChunk = Omit<VerifiedChunk, 'bytes'> & { sha256: string; size: number; storedBytes: Uint8Array };

/** What verifyChunks found: every chunk as it rests (or will rest), and the staged ones still to publish. */
export interface VerifiedChunks {
  stored: Map<string, StoredChunk>;
  newBlobs: BlobRow[];
  /**
   * Verified staged chunks left unpublished (`deferred`), as read: publishStaged decides after
   * redaction, and publishes these bytes rather than read and check the staged upload again.
   */
  pending: Map<string, StagedChunk>;
  /** Chunks the capture's host held before this commit (host_chunks rows that need no insert). */
  held: Set<string>;
  /** The `blobs` rows of the capture's chunks as verify read them (publishStaged takes them as they were). */
  known: ReadonlyMap<string, typeof blobs.$inferSelect>;
}

/**
 * Checks every chunk of a capture, and publishes what it verified. A chunk this capture
 * staged is read back, inflated (bounded), hashed, and published under its chunk key
 * write-once (a bad one is deleted so a retry can upload it again). A chunk not staged
 * counts only when the capture's host holds it (dedup is per host) and the store has it
 * with the stored size `blobs` recorded; anything else was never uploaded. A chunk this capture
 * delivered through the catalog (`capture_chunks`) was verified and published when it arrived:
 * it is taken as recorded, not read back (its bytes go to `cache` when this process received
 * them). Chunks in `deferred` (those only secret-bearing kinds reference) are verified but stay staged.
 * `records`: the capture's chunk records as its commit read them already (chunkRecordsOnce).
 */
export async function verifyChunks(
  db: Db,
  store: BlobStore,
  capture: { id: string; host: string },
  chunks: Array<{ sha256: string; size: number }>,
  at: Date,
  cache: ChunkCache = new ChunkCache(),
  deferred: ReadonlySet<string> = new Set(),
  records: () => Promise<ChunkRecords> = chunkRecordsOnce(
    db,
    capture.host,
    capture.id,
    chunks.map((c) => c.sha256),
  ),
): Promise<VerifiedChunks> {
  const { known, held, delivered } = await records();
  const sent = (c: { sha256: string; size: number }) => delivered.get(c.sha256)?.size === c.size;
  // A chunk the host holds and `blobs` vouches for (trustedRecord) is taken as stored, staged or
  // not: when every chunk is such a one (an unchanged run), or was delivered through the
  // catalog, the staging area is not even listed.
  const vouched = (c: { sha256: string; size: number }) => {
    const k = known.get(c.sha256);
    return held.has(c.sha256) && !!k && k.size === c.size && trustedRecord(k, at);
  };
  // A chunk the host does not hold counts only as an upload to staging: when the host holds
  // none of the chunks not sent through the catalog (new bytes), each is read from staging
  // directly, and one that is not there is "never uploaded" as it would be after a listing.
  const notSent = chunks.filter((c) => !sent(c));
  const staged: ReadonlySet<string> = notSent.every((c) => vouched(c))
    ? new Set()
    : notSent.every((c) => !held.has(c.sha256))
      ? new Set(notSent.map((c) => c.sha256))
      : new Set((await stagedSizes(store, capture.id)).keys());
  const presence = presenceOf(store);
  const answered: string[] = [];
  const stored = new Map<string, StoredChunk>();
  const newBlobs: BlobRow[] = [];
  const pending = new Map<string, StagedChunk>();
  const lost: string[] = [];
  const problems: Array<{ sha256: string; reason: string; message: string }> = [];
  const received = receivedOf(store);
  for (const c of chunks.filter(sent)) {
    const r = delivered.get(c.sha256)!;
    const k = known.get(c.sha256);
    // `blobs` describes the object when it has a row (the route kept or replaced what it found).
    const rests =
      k && k.size === c.size
        ? { encoding: k.encoding as ChunkEncoding, storedSize: k.storedSize }
        : { encoding: r.encoding as ChunkEncoding, storedSize: r.storedSize };
    stored.set(c.sha256, { sha256: c.sha256, size: c.size, ...rests });
    if (!(k && k.size === c.size)) newBlobs.push({ sha256: c.sha256, size: c.size, ...rests, firstStored: r.receivedAt, lastVerified: r.receivedAt });
    const kept = received.get(capture.id, c.sha256);
    if (kept) cache.addStored(c.sha256, kept.stored, kept.encoding, kept.sparse);
  }
  // The store is asked about chunks in batches (presence.storedSizes: one listing when that
  // is fewer requests): held chunks whose `blobs` record is past its trust window, and, on a
  // store without native write-once creates, the keys the staged chunks will be published to.
  const unstaged = chunks.filter((c) => !staged.has(c.sha256) && !sent(c));
  const sizes = await presence.storedSizes(
    unstaged.filter((c) => held.has(c.sha256) && known.get(c.sha256)?.size === c.size && !trustedRecord(known.get(c.sha256)!, at)).map((c) => c.sha256),
    at.getTime(),
    countBlobs(db),
  );
  const checkStaged = async (c: { sha256: string; size: number }, listed?: number | null) => {
    const k = known.get(c.sha256);
    const key = stagingKey(capture.id, c.sha256);
    try {
      const v = await readStaged(store, capture.id, c);
      if (!v) throw new ChunkError(c.sha256, 'missing', `chunk ${c.sha256} was never uploaded`);
      // The parse that follows needs these bytes again: keep them rather than read twice.
      cache.add(c.sha256, v.bytes, { bytes: v.storedBytes, encoding: v.encoding });
      if (deferred.has(c.sha256)) {
        cache.locate(c.sha256, key);
        // Its stored bytes (not the inflated ones) wait for publishStaged.
        pending.set(c.sha256, { encoding: v.encoding, storedSize: v.storedSize, sha256: c.sha256, size: c.size, storedBytes: v.storedBytes });
        stored.set(c.sha256, { sha256: c.sha256, size: c.size, encoding: v.encoding, storedSize: v.storedSize });
        return;
      }
      const done = await publishChunk(db, store, at, v, k, listed, key);
      keptOf(store).add(c.sha256, c.size, v.storedBytes, v.encoding, sparseOf(v.bytes));
      stored.set(c.sha256, done.stored);
      if (done.newBlob) newBlobs.push(done.newBlob);
    } catch (e) {
      if (!(e instanceof ChunkError)) throw e;
      problems.push({ sha256: c.sha256, reason: e.reason, message: e.message });
      if (e.reason !== 'missing') await store.delete(key).catch(() => {});
    }
  };
  await publishEach(
    db,
    store,
    at,
    chunks.filter((c) => staged.has(c.sha256) && !sent(c)),
    checkStaged,
    (c) => !deferred.has(c.sha256),
  );
  for (const c of unstaged) {
    const k = known.get(c.sha256);
    // The same message whether or not another host holds the chunk: no existence oracle.
    const never = { sha256: c.sha256, reason: 'missing', message: `chunk ${c.sha256} was never uploaded` };
    if (!held.has(c.sha256) || !k || k.size !== c.size) {
      problems.push(never);
      continue;
    }
    // Verified when it was published (or last asked about): no store request per chunk.
    const size = trustedRecord(k, at) ? k.storedSize : sizes.get(c.sha256);
    if (size === k.storedSize) {
      if (!trustedRecord(k, at)) answered.push(c.sha256);
      stored.set(c.sha256, { sha256: c.sha256, size: c.size, encoding: k.encoding as ChunkEncoding, storedSize: k.storedSize });
      continue;
    }
    if (size === null) lost.push(c.sha256);
    problems.push({ sha256: c.sha256, reason: 'missing', message: `chunk ${c.sha256} is no longer in the store; upload it again` });
  }
  await markMissing(db, store, lost);
  await markVerified(db, answered, at);
  if (problems.length > 0) {
    problems.sort((a, b) => a.sha256.localeCompare(b.sha256));
    const tooLarge = problems.find((p) => p.reason === 'too-large');
    const shown = problems
      .slice(0, 5)
      .map((p) => p.message)
      .join('; ');
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
    throw new ApiError(
      tooLarge ? 'payload_too_large' : 'unprocessable',
      `the capture cannot be committed: ${shown}${more}; upload the chunks again and retry`,
      { chunks: problems },
    );
  }
  return { stored, newBlobs, pending, held, known };
}

/**
 * Publishes the verified staged chunks verifyChunks held back that the artifacts, as they
 * will be stored (after redaction), still reference; answers those artifacts with the
 * chunks as they then rest. Chunks only a redacted original referenced are never published.
 */
export async function publishStaged(
  db: Db,
  store: BlobStore,
  captureId: string,
  refs: ManifestArtifact[],
  pending: ReadonlyMap<string, StagedChunk>,
  /**
   * The chunks' `blobs` rows as verifyChunks read them: as good as reading them again, for
   * publishChunk only asks whether a row vouched for the object it finds under the key (a row
   * written since belongs to a publish of the same verified bytes).
   */
  known: ReadonlyMap<string, typeof blobs.$inferSelect>,
  at: Date,
): Promise<{ refs: ManifestArtifact[]; published: Published[] }> {
  const sizes = new Map(refs.flatMap((r) => r.chunks.filter((c) => pending.has(c.sha256)).map((c) => [c.sha256, c.size] as const)));
  const wanted = [...sizes.keys()];
  const done = new Map<string, Published>();
  await pool(wanted, PUBLISH_CONCURRENCY, async (sha) => {
    const v = pending.get(sha)?.size === sizes.get(sha) ? pending.get(sha)! : await readStaged(store, captureId, { sha256: sha, size: sizes.get(sha)! });
    if (!v) throw new ApiError('unprocessable', `chunk ${sha} vanished from staging during the commit; retry`);
    done.set(sha, await publishChunk(db, store, at, v, known.get(sha), undefined, stagingKey(captureId, sha)));
  });
  return {
    refs: refs.map((r) => ({ ...r, chunks: r.chunks.map((c) => done.get(c.sha256)?.stored ?? c) })),
    published: [...done.values()],
  };
}
