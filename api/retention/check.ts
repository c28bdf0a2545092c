/**
 * `check`, restic's `check` for this store: every manifest has its capture rows and every
 * committed capture its manifest, and every manifest reads back as one (a damaged or
 * hand-edited manifest, or one whose chunk list is missing or damaged, is listed with why, as
 * `rebuild` would refuse it); every chunk an artifact references (its chunk list too) rests in the store with the stored size recorded; orphans (objects nothing references, rows whose capture
 * or object is gone) are listed. With `readDataPercent` it also re-reads and re-hashes a
 * slice of the stored chunks, going on in key order from where the last slice stopped
 * (`scrub_state`), so N % a run covers the whole store every 100/N runs. A chunk whose bytes
 * no longer hash to its name raises one `chunk-corrupt` event (critical) per affected
 * artifact and volume, so the volume's page shows it; a chunk the slice reads whole resolves
 * its open ones (api/events/chunk-corrupt.ts).
 */
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { blobs, events, extents, scrubState, segments } from '../../db/schema.js';
import type { Services } from '../context.js';
import { ChunkError, decodeChunk } from '../pipeline/chunks.js';
import { decodeManifestPartly } from '../pipeline/manifest.js';
import { artifactId } from '../ingest/begin.js';
import { chunkListReader } from '../pipeline/chunk-lists.js';
import { doubtRecords, markMissing, pool, vouchListed } from '../ingest/staging.js';
import { chunkKey, isManifestKey, manifestKeysOf } from '../store/types.js';
import { rowsOf } from './gather.js';
import type { Db } from '../../db/client.js';
import { resolveChunkCorrupt } from '../events/chunk-corrupt.js';
import { enqueueEvents, kickDelivery } from '../events/webhook.js';

export interface CorruptChunk {
  sha256: string;
  reason: string;
  artifacts: string[];
  volumes: string[];
}

export interface CheckReport {
  manifests: number;
  captures: number;
  chunksReferenced: number;
  chunksStored: number;
  capturesWithoutManifest: string[];
  manifestsWithoutCapture: string[];
  /** Manifests `rebuild` could not read (not the format a commit writes), with why. */
  unreadableManifests: Array<{ key: string; message: string }>;
  /**
   * Artifacts the manifest of a committed capture names that have no row (a rebuild left them
   * out: their chunk list was lost): the key, the artifact's id (of its place), index and file name.
   * A rebuild brings back those whose list reads.
   */
  artifactsWithoutRow: Array<{ key: string; artifactId: string; index: number; fileName: string }>;
  missingChunks: Array<{ sha256: string; artifacts: string[] }>;
  wrongSize: Array<{ sha256: string; expected: number; actual: number }>;
  orphanChunks: Array<{ key: string; size: number }>;
  /** `blobs` rows whose object is gone (of chunks no artifact references: a referenced one is a missing chunk), and artifacts whose capture is not committed. */
  orphanRows: { blobs: string[]; artifacts: string[] };
  scrub: { percent: number; read: number; bytes: number; from: string | null; to: string | null; wrapped: boolean; corrupt: CorruptChunk[] } | null;
  /** What the chunk listing said of the `blobs` records (api/ingest/staging.ts `vouchListed`). */
  listing: { vouched: number; doubted: number };
  clean: boolean;
}

/** The scrub's row in `scrub_state`. */
export const SCRUB = 'chunks';

/**
 * Checks the store against the catalog (and, with readDataPercent > 0, re-hashes a slice).
 * Every manifest is read (a GET each, 8 at a time), and every key and record is held at once:
 * this is the operator's full check. The scheduled maintenance pass lists and scrubs without it
 * (api/maintenance.ts), a page at a time.
 */
