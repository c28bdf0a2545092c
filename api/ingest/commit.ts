/**
 * Commit, the last step of the ingest protocol: verify → parse → index → drift
 * (api/pipeline/) in one transaction, then the manifest. Repeating a commit answers the
 * same artifact ids.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { BeginRequest, CommitResponse } from '../../formats/protocol.js';
import type { ArtifactKind, ParsedArtifact } from '../../formats/types.js';
import { queryRows, type Db } from '../../db/client.js';
import { artifacts, blobs, captures } from '../../db/schema.js';
import { INGEST_LOCK_QUERY } from '../retention/lock.js';
import { LIMITS } from './limits.js';
import { assertCaptureOfScope, noSuchCapture } from './host-scope.js';
import type { Principal, Services } from '../context.js';
import { ApiError } from '../errors.js';
import { manifestKey } from '../store/types.js';
import { ChunkCache } from '../pipeline/chunks.js';
import { redactArtifacts } from '../pipeline/redaction.js';
import { onlySecretBearing, receivedOf } from './chunks.js';
import { turnIfDue } from '../pipeline/indexer.js';
import { markVerified, maybeSweepStaging } from './staging.js';
import { artifactId, assertDeclaredWhole, distinctChunks } from './begin.js';
import { publishStaged, verifyChunks, type ChunkRecords, type ManifestArtifact, type VerifiedChunks } from '../pipeline/verify.js';
import { CaptureParseBudget, earlierParses, parseStoredArtifact, withRedaction, type ParsedEntry } from '../pipeline/parse.js';
import { buildManifest, summarize, writeCapture, type CaptureRecord } from '../pipeline/write.js';
import { encodeManifest } from '../pipeline/manifest.js';
import { chunkListRows, encodeChunkLists, listsWithRows, storeAbsentChunkLists, storeChunkLists } from '../pipeline/chunk-lists.js';
import { afterCommit } from '../events/checks.js';
import { leaveIngestGate } from './admission.js';
import { arrivedOf } from './arrived.js';
import { enqueueCaptureEvents, enqueueEvents } from '../events/webhook.js';
import { openChunkCorrupt, resolveChunkCorrupt } from '../events/chunk-corrupt.js';
import { describeAhead, storedCollectionTime } from './collector-clock.js';

type CaptureRow = typeof captures.$inferSelect;

async function loadCapture(db: Db, captureId: string): Promise<CaptureRow | undefined> {
  const [cap] = await db.select().from(captures).where(eq(captures.id, captureId));
  return cap;
}

/**
 * The answer for a capture already committed: its artifacts in declaration order, from their
 * rows (by capture, only the columns the answer shows). Neither the capture's request nor the
 * artifacts' chunk lists are read: a capture may declare 65,536 chunk references, and a
 * repeated commit (or a poll) must not cost a read of them.
 */
export async function committedAnswer(db: Db, cap: Pick<CaptureRow, 'id' | 'committedAt' | 'manifestKey'>): Promise<CommitResponse> {
  const captureId = cap.id;
  const rows = await db
    .select({
      id: artifacts.id,
      kind: artifacts.kind,
      fileName: artifacts.fileName,
      parseStatus: artifacts.parseStatus,
      parseError: artifacts.parseError,
      parsed: artifacts.parsed,
    })
    .from(artifacts)
    .where(eq(artifacts.captureId, captureId));
  // Artifact ids follow the declaration's order (artifactId(captureId, index)).
  const byId = new Map(rows.map((r) => [r.id, r]));
  const ordered: typeof rows = [];
  for (let i = 0; ordered.length < rows.length && i < LIMITS.artifactsPerCapture; i++) {
    const r = byId.get(artifactId(captureId, i));
    if (r) ordered.push(r);
  }
  return {
    captureId,
    state: 'committed',
    committedAt: cap.committedAt!.toISOString(),
    manifestKey: cap.manifestKey!,
    artifacts: ordered.map((r) =>
      summarize({
        id: r.id,
        kind: r.kind as ArtifactKind,
        fileName: r.fileName,
        parseStatus: r.parseStatus as ParsedEntry['parseStatus'],
        parseError: r.parseError as ParsedEntry['parseError'],
        parsed: r.parsed as ParsedArtifact | null,
      }),
    ),
  };
}

