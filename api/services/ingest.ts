/**
 * The write side of the ingest protocol (DESIGN.md, "Ingest protocol"):
 * begin (which chunks the store lacks, with upload URLs) and commit (verify every
 * chunk, parse every artifact, index in one transaction, write the manifest).
 * The server never trusts client metadata: sizes and hashes are checked against
 * the stored bytes, and every artifact is parsed here.
 */
import { createHash } from 'node:crypto';
import { and, desc, eq, inArray, lt } from 'drizzle-orm';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import type {
  ArtifactRef, ArtifactSummary, BeginRequest, BeginResponse, CaptureManifest, ChunkEncoding, CommitResponse, HostRef, UploadTarget,
} from '../../formats/protocol.js';
import type { ArtifactKind, ParsedArtifact } from '../../formats/types.js';
import { isFormatError } from '../../formats/errors.js';
import { parseArtifact } from '../../formats/parse.js';
import { detect } from '../../formats/detect.js';
import type { Db } from '../../db/client.js';
import { artifacts, blobs, captures, events, extents, segments } from '../../db/schema.js';
import { assertHostAllowed } from '../auth.js';
import type { Principal, Services } from '../context.js';
import { ApiError, annotateError } from '../errors.js';
import { manifestKey, stagingKey, stagingPrefix, type BlobStore } from '../store/types.js';
import { assembleArtifact, ChunkCache, ChunkError, decodeChunk, parseWindow } from './chunks.js';
import { detectDrift, type DriftEvent, type Observation } from './drift.js';
import { mayNeedRedaction, redactArtifacts, type RedactionNote } from './redaction.js';
import {
  confirmHeld, heldByHost, knownBlobs, markMissing, maybeSweepStaging, pool, presenceOf, publishChunk, recordHeld, type Published,
} from './staging.js';
import { checkBeginLimits } from './limits.js';
import { cleanJson, foundIds, indexRows, unindexableReason, upsertHost, writeIndexedRows, type ArtifactContext } from './indexer.js';

/** One chunk as a manifest records it: how it actually rests in the store. */
export interface StoredChunk { sha256: string; size: number; encoding: ChunkEncoding; storedSize: number }
export type ManifestArtifact = CaptureManifest['artifacts'][number];

/**
 * Deterministic artifact id from (captureId, index), shaped like a UUID (version
 * nibble 5, RFC 4122 variant), so `rebuild` recreates the same ids and links.
 */
export function artifactId(captureId: string, index: number): string {
  const b = createHash('sha256').update(`vmfs-catalog/artifact/${captureId}/${index}`).digest();
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * What identifies a capture: host, collection time (as an instant, so a retry may spell it
 * differently) and content — everything but how chunks travel (a repeat may add encodings).
 * `captures.collected_at` is written by the first begin only, so a repeat with another
 * time must be refused rather than let the stored request disagree with it.
 */
function captureIdentity(req: BeginRequest): string {
  const at = new Date(req.collectedAt);
  return JSON.stringify({
    host: req.host.name,
    collectedAt: Number.isNaN(at.getTime()) ? req.collectedAt : at.toISOString(),
    artifacts: req.artifacts.map((a) => [a.kind, a.fileName, a.sourcePath, a.device ?? null, a.size, a.sha256, a.chunks.map((c) => [c.sha256, c.size])]),
  });
}

/** Every distinct chunk of a request, first declaration first. */
function distinctChunks(req: BeginRequest): Map<string, ArtifactRef['chunks'][number]> {
  const m = new Map<string, ArtifactRef['chunks'][number]>();
  for (const a of req.artifacts) for (const c of a.chunks) {
    const prev = m.get(c.sha256);
    // A later declaration with an encoding refines one without.
    if (!prev || (!prev.encoding && c.encoding)) m.set(c.sha256, c);
  }
  return m;
}

/** Stored sizes of a capture's staged uploads, by chunk hash (one listing). */
async function stagedSizes(store: BlobStore, captureId: string): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  const prefix = stagingPrefix(captureId);
  for await (const o of store.list(prefix)) m.set(o.key.slice(prefix.length), o.size);
  return m;
}