export async function checkStore(services: CheckServices, options: { readDataPercent?: number } = {}): Promise<CheckReport> {
  const { db, store, now } = services;
  const manifests = new Set<string>();
  for await (const o of store.list('manifests/')) if (isManifestKey(o.key)) manifests.add(o.key);
  const caps = rowsOf<{ id: string; manifest_key: string | null }>(await db.execute(sql`select id, manifest_key from captures where state = 'committed'`));
  const rowKeys = new Set(caps.map((c) => c.manifest_key).filter((k): k is string => !!k));
  const capturesWithoutManifest = caps
    .filter((c) => !c.manifest_key || !manifests.has(c.manifest_key))
    .map((c) => c.id)
    .sort();
  // A capture's manifest of the other format (left by an upgrade, manifestKeysOf) is its own.
  const manifestsWithoutCapture = [...manifests].filter((k) => !manifestKeysOf(k).some((x) => rowKeys.has(x))).sort();
  const read = await readManifests(store, [...manifests].sort(), (k) => manifestKeysOf(k).some((x) => rowKeys.has(x)));
  const unreadableManifests = read.unreadable;
  const withRows = new Set(
    rowsOf<{ id: string }>(await db.execute(sql`select a.id from artifacts a join captures c on c.id = a.capture_id and c.state = 'committed'`)).map(
      (r) => r.id,
    ),
  );
  // One capture's manifest in both formats (an upgrade's) names each artifact twice: said once.
  const artifactsWithoutRow = [...new Map(read.named.filter((n) => !withRows.has(n.artifactId)).map((n) => [n.artifactId, n])).values()];

  // Referenced: chunk → stored size and the artifacts naming it. An artifact's chunk list is a
  // chunk it names (api/pipeline/chunk-lists.ts), its sizes those of its `blobs` row (null: none).
  const refs = new Map<string, { storedSize: number | null; size: number | null; artifacts: string[] }>();
  for (const r of rowsOf<{ id: string; sha: string; stored: number | string | null; size: number | string | null }>(
    await db.execute(sql`
      select a.id, c->>'sha256' as sha, c->>'storedSize' as stored, c->>'size' as size
      from artifacts a join captures cap on cap.id = a.capture_id and cap.state = 'committed', jsonb_array_elements(a.chunks) c
      union all
      select a.id, a.chunk_list as sha, b.stored_size::text as stored, b.size::text as size
      from artifacts a join captures cap on cap.id = a.capture_id and cap.state = 'committed'
      left join blobs b on b.sha256 = a.chunk_list where a.chunk_list is not null`),
  )) {
    const number = (x: number | string | null) => (x === null ? null : Number(x));
    const e = refs.get(r.sha) ?? { storedSize: number(r.stored), size: number(r.size), artifacts: [] };
    if (!e.artifacts.includes(r.id)) e.artifacts.push(r.id);
    refs.set(r.sha, e);
  }
  const openNamed = new Set(
    rowsOf<{ sha: string }>(
      await db.execute(sql`select distinct c->>'sha256' as sha from captures cap,
    jsonb_array_elements(cap.request->'artifacts') a, jsonb_array_elements(a->'chunks') c where cap.state = 'open'
    union select jsonb_array_elements_text(cap.chunk_lists) from captures cap where cap.state = 'open' and cap.chunk_lists is not null`),
    ).map((r) => r.sha),
  );
  const stored = new Map<string, number>();
  const listedFrom = now();
  const atItsKey = new Map<string, number>();
  for await (const o of store.list('chunks/')) {
    const sha = o.key.slice(o.key.lastIndexOf('/') + 1);
    stored.set(sha, o.size);
    if (o.key === chunkKey(sha)) atItsKey.set(sha, o.size);
  }

  const missingChunks: CheckReport['missingChunks'] = [];
  const wrongSize: CheckReport['wrongSize'] = [];
  for (const [sha, r] of refs) {
    const size = stored.get(sha);
    if (size === undefined) missingChunks.push({ sha256: sha, artifacts: [...r.artifacts].sort() });
    else if (r.storedSize !== null && size !== r.storedSize) wrongSize.push({ sha256: sha, expected: r.storedSize, actual: size });
  }
  missingChunks.sort((a, b) => a.sha256.localeCompare(b.sha256));
  wrongSize.sort((a, b) => a.sha256.localeCompare(b.sha256));
  const orphanChunks = [...stored]
    .filter(([sha]) => !refs.has(sha) && !openNamed.has(sha))
    .map(([sha, size]) => ({ key: chunkKey(sha), size }))
    .sort((a, b) => a.key.localeCompare(b.key));
  const blobRows = await db
    .select({ sha256: blobs.sha256, size: blobs.size, storedSize: blobs.storedSize, firstStored: blobs.firstStored, lastVerified: blobs.lastVerified })
    .from(blobs);
  // The listing is the store's word for every chunk at once: captures need not ask it (CHUNK_TRUST_MS).
  const listing = await vouchListed(db, atItsKey, blobRows, listedFrom);
  const orphanRows = {
    // A referenced chunk without its object is a missing chunk (listed above), not also an orphan row.
    blobs: blobRows
      .filter((b) => !stored.has(b.sha256) && !refs.has(b.sha256))
      .map((b) => b.sha256)
      .sort(),
    artifacts: rowsOf<{ id: string }>(
      await db.execute(sql`select a.id from artifacts a left join captures c on c.id = a.capture_id
      where c.id is null or c.state <> 'committed' order by a.id`),
    ).map((r) => r.id),
  };

  let scrub: CheckReport['scrub'] = null;
  const percent = options.readDataPercent ?? 0;
  if (percent > 0) {
    const { vanished, ...slice } = await scrubChunks(services, percent, async (shas) => new Map(shas.map((sha) => [sha, refs.get(sha)?.artifacts ?? []])));
    scrub = slice;
    // What the slice found listed but gone counts as the listing's gaps do (a chunk the listing
    // did not show is already a missing chunk or an orphan row above).
    for (const sha of vanished) {
      if (!stored.has(sha)) continue;
      const r = refs.get(sha);
      if (r) missingChunks.push({ sha256: sha, artifacts: [...r.artifacts].sort() });
      else orphanRows.blobs.push(sha);
    }
    missingChunks.sort((a, b) => a.sha256.localeCompare(b.sha256));
    orphanRows.blobs.sort();
  }
  const clean =
    !capturesWithoutManifest.length &&
    !manifestsWithoutCapture.length &&
    !unreadableManifests.length &&
    !artifactsWithoutRow.length &&
    !missingChunks.length &&
    !wrongSize.length &&
    !orphanChunks.length &&
    !orphanRows.blobs.length &&
    !orphanRows.artifacts.length &&
    !scrub?.corrupt.length;
  return {
    manifests: manifests.size,
    captures: caps.length,
    chunksReferenced: refs.size,
    chunksStored: stored.size,
    capturesWithoutManifest,
    manifestsWithoutCapture,
    unreadableManifests,
    artifactsWithoutRow,
    missingChunks,
    wrongSize,
    orphanChunks,
    orphanRows,
    scrub,
    listing,
    clean,
  };
}

