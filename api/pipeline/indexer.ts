/**
 * ParsedArtifact → catalog rows. The core (`indexRows`, `foundIds`) is pure; the
 * shell (`writeIndexedRows`, `replaceArtifactRows`) writes them inside the caller's
 * transaction. Upserts of shared rows (volumes, luns, hosts) keep the newest
 * observation whatever the order captures arrive in, so a rebuild from manifests
 * in any order ends with the same rows.
 */
import { getTableColumns, getTableName, inArray, sql, type SQL, type SQLWrapper, type Table } from 'drizzle-orm';
import type { ArtifactKind, ParsedArtifact } from '../../formats/types.js';
import { canonicalDeviceId, parseVml } from '../../formats/ids.js';
import { isEmbedded, type Db } from '../../db/client.js';
import { extents, luns, segments, targets, volumes, volumeLabels, zfsSnapshots, events, hosts } from '../../db/schema.js';
import type { Observation } from './drift.js';

export interface ArtifactContext {
  artifactId: string;
  captureId: string;
  host: string;
  collectedAt: Date;
  kind: ArtifactKind;
  /** The device the collector read the bytes from, as it announced it. */
  device: string | null;
}

type ExtentRow = typeof extents.$inferInsert;
type SegmentRow = typeof segments.$inferInsert;
type TargetRow = typeof targets.$inferInsert;
type SnapshotRow = typeof zfsSnapshots.$inferInsert;
type VolumeRow = typeof volumes.$inferInsert;
type LunRow = typeof luns.$inferInsert;

export interface IndexedRows {
  extents: ExtentRow[];
  segments: SegmentRow[];
  targets: TargetRow[];
  zfsSnapshots: SnapshotRow[];
  volumes: VolumeRow[];
  /**
   * A volume as an FS descriptor that is not a header dump's (a `.vh.sf`: a claim) names it,
   * with the segment it ties the volume to: written only where no header dump contradicts the
   * claim (`claimedVolumeUpserts`).
   */
  claimedVolumes: Array<{ volume: VolumeRow; segmentUuid: string }>;
  luns: LunRow[];
  /** From an ESX inventory's /system/uuid. */
  hostSystemUuid: string | null;
  /** Header and `.vh.sf` observations, for drift against the previous capture. */
  observations: Observation[];
}

/** A device id in canonical form, or null when the text is not one (e.g. `/dev/sdb`). */
export function deviceIdOrNull(s: string | null | undefined): string | null {
  if (!s) return null;
  try {
    return canonicalDeviceId(s);
  } catch {
    return null;
  }
}

function lunFromVml(vml: string | null): number | null {
  if (!vml) return null;
  try {
    return parseVml(vml).lun;
  } catch {
    return null;
  }
}