/** POST /v1/captures: records the capture (idempotent on its id) and answers which chunks to upload where. */
export async function beginCapture(services: Services, principal: Principal, request: BeginRequest): Promise<BeginResponse> {
  const { db, store, config, now } = services;
  const req: BeginRequest = { ...request, captureId: request.captureId.toLowerCase() };
  assertHostAllowed(principal, req.host.name);
  checkBeginLimits(req);
  const collectedAt = new Date(req.collectedAt);
  if (Number.isNaN(collectedAt.getTime())) throw new ApiError('bad_request', `collectedAt is not a date: ${req.collectedAt}`);

  await db.insert(captures).values({
    id: req.captureId, host: req.host.name, state: 'open', collectedAt, receivedAt: now(),
    collectorVersion: req.collector.version, request: req,
  }).onConflictDoNothing();
  const [row] = await db.select().from(captures).where(eq(captures.id, req.captureId));
  const accepted = row.request as BeginRequest;
  if (row.host !== req.host.name || captureIdentity(accepted) !== captureIdentity(req)) {
    throw new ApiError('conflict', `capture ${req.captureId} already exists with a different host, collection time or artifacts; pick a new capture id`);
  }
  const chunks = distinctChunks(req);
  const shas = [...chunks.keys()];
  if (row.state === 'committed') return { captureId: req.captureId, state: 'committed', missing: [], present: shas };
  // A repeat may declare encodings the first call did not: keep the newest declaration.
  // The time of this begin starts its upload URLs' lives (the staging sweep waits for them).
  const changed = JSON.stringify(accepted) !== JSON.stringify(req);
  await db.update(captures).set({ lastBegunAt: now(), ...(changed ? { request: req } : {}) }).where(eq(captures.id, req.captureId));

  // Present means: this host holds the chunk (dedup is per host, see services/staging.ts) and
  // the store answers that it has it, or this capture already staged it (the commit verifies).
  const held = await confirmHeld(db, store, now(), req.host.name, shas);
  const staged = await stagedSizes(store, req.captureId);
  const present: string[] = [];
  const lacking: string[] = [];
  for (const sha of shas) {
    const c = chunks.get(sha)!;
    if (held.has(sha) || staged.get(sha) === (c.storedSize ?? c.size)) present.push(sha);
    else lacking.push(sha);
  }
  // S3 servers verify Content-MD5, which is what binds an upload URL to one body; only
  // chunks that need an upload URL must declare it.
  const noMd5 = store.kind === 's3' ? lacking.filter((sha) => !chunks.get(sha)!.storedMd5) : [];
  if (noMd5.length > 0) {
    throw new ApiError('bad_request', `chunk ${noMd5[0]}${noMd5.length > 1 ? ` (and ${noMd5.length - 1} more)` : ''} needs storedMd5 (base64 MD5 of the bytes as uploaded): this catalog stores chunks in S3, which binds upload URLs to it`);
  }
  const missing: UploadTarget[] = [];
  if (lacking.length > 0) await store.openStaging(req.captureId);
  await pool(lacking, 16, async (sha) => {
    const c = chunks.get(sha)!;
    const encoding = c.encoding ?? 'identity';
    // Never the chunk's own key: an upload lands in this capture's staging area and is
    // published by the commit only after verification (write once).
    const signed = await store.presignPut(stagingKey(req.captureId, sha), {
      contentLength: c.storedSize ?? c.size,
      payloadSha256: c.storedSha256 ?? sha,
      ...(c.storedMd5 ? { contentMd5: c.storedMd5 } : {}),
      expiresInSeconds: config.UPLOAD_URL_TTL,
    });
    missing.push({ sha256: sha, encoding, method: 'PUT', url: signed.url, headers: signed.headers, expiresAt: signed.expiresAt.toISOString() });
  });
  const order = new Map(shas.map((s, i) => [s, i]));
  missing.sort((a, b) => order.get(a.sha256)! - order.get(b.sha256)!);
  present.sort((a, b) => order.get(a)! - order.get(b)!);
  return { captureId: req.captureId, state: 'open', missing, present };
}

type BlobRow = typeof blobs.$inferInsert;

