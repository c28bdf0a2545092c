/**
 * Index and drift: a capture's parsed artifacts written as catalog rows in the caller's
 * transaction, with the drift events against the previous observation of each extent
 * or volume, and the manifest that lets `rebuild` recreate it. Shared by commit,
 * rebuild and reindex.
 */
import { and, desc, eq, lt } from 'drizzle-orm';
import type { ArtifactSummary, CaptureManifest, HostRef } from '../../formats/protocol.js';
import type { ArtifactKind, ParsedArtifact } from '../../formats/types.js';
import { PARSER_VERSION } from '../../formats/parse.js';
import type { Db } from '../../db/client.js';
import { artifacts, blobs, events, extents, hostChunks, segments } from '../../db/schema.js';
import { annotateError } from '../errors.js';
import { detectDrift, type DriftEvent, type Observation } from './drift.js';
import {
  cleanJson,
  foundIds,
  indexRows,
  jsonInserts,
  indexedRowStatements,
  settleAll,
  unindexableReason,
  hostUpsert,
  type ArtifactContext,
  type IndexedRows,
} from './indexer.js';
import type { ParsedEntry } from './parse.js';
import type { BlobRow } from './verify.js';

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

/** Finds the previous observation of the same extent (by extent UUID) or volume (`.vh.sf`, by VMFS UUID), in one query. */
async function previousObservation(tx: Db, kind: ArtifactKind, current: Observation, before: Date): Promise<Observation | null> {
  let prev: typeof artifacts.$inferSelect | undefined;
  if (kind === 'vmfs-header' && current.extentUuid) {
    [prev] = (
      await tx
        .select({ a: artifacts })
        .from(extents)
        .innerJoin(artifacts, eq(artifacts.id, extents.artifactId))
        .where(and(eq(extents.extentUuid, current.extentUuid), eq(extents.source, 'header'), lt(extents.seenAt, before)))
        .orderBy(desc(extents.seenAt))
        .limit(1)
    ).map((r) => r.a);
  } else if (kind === 'vh-sf' && current.vmfsUuid) {
    [prev] = (
      await tx
        .select({ a: artifacts })
        .from(segments)
        .innerJoin(artifacts, eq(artifacts.id, segments.artifactId))
        .where(and(eq(segments.vmfsUuid, current.vmfsUuid), eq(artifacts.kind, 'vh-sf'), lt(segments.seenAt, before)))
        .orderBy(desc(segments.seenAt))
        .limit(1)
    ).map((r) => r.a);
  }
  if (!prev?.parsed) return null;
  const rows = indexRows(
    { artifactId: prev.id, captureId: prev.captureId, host: prev.host, collectedAt: prev.collectedAt, kind: prev.kind as ArtifactKind, device: prev.device },
    prev.parsed as ParsedArtifact,
  );
  return rows.observations[0] ?? null;
}

/** What one artifact writes: its catalog rows and its drift events. */
interface PlannedEntry {
  rows: IndexedRows | null;
  events: Array<typeof events.$inferInsert>;
}

/** Reads what drift needs (the previous observation of each extent or volume) and builds an artifact's rows and events. */
async function planEntry(tx: Db, record: Pick<CaptureRecord, 'captureId' | 'host' | 'collectedAt' | 'committedAt'>, entry: ParsedEntry): Promise<PlannedEntry> {
  const ctx: ArtifactContext = {
    artifactId: entry.id,
    captureId: record.captureId,
    host: record.host.name,
    collectedAt: record.collectedAt,
    kind: entry.ref.kind,
    device: entry.ref.device ?? null,
  };
  const drift: DriftEvent[] = [];
  let rows: IndexedRows | null = null;
  if (entry.parsed) {
    rows = indexRows(ctx, entry.parsed);
    // A storage host's dump of an LU's backing zvol is announced under the LU's GUID: a header
    // naming another device there is target-guid-mismatch (api/events/health.ts), kept open
    // until fixed, rather than a device-id-changed raised again by every capture.
    const zvolDump = /^\/dev\/zvol\//.test(entry.ref.sourcePath);
    const kind = entry.parsed.kind;
    const observed = rows.observations.map((found) => (zvolDump ? { ...found, sourceDeviceId: null } : found));
    const previous = await Promise.all(observed.map((obs) => previousObservation(tx, kind, obs, record.collectedAt)));
    for (const [i, obs] of observed.entries()) drift.push(...detectDrift(previous[i], obs));
  } else if (entry.parseError) {
    drift.push(...detectDrift(null, { deviceId: null, vmfsUuid: null, parseError: entry.parseError }));
  }
  return {
    rows,
    events: drift.map((d) => ({
      type: d.type,
      severity: d.severity,
      vmfsUuid: d.vmfsUuid,
      deviceId: d.deviceId,
      host: record.host.name,
      captureId: record.captureId,
      artifactId: entry.id,
      message: `${entry.ref.fileName}: ${d.message}`,
      details: d.details,
      createdAt: record.committedAt,
    })),
  };
}

/** The statements that write a planned artifact, built but not sent (see settleAll). */
function entryStatements(tx: Db, planned: PlannedEntry): Array<PromiseLike<unknown>> {
  return [...(planned.rows ? indexedRowStatements(tx, planned.rows) : []), ...jsonInserts(events, planned.events).map((q) => tx.execute(q))];
}

/**
 * Writes one parsed artifact's rows and its drift events (against the previous
 * capture of the same extent or volume). Used by commit, rebuild and reindex.
 */
export async function indexEntry(tx: Db, record: Pick<CaptureRecord, 'captureId' | 'host' | 'collectedAt' | 'committedAt'>, entry: ParsedEntry): Promise<void> {
  await settleAll(entryStatements(tx, await planEntry(tx, record, entry)));
}

