/**
 * Small chunks sent through the catalog (`PUT /v1/captures/{id}/chunks`, docs/architecture.md,
 * "Ingest protocol"): a batch of stored chunks in one body, verified in memory (stored size and
 * SHA-256 as declared at begin, SHA-256 after a bounded inflate) and published straight to
 * `chunks/<sha256>` write-once — one store request per chunk where an upload URL costs three
 * (the collector's PUT to staging, the commit's GET, its publish). Each published chunk is
 * then recorded for its capture (`capture_chunks`), which is how the commit knows it was
 * delivered and verified; a bounded in-process copy spares the commit reading it back.
 *
 * Body framing, repeated until the body ends (at most CHUNK_BATCH_MAX_BYTES in all):
 *   32 bytes  the chunk's SHA-256 (of its uncompressed bytes), raw
 *    4 bytes  the stored length n, unsigned big-endian, 1 … SMALL_CHUNK_MAX_STORED_BYTES
 *    n bytes  the chunk as stored (as declared at begin: identity, or one gzip member)
 */
import { eq, sql } from 'drizzle-orm';
import type { BeginRequest, ChunkEncoding } from '../../formats/protocol.js';
import { queryRows, type Db } from '../../db/client.js';
import { type blobs, captureChunks, captures } from '../../db/schema.js';
import type { Principal, Services } from '../context.js';
import { ApiError } from '../errors.js';
import { stagingKey, type BlobStore } from '../store/types.js';
import { CHUNK_ENTRY_BYTES, ChunkError, keptOf, PACK_RATIO, SparseChunk, sha256Hex, type VerifiedChunk, verifyChunk } from '../pipeline/chunks.js';
import { mayNeedRedaction } from '../pipeline/redaction.js';
import { assertCaptureOfScope, noSuchCapture } from './host-scope.js';
import { distinctChunks } from './begin.js';
import { blobRowsOf, type BlobJson, jsonOf, pool, publishChunk, publishEach, trustedRecord } from './staging.js';
import { OldestFirst } from '../oldest-first.js';
import type { Logger } from '../logger.js';
import { onePer } from '../one-per.js';
import { arrivedOf } from './arrived.js';

const KiB = 1024;
/** A chunk goes through the catalog when it is stored in at most this many bytes; larger ones use upload URLs. */
export const SMALL_CHUNK_MAX_STORED_BYTES = 128 * KiB;
/**
 * One batch's body. API Gateway hands Lambda a binary body base64-encoded inside a 6 MB
 * event: 4 MiB becomes 5.6 MB, with room left for the event's headers.
 */
export const CHUNK_BATCH_MAX_BYTES = 4096 * KiB;
/**
 * Chunks in one batch: each may inflate to 1 MiB while it is checked (four at a time, the
 * inflated bytes dropped once checked), so a batch costs at most this many bounded inflates.
 */
export const CHUNK_BATCH_MAX_CHUNKS = 1024;
const FRAME_HEAD_BYTES = 36;

/** One chunk of a batch as it arrived. */
export interface FramedChunk {
  sha256: string;
  stored: Uint8Array;
}

/** Splits a batch body into its chunks (400 on anything that is not the framing, 413 past the bounds). */
function parseChunkBatch(body: Uint8Array): FramedChunk[] {
  if (body.length > CHUNK_BATCH_MAX_BYTES) throw new ApiError('payload_too_large', `a batch of chunks is at most ${CHUNK_BATCH_MAX_BYTES} bytes`);
  const out: FramedChunk[] = [];
  const seen = new Set<string>();
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let at = 0; at < body.length; ) {
    if (body.length - at < FRAME_HEAD_BYTES) throw new ApiError('bad_request', `the batch ends inside a chunk's 36-byte head (at byte ${at})`);
    const sha256 = Buffer.from(body.subarray(at, at + 32)).toString('hex');
    const n = view.getUint32(at + 32);
    at += FRAME_HEAD_BYTES;
    if (n === 0) throw new ApiError('bad_request', `chunk ${sha256} has no bytes`);
    if (n > SMALL_CHUNK_MAX_STORED_BYTES) {
      throw new ApiError('payload_too_large', `chunk ${sha256}: ${n} stored bytes; larger than ${SMALL_CHUNK_MAX_STORED_BYTES} goes to its upload URL`);
    }
    if (n > body.length - at) throw new ApiError('bad_request', `chunk ${sha256}: the batch ends before its ${n} bytes`);
    if (seen.has(sha256)) throw new ApiError('bad_request', `chunk ${sha256} is sent twice in one batch`);
    if (seen.size === CHUNK_BATCH_MAX_CHUNKS) throw new ApiError('payload_too_large', `a batch holds at most ${CHUNK_BATCH_MAX_CHUNKS} chunks`);
    seen.add(sha256);
    out.push({ sha256, stored: body.subarray(at, at + n) });
    at += n;
  }
  if (out.length === 0) throw new ApiError('bad_request', 'the batch holds no chunk');
  return out;
}