/** What verifyChunks found: every chunk as it rests (or will rest), and the staged ones still to publish. */
export interface VerifiedChunks {
  stored: Map<string, StoredChunk>;
  newBlobs: BlobRow[];
  /** Verified staged chunks left unpublished (`deferred`): publishStaged decides after redaction. */
  pending: Set<string>;
}

/**
 * Checks every chunk of a capture, and publishes what it verified. A chunk this capture
 * staged is read back, inflated (bounded), hashed, and published under its chunk key
 * write-once (a bad one is deleted so a retry can upload it again). A chunk not staged
 * counts only when the capture's host holds it (dedup is per host) and the store has it
 * with the stored size `blobs` recorded; anything else was never uploaded. Chunks in
 * `deferred` (those only secret-bearing kinds reference) are verified but stay staged.
 */
export async function verifyChunks(
  db: Db, store: BlobStore, capture: { id: string; host: string }, chunks: Array<{ sha256: string; size: number }>, at: Date,
  cache: ChunkCache = new ChunkCache(), deferred: ReadonlySet<string> = new Set(),
): Promise<VerifiedChunks> {
  const shas = chunks.map((c) => c.sha256);
  const known = await knownBlobs(db, shas);
  const held = await heldByHost(db, capture.host, shas);
  const staged = await stagedSizes(store, capture.id);
  const presence = presenceOf(store);
  const stored = new Map<string, StoredChunk>();
  const newBlobs: BlobRow[] = [];
  const pending = new Set<string>();
  const lost: string[] = [];
  const problems: Array<{ sha256: string; reason: string; message: string }> = [];
  await pool(chunks, 8, async (c) => {
    const k = known.get(c.sha256);
    if (!staged.has(c.sha256)) {
      // The same message whether or not another host holds the chunk: no existence oracle.
      const never = { sha256: c.sha256, reason: 'missing', message: `chunk ${c.sha256} was never uploaded` };
      if (!held.has(c.sha256) || !k || k.size !== c.size) { problems.push(never); return; }
      const size = await presence.storedSize(c.sha256, at.getTime());
      if (size === k.storedSize) {
        stored.set(c.sha256, { sha256: c.sha256, size: c.size, encoding: k.encoding as ChunkEncoding, storedSize: k.storedSize });
        return;
      }
      if (size === null) lost.push(c.sha256);
      problems.push({ sha256: c.sha256, reason: 'missing', message: `chunk ${c.sha256} is no longer in the store; upload it again` });
      return;
    }
    const key = stagingKey(capture.id, c.sha256);
    try {
      const bytes = await store.getBytes(key);
      if (!bytes) throw new ChunkError(c.sha256, 'missing', `chunk ${c.sha256} was never uploaded`);
      const v = await decodeChunk(c.sha256, c.size, bytes);
      // The parse that follows needs these bytes again: keep them rather than read twice.
      cache.add(c.sha256, v.bytes);
      if (deferred.has(c.sha256)) {
        cache.locate(c.sha256, key);
        pending.add(c.sha256);
        stored.set(c.sha256, { sha256: c.sha256, size: c.size, encoding: v.encoding, storedSize: v.storedSize });
        return;
      }
      const done = await publishChunk(db, store, at, { ...v, sha256: c.sha256, storedBytes: bytes }, k);
      stored.set(c.sha256, done.stored);
      if (done.newBlob) newBlobs.push(done.newBlob);
    } catch (e) {
      if (!(e instanceof ChunkError)) throw e;
      problems.push({ sha256: c.sha256, reason: e.reason, message: e.message });
      if (e.reason !== 'missing') await store.delete(key).catch(() => {});
    }
  });
  await markMissing(db, store, lost);
  if (problems.length > 0) {
    problems.sort((a, b) => a.sha256.localeCompare(b.sha256));
    const tooLarge = problems.find((p) => p.reason === 'too-large');
    const shown = problems.slice(0, 5).map((p) => p.message).join('; ');
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
    throw new ApiError(tooLarge ? 'payload_too_large' : 'unprocessable', `the capture cannot be committed: ${shown}${more}; upload the chunks again and retry`, { chunks: problems });
  }
  return { stored, newBlobs, pending };
}

