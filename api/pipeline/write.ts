/**
 * Index and drift: a capture's parsed artifacts written as catalog rows in the caller's
 * transaction, with the drift events against the previous observation of each extent
 * or volume, and the manifest that lets `rebuild` recreate it. Shared by commit,
 * rebuild and reindex.
 */
import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import type { ArtifactSummary, CaptureManifest, HostRef } from '../../formats/protocol.js';
import type { ArtifactKind, ParsedArtifact } from '../../formats/types.js';
import { PARSER_VERSION } from '../../formats/parse.js';
import { queryRows, type Db } from '../../db/client.js';
import { artifacts, events } from '../../db/schema.js';
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
  /** Collected by `collector import`: the collection time is the saved files' modification time (formats/protocol.ts CollectorRef). */
  imported?: boolean;
  manifestKey: string;
}

/** What drift compares: one observation an artifact made, and the kind of artifact that made it. */
interface DriftAsk {
  kind: ArtifactKind;
  obs: Observation;
  /** Where the artifact's bytes were read on its host. */
  sourcePath: string;
}

/**
 * The previous observation of each asked extent (a header dump's, by extent UUID) or volume
 * (a `.vh.sf`'s, by VMFS UUID) before `before`, in order: null where there is none. Two
 * statements at most for a whole capture, one per key kind, each a lateral lookup of the
 * newest earlier row per key — one per artifact sent one after another cost an unchanged
 * capture of 50 dumps 50 round trips inside the embedded database. A header dump's newest
 * observation is picked first and only its artifact read, by id (a lateral with a LIMIT, so
 * no planner joins first): joined before the pick, every day kept of every key was joined to
 * its artifact and sorted with it (the embedded database, 29 unchanged days of 50 dumps:
 * 26 ms → 9 ms; the first day 9 → 7.5 ms). The same-source pick joins each earlier extent
 * row to its artifact newest first and stops at the first of the same source path, which on
 * a daily run is the day before.
 */
async function previousObservations(tx: Db, asks: DriftAsk[], before: Date): Promise<Array<Observation | null>> {
  const found: Array<Observation | null> = asks.map(() => null);
  const at = before.toISOString();
  // The newest earlier artifact for each key (`u.key`), as `newest` finds it for one.
  const latest = (newest: SQL) => (list: string) =>
    sql`
    SELECT u.i, p.id, p.capture_id, p.host, p.collected_at, p.kind, p.device, p.parsed
      FROM jsonb_array_elements_text(${list}::jsonb) WITH ORDINALITY AS u(key, i)
      CROSS JOIN LATERAL (${newest}) p`;
  // Each key is `<extent or VMFS UUID>\x1f<host>\x1f<source path>` (no part can hold a control
  // character: ingest/limits.ts). The newest earlier artifact of the same host and source
  // path comes first, then the newest of any: a host sending one extent from two sources (the
  // device, and an old dump imported by hand) compares each with its own past, not with the
  // other one every day.
  const part = (n: number) => sql`split_part(u.key, chr(31), ${n})`;
  const lookups = [
    {
      keys: asks.map((a) => (a.kind === 'vmfs-header' && a.obs.extentUuid ? keyOf(a.obs.extentUuid, a) : null)),
      rows: latest(sql`
        SELECT a.* FROM (
          (SELECT o.artifact_id FROM extents o JOIN artifacts s ON s.id = o.artifact_id
            WHERE o.extent_uuid = ${part(1)} AND o.source = 'header' AND o.seen_at < ${at}::timestamptz
              AND o.host = ${part(2)} AND s.source_path = ${part(3)}
            ORDER BY o.seen_at DESC LIMIT 1)
          UNION ALL
          (SELECT o.artifact_id FROM extents o
            WHERE o.extent_uuid = ${part(1)} AND o.source = 'header' AND o.seen_at < ${at}::timestamptz
            ORDER BY o.seen_at DESC LIMIT 1)
          LIMIT 1) o
         CROSS JOIN LATERAL (SELECT * FROM artifacts a WHERE a.id = o.artifact_id LIMIT 1) a`),
    },
    {
      keys: asks.map((a) => (a.kind === 'vh-sf' && a.obs.vmfsUuid ? keyOf(a.obs.vmfsUuid, a) : null)),
      rows: latest(sql`
        SELECT * FROM (
          (SELECT a.* FROM segments o JOIN artifacts a ON a.id = o.artifact_id
            WHERE o.vmfs_uuid = ${part(1)} AND a.kind = 'vh-sf' AND o.seen_at < ${at}::timestamptz
              AND a.host = ${part(2)} AND a.source_path = ${part(3)}
            ORDER BY o.seen_at DESC LIMIT 1)
          UNION ALL
          (SELECT a.* FROM segments o JOIN artifacts a ON a.id = o.artifact_id
            WHERE o.vmfs_uuid = ${part(1)} AND a.kind = 'vh-sf' AND o.seen_at < ${at}::timestamptz
            ORDER BY o.seen_at DESC LIMIT 1)
          LIMIT 1) p`),
    },
  ];
  const labelled = asks.map((a, i) => (a.obs.vmfsUuid && a.obs.label != null ? i : -1)).filter((i) => i >= 0);
  const [volumeLabels] = await Promise.all([
    labelled.length === 0
      ? []
      : queryRows<{ vmfs_uuid: string; label: string | null }>(
          tx,
          sql`SELECT vmfs_uuid, label FROM volumes WHERE vmfs_uuid IN (SELECT jsonb_array_elements_text(${JSON.stringify([...new Set(labelled.map((i) => asks[i].obs.vmfsUuid))])}::jsonb))`,
        ),
    ...lookups.map(async ({ keys, rows }) => {
      // Each distinct key once; its answer goes to every ask that named it.
      const distinct = [...new Set(keys.filter((k): k is string => !!k))];
      if (distinct.length === 0) return;
      const prev = await queryRows<PreviousRow>(tx, rows(JSON.stringify(distinct)));
      const byKey = new Map(prev.map((r) => [distinct[Number(r.i) - 1], observationOf(r)]));
      keys.forEach((k, i) => {
        if (k) found[i] = byKey.get(k) ?? null;
      });
    }),
  ]);
  // An extent or volume this kind of artifact never showed before is still compared with the
  // label the catalog shows for its volume, whoever reported it: a dump or .vh.sf naming a
  // known VMFS UUID under another label (a relabel, or another host's bytes claiming the
  // volume) raises label-changed, which names the host that sent it and the label before.
  const shown = new Map(volumeLabels.map((v) => [v.vmfs_uuid, v.label]));
  for (const i of labelled) {
    const label = shown.get(asks[i].obs.vmfsUuid!);
    if (found[i] === null && label != null) found[i] = { deviceId: null, vmfsUuid: asks[i].obs.vmfsUuid, label };
  }
  return found;
}

