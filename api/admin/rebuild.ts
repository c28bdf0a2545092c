/**
 * Admin operations shared by the API routes and the CLI:
 * `rebuild` recreates catalog rows from the manifests in the store alone (the bucket
 * is the source of truth), `reindex` re-parses stored artifacts after a parser changed.
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { BeginRequest, CaptureManifest } from '../../formats/protocol.js';
import type { ArtifactKind } from '../../formats/types.js';
import { queryRows, type Db } from '../../db/client.js';
import { artifacts, type blobs, captures } from '../../db/schema.js';
import type { Services } from '../context.js';
import { ApiError } from '../errors.js';
import { isManifestKey } from '../store/types.js';
import { deleteArtifactRows } from '../pipeline/indexer.js';
import { restoreTokens } from './tokens.js';
import { reevaluateHealth } from '../events/checks.js';
import { reconcileHealth } from '../events/health.js';
import { indexEntry, writeArtifactGuarded, writeCapture, type CaptureRecord } from '../pipeline/write.js';
import { CaptureParseBudget, parseStoredArtifact, type ParsedEntry } from '../pipeline/parse.js';
import { decodeManifestPartly, type LeftOutArtifact } from '../pipeline/manifest.js';
import { chunkListReader } from '../pipeline/chunk-lists.js';
import { PARSER_VERSION } from '../../formats/parse.js';
import { artifactId } from '../ingest/begin.js';
import { storedCollectionTime } from '../ingest/collector-clock.js';
import { jsonOf } from '../ingest/staging.js';

/** Progress callback: `done` of `total` items, with what is being worked on. */
export type Progress = (done: number, total: number, what: string) => void;

export interface RebuildResult {
  manifests: number;
  /** Captures recreated from their manifest. */
  captures: number;
  /** Captures already in the catalog, left as they are. */
  skipped: number;
  artifacts: number;
  /** Tokens brought back from `tokens/` (see api/admin/tokens.ts), and tokens revoked again. */
  tokens: { restored: number; revoked: number };
  errors: Array<{ key: string; message: string }>;
  /**
   * Artifacts of recreated captures left out because the chunk list their manifest names
   * (format 3) is missing or damaged: the manifest's key, the artifact's place in it (its id is
   * `artifactId(captureId, index)`), file name, list, and why. Their capture has the others.
   */
  artifactsLeftOut: Array<{ key: string } & LeftOutArtifact>;
  /**
   * Artifacts of captures already in the catalog that had no row (an earlier rebuild left them
   * out) and whose chunk list reads now: recreated in their capture, with the id of their place.
   */
  artifactsBroughtBack: Array<{ key: string; index: number; fileName: string }>;
}

/**
 * The begin request a manifest implies, stored on the recreated capture row. Its chunk lists are
 * the manifest's own: decodeManifest's chunks hold a ChunkRef's fields and nothing else.
 */
function requestOf(m: CaptureManifest): BeginRequest {
  return {
    captureId: m.captureId,
    host: m.host,
    collectedAt: m.collectedAt,
    collector: m.collector,
    artifacts: m.artifacts.map((a) => ({
      kind: a.kind,
      fileName: a.fileName,
      sourcePath: a.sourcePath,
      device: a.device ?? null,
      size: a.size,
      sha256: a.sha256,
      chunks: a.chunks,
    })),
  };
}

/**
 * The capture as the catalog records it, from its manifest: the manifest keeps the collection
 * time the collector sent, and a clock ahead of the receipt is stored as commit stored it.
 */
function recordOf(m: CaptureManifest, key: string): CaptureRecord {
  return {
    captureId: m.captureId,
    host: m.host,
    collectedAt: storedCollectionTime(new Date(m.collectedAt), new Date(m.receivedAt)).collectedAt,
    receivedAt: new Date(m.receivedAt),
    committedAt: new Date(m.committedAt),
    collectorVersion: m.collector.version,
    imported: m.collector.mode === 'import',
    manifestKey: key,
  };
}

/**
 * The `blobs` rows of these artifacts' chunks and chunk lists, known from a manifest, not asked
 * of the store: never verified (epoch), so the first begin naming a chunk asks the store before
 * `blobs` vouches for it (CHUNK_TRUST_MS, api/ingest/staging.ts).
 */
function chunkRowsOf(list: CaptureManifest['artifacts'], committedAt: Date): Array<typeof blobs.$inferInsert> {
  const rows = new Map<string, typeof blobs.$inferInsert>();
  for (const a of list)
    for (const c of a.chunkList ? [...a.chunks, a.chunkList] : a.chunks) {
      if (rows.has(c.sha256)) continue;
      const { sha256, size, encoding, storedSize } = c;
      rows.set(sha256, { sha256, size, encoding, storedSize, firstStored: committedAt, lastVerified: new Date(0) });
    }
  return [...rows.values()];
}