/**
 * Publishes the verified staged chunks verifyChunks held back that the artifacts, as they
 * will be stored (after redaction), still reference; answers those artifacts with the
 * chunks as they then rest. Chunks only a redacted original referenced are never published.
 */
async function publishStaged(
  db: Db, store: BlobStore, captureId: string, refs: ManifestArtifact[], pending: ReadonlySet<string>, at: Date,
): Promise<{ refs: ManifestArtifact[]; published: Published[] }> {
  const wanted = [...new Set(refs.flatMap((r) => r.chunks.map((c) => c.sha256)).filter((s) => pending.has(s)))];
  const known = await knownBlobs(db, wanted);
  const done = new Map<string, Published>();
  await pool(wanted, 8, async (sha) => {
    const size = refs.flatMap((r) => r.chunks).find((c) => c.sha256 === sha)!.size;
    const bytes = await store.getBytes(stagingKey(captureId, sha));
    if (!bytes) throw new ApiError('unprocessable', `chunk ${sha} vanished from staging during the commit; retry`);
    const v = await decodeChunk(sha, size, bytes);
    done.set(sha, await publishChunk(db, store, at, { ...v, sha256: sha, storedBytes: bytes }, known.get(sha)));
  });
  return {
    refs: refs.map((r) => ({ ...r, chunks: r.chunks.map((c) => done.get(c.sha256)?.stored ?? c) })),
    published: [...done.values()],
  };
}

/** An artifact after parsing: what gets written to the catalog. */
export interface ParsedEntry {
  id: string;
  index: number;
  ref: ManifestArtifact;
  parseStatus: 'ok' | 'error' | 'opaque';
  parseError: { code: string; message: string } | null;
  parsed: ParsedArtifact | null;
  /** Set when the catalog redacted secrets from the uploaded bytes before storing them. */
  redaction?: RedactionNote | null;
}

/** An entry of a redacted artifact: the note on the entry and in its parsed details (`serverRedaction`). */
function withRedaction(entry: ParsedEntry, note: RedactionNote | undefined): ParsedEntry {
  if (!note) return entry;
  const parsed = entry.parsed ? { ...entry.parsed, details: { ...entry.parsed.details, serverRedaction: note } } : null;
  return { ...entry, parsed, redaction: note };
}

/** Kinds whose bytes are never parsed (FORMATS.md §7: no public format). */
const OPAQUE_KINDS: ReadonlySet<ArtifactKind> = new Set(['vmfs-undelete']);

/**
 * An artifact committed before with the same bytes (hash and chunk list) and kind: a daily
 * run of an unchanged host. Its chunks and whole hash were verified then, and parsing is a
 * pure function of the bytes, so its parse result is reused (a parser change is what
 * `reindex` is for). This keeps an unchanged commit from re-reading every dump.
 */
async function committedBefore(db: Db, ref: ManifestArtifact): Promise<Pick<ParsedEntry, 'parseStatus' | 'parseError' | 'parsed'> | null> {
  const rows = await db.select({ kind: artifacts.kind, chunks: artifacts.chunks, parseStatus: artifacts.parseStatus, parseError: artifacts.parseError, parsed: artifacts.parsed })
    .from(artifacts).where(eq(artifacts.sha256, ref.sha256)).orderBy(desc(artifacts.collectedAt)).limit(5);
  const want = ref.chunks.map((c) => c.sha256).join(',');
  const same = rows.find((r) => r.kind === ref.kind && (r.chunks as StoredChunk[]).map((c) => c.sha256).join(',') === want);
  if (!same) return null;
  return {
    parseStatus: same.parseStatus as ParsedEntry['parseStatus'],
    parseError: (same.parseError as ParsedEntry['parseError']) ?? null,
    parsed: (same.parsed as ParsedArtifact | null) ?? null,
  };
}

/**
 * Reads (the parse window of) an artifact, checks its whole SHA-256 against its
 * chunks, and parses it. A parse failure is recorded on the artifact, not thrown.
 * With `verifyWhole` (a commit), bytes committed before are neither re-read nor re-parsed.
 */