/** What the catalog keeps of a chunk it just received, until its capture commits. */
interface Received {
  stored: Uint8Array;
  encoding: ChunkEncoding;
  size: number;
  /** Its pages that are not zeros, when they pack 4:1 or better: the commit writes them into place instead of inflating `stored` again. */
  sparse?: SparseChunk | null;
}

/**
 * Chunks this process received lately, as stored, by capture: the commit of that capture
 * takes them from here instead of reading them back from the store. Bounded in bytes (the
 * oldest go first), each entry charged CHUNK_ENTRY_BYTES beside its bytes: a collector may
 * send 65,536 chunks of a few bytes a capture, and they cost the process what the bound
 * counts. A commit in another process (Lambda) reads the store instead.
 */
export class ReceivedChunks {
  private readonly entries = new Map<string, Received>();
  private readonly oldest = new OldestFirst(this.entries);
  private bytes = 0;
  constructor(private readonly maxBytes = 64 * 1024 * KiB) {}

  add(captureId: string, sha256: string, r: Received): void {
    const key = `${captureId}/${sha256}`;
    this.drop(key);
    const cost = costOf(r);
    if (cost > this.maxBytes) return;
    while (this.bytes + cost > this.maxBytes) this.drop(this.oldest.take());
    // A copy (also of a Buffer, whose slice() is a view): the request body it came in is not held for one chunk of it.
    this.entries.set(key, { ...r, stored: new Uint8Array(r.stored) });
    this.bytes += cost;
  }

  get(captureId: string, sha256: string): Received | undefined {
    return this.entries.get(`${captureId}/${sha256}`);
  }

  /** Forgets a capture's chunks (it committed). */
  forget(captureId: string, shas: Iterable<string>): void {
    for (const s of shas) this.drop(`${captureId}/${s}`);
  }

  private drop(key: string): void {
    const r = this.entries.get(key);
    if (!r) return;
    this.entries.delete(key);
    this.bytes -= costOf(r);
  }
}

/** What ReceivedChunks counts for a chunk: its stored bytes, its entry, and its non-zero pages. */
function costOf(r: Received): number {
  return r.stored.length + CHUNK_ENTRY_BYTES + (r.sparse?.cost ?? 0);
}

/** The received-chunks copy of one store (shared by every request the process serves). */
export const receivedOf = onePer((_store: BlobStore) => new ReceivedChunks());

/** What a batch needs of its capture's declaration: the declared chunks, and those only secret-bearing kinds reference. */
interface Declaration {
  declared: Map<string, BeginRequest['artifacts'][number]['chunks'][number]>;
  deferred: Set<string>;
  /** The declared artifacts (their chunk lists share the chunk references above): ArrivedArtifacts follows them. */
  artifacts: BeginRequest['artifacts'];
  /** Chunk references of the request: what keeping it costs. */
  refs: number;
}

/**
 * Declarations read lately, by capture and begin (a capture's request changes only with a
 * begin, which moves `last_begun_at`): a batch costs what it carries, not a read and two walks
 * of a declaration of up to 65,536 chunk references (~8 MB) — about a second of the catalog
 * per one-chunk batch. Bounded in references (the oldest go first).
 */
class Declarations {
  private readonly entries = new Map<string, { begun: number; declaration: Declaration }>();
  private readonly oldest = new OldestFirst(this.entries);
  private refs = 0;
  constructor(private readonly maxRefs = 4 * 65_536) {}