/**
 * The manifests among `keys` that do not read back as one (api/pipeline/manifest.ts; format 3
 * with its chunk lists, each fetched once), with why, as decodeManifest says it; and every
 * artifact those of committed captures (`committed`) name, whether its list reads or not
 * (`named`, in key and index order). A store failure is thrown.
 */
async function readManifests(
  store: Services['store'],
  keys: string[],
  committed: (key: string) => boolean,
): Promise<{ unreadable: CheckReport['unreadableManifests']; named: CheckReport['artifactsWithoutRow'] }> {
  const lists = chunkListReader(store);
  const found = await pool(keys, 8, async (key) => {
    const bytes = await store.getBytes(key);
    if (!bytes) return null; // gone since the listing (retention dropped it meanwhile)
    try {
      const { manifest, positions, leftOut } = await decodeManifestPartly(bytes, lists);
      const named = committed(key)
        ? [
            ...manifest.artifacts.map((a, i) => ({ key, artifactId: a.id, index: positions[i], fileName: a.fileName })),
            ...leftOut.map((l) => ({ key, artifactId: artifactId(manifest.captureId, l.index), index: l.index, fileName: l.fileName })),
          ].sort((a, b) => a.index - b.index)
        : [];
      return { named, unreadable: leftOut.length ? { key, message: leftOut.map((l) => l.message).join('; ') } : null };
    } catch (e) {
      return { named: [], unreadable: { key, message: (e as Error).message } };
    }
  });
  return {
    unreadable: found.flatMap((f) => (f?.unreadable ? [f.unreadable] : [])),
    named: found.flatMap((f) => f?.named ?? []),
  };
}

/** What `check` needs: the config and logger only for webhooks of the events the scrub raises and resolves. */
type CheckServices = Pick<Services, 'db' | 'store' | 'now' | 'config' | 'logger'>;

/** `blobs` records a scrub reads a page at a time: its slice is walked, never held whole. */
const SCRUB_PAGE = 1000;