export async function parseStoredArtifact(db: Db, store: BlobStore, ref: ManifestArtifact, id: string, index: number, options: { verifyWhole: boolean; kindFilter?: ArtifactKind; cache?: ChunkCache }): Promise<ParsedEntry> {
  const opaque = OPAQUE_KINDS.has(ref.kind);
  if (options.verifyWhole) {
    const before = await committedBefore(db, ref);
    if (before) return { id, index, ref, ...before };
  }
  const window = opaque ? 0 : parseWindow(ref.kind, ref.size);
  const needWhole = options.verifyWhole;
  let bytes: Uint8Array = new Uint8Array(0);
  if (window > 0 || needWhole) {
    let assembled;
    try {
      assembled = await assembleArtifact(store, ref.chunks, { window, hashAll: needWhole, cache: options.cache });
    } catch (e) {
      if (e instanceof ChunkError) {
        // reindex and rebuild come here too: a chunk the store lost is no longer called present.
        if (e.reason === 'missing') await markMissing(db, store, [e.sha256]);
        throw new ApiError('unprocessable', `artifact ${index} (${ref.fileName}): ${e.message}`);
      }
      throw e;
    }
    if (needWhole && assembled.sha256 !== ref.sha256) {
      throw new ApiError('unprocessable', `artifact ${index} (${ref.fileName}): its chunks hash to ${assembled.sha256}, not the announced ${ref.sha256}`);
    }
    bytes = assembled.bytes;
  }
  const entry: ParsedEntry = { id, index, ref, parseStatus: 'opaque', parseError: null, parsed: null };
  if (opaque) return entry;
  let kind: ArtifactKind = ref.kind;
  if (kind === 'unknown') {
    kind = detect(bytes, ref.fileName);
    if (kind === 'unknown' || OPAQUE_KINDS.has(kind)) return entry;
  }
  // A vmfs-header longer than the window parses from its first 64 MiB, which hold
  // every header structure (see PARSE_LIMIT_BYTES); any other kind that long is refused.
  if (ref.size > window && kind !== 'vmfs-header') {
    entry.parseStatus = 'error';
    entry.parseError = { code: 'too_large', message: `a ${kind} artifact of ${ref.size} bytes is over the ${window}-byte parse limit` };
    return entry;
  }
  try {
    // The device a header dump was read from settles which device-id layout it holds (docs/formats.md §1).
    entry.parsed = cleanJson(parseArtifact(kind, bytes, { deviceName: ref.device ?? ref.sourcePath }));
    entry.parseStatus = 'ok';
  } catch (e) {
    // A parser that trips over its input in any other way is still refusing those bytes:
    // the artifact is kept as a parse error, never a 5xx for the whole capture.
    entry.parseStatus = 'error';
    entry.parseError = isFormatError(e)
      ? cleanJson({ code: e.code, message: e.message })
      : cleanJson({ code: 'parser_failed', message: `the ${kind} parser failed on these bytes: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`.slice(0, 500) });
  }
  return entry;
}

/** The capture as the catalog records it. */
export interface CaptureRecord {
  captureId: string;
  host: HostRef;
  collectedAt: Date;
  receivedAt: Date;
  committedAt: Date;
  collectorVersion: string;
  manifestKey: string;
}

/** Finds the previous observation of the same extent (by extent UUID) or volume (`.vh.sf`, by VMFS UUID). */
async function previousObservation(tx: Db, kind: ArtifactKind, current: Observation, before: Date): Promise<Observation | null> {
  let prevId: string | undefined;
  if (kind === 'vmfs-header' && current.extentUuid) {
    const [r] = await tx.select({ id: extents.artifactId }).from(extents)
      .where(and(eq(extents.extentUuid, current.extentUuid), eq(extents.source, 'header'), lt(extents.seenAt, before)))
      .orderBy(desc(extents.seenAt)).limit(1);
    prevId = r?.id;
  } else if (kind === 'vh-sf' && current.vmfsUuid) {
    const [r] = await tx.select({ id: segments.artifactId }).from(segments)
      .innerJoin(artifacts, eq(artifacts.id, segments.artifactId))
      .where(and(eq(segments.vmfsUuid, current.vmfsUuid), eq(artifacts.kind, 'vh-sf'), lt(segments.seenAt, before)))
      .orderBy(desc(segments.seenAt)).limit(1);
    prevId = r?.id;
  }
  if (!prevId) return null;
  const [a] = await tx.select().from(artifacts).where(eq(artifacts.id, prevId));
  if (!a?.parsed) return null;
  const rows = indexRows({ artifactId: a.id, captureId: a.captureId, host: a.host, collectedAt: a.collectedAt, kind: a.kind as ArtifactKind, device: a.device }, a.parsed as ParsedArtifact);
  return rows.observations[0] ?? null;
}