/** A drift lookup's key: the extent or VMFS UUID, the host and the source path, split in SQL by `part`. */
function keyOf(uuid: string, ask: DriftAsk): string {
  return `${uuid}\x1f${ask.obs.host ?? ''}\x1f${ask.sourcePath}`;
}

interface PreviousRow {
  i: number | string;
  id: string;
  capture_id: string;
  host: string;
  collected_at: Date | string;
  kind: string;
  device: string | null;
  parsed: unknown;
}

/** The observation an earlier artifact made, from its stored parse (none without one). */
function observationOf(prev: PreviousRow): Observation | null {
  const parsed = (typeof prev.parsed === 'string' ? JSON.parse(prev.parsed) : prev.parsed) as ParsedArtifact | null;
  if (!parsed) return null;
  const rows = indexRows(
    {
      artifactId: prev.id,
      captureId: prev.capture_id,
      host: prev.host,
      collectedAt: new Date(prev.collected_at),
      kind: prev.kind as ArtifactKind,
      device: prev.device,
    },
    parsed,
  );
  const found = rows.observations[0];
  return found ? { ...found, host: prev.host } : null;
}

/** What one artifact writes: its catalog rows and its drift events. */
interface PlannedEntry {
  rows: IndexedRows | null;
  events: Array<typeof events.$inferInsert>;
}

/** An artifact's rows and the observations its drift compares with earlier ones (no database). */
interface Observed {
  rows: IndexedRows | null;
  asks: DriftAsk[];
}

function observe(record: Pick<CaptureRecord, 'captureId' | 'host' | 'collectedAt'>, entry: ParsedEntry): Observed {
  const ctx: ArtifactContext = {
    artifactId: entry.id,
    captureId: record.captureId,
    host: record.host.name,
    collectedAt: record.collectedAt,
    kind: entry.ref.kind,
    device: entry.ref.device ?? null,
  };
  if (!entry.parsed) return { rows: null, asks: [] };
  const rows = indexRows(ctx, entry.parsed);
  // A storage host's dump of an LU's backing zvol is announced under the LU's GUID: a header
  // naming another device there is target-guid-mismatch (api/events/health.ts), kept open
  // until fixed, rather than a device-id-changed raised again by every capture.
  const zvolDump = /^\/dev\/zvol\//.test(entry.ref.sourcePath);
  const kind = entry.parsed.kind;
  const host = record.host.name;
  const sourcePath = entry.ref.sourcePath;
  return {
    rows,
    asks: rows.observations.map((found) => ({ kind, sourcePath, obs: zvolDump ? { ...found, host, sourceDeviceId: null } : { ...found, host } })),
  };
}