/**
 * Re-reads and re-hashes the next `percent` of the chunks the catalog holds a record of (the
 * `blobs` rows in hash order, wrapping, a page at a time, so memory stays flat however many
 * chunks the store holds), and records where it stopped. A chunk read whole resolves its open
 * chunk-corrupt events (put back whole since the scrub found it corrupt); a corrupt one raises
 * them, naming the artifacts `artifactsOf` gives (asked only for the chunks found corrupt or
 * gone). A record whose object is gone is doubted (the next capture naming it uploads it
 * again) and returned as `vanished`. An object without a record has nothing to compare with
 * and is not read (`check` lists it as an orphan).
 */
export async function scrubChunks(
  services: CheckServices,
  percent: number,
  artifactsOf: (shas: string[]) => Promise<Map<string, string[]>>,
  options: { pageRows?: number } = {},
): Promise<NonNullable<CheckReport['scrub']> & { vanished: string[] }> {
  const { db, now } = services;
  const pageRows = options.pageRows ?? SCRUB_PAGE;
  const [state] = await db.select().from(scrubState).where(eq(scrubState.name, SCRUB));
  const from = state?.cursor ?? null;
  const [{ n }] = rowsOf<{ n: number | string }>(await db.execute(sql`select count(*) as n from blobs`));
  const total = Number(n);
  const take = total === 0 ? 0 : Math.min(total, Math.max(1, Math.ceil((total * percent) / 100)));
  const found: SliceFindings = { read: 0, bytes: 0, good: [], corrupt: [], vanished: [], setAside: new Map() };
  let wrapped = false;
  let to = from;
  // From the cursor to the end, then (wrapped) from the start up to the cursor.
  const parts = from === null ? [sql`true`] : [sql`sha256 > ${from}`, sql`sha256 <= ${from}`];
  for (const [i, part] of parts.entries()) {
    let after = sql``;
    while (found.read < take) {
      const page = rowsOf<{ sha256: string; size: number | string }>(
        await db.execute(sql`select sha256, size from blobs where ${part} ${after} order by sha256 limit ${Math.min(pageRows, take - found.read)}`),
      );
      if (page.length === 0) break;
      if (i === 1) wrapped = true;
      await scrubPage(services, page, found);
      to = page[page.length - 1].sha256;
      after = sql`and sha256 > ${to}`;
    }
  }
  // A chunk set aside as corrupt has no record until it is stored whole again, yet its open
  // events name it: each scrub reads it again wherever the cursor is, so bytes put back under
  // its key (a copy of the bucket, say) resolve them within the day.
  const read = new Set([...found.good, ...found.vanished, ...found.corrupt.map((c) => c.sha256)]);
  const awaited = rowsOf<{ sha256: string; size: number | string }>(
    await db.execute(sql`
      select distinct e.details->>'sha256' as sha256, c->>'size' as size
      from events e join artifacts a on a.id = e.artifact_id, jsonb_array_elements(a.chunks) c
      where e.type = 'chunk-corrupt' and e.resolved_at is null and c->>'sha256' = e.details->>'sha256'`),
  ).filter((r) => !read.has(r.sha256));
  await scrubPage(services, awaited, found, { absentIsGone: false });
  const { good, corrupt, vanished, setAside, bytes } = found;
  if (corrupt.length || vanished.length) {
    const named = await artifactsOf([...corrupt.map((c) => c.sha256), ...vanished]);
    for (const c of corrupt) c.artifacts = [...(named.get(c.sha256) ?? [])].sort();
  }
  const at = now();
  for (let i = 0; i < good.length; i += 500)
    await db
      .update(blobs)
      .set({ lastVerified: at })
      .where(inArray(blobs.sha256, good.slice(i, i + 500)));
  for (const c of corrupt) await raiseCorrupt(services, c, await repairable(services, c.sha256, setAside.get(c.sha256)!));
  const resolved = await db.transaction(async (txRaw) => {
    const tx = txRaw as unknown as Db;
    const ids = await resolveChunkCorrupt(tx, good, at);
    await enqueueEvents(tx, services.config, at, 'event.resolved', ids);
    return ids;
  });
  // Sent now, as a commit's are, not at the next events scan (raiseCorrupt sends what it raises).
  if (resolved.length) kickDelivery(services);
  await doubtRecords(db, vanished);
  corrupt.sort((a, b) => a.sha256.localeCompare(b.sha256));
  const passStartedAt = wrapped || !state?.passStartedAt ? at : state.passStartedAt;
  await db
    .insert(scrubState)
    .values({ name: SCRUB, cursor: to, passStartedAt, updatedAt: at })
    .onConflictDoUpdate({ target: scrubState.name, set: { cursor: to, passStartedAt, updatedAt: at } });
  return { percent, read: found.read, bytes, from, to, wrapped, corrupt, vanished };
}