/**
 * Writes one parsed artifact's rows and its drift events (against the previous
 * capture of the same extent or volume). Used by commit, rebuild and reindex.
 */
export async function indexEntry(tx: Db, record: Pick<CaptureRecord, 'captureId' | 'host' | 'collectedAt' | 'committedAt'>, entry: ParsedEntry): Promise<void> {
  const ctx: ArtifactContext = {
    artifactId: entry.id, captureId: record.captureId, host: record.host.name, collectedAt: record.collectedAt,
    kind: entry.ref.kind, device: entry.ref.device ?? null,
  };
  const drift: DriftEvent[] = [];
  if (entry.parsed) {
    const rows = indexRows(ctx, entry.parsed);
    for (const obs of rows.observations) {
      drift.push(...detectDrift(await previousObservation(tx, entry.parsed.kind, obs, record.collectedAt), obs));
    }
    await writeIndexedRows(tx, rows);
  } else if (entry.parseError) {
    drift.push(...detectDrift(null, { deviceId: null, vmfsUuid: null, parseError: entry.parseError }));
  }
  if (drift.length > 0) {
    await tx.insert(events).values(drift.map((d) => ({
      type: d.type, severity: d.severity, vmfsUuid: d.vmfsUuid, deviceId: d.deviceId, host: record.host.name,
      captureId: record.captureId, artifactId: entry.id, message: `${entry.ref.fileName}: ${d.message}`, details: d.details,
      createdAt: record.committedAt,
    })));
  }
}

function artifactRow(record: Pick<CaptureRecord, 'captureId' | 'host' | 'collectedAt'>, e: ParsedEntry): typeof artifacts.$inferInsert {
  return {
    id: e.id, captureId: record.captureId, host: record.host.name, collectedAt: record.collectedAt, kind: e.ref.kind,
    fileName: e.ref.fileName, sourcePath: e.ref.sourcePath, device: e.ref.device ?? null, size: e.ref.size, sha256: e.ref.sha256,
    chunks: e.ref.chunks, parseStatus: e.parseStatus, parseError: e.parseError, parsed: e.parsed, redaction: e.redaction ?? null,
  };
}

/** The entry an artifact becomes when the catalog cannot index what its parser returned. */
export function unindexedEntry(entry: ParsedEntry, reason: string): ParsedEntry {
  return { ...entry, parseStatus: 'error', parseError: { code: 'unindexable', message: reason }, parsed: null };
}

/**
 * Writes one artifact's row, child rows and events inside a savepoint. When the database
 * refuses what the bytes produced (see unindexableReason), that savepoint is rolled back
 * and the artifact is recorded as a parse error with the reason, so the rest of the
 * capture still commits. Returns the entry as written.
 */
export async function writeArtifactGuarded(
  tx: Db, record: Pick<CaptureRecord, 'captureId' | 'host' | 'collectedAt' | 'committedAt'>, entry: ParsedEntry,
  write: (sp: Db, entry: ParsedEntry) => Promise<void>,
): Promise<ParsedEntry> {
  try {
    await tx.transaction(async (sp) => write(sp as unknown as Db, entry));
    return entry;
  } catch (e) {
    const reason = unindexableReason(e);
    if (!reason) throw e;
    const failed = unindexedEntry(entry, reason);
    await write(tx, failed);
    return failed;
  }
}

/**
 * Inserts a committed capture's artifacts and every row they produce (inside the caller's
 * transaction) and returns the entries as written. All artifacts go in one savepoint
 * first; when the database refuses one of them, that savepoint is rolled back and each
 * artifact is written in its own, so one unindexable artifact becomes a parse error
 * instead of failing the capture.
 */