/** The catalog rows one parsed artifact contributes. */
export function indexRows(ctx: ArtifactContext, parsed: ParsedArtifact): IndexedRows {
  const out: IndexedRows = {
    extents: [],
    segments: [],
    targets: [],
    zfsSnapshots: [],
    volumes: [],
    claimedVolumes: [],
    luns: [],
    hostSystemUuid: null,
    observations: [],
  };
  const base = { artifactId: ctx.artifactId, captureId: ctx.captureId, seenAt: ctx.collectedAt };
  const vmfs = parsed.vmfs;
  const devicePath = ctx.device && !deviceIdOrNull(ctx.device) ? ctx.device : null;

  if (vmfs?.vmfsUuid) {
    const volume: VolumeRow = {
      vmfsUuid: vmfs.vmfsUuid,
      label: vmfs.label,
      version: vmfs.version,
      blockSize: vmfs.blockSize,
      createdAt: vmfs.createdAt ? new Date(vmfs.createdAt) : null,
      creatorMac: vmfs.creatorMac,
      firstSeen: ctx.collectedAt,
      lastSeen: ctx.collectedAt,
    };
    if (parsed.kind !== 'vmfs-header' && vmfs.segmentUuid) out.claimedVolumes.push({ volume, segmentUuid: vmfs.segmentUuid });
    else out.volumes.push(volume);
    if (vmfs.segmentUuid) out.segments.push({ artifactId: ctx.artifactId, segmentUuid: vmfs.segmentUuid, vmfsUuid: vmfs.vmfsUuid, seenAt: ctx.collectedAt });
  }

  if (parsed.kind === 'vmfs-header' && parsed.device) {
    const d = parsed.device;
    const p = parsed.partition;
    out.extents.push({
      ...base,
      host: ctx.host,
      source: 'header',
      vmfsUuid: vmfs?.vmfsUuid ?? null,
      segmentUuid: vmfs?.segmentUuid ?? null,
      extentUuid: d.extentUuid || null,
      deviceId: d.deviceId || null,
      vml: d.vml || null,
      lun: d.lun,
      vendor: d.vendor || null,
      model: d.model || null,
      revision: d.revision || null,
      sizeBytes: d.sizeBytes,
      partitionScheme: p?.scheme ?? null,
      partitionIndex: p?.index ?? null,
      partitionStart: p?.startLba ?? null,
      partitionEnd: p?.endLba ?? null,
      partitionType: p?.type ?? null,
      partitionMissing: p?.missing ?? false,
      devicePath,
    });
    if (d.deviceId) {
      out.luns.push({
        deviceId: d.deviceId,
        lun: d.lun,
        vml: d.vml || null,
        vendor: d.vendor || null,
        model: d.model || null,
        sizeBytes: d.sizeBytes,
        lastSeen: ctx.collectedAt,
      });
    }
  }

  if (parsed.kind === 'vmfs-header' || parsed.kind === 'vh-sf') {
    out.observations.push({
      deviceId: parsed.device?.deviceId ?? null,
      sourceDeviceId: deviceIdOrNull(ctx.device),
      extentUuid: parsed.device?.extentUuid ?? null,
      vmfsUuid: vmfs?.vmfsUuid ?? null,
      segmentUuid: vmfs?.segmentUuid ?? null,
      lun: parsed.device?.lun ?? null,
      label: vmfs?.label ?? null,
      version: vmfs?.version ?? null,
      blockSize: vmfs?.blockSize ?? null,
      sizeBytes: parsed.device?.sizeBytes ?? null,
      vendor: parsed.device?.vendor ?? null,
      model: parsed.device?.model ?? null,
      partition: parsed.partition,
      artifactId: ctx.artifactId,
      captureId: ctx.captureId,
    });
  }

  const details = parsed.details ?? {};
  if (details.systemUuid) out.hostSystemUuid = details.systemUuid;
  const devicesById = new Map((details.devices ?? []).map((d) => [d.deviceId, d]));
  for (const d of details.devices ?? []) {
    out.luns.push({
      deviceId: d.deviceId,
      lun: lunFromVml(d.vml),
      vml: d.vml,
      vendor: d.vendor,
      model: d.model,
      sizeBytes: d.sizeBytes,
      lastSeen: ctx.collectedAt,
    });
  }
  for (const e of details.extents ?? []) {
    const dev = e.deviceId ? devicesById.get(e.deviceId) : undefined;
    const vml = dev?.vml ?? null;
    out.extents.push({
      ...base,
      host: ctx.host,
      source: 'inventory',
      vmfsUuid: e.vmfsUuid,
      deviceId: e.deviceId,
      vml,
      lun: lunFromVml(vml),
      vendor: dev?.vendor ?? null,
      model: dev?.model ?? null,
      revision: dev?.revision ?? null,
      sizeBytes: dev?.sizeBytes ?? null,
      partitionIndex: e.partition,
      devicePath: e.devicePath ?? dev?.devfsPath ?? null,
      partitionMissing: false,
    });
    out.volumes.push({ vmfsUuid: e.vmfsUuid, label: e.volumeName, firstSeen: ctx.collectedAt, lastSeen: ctx.collectedAt });
  }
  for (const t of details.targetLus ?? []) {
    out.targets.push({
      ...base,
      storageHost: ctx.host,
      stack: t.stack,
      iqn: t.iqn,
      alias: t.alias,
      lun: t.lun,
      deviceId: t.deviceId,
      backingStore: t.backingStore,
      sizeBytes: t.sizeBytes,
      tpgs: t.tpgs,
      acl: t.acl,
    });
  }
  for (const s of details.snapshots ?? []) {
    out.zfsSnapshots.push({
      artifactId: ctx.artifactId,
      captureId: ctx.captureId,
      host: ctx.host,
      dataset: s.dataset,
      snapshot: s.snapshot,
      name: s.name,
      createdAt: new Date(s.createdAt),
      usedBytes: s.usedBytes,
    });
  }
  return out;
}