/**
 * The committed artifacts naming each of `shas`, as a chunk or as their chunk list. It reads
 * every artifact row (no index leads from a chunk to them), so it is asked only for the few
 * chunks a scheduled scrub found corrupt or gone.
 */
export async function artifactsNaming(db: Db, shas: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (shas.length === 0) return out;
  const list = sql.join(
    shas.map((sha) => sql`${sha}`),
    sql`, `,
  );
  const contains = sql.join(
    shas.map((sha) => sql`${JSON.stringify([{ sha256: sha }])}::jsonb`),
    sql`, `,
  );
  for (const r of rowsOf<{ sha: string; id: string }>(
    await db.execute(sql`
      select c->>'sha256' as sha, a.id from artifacts a join captures cap on cap.id = a.capture_id and cap.state = 'committed',
        jsonb_array_elements(a.chunks) c
      where a.chunks @> any(array[${contains}]) and c->>'sha256' in (${list})
      union
      select a.chunk_list as sha, a.id from artifacts a join captures cap on cap.id = a.capture_id and cap.state = 'committed'
      where a.chunk_list in (${list})`),
  ))
    out.set(r.sha, [...(out.get(r.sha) ?? []), r.id]);
  return out;
}

interface SliceFindings {
  read: number;
  bytes: number;
  good: string[];
  corrupt: CorruptChunk[];
  vanished: string[];
  /** A corrupt chunk's bytes as last read, for quarantine. */
  setAside: Map<string, Uint8Array>;
}

/**
 * Reads and re-hashes one page of a scrub's chunks, 8 at a time, into `found`. An absent one
 * is `vanished` unless `absentIsGone` is false (a chunk set aside as corrupt: its absence is
 * already known).
 */
async function scrubPage(
  services: CheckServices,
  page: Array<{ sha256: string; size: number | string }>,
  found: SliceFindings,
  options: { absentIsGone?: boolean } = {},
): Promise<void> {
  const { store } = services;
  await pool(page, 8, async ({ sha256: sha, size: s }) => {
    const size = Number(s);
    const raw = await store.getBytes(chunkKey(sha));
    if (!raw && options.absentIsGone === false) return;
    found.read++;
    if (!raw) {
      // Gone since the listing, or a listing that still shows a deleted object (eventually
      // consistent servers): the record is doubted and the chunk reported missing.
      found.vanished.push(sha);
      return;
    }
    found.bytes += raw.length;
    try {
      await decodeChunk(sha, size, raw);
      found.good.push(sha);
    } catch (e) {
      if (!(e instanceof ChunkError)) throw e;
      // Read once more before anything is moved: a read that went wrong is not a chunk that did.
      const again = await store.getBytes(chunkKey(sha));
      if (
        again &&
        (await decodeChunk(sha, size, again).then(
          () => true,
          () => false,
        ))
      ) {
        found.good.push(sha);
        return;
      }
      found.corrupt.push({ sha256: sha, reason: e.message, artifacts: [], volumes: [] });
      found.setAside.set(sha, again ?? raw);
    }
  });
}

/**
 * A chunk a download or a bundle found damaged, recorded as the scrub would: read once more
 * (a read that went wrong is not a chunk that did); still damaged, its bytes are set aside and
 * its record dropped (repairable) and chunk-corrupt is raised for every artifact naming it;
 * gone, its record is doubted. Answers whether the chunk was found damaged or gone.
 */