/** A capture committed by someone else (a commit retry) while rebuild was working on it. */
class CommittedMeanwhile extends Error {}

/**
 * Thrown inside a recreating transaction when the capture's manifest left the store since it
 * was read: a retention run dropped the capture meanwhile (its manifest deleted first, then its
 * rows). Looked at once the transaction holds the capture's row, so a drop either finished
 * before (the manifest is gone: nothing is recreated) or starts after (it drops what was written).
 */
class GoneMeanwhile extends Error {}

/** Throws GoneMeanwhile when `key` is no longer in the store. */
async function assertStillStored(store: Services['store'], key: string): Promise<void> {
  if (!(await store.head(key))) throw new GoneMeanwhile();
}

/**
 * Restores the tokens kept under `tokens/`, then recreates every capture found under
 * `manifests/` that the catalog lacks (any manifest format, api/pipeline/manifest.ts; format 3
 * with its artifacts' chunk lists, whose `blobs` rows it recreates with the chunks'): reads its
 * chunks, parses, indexes. An artifact whose chunk list is missing or damaged is left out of its
 * capture, which is recreated with the others (their ids those of their places in the manifest),
 * and reported (`artifactsLeftOut`): a list is shared by every capture of the same bytes, on
 * every host and day, and one lost object cost each of those captures all its artifacts when it
 * failed the manifest. A manifest otherwise unreadable is an error naming its key, and the
 * others are still read. Manifests are applied oldest capture first, so drift events
 * come out as they did at commit time. Captures already committed are skipped, but for the
 * artifacts of theirs their manifest names and the catalog has no row of (an earlier rebuild
 * left them out, their chunk list lost): those whose list reads again are recreated in their
 * capture (`artifactsBroughtBack`), the others reported left out again.
 *
 * A commit writes its manifest before its transaction commits (the store is the source of
 * truth), so a manifest may exist for a capture whose commit failed and whose row is still
 * open. Rebuild then completes that capture from the manifest — the collector was told the
 * commit failed and retries it with the same capture id, which finds the capture committed
 * and answers it with the same artifact ids (they derive from capture id and index). Both
 * orders give the rows once: the open row is replaced only while still open, and a capture
 * committed meanwhile by the retry is left alone and counted as skipped.
 *
 * Manifests are all read before any capture is recreated, so a retention run may drop
 * captures in between (their manifest first, then their rows): each capture is recreated only
 * if its manifest is still in the store once the transaction holds its row (GoneMeanwhile),
 * else a dropped capture came back without its manifest.
 */