export async function writeCapture(tx: Db, record: CaptureRecord, entries: ParsedEntry[], newBlobs: BlobRow[], hostSystemUuid: string | null): Promise<ParsedEntry[]> {
  for (let i = 0; i < newBlobs.length; i += 500) {
    await tx.insert(blobs).values(newBlobs.slice(i, i + 500)).onConflictDoNothing();
  }
  // The host now holds every chunk its capture references (dedup scope, services/staging.ts).
  await recordHeld(tx, record.host.name, entries.flatMap((e) => e.ref.chunks.map((c) => c.sha256)));
  const systemUuid = cleanJson(hostSystemUuid ?? record.host.systemUuid ?? null);
  await upsertHost(tx, { name: record.host.name, kind: record.host.kind, systemUuid, seenAt: record.collectedAt, captureId: record.captureId });
  try {
    await tx.transaction(async (spRaw) => {
      const sp = spRaw as unknown as Db;
      const rows = entries.map((e) => artifactRow(record, e));
      for (let i = 0; i < rows.length; i += 200) await sp.insert(artifacts).values(rows.slice(i, i + 200));
      for (const e of entries) await indexEntry(sp, record, e);
    });
    return entries;
  } catch (e) {
    if (!unindexableReason(e)) throw e;
  }
  const written: ParsedEntry[] = [];
  for (const entry of entries) {
    written.push(await writeArtifactGuarded(tx, record, entry, async (sp, x) => {
      await sp.insert(artifacts).values(artifactRow(record, x));
      await indexEntry(sp, record, x);
    }).catch((e: unknown) => { throw annotateError(e, { artifactId: entry.id }); }));
  }
  return written;
}

/** The summary a commit answers for one artifact. */
export function summarize(e: Pick<ParsedEntry, 'id' | 'parseStatus' | 'parseError' | 'parsed'> & { kind: ArtifactKind; fileName: string }): ArtifactSummary {
  return { id: e.id, kind: e.kind, fileName: e.fileName, parseStatus: e.parseStatus, parseError: e.parseError, found: foundIds(e.parsed) };
}

/** The manifest object of a committed capture: self-describing, enough for `rebuild`. */
export function buildManifest(record: CaptureRecord, entries: ParsedEntry[]): CaptureManifest {
  return {
    format: 'vmfs-catalog-manifest/1',
    captureId: record.captureId,
    host: record.host,
    collectedAt: record.collectedAt.toISOString(),
    receivedAt: record.receivedAt.toISOString(),
    committedAt: record.committedAt.toISOString(),
    collector: { version: record.collectorVersion },
    artifacts: entries.map((e) => e.ref),
  };
}

