/**
 * Index and drift: a capture's parsed artifacts written as catalog rows in the caller's
 * transaction, with the drift events against the previous observation of each extent
 * or volume, and the manifest that lets `rebuild` recreate it. Shared by commit,
 * rebuild and reindex.
 */
import { and, desc, eq, lt } from 'drizzle-orm';
import type { ArtifactSummary, CaptureManifest, HostRef } from '../../formats/protocol.js';
import type { ArtifactKind, ParsedArtifact } from '../../formats/types.js';
import type { Db } from '../../db/client.js';
import { artifacts, blobs, events, extents, segments } from '../../db/schema.js';
import { annotateError } from '../errors.js';
import { detectDrift, type DriftEvent, type Observation } from './drift.js';
import { recordHeld } from '../ingest/staging.js';
import {
  cleanJson,
  foundIds,
  indexRows,
  jsonInserts,
  settleAll,
  startIndexedRows,
  unindexableReason,
  upsertHost,
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

/** Starts the statements that write a planned artifact, without waiting for them (see settleAll). */
function startEntryWrites(tx: Db, planned: PlannedEntry): Promise<unknown>[] {
  const eventInserts = jsonInserts(events, planned.events);
  const started = planned.rows ? startIndexedRows(tx, planned.rows) : [];
  for (const q of eventInserts) started.push(tx.execute(q));
  return started;
}

/**
 * Writes one parsed artifact's rows and its drift events (against the previous
 * capture of the same extent or volume). Used by commit, rebuild and reindex.
 */
export async function indexEntry(tx: Db, record: Pick<CaptureRecord, 'captureId' | 'host' | 'collectedAt' | 'committedAt'>, entry: ParsedEntry): Promise<void> {
  await settleAll(startEntryWrites(tx, await planEntry(tx, record, entry)));
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
 */
export async function writeCapture(
  tx: Db,
  record: CaptureRecord,
  entries: ParsedEntry[],
  newBlobs: BlobRow[],
  hostSystemUuid: string | null,
  heldBefore?: ReadonlySet<string>,
): Promise<ParsedEntry[]> {
  // The rows of the capture go as few pipelines (settleAll): the shared rows first, then,
  // in one savepoint, the artifacts and every row and event they produce.
  const shared: Promise<unknown>[] = [];
  for (let i = 0; i < newBlobs.length; i += 500) {
    shared.push(
      tx
        .insert(blobs)
        .values(newBlobs.slice(i, i + 500))
        .onConflictDoNothing()
        .execute(),
    );
  }
  // The host now holds every chunk its capture references (dedup scope, api/ingest/staging.ts).
  // Rows it held before are left alone: an unchanged capture inserts none.
  shared.push(
    recordHeld(
      tx,
      record.host.name,
      entries.flatMap((e) => e.ref.chunks.map((c) => c.sha256)),
      heldBefore,
    ),
  );
  const systemUuid = cleanJson(hostSystemUuid ?? record.host.systemUuid ?? null);
  shared.push(upsertHost(tx, { name: record.host.name, kind: record.host.kind, systemUuid, seenAt: record.collectedAt, captureId: record.captureId }));
  await settleAll(shared);
  try {
    await tx.transaction(async (spRaw) => {
      const sp = spRaw as unknown as Db;
      const planned = await Promise.all(entries.map((e) => planEntry(sp, record, e)));
      const started: Promise<unknown>[] = [];
      try {
        for (const q of jsonInserts(
          artifacts,
          entries.map((e) => artifactRow(record, e)),
        ))
          started.push(sp.execute(q));
        for (const p of planned) started.push(...startEntryWrites(sp, p));
      } finally {
        // Even when building a later statement threw: none of the batch may outlive the savepoint.
        await settleAll(started);
      }
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