export async function recordDamagedChunk(services: CheckServices, chunk: { sha256: string; size: number }): Promise<boolean> {
  const { db, store } = services;
  const raw = await store.getBytes(chunkKey(chunk.sha256));
  if (!raw) {
    await doubtRecords(db, [chunk.sha256]);
    return true;
  }
  try {
    await decodeChunk(chunk.sha256, chunk.size, raw);
    return false;
  } catch (e) {
    if (!(e instanceof ChunkError)) throw e;
    const artifacts = (await artifactsNaming(db, [chunk.sha256])).get(chunk.sha256) ?? [];
    const c: CorruptChunk = { sha256: chunk.sha256, reason: e.message, artifacts: [...artifacts].sort(), volumes: [] };
    await raiseCorrupt(services, c, await repairable(services, chunk.sha256, raw));
    return true;
  }
}

/** Where a chunk's bytes that no longer hash to its name are kept once taken from under it. */
export function quarantineKey(sha256: string): string {
  return `quarantine/${sha256}`;
}

/**
 * A chunk whose bytes no longer hash to its name (read twice): its bytes are set aside under
 * `quarantine/<sha256>` for whoever looks into it (nothing reads or deletes them), the object
 * under its name goes, and its record with it (markMissing). The next capture of a host holding
 * the good bytes is then asked for them, and its write-once create finds the key free, so the
 * artifacts naming the chunk read whole again. Answers what the event tells the operator: how
 * it gets repaired, or why it could not be made repairable (Object Lock holds the object).
 */
async function repairable(services: Pick<Services, 'db' | 'store'>, sha256: string, bytes: Uint8Array): Promise<string> {
  const { db, store } = services;
  try {
    await store.put(quarantineKey(sha256), bytes);
    await store.delete(chunkKey(sha256));
  } catch (e) {
    return `its stored copy could not be taken away (${(e as Error).message}); restore from another capture`;
  }
  await markMissing(db, store, [sha256]);
  return `its stored copy was set aside as ${quarantineKey(sha256)}; the next capture of a host holding these bytes uploads them again, or restore from another capture`;
}

/** Artifact ids an event's details list at most; `artifactCount` says how many there are. */
const EVENT_ARTIFACTS = 50;

/**
 * One chunk-corrupt event per damaged chunk and affected volume, and one per host for its
 * artifacts on no volume (once: an open event for the same chunk and volume, or host, is not
 * repeated; one resolved since is), queued for webhooks. A chunk many artifacts share (the
 * first MiB every daily dump of a datastore repeats) is then one critical event on the
 * volume's page, not one per capture kept; the event names the newest artifact holding it,
 * and its details list the others. Their webhooks are sent now, as a commit's are.
 */
async function raiseCorrupt(services: Pick<Services, 'db' | 'now' | 'config' | 'logger'>, c: CorruptChunk, repair: string): Promise<void> {
  const { db, now } = services;
  if (c.artifacts.length === 0) return;
  const arts = rowsOf<{ id: string; capture_id: string; host: string; device: string | null; file_name: string; collected_at: Date | string }>(
    await db.execute(sql`
    select id, capture_id, host, device, file_name, collected_at from artifacts where id in (${sql.join(
      c.artifacts.map((a) => sql`${a}`),
      sql`, `,
    )}) order by collected_at desc, id`),
  );
  const vols = new Map<string, Set<string>>();
  const ext = await db
    .select({ a: extents.artifactId, v: extents.vmfsUuid, d: extents.deviceId })
    .from(extents)
    .where(inArray(extents.artifactId, c.artifacts));
  const seg = await db.select({ a: segments.artifactId, v: segments.vmfsUuid }).from(segments).where(inArray(segments.artifactId, c.artifacts));
  for (const r of [...ext, ...seg])
    if (r.v) {
      const s = vols.get(r.a) ?? new Set();
      s.add(r.v);
      vols.set(r.a, s);
    }
  const devices = new Map(ext.filter((r) => r.d).map((r) => [r.a, r.d!]));
  c.volumes = [...new Set([...vols.values()].flatMap((s) => [...s]))].sort();
  // The groups, newest artifact first in each: a volume's, or a host's artifacts on no volume.
  const groups = new Map<string, { volume: string | null; arts: typeof arts }>();
  for (const a of arts) {
    const volumes = [...(vols.get(a.id) ?? [])];
    for (const key of volumes.length ? volumes.map((v) => `v:${v}`) : [`h:${a.host}`]) {
      const g = groups.get(key) ?? { volume: key.startsWith('v:') ? key.slice(2) : null, arts: [] };
      g.arts.push(a);
      groups.set(key, g);
    }
  }
  const open = await db
    .select({ vmfsUuid: events.vmfsUuid, host: events.host })
    .from(events)
    .where(and(eq(events.type, 'chunk-corrupt'), eq(events.acknowledged, false), isNull(events.resolvedAt), sql`${events.details}->>'sha256' = ${c.sha256}`));
  const raisedFor = new Set(open.map((e) => (e.vmfsUuid ? `v:${e.vmfsUuid}` : `h:${e.host}`)));
  const at = now();
  const rows = [...groups]
    .filter(([key]) => !raisedFor.has(key))
    .map(([, { volume, arts: held }]) => {
      const a = held[0];
      const others = held.length > 1 ? ` (and ${held.length - 1} other artifact${held.length > 2 ? 's' : ''} holding it)` : '';
      return {
        type: 'chunk-corrupt',
        severity: 'critical' as const,
        vmfsUuid: volume,
        deviceId: devices.get(a.id) ?? a.device ?? null,
        host: a.host,
        captureId: a.capture_id,
        artifactId: a.id,
        message: `${a.file_name}${others}: stored chunk ${c.sha256} no longer matches its hash (${c.reason}); ${repair}`,
        details: {
          sha256: c.sha256,
          reason: c.reason,
          artifacts: held.slice(0, EVENT_ARTIFACTS).map((x) => x.id),
          artifactCount: held.length,
          volumes: c.volumes,
        },
        createdAt: at,
      };
    });
  if (rows.length === 0) return;
  await db.transaction(async (txRaw) => {
    const tx = txRaw as unknown as Db;
    const raised = await tx.insert(events).values(rows).returning({ id: events.id });
    await enqueueEvents(
      tx,
      services.config,
      at,
      'event.raised',
      raised.map((r) => r.id),
    );
  });
  kickDelivery(services);
}