async function committedAnswer(db: Db, captureId: string): Promise<CommitResponse> {
  const [cap] = await db.select().from(captures).where(eq(captures.id, captureId));
  const req = cap.request as BeginRequest;
  const ids = req.artifacts.map((_, i) => artifactId(captureId, i));
  const rows = ids.length ? await db.select().from(artifacts).where(inArray(artifacts.id, ids)) : [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  return {
    captureId,
    state: 'committed',
    committedAt: cap.committedAt!.toISOString(),
    manifestKey: cap.manifestKey!,
    artifacts: ids.map((id) => byId.get(id)).filter((r) => r !== undefined).map((r) => summarize({
      id: r.id, kind: r.kind as ArtifactKind, fileName: r.fileName, parseStatus: r.parseStatus as ParsedEntry['parseStatus'],
      parseError: r.parseError as ParsedEntry['parseError'], parsed: r.parsed as ParsedArtifact | null,
    })),
  };
}

class AlreadyCommitted extends Error {}

/** POST /v1/captures/{id}/commit: verify, parse, index in one transaction, write the manifest. */
export async function commitCapture(services: Services, principal: Principal, captureId: string): Promise<CommitResponse> {
  const { db, store, now } = services;
  const [cap] = await db.select().from(captures).where(eq(captures.id, captureId));
  if (!cap) throw new ApiError('not_found', `no capture ${captureId}; begin it first with POST /v1/captures`);
  assertHostAllowed(principal, cap.host);
  if (cap.state === 'committed') return committedAnswer(db, captureId);

  const req = cap.request as BeginRequest;
  const distinct = [...distinctChunks(req).values()].map((c) => ({ sha256: c.sha256, size: c.size }));
  const cache = new ChunkCache();
  // Chunks only secret-bearing kinds reference stay staged until redaction has run.
  const otherwise = new Set(req.artifacts.filter((a) => !mayNeedRedaction(a.kind)).flatMap((a) => a.chunks.map((c) => c.sha256)));
  const deferred = new Set(distinct.map((c) => c.sha256).filter((s) => !otherwise.has(s)));
  let verified: VerifiedChunks;
  try {
    verified = await verifyChunks(db, store, { id: captureId, host: cap.host }, distinct, now(), cache, deferred);
  } catch (e) {
    // A concurrent commit of this capture that finished first removed the staged uploads.
    const [again] = await db.select({ state: captures.state }).from(captures).where(eq(captures.id, captureId));
    if (again?.state === 'committed') return committedAnswer(db, captureId);
    throw e;
  }
  const { stored } = verified;
  const declared: ManifestArtifact[] = req.artifacts.map((a, i) => ({
    id: artifactId(captureId, i), kind: a.kind, fileName: a.fileName, sourcePath: a.sourcePath, device: a.device ?? null,
    size: a.size, sha256: a.sha256, chunks: a.chunks.map((c) => stored.get(c.sha256)!),
  }));
  const redaction = await redactArtifacts(db, store, now(), declared, cache);
  const publishing = await publishStaged(db, store, captureId, redaction.refs, verified.pending, now());
  const newBlobs = [...verified.newBlobs, ...[...redaction.published, ...publishing.published].flatMap((p) => (p.newBlob ? [p.newBlob] : []))];

  const entries: ParsedEntry[] = [];
  for (let i = 0; i < req.artifacts.length; i++) {
    const ref = publishing.refs[i];
    const entry = await parseStoredArtifact(db, store, ref, ref.id, i, { verifyWhole: true, cache });
    entries.push(withRedaction(entry, redaction.notes.get(i)));
  }

  const committedAt = now();
  const record: CaptureRecord = {
    captureId, host: req.host, collectedAt: cap.collectedAt, receivedAt: cap.receivedAt, committedAt,
    collectorVersion: cap.collectorVersion, manifestKey: manifestKey(req.host.name, captureId),
  };
  const systemUuid = entries.map((e) => e.parsed?.details?.systemUuid ?? null).find((s) => !!s) ?? null;
  let written = entries;
  try {
    await db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      // The row lock serialises concurrent commits of one capture: the loser sees 'committed'.
      const claimed = await tx.update(captures).set({ state: 'committed', committedAt, manifestKey: record.manifestKey })
        .where(and(eq(captures.id, captureId), eq(captures.state, 'open'))).returning({ id: captures.id });
      if (claimed.length === 0) throw new AlreadyCommitted();
      written = await writeCapture(tx, record, entries, newBlobs, systemUuid);
      // The bucket is the source of truth: the manifest is written before the
      // transaction commits. A committed row without a manifest would be lost by rebuild;
      // a manifest without a committed row (COMMIT failed after this put) is completed
      // by rebuild, and the client, told the commit failed, retries it with the same id:
      // whichever comes first indexes the capture, the other finds it committed and
      // answers the same artifact ids (see rebuildCatalog).
      // test/api/rebuild.completes-manifest-of-failed-commit-once.test.ts shows both orders.
      const manifest = JSON.stringify(buildManifest(record, entries), null, 1);
      await store.put(record.manifestKey, new TextEncoder().encode(manifest));
    });
  } catch (e) {
    if (e instanceof AlreadyCommitted) return committedAnswer(db, captureId);
    throw e;
  }
  // Uploads to this capture are now useless: its staged objects go (the fs upload route
  // refuses its keys from here on); what a crash leaves behind, the sweep removes.
  await store.closeStaging(captureId).catch((e) => services.logger.warn('staging cleanup failed', { captureId, error: (e as Error).message }));
  await maybeSweepStaging(services);
  return {
    captureId, state: 'committed', committedAt: committedAt.toISOString(), manifestKey: record.manifestKey,
    artifacts: written.map((e) => summarize({ ...e, kind: e.ref.kind, fileName: e.ref.fileName })),
  };
}