  /** The begin this process keeps the capture's declaration for, if any. */
  begunOf(captureId: string): number | undefined {
    return this.entries.get(captureId)?.begun;
  }

  get(captureId: string, begun: number): Declaration | undefined {
    const hit = this.entries.get(captureId);
    if (!hit || hit.begun !== begun) return undefined;
    this.oldest.use(captureId);
    return hit.declaration;
  }

  set(captureId: string, begun: number, declaration: Declaration): void {
    this.drop(captureId);
    if (declaration.refs > this.maxRefs) return;
    while (this.refs + declaration.refs > this.maxRefs) this.drop(this.oldest.take());
    this.entries.set(captureId, { begun, declaration });
    this.refs += declaration.refs;
  }

  private drop(captureId: string): void {
    const hit = this.entries.get(captureId);
    if (!hit) return;
    this.entries.delete(captureId);
    this.refs -= hit.declaration.refs;
  }
}

const declarationsOf = onePer((_db: Db) => new Declarations());

/** What a batch's check reads of its capture and chunks, in one statement (batchRecords). */
interface BatchRecords {
  host: string;
  state: string;
  /** The begin the declaration belongs to (`last_begun_at`, else `received_at`), in ms. */
  begun: number;
  declaration: Declaration;
  known: Map<string, typeof blobs.$inferSelect>;
  held: Set<string>;
  /** Chunks of the batch already recorded for this capture. */
  recorded: Set<string>;
}

/**
 * The capture (host, state, the begin its declaration belongs to), and for the batch's chunks
 * their `blobs` rows, which the capture's host holds, and which this capture recorded already:
 * one statement, where one each cost a batch five round trips and transactions. The request
 * (up to 65,536 chunk references) is read only when this process has not kept the declaration
 * of that begin (Declarations). Null when there is no such capture. The host's rows are read
 * by the capture's own host and shown to no one before the caller's host check.
 */
async function batchRecords(db: Db, captureId: string, shas: string[]): Promise<BatchRecords | null> {
  const kept = declarationsOf(db);
  const begunKept = kept.begunOf(captureId);
  const [row] = await queryRows<{
    host: string;
    state: string;
    begun: Date | string;
    request: BeginRequest | string | null;
    known: BlobJson[] | string | null;
    held: string[] | string | null;
    recorded: string[] | string | null;
  }>(
    db,
    sql`
    WITH cap AS (
           SELECT c.host, c.state, coalesce(c.last_begun_at, c.received_at) AS begun,
                  CASE WHEN coalesce(c.last_begun_at, c.received_at) IS DISTINCT FROM ${begunKept === undefined ? null : new Date(begunKept).toISOString()}::timestamptz
                       THEN c.request END AS request
             FROM captures c WHERE c.id = ${captureId}),
         wanted AS (SELECT w.sha256 FROM jsonb_array_elements_text(${JSON.stringify(shas)}::jsonb) AS w(sha256))
    SELECT cap.host, cap.state, cap.begun, cap.request,
           (SELECT json_agg(b) FROM blobs b WHERE b.sha256 IN (SELECT sha256 FROM wanted)) AS known,
           (SELECT json_agg(h.sha256) FROM host_chunks h WHERE h.host = cap.host AND h.sha256 IN (SELECT sha256 FROM wanted)) AS held,
           (SELECT json_agg(cc.sha256) FROM capture_chunks cc WHERE cc.capture_id = ${captureId} AND cc.sha256 IN (SELECT sha256 FROM wanted)) AS recorded
      FROM cap`,
  );
  if (!row) return null;
  const begun = new Date(row.begun).getTime();
  let declaration = row.request === null ? kept.get(captureId, begun) : undefined;
  if (!declaration) {
    // Kept for another begin than the one the row names now, or dropped meanwhile: read it.
    const req = (row.request === null ? await requestOf(db, captureId) : jsonOf(row.request)) as BeginRequest;
    declaration = {
      declared: distinctChunks(req),
      deferred: onlySecretBearing(req),
      artifacts: req.artifacts,
      refs: req.artifacts.reduce((n, a) => n + a.chunks.length, 0),
    };
    kept.set(captureId, begun, declaration);
  }
  return {
    host: row.host,
    state: row.state,
    begun,
    declaration,
    known: blobRowsOf(jsonOf(row.known)),
    held: new Set(jsonOf(row.held) ?? []),
    recorded: new Set(jsonOf(row.recorded) ?? []),
  };
}