export async function rebuildCatalog(services: Services, onProgress?: Progress): Promise<RebuildResult> {
  const { db, store } = services;
  const keys: string[] = [];
  const listed = new Set<string>();
  for await (const o of store.list('manifests/')) if (isManifestKey(o.key)) listed.add(o.key);
  // One manifest a capture: where an upgrade left both formats (manifestKeysOf), the `.json.gz`.
  for (const k of listed) if (!(k.endsWith('.json') && listed.has(`${k}.gz`))) keys.push(k);
  // Access first: the operators and collectors locked out by a lost database get back in.
  const restored = await restoreTokens(db, store);
  const result: RebuildResult = {
    manifests: keys.length,
    captures: 0,
    skipped: 0,
    artifacts: 0,
    tokens: { restored: restored.restored, revoked: restored.revoked },
    errors: [...restored.errors],
    artifactsLeftOut: [],
    artifactsBroughtBack: [],
  };
  const loaded: Array<{ key: string; manifest: CaptureManifest; positions: number[]; leftOut: LeftOutArtifact[] }> = [];
  // Format 3's chunk lists: each fetched and checked once, a bounded part of them kept.
  const lists = chunkListReader(store);
  for (const key of keys) {
    try {
      const bytes = await store.getBytes(key);
      if (!bytes) throw new Error('gone since the listing');
      loaded.push({ key, ...(await decodeManifestPartly(bytes, lists)) });
    } catch (e) {
      result.errors.push({ key, message: (e as Error).message });
    }
  }
  // In the order of the times the catalog stores (a clock ahead counts at its receipt), as commits compared them.
  const storedAt = (m: CaptureManifest) => storedCollectionTime(new Date(m.collectedAt), new Date(m.receivedAt)).collectedAt.getTime();
  loaded.sort((a, b) => storedAt(a.manifest) - storedAt(b.manifest) || a.manifest.captureId.localeCompare(b.manifest.captureId));
  let done = 0;
  let broughtBack = false;
  for (const { key, manifest, positions, leftOut } of loaded) {
    onProgress?.(done++, loaded.length, key);
    const [existing] = await queryRows<{ state: string; ids: string[] | string | null }>(
      db,
      sql`SELECT c.state, (SELECT json_agg(a.id) FROM artifacts a WHERE a.capture_id = c.id) AS ids FROM captures c WHERE c.id = ${manifest.captureId}`,
    );
    const record = recordOf(manifest, key);
    // Parses the manifest's artifacts at these places in `manifest.artifacts`.
    const parse = async (at: number[]) => {
      const entries: ParsedEntry[] = [];
      const budget = new CaptureParseBudget();
      for (const i of at)
        entries.push(await parseStoredArtifact(db, store, manifest.artifacts[i], manifest.artifacts[i].id, positions[i], { verifyWhole: false, budget }));
      return entries;
    };
    const systemUuidOf = (entries: ParsedEntry[]) => entries.map((e) => e.parsed?.details?.systemUuid ?? null).find((s) => !!s) ?? null;
    if (existing?.state === 'committed') {
      result.skipped++;
      // A capture an earlier rebuild recreated without an artifact whose chunk list was lost: once
      // the list reads again (a later commit of the same bytes stored it), the artifact comes back.
      const rows = new Set(jsonOf<string[]>(existing.ids) ?? []);
      for (const l of leftOut) if (!rows.has(artifactId(manifest.captureId, l.index))) result.artifactsLeftOut.push({ key, ...l });
      const missing = manifest.artifacts.flatMap((a, i) => (rows.has(a.id) ? [] : [i]));
      if (missing.length === 0) continue;
      try {
        const entries = await parse(missing);
        await db.transaction(async (txRaw) => {
          const tx = txRaw as unknown as Db;
          // The begin the manifest implies, now with these artifacts too; no row: dropped meanwhile.
          const held = await tx
            .update(captures)
            .set({ request: requestOf(manifest) })
            .where(eq(captures.id, manifest.captureId))
            .returning({ id: captures.id });
          if (held.length === 0) throw new GoneMeanwhile();
          await assertStillStored(store, key);
          await writeCapture(
            tx,
            record,
            entries,
            chunkRowsOf(
              missing.map((i) => manifest.artifacts[i]),
              record.committedAt,
            ),
            systemUuidOf(entries),
          );
        });
        result.artifacts += entries.length;
        for (const e of entries) result.artifactsBroughtBack.push({ key, index: e.index, fileName: e.ref.fileName });
        broughtBack = true;
      } catch (e) {
        if (e instanceof GoneMeanwhile) {
          result.errors.push({ key, message: 'gone since the listing' });
          continue;
        }
        if (!(e instanceof ApiError)) throw e;
        result.errors.push({ key, message: e.message });
      }
      continue;
    }
    try {
      const entries = await parse(manifest.artifacts.map((_, i) => i));
      const chunkRows = chunkRowsOf(manifest.artifacts, record.committedAt);
      const systemUuid = systemUuidOf(entries);
      await db.transaction(async (txRaw) => {
        const tx = txRaw as unknown as Db;
        // An open row (begun, manifest written, transaction lost) is replaced by the manifest's
        // truth — only while it is still open: a concurrent commit retry holds the row lock,
        // and once it has committed the delete no longer matches and the insert conflicts.
        await tx.delete(captures).where(and(eq(captures.id, manifest.captureId), eq(captures.state, 'open')));
        const inserted = await tx
          .insert(captures)
          .values({
            id: manifest.captureId,
            host: manifest.host.name,
            state: 'committed',
            collectedAt: record.collectedAt,
            receivedAt: record.receivedAt,
            committedAt: record.committedAt,
            collectorVersion: record.collectorVersion,
            imported: record.imported,
            manifestKey: key,
            request: requestOf(manifest),
          })
          .onConflictDoNothing()
          .returning({ id: captures.id });
        if (inserted.length === 0) throw new CommittedMeanwhile();
        await assertStillStored(store, key);
        await writeCapture(tx, record, entries, chunkRows, systemUuid);
      });
      result.captures++;
      result.artifacts += entries.length;
      for (const l of leftOut) result.artifactsLeftOut.push({ key, ...l });
    } catch (e) {
      if (e instanceof CommittedMeanwhile) {
        result.skipped++;
        continue;
      }
      if (e instanceof GoneMeanwhile) {
        result.errors.push({ key, message: 'gone since the listing' });
        continue;
      }
      if (!(e instanceof ApiError)) throw e;
      result.errors.push({ key, message: e.message });
    }
  }
  // Health conditions (an LU's GUID no captured header names, a backing zvol without recent
  // snapshots, …) are not in any manifest: they follow from the rows just restored.
  if (result.captures > 0 || broughtBack) await reconcileAfterRestore(services);
  onProgress?.(loaded.length, loaded.length, 'done');
  return result;
}