/** The ids found so far, each key's values once in the order first found (a Set: a listing names 550,000 snapshots). */
type Found = Map<string, Set<string>>;

function addFound(found: Found, key: string, value: string | null | undefined | number): void {
  if (value === null || value === undefined || value === '') return;
  let set = found.get(key);
  if (!set) found.set(key, (set = new Set()));
  set.add(String(value));
}

/** The ids a parsed artifact names, for the commit summary: vmfsUuid, deviceId, vml, iqn, backingStore, … */
export function foundIds(parsed: ParsedArtifact | null): Record<string, string[]> {
  const found: Found = new Map();
  if (!parsed) return {};
  addFound(found, 'vmfsUuid', parsed.vmfs?.vmfsUuid);
  addFound(found, 'label', parsed.vmfs?.label);
  addFound(found, 'segmentUuid', parsed.vmfs?.segmentUuid);
  addFound(found, 'deviceId', parsed.device?.deviceId);
  addFound(found, 'vml', parsed.device?.vml);
  if (parsed.device) addFound(found, 'lun', parsed.device.lun);
  addFound(found, 'extentUuid', parsed.device?.extentUuid);
  const d = parsed.details ?? {};
  addFound(found, 'systemUuid', d.systemUuid ?? null);
  for (const dev of d.devices ?? []) {
    addFound(found, 'deviceId', dev.deviceId);
    addFound(found, 'vml', dev.vml);
  }
  for (const e of d.extents ?? []) {
    addFound(found, 'vmfsUuid', e.vmfsUuid);
    addFound(found, 'deviceId', e.deviceId);
    addFound(found, 'label', e.volumeName);
  }
  for (const t of d.targetLus ?? []) {
    addFound(found, 'iqn', t.iqn);
    addFound(found, 'deviceId', t.deviceId);
    addFound(found, 'backingStore', t.backingStore);
  }
  for (const s of d.snapshots ?? []) {
    addFound(found, 'dataset', s.dataset);
  }
  return Object.fromEntries([...found].map(([k, v]) => [k, [...v]]));
}

/** Deletes every child row an artifact produced (before reindexing it). */
export async function deleteArtifactRows(tx: Db, artifactIds: string[]): Promise<void> {
  if (artifactIds.length === 0) return;
  await tx.delete(extents).where(inArray(extents.artifactId, artifactIds));
  await tx.delete(segments).where(inArray(segments.artifactId, artifactIds));
  await tx.delete(targets).where(inArray(targets.artifactId, artifactIds));
  await tx.delete(zfsSnapshots).where(inArray(zfsSnapshots.artifactId, artifactIds));
  await tx.delete(events).where(inArray(events.artifactId, artifactIds));
}

const BATCH = 500;
/**
 * Sends statements as one pipeline and waits for all of them. Each is a lazy query
 * (drizzle's `db.execute`, built when created and sent when first awaited); awaiting them
 * together sends them in array order (postgres.js pipelines them on the transaction's
 * connection). Fails with the first real error: after one statement fails, those behind it
 * in the same transaction fail with 25P02 (in_failed_sql_transaction), which says nothing. No
 * statement of the batch is still on its way when this returns or throws, so a caller may roll
 * back a savepoint at once.
 *
 * On the embedded database (`db` given and embedded) they run one after the other, as PGlite
 * runs them anyway, and the event loop is given a turn whenever YIELD_AFTER_MS have gone since
 * the last: PGlite runs each statement on the event loop's own thread, and a run of them (a
 * 542,000-snapshot listing is 55 statements of 10,000 rows) otherwise answers nothing else —
 * not even /healthz — until the last is done. Other statements of the database still wait for
 * the transaction (PGlite has one connection); requests that need none are answered. The first
 * failure ends the run: the statements behind it would fail with 25P02, and are never sent.
 */
export async function settleAll(statements: Array<PromiseLike<unknown>>, db?: Db): Promise<void> {
  if (db && isEmbedded(db)) {
    // A turn first: what the caller did before (planning, building these) held the loop too.
    let since = await turnIfDue(Number.NEGATIVE_INFINITY);
    for (const statement of statements) {
      await statement;
      since = await turnIfDue(since);
    }
    return;
  }
  const results = await Promise.allSettled(statements);
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length === 0) return;
  const codeOf = (e: unknown) => {
    const cause = (e as { cause?: unknown } | null)?.cause ?? e;
    return (cause as { code?: unknown } | null)?.code;
  };
  throw failures.find((e) => codeOf(e) !== '25P02') ?? failures[0];
}