async function requestOf(db: Db, captureId: string): Promise<BeginRequest> {
  const [row] = await db.select({ request: captures.request }).from(captures).where(eq(captures.id, captureId));
  if (!row) throw noSuchCapture(captureId);
  return row.request as BeginRequest;
}

/** Chunks only secret-bearing kinds reference: they stay out of `chunks/` until redaction has run at commit. */
export function onlySecretBearing(req: BeginRequest): Set<string> {
  const otherwise = new Set(req.artifacts.filter((a) => !mayNeedRedaction(a.kind)).flatMap((a) => a.chunks.map((c) => c.sha256)));
  return new Set(req.artifacts.flatMap((a) => a.chunks.map((c) => c.sha256)).filter((s) => !otherwise.has(s)));
}

export type DeliveredRow = typeof captureChunks.$inferSelect;

/** The chunks a capture delivered through the catalog, by hash. */
export async function deliveredChunks(db: Db, captureId: string): Promise<Map<string, DeliveredRow>> {
  const rows = await db.select().from(captureChunks).where(eq(captureChunks.captureId, captureId));
  return new Map(rows.map((r) => [r.sha256, r]));
}

/**
 * Writes chunks into the capture's staging area, where its commit looks for them. A commit
 * that ran meanwhile (the batch's check that the capture is open came before it) removed the
 * area: the filesystem store then finds no directory to write into, or this batch made it
 * again; S3 takes objects no commit will read. The caller's closing statement (recordBatch)
 * tells: the batch came too late for its capture, which is the 409 of a batch for a committed
 * capture, not a 500, and what it wrote is removed again (else the staging sweep would).
 * Answers the failure to report when the capture turns out to be open.
 */
async function stage(services: Services, captureId: string, staged: Array<{ sha256: string; storedBytes: Uint8Array }>): Promise<{ e: unknown } | null> {
  const { store } = services;
  const putAll = () => Promise.all(staged.map((c) => store.put(stagingKey(captureId, c.sha256), c.storedBytes)));
  // Begin opened the area: it is made again only when it is found missing (removed since),
  // not asked for on every batch (a directory create on the thread pool each time).
  return putAll()
    .catch(async (e: unknown) => {
      const code = (e as NodeJS.ErrnoException | null)?.code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      await store.openStaging(captureId);
      await putAll();
    })
    .then(
      () => null,
      (e: unknown) => ({ e }),
    );
}

/**
 * The batch's closing statement: records the chunks it published for the capture
 * (`capture_chunks`) while the capture is open, and answers its state (null: gone). One
 * statement: the check that a capture still takes chunks and the records were two. In chunk
 * order: the same batch sent twice at once upserts the same rows, and two statements locking
 * them in different orders would deadlock.
 */
async function recordBatch(db: Db, captureId: string, rows: Array<typeof captureChunks.$inferInsert>): Promise<string | null> {
  rows.sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
  const json = JSON.stringify(
    rows.map((r) => ({
      capture_id: r.captureId,
      sha256: r.sha256,
      size: r.size,
      encoding: r.encoding,
      stored_size: r.storedSize,
      received_at: r.receivedAt.toISOString(),
    })),
  );
  const [row] = await queryRows<{ state: string | null }>(
    db,
    sql`
    WITH cap AS (SELECT c.state FROM captures c WHERE c.id = ${captureId}),
         recorded AS (
           INSERT INTO capture_chunks (capture_id, sha256, size, encoding, stored_size, received_at)
           SELECT r.capture_id, r.sha256, r.size, r.encoding, r.stored_size, r.received_at
             FROM jsonb_populate_recordset(NULL::capture_chunks, ${json}::jsonb) AS r
            WHERE (SELECT state FROM cap) = 'open'
           ON CONFLICT (capture_id, sha256) DO UPDATE
             SET encoding = excluded.encoding, stored_size = excluded.stored_size, received_at = excluded.received_at)
    SELECT (SELECT state FROM cap) AS state`,
  );
  return row?.state ?? null;
}