function artifactRow(record: Pick<CaptureRecord, 'captureId' | 'host' | 'collectedAt'>, e: ParsedEntry): typeof artifacts.$inferInsert {
  return {
    id: e.id,
    captureId: record.captureId,
    host: record.host.name,
    collectedAt: record.collectedAt,
    kind: e.ref.kind,
    fileName: e.ref.fileName,
    sourcePath: e.ref.sourcePath,
    device: e.ref.device ?? null,
    size: e.ref.size,
    sha256: e.ref.sha256,
    chunks: e.ref.chunks,
    parseStatus: e.parseStatus,
    parseError: e.parseError,
    parsed: e.parsed,
    redaction: e.redaction ?? null,
    parserVersion: PARSER_VERSION,
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
  tx: Db,
  _record: Pick<CaptureRecord, 'captureId' | 'host' | 'collectedAt' | 'committedAt'>,
  entry: ParsedEntry,
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
 *
 * After the reads drift needs, the rows go as two pipelines (settleAll): the shared rows
 * (blobs, host_chunks, the host) behind whatever the caller sent before (commit sends its
 * claim first), then, in the savepoint, the artifacts with every row and event they produce
 * — a handful of round trips to the database for a capture of any size. (The savepoint is
 * postgres.js's own: a statement that fails outside one fails the whole transaction.)
 */
export async function writeCapture(
  tx: Db,
  record: CaptureRecord,
  entries: ParsedEntry[],
  newBlobs: BlobRow[],
  hostSystemUuid: string | null,
  heldBefore?: ReadonlySet<string>,
): Promise<ParsedEntry[]> {
  const planned = await Promise.all(entries.map((e) => planEntry(tx, record, e)));
  const systemUuid = cleanJson(hostSystemUuid ?? record.host.systemUuid ?? null);
  // The host now holds every chunk its capture references (the dedup scope, `host_chunks`;
  // see heldByHost in api/ingest/staging.ts). Rows it held before are left alone: an
  // unchanged capture inserts none.
  const held = [...new Set(entries.flatMap((e) => e.ref.chunks.map((c) => c.sha256)))]
    .filter((sha256) => !heldBefore?.has(sha256))
    .map((sha256) => ({ host: record.host.name, sha256 }));
  await settleAll(
    [
      ...chunked(newBlobs, 500).map((b) => tx.insert(blobs).values(b).onConflictDoNothing()),
      ...chunked(held, 1000).map((b) => tx.insert(hostChunks).values(b).onConflictDoNothing()),
      hostUpsert(tx, { name: record.host.name, kind: record.host.kind, systemUuid, seenAt: record.collectedAt, captureId: record.captureId }),
    ].map((q) => tx.execute(q)),
  );
  try {
    await tx.transaction(async (spRaw) => {
      const sp = spRaw as unknown as Db;
      // Every statement is built before the first is sent; settleAll sends them in this order.
      await settleAll([
        ...jsonInserts(
          artifacts,
          entries.map((e) => artifactRow(record, e)),
        ).map((q) => sp.execute(q)),
        // Every artifact's rows of a kind in one statement (a capture of 50 header dumps sends
        // 3 here, not 150): the same rows as per artifact, merged as one artifact's are.
        ...entryStatements(sp, {
          rows: planned.some((p) => p.rows) ? mergedRows(planned.flatMap((p) => (p.rows ? [p.rows] : []))) : null,
          events: planned.flatMap((p) => p.events),
        }),
      ]);
    });
    return entries;
  } catch (e) {
    if (!unindexableReason(e)) throw e;
  }
  const written: ParsedEntry[] = [];
  for (const entry of entries) {
    written.push(
      await writeArtifactGuarded(tx, record, entry, async (sp, x) => {
        await sp.insert(artifacts).values(artifactRow(record, x));
        await indexEntry(sp, record, x);
      }).catch((e: unknown) => {
        throw annotateError(e, { artifactId: entry.id });
      }),
    );
  }
  return written;
}

/** Several artifacts' rows as one artifact's (each list concatenated in artifact order). */
function mergedRows(all: IndexedRows[]): IndexedRows {
  const cat = <K extends keyof IndexedRows>(k: K) => all.flatMap((r) => r[k] as unknown[]) as IndexedRows[K];
  return {
    extents: cat('extents'),
    segments: cat('segments'),
    targets: cat('targets'),
    zfsSnapshots: cat('zfsSnapshots'),
    volumes: cat('volumes'),
    luns: cat('luns'),
    hostSystemUuid: null,
    observations: [],
  };
}

function chunked<T>(rows: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += n) out.push(rows.slice(i, i + n));
  return out;
}

/** The summary a commit answers for one artifact. */
export function summarize(e: Pick<ParsedEntry, 'id' | 'parseStatus' | 'parseError' | 'parsed'> & { kind: ArtifactKind; fileName: string }): ArtifactSummary {
  return { id: e.id, kind: e.kind, fileName: e.fileName, parseStatus: e.parseStatus, parseError: e.parseError, found: foundIds(e.parsed) };
}

/** The manifest of a committed capture: self-describing, enough for `rebuild` (stored by api/pipeline/manifest.ts). */
export function buildManifest(record: CaptureRecord, entries: ParsedEntry[]): CaptureManifest {
  return {
    captureId: record.captureId,
    host: record.host,
    collectedAt: record.collectedAt.toISOString(),
    receivedAt: record.receivedAt.toISOString(),
    committedAt: record.committedAt.toISOString(),
    collector: { version: record.collectorVersion },
    artifacts: entries.map((e) => e.ref),
  };
}