/** How long a run of embedded statements (or of a commit's parses) holds the event loop before it is given a turn. */
export const YIELD_AFTER_MS = 50;

/** Gives the event loop a turn (setImmediate) once YIELD_AFTER_MS have gone since `since`; answers when the last turn was. */
export async function turnIfDue(since: number): Promise<number> {
  if (performance.now() - since < YIELD_AFTER_MS) return since;
  await new Promise((resolve) => setImmediate(resolve));
  return performance.now();
}

/** Keeps for each key the row with the newest lastSeen (one upsert may not touch a row twice). */
function newestBy<T extends { lastSeen: Date }>(rows: T[], key: (r: T) => string): T[] {
  const m = new Map<string, T>();
  for (const r of rows) {
    const k = key(r);
    const prev = m.get(k);
    if (!prev) {
      m.set(k, r);
      continue;
    }
    // Merge: the newer observation wins, but fields it lacks keep the older value.
    const [older, newer] = prev.lastSeen > r.lastSeen ? [r, prev] : [prev, r];
    const merged = { ...older } as Record<string, unknown>;
    for (const [f, v] of Object.entries(newer)) if (v !== null && v !== undefined) merged[f] = v;
    const firsts = [prev, r].map((x) => (x as unknown as { firstSeen?: Date }).firstSeen).filter((x): x is Date => !!x);
    if (firsts.length) merged.firstSeen = new Date(Math.min(...firsts.map((x) => x.getTime())));
    m.set(k, merged as T);
  }
  return [...m.values()];
}

/** Newer wins per column, but a null never overwrites a known value. */
const newerWins = (table: string, col: string) =>
  sql.raw(
    `CASE WHEN excluded.last_seen >= ${table}.last_seen THEN coalesce(excluded.${col}, ${table}.${col}) ELSE coalesce(${table}.${col}, excluded.${col}) END`,
  );

/** Writes the rows of one artifact (child rows, then volume and lun upserts). */
export async function writeIndexedRows(tx: Db, rows: IndexedRows): Promise<void> {
  await settleAll(indexedRowStatements(tx, rows), tx);
}

/**
 * The statements that write the rows of one artifact, built but not sent (see settleAll):
 * a commit sends those of every artifact as one pipeline. A value that cannot be sent (an
 * invalid date) fails here, before any statement goes.
 */
export function indexedRowStatements(tx: Db, rows: IndexedRows): Array<PromiseLike<unknown>> {
  return [
    ...jsonInserts(extents, rows.extents),
    ...jsonInserts(targets, rows.targets),
    ...snapshotInserts(rows.zfsSnapshots),
    ...chunked(rows.segments, BATCH).map((b) => tx.insert(segments).values(b).onConflictDoNothing()),
    ...volumeUpserts(tx, rows.volumes),
    ...volumeLabelUpserts(tx, rows.volumes),
    ...claimedVolumeUpserts(tx, rows.claimedVolumes),
    ...lunUpserts(tx, rows.luns),
  ].map((q) => tx.execute(q));
}

/**
 * Plain INSERTs of many rows, each batch as one JSON parameter read back by
 * `jsonb_populate_recordset` into the table's own row type: a 40-snapshot listing is one
 * parameter, not 320 bound one by one. Rows name the same columns (those they leave out
 * take their defaults); dates travel as ISO text, JSON columns as JSON.
 */
export function jsonInserts<T extends Table>(table: T, rows: Array<T['$inferInsert']>): SQL[] {
  if (rows.length === 0) return [];
  const columns = Object.entries(getTableColumns(table)).filter(([key]) => rows.some((r) => (r as Record<string, unknown>)[key] !== undefined));
  const name = sql.identifier(getTableName(table));
  const list = sql.join(
    columns.map(([, c]) => sql.identifier(c.name)),
    sql`, `,
  );
  const out: SQL[] = [];
  for (const batch of chunked(rows, BATCH)) {
    const json = JSON.stringify(
      batch.map((r) => {
        const o: Record<string, unknown> = {};
        for (const [key, c] of columns) {
          const v = (r as Record<string, unknown>)[key];
          o[c.name] = v instanceof Date ? v.toISOString() : (v ?? null);
        }
        return o;
      }),
    );
    out.push(sql`INSERT INTO ${name} (${list}) SELECT ${list} FROM jsonb_populate_recordset(NULL::${name}, ${json}::jsonb)`);
  }
  return out;
}