/**
 * PUT /v1/captures/{id}/chunks: verifies every chunk of the batch in memory, then publishes
 * each write-once under its chunk key (or, for a chunk only secret-bearing artifacts
 * reference, into the capture's staging area: redaction decides at commit what is kept) and
 * records it for the capture. All or nothing as far as checks go: one bad chunk refuses the
 * batch before anything is written. Safe to repeat. Two statements: what the checks read
 * (batchRecords), and the records with the check that the capture still takes them (recordBatch).
 */
export async function receiveChunks(
  services: Services,
  principal: Principal,
  captureId: string,
  body: Uint8Array,
): Promise<{ captureId: string; received: string[] }> {
  const { db, store, logger, now } = services;
  // The body is read for the chunks' names first; a framing error is answered only after the
  // host check, as before any lookup (another host's token learns nothing from it).
  let batch: FramedChunk[] = [];
  let badBody: unknown = null;
  try {
    batch = parseChunkBatch(body);
  } catch (e) {
    badBody = e;
  }
  const shas = batch.map((c) => c.sha256);
  const cap = await batchRecords(db, captureId, shas);
  if (!cap) throw noSuchCapture(captureId);
  assertCaptureOfScope(principal, cap.host, captureId);
  if (cap.state !== 'open') throw new ApiError('conflict', `capture ${captureId} is committed; it takes no more chunks`);
  if (badBody) throw badBody;
  const { declared, deferred } = cap.declaration;
  const undeclared = batch.filter((c) => !declared.has(c.sha256));
  if (undeclared.length > 0) {
    throw new ApiError('unprocessable', `chunk ${undeclared[0].sha256}${more(undeclared)} is not declared by capture ${captureId}`);
  }
  const at = now();
  const { known, held, recorded: done } = cap;
  // What begin answers present without asking the store is never handed out: not taken again.
  const present = batch.filter((c) => {
    const k = known.get(c.sha256);
    return held.has(c.sha256) && !!k && k.size === declared.get(c.sha256)!.size && trustedRecord(k, at);
  });
  if (present.length > 0) {
    throw new ApiError('conflict', `chunk ${present[0].sha256}${more(present)} is already held for host ${cap.host}; begin answers it present`);
  }

  // The pages kept of the batch's chunks (SparseChunk) come to at most this body's length again:
  // a small body of well-compressed chunks keeps no more pages than it weighs.
  const pages = { left: body.length };
  const verified = await pool(batch, 4, (c) => verifyFramed(c, declared.get(c.sha256)!, pages, logger));
  const problems = verified.flatMap((v) => ('problem' in v ? [v.problem] : []));
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).map((p) => p.message);
    throw new ApiError(
      problems.some((p) => p.reason === 'too-large') ? 'payload_too_large' : 'unprocessable',
      `chunks refused (nothing of this batch was stored): ${shown.join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`,
      { chunks: problems },
    );
  }
  if (store.recentlyUnavailable?.()) throw new ApiError('service_unavailable', 'the blob store is unavailable; retry after Retry-After seconds');

  const chunks = verified.flatMap((v) => ('chunk' in v ? [v.chunk] : []));
  const rows: Array<typeof captureChunks.$inferInsert> = [];
  const staged = chunks.filter((c) => deferred.has(c.sha256));
  const stageFailure = staged.length > 0 ? await stage(services, captureId, staged) : null;
  if (!stageFailure) {
    await publishEach(
      db,
      store,
      at,
      chunks.filter((c) => !deferred.has(c.sha256) && !done.has(c.sha256)),
      async (c, listed) => {
        const { stored } = await publishChunk(db, store, at, c, known.get(c.sha256), listed);
        rows.push({ captureId, sha256: c.sha256, size: stored.size, encoding: stored.encoding, storedSize: stored.storedSize, receivedAt: at });
      },
    );
  }
  // Recorded only once the objects rest in the store: a crash before this leaves them
  // unrecorded (no `blobs` row either, so garbage collection never takes them), and the
  // collector's retry finds them there and records them. A batch that staged or published
  // nothing new (a repeat) asks nothing more.
  if (staged.length > 0 || rows.length > 0) {
    const state = await recordBatch(db, captureId, rows);
    if (state !== 'open') {
      if (staged.length > 0) {
        await store
          .closeStaging(captureId)
          .catch((e: unknown) => logger.warn('staging cleanup failed; the staging sweep removes it', { captureId, error: (e as Error).message }));
      }
      throw new ApiError('conflict', `capture ${captureId} was committed while this batch arrived; it takes no more chunks`);
    }
  }
  if (stageFailure) throw stageFailure.e;
  const kept = receivedOf(store);
  for (const c of chunks) kept.add(captureId, c.sha256, { stored: c.storedBytes, encoding: c.encoding, size: c.size, sparse: c.sparse });
  // Published and verified: later commits in this process read it from memory (a staged one is not published yet).
  const published = keptOf(store);
  for (const c of chunks) if (!deferred.has(c.sha256)) published.add(c.sha256, c.size, c.storedBytes, c.encoding, c.sparse);
  // Each artifact whose chunks have now all arrived is hashed whole and parsed before its commit asks.
  if (chunks.length > 0) arrivedOf(store).arrived(captureId, cap.declaration.artifacts, kept);
  return { captureId, received: shas };
}