/** An artifact's rows and drift events, given the previous observation of each of its asks. */
function plan(
  record: Pick<CaptureRecord, 'captureId' | 'host' | 'committedAt'>,
  entry: ParsedEntry,
  observed: Observed,
  previous: Array<Observation | null>,
): PlannedEntry {
  const drift: DriftEvent[] = [];
  if (entry.parsed) {
    for (const [i, ask] of observed.asks.entries()) drift.push(...detectDrift(previous[i], ask.obs));
  } else if (entry.parseError) {
    drift.push(...detectDrift(null, { deviceId: null, vmfsUuid: null, parseError: entry.parseError }));
  }
  return {
    rows: observed.rows,
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

/** Reads what drift needs (the previous observation of each extent or volume) and builds the artifacts' rows and events. */
async function planEntries(
  tx: Db,
  record: Pick<CaptureRecord, 'captureId' | 'host' | 'collectedAt' | 'committedAt'>,
  entries: ParsedEntry[],
): Promise<PlannedEntry[]> {
  const observed = entries.map((e) => observe(record, e));
  const previous = await previousObservations(
    tx,
    observed.flatMap((o) => o.asks),
    record.collectedAt,
  );
  let at = 0;
  return entries.map((e, i) => {
    const mine = previous.slice(at, at + observed[i].asks.length);
    at += observed[i].asks.length;
    return plan(record, e, observed[i], mine);
  });
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
  const [planned] = await planEntries(tx, record, [entry]);
  await settleAll(entryStatements(tx, planned), tx);
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
    chunkList: e.ref.chunkList?.sha256 ?? null,
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
 * After the reads drift needs, the shared rows (blobs, host_chunks, the host: one statement,
 * sharedRows) go behind whatever the caller sent before (commit sends its claim first), then,
 * in a pipeline (settleAll) in the savepoint, the artifacts with every row and event they produce
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
  const planned = await planEntries(tx, record, entries);
  const systemUuid = cleanJson(hostSystemUuid ?? record.host.systemUuid ?? null);
  // The host now holds every chunk its capture references (the dedup scope, `host_chunks`;
  // see api/ingest/staging.ts). Rows it held before are left alone: an
  // unchanged capture inserts none.
  const held = [...new Set(entries.flatMap((e) => e.ref.chunks.map((c) => c.sha256)))]
    .filter((sha256) => !heldBefore?.has(sha256))
    .map((sha256) => ({ host: record.host.name, sha256 }));
  await tx.execute(
    sharedRows(
      newBlobs,
      held.map((h) => h.sha256),
      hostUpsert(tx, { name: record.host.name, kind: record.host.kind, systemUuid, seenAt: record.collectedAt, captureId: record.captureId }),
      record.host.name,
    ),
  );
  try {
    await tx.transaction(async (spRaw) => {
      const sp = spRaw as unknown as Db;
      // Every statement is built before the first is sent; settleAll sends them in this order.
      await settleAll(
        [
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
        ],
        sp,
      );
    });
    return entries;
  } catch (e) {
    if (!unindexableReason(e)) throw e;
  }
  const written: ParsedEntry[] = [];
  for (const [i, entry] of entries.entries()) {
    written.push(
      await writeArtifactGuarded(tx, record, entry, async (sp, x) => {
        await sp.insert(artifacts).values(artifactRow(record, x));
        // The plan made above, unless the entry became a parse error (then its own, without lookups).
        await settleAll(entryStatements(sp, x === entry ? planned[i] : (await planEntries(sp, record, [x]))[0]), sp);
      }).catch((e: unknown) => {
        throw annotateError(e, { artifactId: entry.id });
      }),
    );
  }
  return written;
}

/**
 * The rows a capture shares with others, as one statement: its new `blobs` rows and
 * `host_chunks` rows (each kept when one is there already) in a WITH part each, then the host's
 * upsert. One statement where three (more past 500 chunks) cost a commit a statement each.
 */
function sharedRows(newBlobs: BlobRow[], held: string[], host: SQLWrapper, hostName: string): SQL {
  const blobJson = JSON.stringify(
    newBlobs.map((b) => ({
      sha256: b.sha256,
      size: b.size,
      encoding: b.encoding,
      stored_size: b.storedSize,
      first_stored: b.firstStored.toISOString(),
      last_verified: b.lastVerified.toISOString(),
    })),
  );
  return sql`
    WITH new_blobs AS (
           INSERT INTO blobs (sha256, size, encoding, stored_size, first_stored, last_verified)
           SELECT b.sha256, b.size, b.encoding, b.stored_size, b.first_stored, b.last_verified
             FROM jsonb_populate_recordset(NULL::blobs, ${blobJson}::jsonb) AS b
           ON CONFLICT DO NOTHING),
         held AS (
           INSERT INTO host_chunks (host, sha256)
           SELECT ${hostName}, h.sha256 FROM jsonb_array_elements_text(${JSON.stringify(held)}::jsonb) AS h(sha256)
           ON CONFLICT DO NOTHING)
    ${host.getSQL()}`;
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
    claimedVolumes: cat('claimedVolumes'),
    luns: cat('luns'),
    hostSystemUuid: null,
    observations: [],
  };
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
    collector: { version: record.collectorVersion, ...(record.imported ? { mode: 'import' as const } : {}) },
    artifacts: entries.map((e) => e.ref),
  };
}