/** The report in words. */
export function formatCheckReport(r: CheckReport): string {
  const lines = [`check: ${r.manifests} manifests, ${r.captures} captures, ${r.chunksReferenced} chunks referenced, ${r.chunksStored} stored`];
  for (const id of r.capturesWithoutManifest) lines.push(`  capture without manifest: ${id}`);
  for (const k of r.manifestsWithoutCapture) lines.push(`  manifest without capture: ${k}`);
  for (const u of r.unreadableManifests) lines.push(`  unreadable manifest ${u.key}: ${u.message}`);
  for (const a of r.artifactsWithoutRow) lines.push(`  artifact without row: ${a.key} artifacts[${a.index}] (${a.fileName}), id ${a.artifactId}`);
  for (const m of r.missingChunks) lines.push(`  missing chunk ${m.sha256} (artifacts ${m.artifacts.join(', ')})`);
  for (const w of r.wrongSize) lines.push(`  chunk ${w.sha256} has ${w.actual} bytes, ${w.expected} expected`);
  for (const o of r.orphanChunks) lines.push(`  orphan chunk ${o.key} (${o.size} bytes)`);
  for (const b of r.orphanRows.blobs) lines.push(`  blobs row without object: ${b}`);
  for (const a of r.orphanRows.artifacts) lines.push(`  artifact row without committed capture: ${a}`);
  if (r.scrub) {
    const s = r.scrub;
    // A whole pass — 100 %, or a slice that went round from the cursor back to it — read every
    // record: "from X to X, wrapped" said that in a riddle.
    const all = s.percent >= 100 || (s.wrapped && s.from !== null && s.to === s.from);
    lines.push(
      all
        ? `  read all ${s.read} chunks (${s.bytes} bytes)`
        : `  read ${s.read} chunks (${s.bytes} bytes, ${s.percent}%) from ${s.from ?? 'the start'} to ${s.to ?? '-'}${s.wrapped ? ', wrapped' : ''}`,
    );
    for (const c of r.scrub.corrupt)
      lines.push(`  CORRUPT chunk ${c.sha256}: ${c.reason} (artifacts ${c.artifacts.join(', ') || '-'}; volumes ${c.volumes.join(', ') || '-'})`);
  }
  lines.push(`  chunk records the listing vouched for anew: ${r.listing.vouched}; doubted (not listed at their recorded size): ${r.listing.doubted}`);
  lines.push(r.clean ? 'clean' : 'problems found');
  return lines.join('\n');
}