function more(list: unknown[]): string {
  return list.length > 1 ? ` (and ${list.length - 1} more)` : '';
}

type Checked =
  | { chunk: Omit<VerifiedChunk, 'bytes'> & { sha256: string; size: number; storedBytes: Uint8Array; sparse: SparseChunk | null } }
  | { problem: { sha256: string; reason: string; message: string } };

/** One framed chunk against its declaration: stored size and SHA-256 when declared, encoding, and its name after a bounded inflate. */
async function verifyFramed(
  c: FramedChunk,
  ref: BeginRequest['artifacts'][number]['chunks'][number],
  pages: { left: number },
  logger: Logger,
): Promise<Checked> {
  const problem = (reason: string, message: string): Checked => ({ problem: { sha256: c.sha256, reason, message: `chunk ${c.sha256}: ${message}` } });
  const encoding = ref.encoding ?? 'identity';
  if (ref.storedSize !== undefined && c.stored.length !== ref.storedSize)
    return problem('wrong-size', `${c.stored.length} stored bytes, declared ${ref.storedSize}`);
  if (ref.storedSha256 !== undefined && sha256Hex(c.stored) !== ref.storedSha256)
    return problem('wrong-hash', 'the stored bytes do not have the declared stored SHA-256');
  try {
    // The inflated bytes are not kept: a batch holds no more than its body once checked, and the
    // pages of them that are not zeros when those are a quarter of the chunk or less (a dump's
    // chunk: a few KiB), which its commit writes into place instead of inflating it again —
    // as long as the batch's `pages` allow. They are hashed on the hashing thread, which takes them over.
    // The pages are taken from `pages` as they are kept (the other chunks of the batch are checked meanwhile) and given back should the chunk fail.
    let sparse: SparseChunk | null = null;
    const giveBack = () => {
      if (sparse) pages.left += sparse.cost;
      sparse = null;
    };
    const v = await verifyChunk(
      c.sha256,
      ref.size,
      c.stored,
      (bytes) => {
        sparse = SparseChunk.of(bytes, Math.min(Math.floor(bytes.length / PACK_RATIO), pages.left - SparseChunk.ENTRY_BYTES));
        if (sparse) pages.left -= sparse.cost;
      },
      logger,
    ).catch((e: unknown) => {
      giveBack();
      throw e;
    });
    if (v.encoding !== encoding) {
      giveBack();
      return problem('bad-encoding', `sent as ${v.encoding}, declared ${encoding}`);
    }
    return { chunk: { encoding: v.encoding, storedSize: v.storedSize, sha256: c.sha256, size: ref.size, storedBytes: c.stored, sparse } };
  } catch (e) {
    if (!(e instanceof ChunkError)) throw e;
    return { problem: { sha256: c.sha256, reason: e.reason, message: e.message } };
  }
}