class AlreadyCommitted extends Error {}

/**
 * Chunks of this capture whose `blobs` row is gone: a retention sweep removed them after
 * the verify step reused the object (api/retention/lock.ts). Asked once the commit holds the
 * ingest lock (no sweep runs from then until it ends), about the chunks it does not insert
 * a row for itself. One statement whatever the number of chunks.
 */
async function sweptMeanwhile(tx: Db, shas: string[]): Promise<string[]> {
  const want = [...new Set(shas)];
  if (want.length === 0) return [];
  const rows = await queryRows<{ sha256: string }>(
    tx,
    sql`
    SELECT w.sha256 FROM jsonb_array_elements_text(${JSON.stringify(want)}::jsonb) AS w(sha256)
     WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = w.sha256)`,
  );
  return rows.map((r) => r.sha256).sort();
}

export interface CommitOptions {
  /**
   * The begin committing an unchanged capture handed out no upload URL, so there is no
   * staging area to remove (on S3 the removal is a listing, the one store request of an
   * unchanged day besides the manifest). Should an earlier begin of the same capture have
   * handed some out, what was uploaded to them goes with the staging sweep.
   */
  stagingUnused?: boolean;
}

/**
 * POST /v1/captures/{id}/commit: verify, parse, index in one transaction, write the manifest.
 * `row`: the capture's row when the caller has just read it (commitOrHandOff), else it is read here.
 */