/** Snapshot rows a statement of snapshotInserts carries at most. */
export const SNAPSHOT_BATCH = 10_000;

/**
 * The text of a PostgreSQL array literal of strings, each element quoted (so none reads as NULL
 * and commas, braces and blanks stay in it) with its backslashes and double quotes escaped.
 */
function textArray(values: string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out += `${i ? ',"' : '"'}${NEEDS_ESCAPE.test(v) ? v.replace(ESCAPED, '\\$&') : v}"`;
  }
  return `${out}}`;
}
const NEEDS_ESCAPE = /[\\"]/;
const ESCAPED = /[\\"]/g;

/**
 * A listing's zfs_snapshots rows, SNAPSHOT_BATCH a statement, each artifact's rows apart: its
 * artifact, capture and host sent once, the rows as four arrays unnested into the table (dataset,
 * snapshot, creation in epoch milliseconds, bytes used); the name is the dataset and snapshot
 * joined by `@`, as the parser cut it (formats/zfs.ts), so it is built by the statement. A
 * 542,000-snapshot listing (32 MiB, the text cap) sends 37 MB, where one JSON object a row
 * (jsonInserts) sent 168 MB that each driver measured and PostgreSQL parsed as jsonb: PGlite's CPU
 * for the rows 19.1 → 11.4 s. An invalid date fails here, before any statement goes, as in
 * jsonInserts.
 */
export function snapshotInserts(rows: SnapshotRow[]): SQL[] {
  const out: SQL[] = [];
  for (let start = 0; start < rows.length; ) {
    const { artifactId, captureId, host } = rows[start];
    let end = start + 1;
    while (
      end < rows.length &&
      end - start < SNAPSHOT_BATCH &&
      rows[end].artifactId === artifactId &&
      rows[end].captureId === captureId &&
      rows[end].host === host
    )
      end++;
    const batch = rows.slice(start, end);
    const created = batch.map((r) => {
      const ms = r.createdAt instanceof Date ? r.createdAt.getTime() : new Date(r.createdAt).getTime();
      if (!Number.isFinite(ms)) throw new RangeError('Invalid time value');
      return ms;
    });
    // The parser's names are their dataset@snapshot; one that is not (none yet) is sent as it is.
    const named = batch.some(
      (r) =>
        r.name.length !== r.dataset.length + 1 + r.snapshot.length ||
        r.name.charCodeAt(r.dataset.length) !== 64 ||
        !r.name.startsWith(r.dataset) ||
        !r.name.endsWith(r.snapshot),
    );
    const name = named ? sql`r.name` : sql`r.dataset || '@' || r.snapshot`;
    const names = named ? sql`, ${textArray(batch.map((r) => r.name))}::text[]` : sql``;
    out.push(sql`
      INSERT INTO zfs_snapshots (artifact_id, capture_id, host, dataset, snapshot, name, created_at, used_bytes)
      SELECT ${artifactId}, ${captureId}, ${host}, r.dataset, r.snapshot, ${name},
             timestamptz 'epoch' + r.created_ms * interval '1 millisecond', r.used_bytes
        FROM unnest(${textArray(batch.map((r) => r.dataset))}::text[], ${textArray(batch.map((r) => r.snapshot))}::text[],
                    ${`{${created.join(',')}}`}::bigint[], ${`{${batch.map((r) => r.usedBytes).join(',')}}`}::bigint[]${names})
             AS r(dataset, snapshot, created_ms, used_bytes${named ? sql`, name` : sql``})`);
    start = end;
  }
  return out;
}

/** Inserts or merges volumes: the newest observation's label/version win. */
export function volumeUpserts(tx: Db, rows: VolumeRow[]): SQLWrapper[] {
  return chunked(
    newestBy(rows, (r) => r.vmfsUuid),
    BATCH,
  ).map((batch) => tx.insert(volumes).values(batch).onConflictDoUpdate({ target: volumes.vmfsUuid, set: volumeMerge }));
}

/** How a volume row merges into the one stored: the newest observation's label/version win. */
const volumeMerge = {
  label: newerWins('volumes', 'label'),
  version: newerWins('volumes', 'version'),
  blockSize: newerWins('volumes', 'block_size'),
  createdAt: sql`coalesce(volumes.created_at, excluded.created_at)`,
  creatorMac: sql`coalesce(volumes.creator_mac, excluded.creator_mac)`,
  firstSeen: sql`least(volumes.first_seen, excluded.first_seen)`,
  lastSeen: sql`greatest(volumes.last_seen, excluded.last_seen)`,
};

/** Records each (volume, label) seen, widening its first and last sighting: earlier labels stay searchable. */
export function volumeLabelUpserts(tx: Db, rows: VolumeRow[]): SQLWrapper[] {
  const seen = new Map<string, typeof volumeLabels.$inferInsert>();
  for (const r of rows) {
    if (!r.label) continue;
    const key = JSON.stringify([r.vmfsUuid, r.label]);
    const prev = seen.get(key);
    const first = r.firstSeen as Date;
    const last = r.lastSeen as Date;
    if (!prev) seen.set(key, { vmfsUuid: r.vmfsUuid, label: r.label, firstSeen: first, lastSeen: last });
    else {
      if (first < (prev.firstSeen as Date)) prev.firstSeen = first;
      if (last > (prev.lastSeen as Date)) prev.lastSeen = last;
    }
  }
  // In key order, so two commits naming the same labels lock their rows in the same order.
  const sorted = [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  return chunked(sorted, BATCH).map((batch) =>
    tx
      .insert(volumeLabels)
      .values(batch)
      .onConflictDoUpdate({
        target: [volumeLabels.vmfsUuid, volumeLabels.label],
        set: {
          firstSeen: sql`least(volume_labels.first_seen, excluded.first_seen)`,
          lastSeen: sql`greatest(volume_labels.last_seen, excluded.last_seen)`,
        },
      }),
  );
}

/**
 * A claim's volume row and label (see `IndexedRows.claimedVolumes`), each claim as one
 * statement: a `.vh.sf` any host's collector token can send must not relabel a volume whose
 * header dumps contradict it (api/read/segment-claims.ts: a header ties its segment to another
 * volume, or its volume to another segment). Such a claim still makes the row of a volume the
 * catalog did not know (its page then shows the conflict), changes no row it knew, and adds no
 * label to search. The segments rows the same pipeline inserted before are seen, so a header
 * dump in the same capture counts.
 */
export function claimedVolumeUpserts(tx: Db, claims: IndexedRows['claimedVolumes']): SQLWrapper[] {
  // One statement per distinct claim (the newest sighting of each volume and segment).
  const newest = new Map<string, IndexedRows['claimedVolumes'][number]>();
  for (const c of claims) {
    const key = JSON.stringify([c.volume.vmfsUuid, c.segmentUuid]);
    const prev = newest.get(key);
    if (!prev || (c.volume.lastSeen as Date) >= (prev.volume.lastSeen as Date)) newest.set(key, c);
  }
  const sorted = [...newest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c);
  return sorted.flatMap(({ volume, segmentUuid }) => {
    const standing = (vmfsUuid: SQL) => sql`NOT EXISTS (
      SELECT 1 FROM segments n JOIN artifacts na ON na.id = n.artifact_id
       WHERE na.kind = 'vmfs-header'
         AND ((n.segment_uuid = ${segmentUuid} AND n.vmfs_uuid <> ${vmfsUuid}) OR (n.vmfs_uuid = ${vmfsUuid} AND n.segment_uuid <> ${segmentUuid})))`;
    const row = tx
      .insert(volumes)
      .values(volume)
      .onConflictDoUpdate({ target: volumes.vmfsUuid, set: volumeMerge, setWhere: standing(sql`excluded.vmfs_uuid`) });
    if (!volume.label) return [row];
    const label = sql`INSERT INTO volume_labels (vmfs_uuid, label, first_seen, last_seen)
      SELECT ${volume.vmfsUuid}, ${volume.label}, ${(volume.firstSeen as Date).toISOString()}::timestamptz, ${(volume.lastSeen as Date).toISOString()}::timestamptz
       WHERE ${standing(sql`${volume.vmfsUuid}`)}
      ON CONFLICT (vmfs_uuid, label) DO UPDATE SET first_seen = least(volume_labels.first_seen, excluded.first_seen),
                                                   last_seen = greatest(volume_labels.last_seen, excluded.last_seen)`;
    return [row, label];
  });
}

/** Inserts or merges luns: the newest observation's LUN, vml, vendor/model win. */
export function lunUpserts(tx: Db, rows: LunRow[]): SQLWrapper[] {
  return chunked(
    newestBy(rows, (r) => r.deviceId),
    BATCH,
  ).map((batch) =>
    tx
      .insert(luns)
      .values(batch)
      .onConflictDoUpdate({
        target: luns.deviceId,
        set: {
          lun: newerWins('luns', 'lun'),
          vml: newerWins('luns', 'vml'),
          vendor: newerWins('luns', 'vendor'),
          model: newerWins('luns', 'model'),
          sizeBytes: newerWins('luns', 'size_bytes'),
          lastSeen: sql`greatest(luns.last_seen, excluded.last_seen)`,
        },
      }),
  );
}

/**
 * Inserts or merges a host: kind and system UUID from its newest capture. A new host records the
 * token that opened the capture bringing it in (`introduced_by`, counted against
 * COLLECTOR_TOKEN_HOSTS_MAX by api/ingest/begin.ts); a host already there keeps its own.
 */
export function hostUpsert(tx: Db, host: { name: string; kind: string; systemUuid: string | null; seenAt: Date; captureId: string }): SQLWrapper {
  return tx
    .insert(hosts)
    .values({
      name: host.name,
      kind: host.kind,
      systemUuid: host.systemUuid,
      firstSeen: host.seenAt,
      lastSeen: host.seenAt,
      lastCaptureId: host.captureId,
      introducedBy: sql`(SELECT c.opened_by FROM captures c WHERE c.id = ${host.captureId})`,
    })
    .onConflictDoUpdate({
      target: hosts.name,
      set: {
        kind: sql`CASE WHEN excluded.last_seen >= hosts.last_seen THEN excluded.kind ELSE hosts.kind END`,
        systemUuid: newerWins('hosts', 'system_uuid'),
        lastCaptureId: sql`CASE WHEN excluded.last_seen >= hosts.last_seen THEN excluded.last_capture_id ELSE hosts.last_capture_id END`,
        firstSeen: sql`least(hosts.first_seen, excluded.first_seen)`,
        lastSeen: sql`greatest(hosts.last_seen, excluded.last_seen)`,
      },
    });
}

function chunked<T>(rows: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += n) out.push(rows.slice(i, i + n));
  return out;
}

/**
 * A copy of parsed JSON that PostgreSQL's jsonb and text accept: no U+0000 in any
 * string or key (jsonb refuses `\u0000`, text refuses the NUL byte), and no lone UTF-16
 * surrogate (jsonb refuses the escape). Parsers are meant to return clean text already
 * (docs/formats.md); this is the catalog's own guard, so a parser slip is never a 5xx.
 */
export function cleanJson<T>(value: T): T {
  return clean(value) as T;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Any surrogate at all: a string without one (nearly every string) skips LONE_SURROGATE's lookarounds. */
const SURROGATE = /[\uD800-\uDFFF]/;

function cleanString(s: string): string {
  const noNul = s.includes('\u0000') ? s.replace(/\u0000/g, '') : s;
  return SURROGATE.test(noNul) ? noNul.replace(LONE_SURROGATE, '\uFFFD') : noNul;
}

function clean(v: unknown): unknown {
  if (typeof v === 'string') return cleanString(v);
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(clean);
  if (v instanceof Date) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[cleanString(k)] = clean(x);
  return out;
}

/**
 * Why rows built from an artifact's bytes were refused, when the refusal is about those
 * values and not about the database being reachable: SQLSTATE class 22 (data exception:
 * bad encoding, value out of range), 23 (constraint) or 54 (value too large), or the
 * RangeError/TypeError a bad value raises before the query is sent (an invalid date).
 * Null for anything else (connection loss, serialisation failure), which must still fail
 * the request. The text names the database's own error, never the query's parameters.
 */
export function unindexableReason(e: unknown): string | null {
  const cause = (e as { cause?: unknown } | null)?.cause ?? e;
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code)) {
    const message = String((cause as { message?: unknown }).message ?? '')
      .split('\n')[0]
      .slice(0, 300);
    return `the catalog could not index this artifact (SQLSTATE ${code}: ${message})`;
  }
  if (cause instanceof RangeError || cause instanceof TypeError) {
    return `the catalog could not index this artifact (${cause.name}: ${cause.message.split('\n')[0].slice(0, 300)})`;
  }
  return null;
}