/** Re-evaluates the health conditions over the restored rows (no webhook: nothing changed for the receiver). */
async function reconcileAfterRestore(services: Services): Promise<void> {
  await services.db.transaction(async (txRaw) => {
    await reconcileHealth(txRaw as unknown as Db, services.now(), null, { replicationPeriodHours: services.config.REPLICATION_PERIOD_HOURS });
  });
}

export interface ReindexResult {
  artifacts: number;
  ok: number;
  error: number;
  opaque: number;
  /** Artifacts whose chunks could not be read (left as they were). */
  failed: Array<{ id: string; message: string }>;
}

/**
 * Re-parses stored artifacts (all, or one kind) and replaces their child rows and
 * events, oldest first so drift is computed against already re-parsed predecessors. An
 * artifact deleted since the listing (a retention run dropping its capture) is left out: its
 * row is held while its rows are written, so none are written for an artifact that is gone.
 * Volumes and luns are merged again, never deleted.
 */
export async function reindexArtifacts(services: Services, options: { kind?: ArtifactKind } = {}, onProgress?: Progress): Promise<ReindexResult> {
  const { db, store } = services;
  const rows = await db
    .select({ id: artifacts.id })
    .from(artifacts)
    .where(options.kind ? eq(artifacts.kind, options.kind) : undefined)
    .orderBy(asc(artifacts.collectedAt), asc(artifacts.id));
  const result: ReindexResult = { artifacts: rows.length, ok: 0, error: 0, opaque: 0, failed: [] };
  for (let i = 0; i < rows.length; i += 100) {
    const ids = rows.slice(i, i + 100).map((r) => r.id);
    const batch = await db.select().from(artifacts).where(inArray(artifacts.id, ids));
    const caps = await db
      .select()
      .from(captures)
      .where(inArray(captures.id, [...new Set(batch.map((b) => b.captureId))]));
    const capById = new Map(caps.map((c) => [c.id, c]));
    batch.sort((a, b) => a.collectedAt.getTime() - b.collectedAt.getTime() || a.id.localeCompare(b.id));
    for (const a of batch) {
      onProgress?.(i + batch.indexOf(a), rows.length, `${a.kind} ${a.fileName}`);
      const cap = capById.get(a.captureId);
      if (!cap) continue;
      const req = cap.request as BeginRequest;
      const ref = {
        id: a.id,
        kind: a.kind as ArtifactKind,
        fileName: a.fileName,
        sourcePath: a.sourcePath,
        device: a.device,
        size: a.size,
        sha256: a.sha256,
        chunks: a.chunks as ParsedEntry['ref']['chunks'],
      };
      let entry: ParsedEntry;
      try {
        entry = await parseStoredArtifact(db, store, ref, a.id, 0, { verifyWhole: false });
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        result.failed.push({ id: a.id, message: e.message });
        continue;
      }
      const record = { captureId: a.captureId, host: req.host, collectedAt: a.collectedAt, committedAt: cap.committedAt ?? a.collectedAt };
      const written = await db.transaction(async (txRaw) => {
        const tx = txRaw as unknown as Db;
        // Held until the rows are written: a retention run dropping its capture since the listing
        // deleted it (then nothing is indexed again) or waits, and then deletes what is written.
        const [held] = await tx.select({ id: artifacts.id }).from(artifacts).where(eq(artifacts.id, a.id)).for('update');
        if (!held) return null;
        await deleteArtifactRows(tx, [a.id]);
        // What the database refuses of a new parse is recorded as a parse error, as at commit.
        return writeArtifactGuarded(tx, record, entry, async (sp, x) => {
          await sp
            .update(artifacts)
            .set({ parseStatus: x.parseStatus, parseError: x.parseError, parsed: x.parsed, parserVersion: PARSER_VERSION })
            .where(eq(artifacts.id, a.id));
          await indexEntry(sp, record, x);
        });
      });
      if (!written) continue; // dropped meanwhile, as one whose capture is gone above
      result[written.parseStatus]++;
    }
  }
  // New parses may say other things than the old ones did: the cross-host conditions are
  // evaluated again now rather than at the next scheduled scan.
  if (result.ok + result.error + result.opaque > 0) await reevaluateHealth(services);
  onProgress?.(rows.length, rows.length, 'done');
  return result;
}