export async function commitCapture(
  services: Services,
  principal: Principal,
  captureId: string,
  row?: CaptureRow,
  records?: () => Promise<ChunkRecords>,
  options: CommitOptions = {},
): Promise<CommitResponse> {
  const { db, store, now } = services;
  const cap = row ?? (await loadCapture(db, captureId));
  if (!cap) throw noSuchCapture(captureId);
  assertCaptureOfScope(principal, cap.host, captureId);
  if (cap.state === 'committed') return committedAnswer(db, cap);
  assertDeclaredWhole(captureId, cap.request);

  const req = cap.request as BeginRequest;
  const distinct = [...distinctChunks(req).values()].map((c) => ({ sha256: c.sha256, size: c.size }));
  // The chunks this process kept from earlier commits count: verifyChunks asks the store about each.
  const cache = new ChunkCache(undefined, true);
  // Chunks only secret-bearing kinds reference stay staged until redaction has run.
  const deferred = onlySecretBearing(req);
  let verified: VerifiedChunks;
  try {
    verified = await verifyChunks(db, store, { id: captureId, host: cap.host }, distinct, now(), cache, deferred, records);
  } catch (e) {
    // A concurrent commit of this capture that finished first removed the staged uploads.
    const again = await loadCapture(db, captureId);
    if (again?.state === 'committed') return committedAnswer(db, again);
    throw e;
  }
  const { stored } = verified;
  const declared: ManifestArtifact[] = req.artifacts.map((a, i) => ({
    id: artifactId(captureId, i),
    kind: a.kind,
    fileName: a.fileName,
    sourcePath: a.sourcePath,
    device: a.device ?? null,
    size: a.size,
    sha256: a.sha256,
    chunks: a.chunks.map((c) => stored.get(c.sha256)!),
  }));
  const redaction = await redactArtifacts(db, store, now(), declared, cache);
  const publishing = await publishStaged(db, store, captureId, redaction.refs, verified.pending, verified.known, now());
  const newBlobs = [...verified.newBlobs, ...[...redaction.published, ...publishing.published].flatMap((p) => (p.newBlob ? [p.newBlob] : []))];

  // An artifact the host committed before, byte for byte, keeps that parse: nothing is read again.
  const earlier = await earlierParses(db, cap.host, publishing.refs, new Set(newBlobs.map((b) => b.sha256)));
  // Every artifact the host committed before, byte for byte: their chunk lists are those captures'.
  const unchanged = earlier.size === req.artifacts.length;
  // Artifacts this process hashed whole and parsed while their chunks arrived (ingest/arrived.ts).
  for (const [i, outcome] of await arrivedOf(store).take(captureId, publishing.refs)) if (!earlier.has(i)) earlier.set(i, outcome);
  await cache.prefetch(
    store,
    publishing.refs.flatMap((r, i) => (earlier.get(i) ? [] : r.chunks)),
  );
  const parsed: ParsedEntry[] = [];
  const budget = new CaptureParseBudget();
  // A parse runs on the event loop (a 32 MiB listing for seconds): other requests get a turn between two.
  let turn = performance.now();
  for (let i = 0; i < req.artifacts.length; i++) {
    const ref = publishing.refs[i];
    const entry = await parseStoredArtifact(db, store, ref, ref.id, i, { verifyWhole: true, cache, earlier: earlier.get(i), budget });
    parsed.push(withRedaction(entry, redaction.notes.get(i)));
    turn = await turnIfDue(turn);
  }
  // Each artifact's chunk list as a chunk (format 3): stored in the transaction below, unless
  // it has its `blobs` row (an unchanged artifact's is yesterday's).
  const lists = await encodeChunkLists(publishing.refs);
  const entries: ParsedEntry[] = parsed.map((e, i) => ({ ...e, ref: { ...e.ref, chunkList: lists.lists[i] } }));
  // Their rows go with the chunks' (kept where one is): COMMIT makes them visible only after the
  // lists are stored.
  const blobRows = [...newBlobs, ...chunkListRows(lists, now())];

  const committedAt = now();
  // A collector clock ahead of the receipt: the capture is stored at its receipt time (the
  // manifest keeps the time sent, and rebuild applies the same rule).
  const collected = storedCollectionTime(cap.collectedAt, cap.receivedAt);
  const record: CaptureRecord = {
    captureId,
    host: req.host,
    collectedAt: collected.collectedAt,
    receivedAt: cap.receivedAt,
    committedAt,
    collectorVersion: cap.collectorVersion,
    imported: cap.imported,
    manifestKey: manifestKey(req.host.name, captureId),
  };
  const systemUuid = entries.map((e) => e.parsed?.details?.systemUuid ?? null).find((s) => !!s) ?? null;
  // The lists this commit will name, recorded on the open capture outside its transaction: a
  // commit that fails after its manifest went out (which rebuild completes) leaves the capture
  // open with its manifest naming them, and garbage collection keeps an open capture's lists as
  // it keeps its request's chunks (api/retention/gc.ts), so none it reused from an earlier
  // capture is swept before the retry.
  // A changed artifact's new list is stored while the transaction claims the capture and plans
  // its rows (storeAbsentChunkLists): the manifest then waits for no PUT. An unchanged capture's
  // lists are the earlier captures' (each artifact took its earlier parse): nothing to ask. Nor
  // does a capture of one-chunk artifacts (a storage host's listings): their lists are a few
  // hundred bytes, and the lookup ahead would be one more statement a small commit pays for.
  const listsAhead = !unchanged && publishing.refs.some((r) => r.chunks.length > 1);
  const storing = listsAhead ? storeAbsentChunkLists(db, store, lists) : null;
  storing?.catch(() => undefined); // awaited below, once the capture's lists are recorded
  await db
    .update(captures)
    .set({ chunkLists: [...lists.distinct.keys()] })
    .where(and(eq(captures.id, captureId), eq(captures.state, 'open')));
  const early = storing ? (await storing).created : Promise.resolve(new Set<string>());
  early.catch(() => undefined); // read in the transaction, which fails with it
  let written = entries;
  try {
    await db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      // Garbage collection waits for this transaction, or this one for a sweep batch to end
      // (api/retention/lock.ts); the check behind the claim then sees any chunk swept meanwhile.
      // The row lock serialises concurrent commits of one capture: the loser sees 'committed'.
      // One statement takes both: a row is claimed only once the lock is held. The capture's
      // records of chunks delivered through the catalog go in it too (a commit that rolls back
      // keeps them for the retry).
      const claim = queryRows(
        tx,
        sql`
        WITH gate AS MATERIALIZED (${INGEST_LOCK_QUERY}),
             claimed AS (
               UPDATE captures SET state = 'committed', committed_at = ${committedAt.toISOString()}::timestamptz, manifest_key = ${record.manifestKey},
                      collected_at = ${record.collectedAt.toISOString()}::timestamptz
                 FROM gate
                WHERE captures.id = ${captureId} AND captures.state = 'open'
               RETURNING captures.id),
             cleared AS (DELETE FROM capture_chunks WHERE capture_id = ${captureId} AND EXISTS (SELECT 1 FROM claimed))
        SELECT id FROM claimed`,
      );
      // Sent right behind the claim, so it runs once the lock is held.
      const inserting = new Set(newBlobs.map((b) => b.sha256));
      const check = sweptMeanwhile(
        tx,
        entries.flatMap((e) => e.ref.chunks.map((c) => c.sha256)).filter((s) => !inserting.has(s)),
      );
      // Which chunk lists are stored already, asked under the lock too (listsWithRows says why).
      const listed = listsWithRows(tx, lists);
      // The chunks with an open chunk-corrupt event, asked in the same pipeline rather than in a
      // round trip of its own at the end (resolveChunkCorrupt below).
      const corrupt = openChunkCorrupt(tx);
      corrupt.catch(() => undefined); // read below, or settled with the pipeline when the transaction is refused
      // The rows follow in the same pipeline (writeCapture); until COMMIT they are this
      // transaction's alone, and are rolled back with it when the claim or the check says no.
      const rows = writeCapture(tx, record, entries, blobRows, systemUuid, verified.held);
      rows.catch(() => undefined); // its failure is read below; it may come before the claim's answer
      const refuse = async (e: unknown): Promise<never> => {
        // Nothing of the pipeline may still be on its way when the transaction rolls back.
        await Promise.allSettled([rows, corrupt]);
        throw e;
      };
      const [claimed, swept, withRows] = await Promise.allSettled([claim, check, listed]);
      if (claimed.status === 'rejected') return refuse(claimed.reason);
      if (claimed.value.length === 0) return refuse(new AlreadyCommitted());
      if (swept.status === 'rejected') return refuse(swept.reason);
      if (withRows.status === 'rejected') return refuse(withRows.reason);
      if (swept.value.length > 0) {
        return refuse(
          new ApiError('service_unavailable', `chunk ${swept.value[0]} was removed by garbage collection during this commit; begin the capture again`),
        );
      }
      // The bucket is the source of truth: the manifest is written before the
      // transaction commits. A committed row without a manifest would be lost by rebuild;
      // a manifest without a committed row (COMMIT failed after this put, or the rows
      // did) is completed by rebuild, and the client, told the commit failed, retries it
      // with the same id: whichever comes first indexes the capture, the other finds it
      // committed and answers the same artifact ids (see rebuildCatalog).
      // test/api/rebuild.completes-manifest-of-failed-commit-once.test.ts shows both orders.
      // The manifest names only what this commit announced (not the parse results the rows
      // may turn into parse errors), so it is written while the rows are, once the capture is
      // claimed: the transaction stays open for the longer of the two, not their sum.
      // Format 3 (api/pipeline/manifest.ts): each artifact's chunk list named by its hash, the
      // lists the catalog lacks stored first (a manifest never names an absent object), their
      // `blobs` rows inserted with the artifacts that name them.
      const ahead = await early.catch(refuse);
      const newLists = storeChunkLists(store, lists, new Set([...withRows.value.stored, ...ahead]), new Set(withRows.value.doubted)).then((r) => ({
        ...r,
        created: [...ahead, ...r.created],
      }));
      const manifest = newLists
        .then(() => encodeManifest(buildManifest({ ...record, collectedAt: cap.collectedAt }, entries)))
        .then((bytes) => store.put(record.manifestKey, bytes));
      const [done, put] = await Promise.allSettled([rows, manifest]);
      if (done.status === 'rejected') throw done.reason;
      if (put.status === 'rejected') throw put.reason;
      written = done.value;
      const listsStored = await newLists;
      for (const { sha256, storedSize } of listsStored.resized) await tx.update(blobs).set({ storedSize }).where(eq(blobs.sha256, sha256));
      // A doubted list was stored again just now: its record vouches for it from here on.
      if (withRows.value.doubted.length > 0) await markVerified(tx, withRows.value.doubted, committedAt);
      // Webhooks for the drift this capture raised: queued with it, sent after it commits.
      await enqueueCaptureEvents(tx, services.config, committedAt, captureId);
      // A chunk the scrub found corrupt and this commit stored whole again (bytes it verified,
      // or a chunk list it encoded): its chunk-corrupt events are resolved.
      const whole = await resolveChunkCorrupt(tx, [...newBlobs.map((b) => b.sha256), ...listsStored.created], committedAt, corrupt);
      await enqueueEvents(tx, services.config, committedAt, 'event.resolved', whole);
    });
  } catch (e) {
    if (e instanceof AlreadyCommitted) return committedAnswer(db, (await loadCapture(db, captureId))!);
    throw e;
  }
  // Uploads to this capture are now useless: its staged objects go (the fs upload route
  // refuses its keys from here on); what a crash leaves behind, the sweep removes. They go
  // after the answer, but before it where redaction rewrote an artifact: its staged chunks
  // hold the secrets the catalog removed, which must not outlive the answer.
  if (!options.stagingUnused)
    await store
      .closeStaging(captureId, { background: redaction.notes.size === 0 })
      .catch((e) => services.logger.warn('staging cleanup failed', { captureId, error: (e as Error).message }));
  receivedOf(store).forget(
    captureId,
    distinct.map((c) => c.sha256),
  );
  await maybeSweepStaging(services);
  // Health events across hosts (target-guid-mismatch, backing-store-missing; host-stale
  // resolved) and webhook delivery: after the commit, never failing it. Waiting for the
  // shared pass holds no connection, so the ingest gate's slot goes to the next request.
  leaveIngestGate(services, captureId);
  const clock = collected.aheadMs === null ? null : { sentAt: cap.collectedAt, receivedAt: cap.receivedAt, aheadMs: collected.aheadMs };
  // Chunks stored again may also be the last a chunk-missing event of its volumes or host waited
  // for: the same pass resolves those (api/events/chunk-missing.ts), once for all its captures.
  await afterCommit(services, { captureId, host: req.host.name, clock });
  return {
    captureId,
    state: 'committed',
    committedAt: committedAt.toISOString(),
    manifestKey: record.manifestKey,
    artifacts: written.map((e) => summarize({ ...e, kind: e.ref.kind, fileName: e.ref.fileName })),
    ...(clock ? { clockSkew: clockSkewAnswer(req.host.name, clock) } : {}),
  };
}

/** What the commit tells a collector whose clock is ahead: the times, and one line to show. */
function clockSkewAnswer(host: string, clock: { sentAt: Date; receivedAt: Date; aheadMs: number }): NonNullable<CommitResponse['clockSkew']> {
  return {
    collectedAt: clock.sentAt.toISOString(),
    storedAs: clock.receivedAt.toISOString(),
    aheadSeconds: Math.floor(clock.aheadMs / 1000),
    message: `${host}'s clock is ${describeAhead(clock.aheadMs)} ahead of the catalog's: this capture, collected at ${clock.sentAt.toISOString()} by it, is stored as collected at ${clock.receivedAt.toISOString()}; set the clock right (NTP)`,
  };
}
