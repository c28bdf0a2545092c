/**
 * Each artifact's chunk list stored once, as a chunk (format 3, api/pipeline/manifest.ts):
 * commit stores the lists the catalog lacks before its manifest, under the ingest lock, and
 * readers of format 3 (rebuild, check) fetch them here. A list is the catalog's own bytes, built from rows it
 * verified; being a chunk (a `blobs` row, `chunks/<sha256>`), scrub, Object Lock and garbage
 * collection treat it as one, and `artifacts.chunk_list` is what names it for them.
 */
import { sql } from 'drizzle-orm';
import type { ManifestChunk } from '../../formats/protocol.js';
import { queryRows, type Db } from '../../db/client.js';
import { pool } from '../ingest/staging.js';
import { OldestFirst } from '../oldest-first.js';
import { type BlobStore, chunkKey } from '../store/types.js';
import { type ChunkList, type ChunkListSource, decodeChunkList, encodeChunkList, type EncodedChunkList } from './manifest.js';
import type { BlobRow, ManifestArtifact } from './verify.js';

/** A capture's chunk lists, encoded: each artifact's in the artifacts' order, and each distinct one once. */
export interface EncodedChunkLists {
  lists: ManifestChunk[];
  distinct: Map<string, EncodedChunkList>;
}

/** Each artifact's chunk list as a chunk (api/pipeline/manifest.ts encodeChunkList). */
export async function encodeChunkLists(refs: ManifestArtifact[]): Promise<EncodedChunkLists> {
  const distinct = new Map<string, EncodedChunkList>();
  const lists: ManifestChunk[] = [];
  for (const ref of refs) {
    const e = await encodeChunkList(ref);
    distinct.set(e.chunk.sha256, e);
    lists.push(e.chunk);
  }
  return { lists, distinct };
}

/** The `blobs` rows of a capture's chunk lists, for the commit to insert where none is (ON CONFLICT DO NOTHING). */
export function chunkListRows(encoded: EncodedChunkLists, at: Date): BlobRow[] {
  return [...encoded.distinct.values()].map((e) => ({ ...e.chunk, firstStored: at, lastVerified: at }));
}

/**
 * The lists among `encoded` that have their `blobs` row (`doubted`: rows whose object a store
 * listing did not show, or that rebuild recreated without asking the store — their
 * `last_verified` is the epoch, api/ingest/staging.ts vouchListed). A list's record is not
 * aged out as a chunk's is (CHUNK_TRUST_MS): asking the store about every artifact's list once
 * a window would be a request per artifact where the chunks cost one listing; the hourly
 * maintenance listing doubts a list lost from the bucket, and `check` reports it. Asked inside the commit's
 * transaction once it holds the ingest lock (api/retention/lock.ts): from then until it ends no
 * sweep batch runs, so a list with its row stays, and one without is stored by storeChunkLists
 * and given its row by this transaction, with the artifacts that name it. Asking before the lock
 * would leave a window where another capture's commit gives a list its row and a sweep of that
 * capture deletes it, after this commit found it stored.
 */
export async function listsWithRows(tx: Db, encoded: EncodedChunkLists): Promise<{ stored: Set<string>; doubted: string[] }> {
  const rows = await queryRows<{ sha256: string; doubted: boolean }>(
    tx,
    sql`SELECT b.sha256, b.last_verified <= 'epoch'::timestamptz AS doubted FROM blobs b
         WHERE b.sha256 IN (SELECT jsonb_array_elements_text(${JSON.stringify([...encoded.distinct.keys()])}::jsonb))`,
  );
  return { stored: new Set(rows.filter((r) => !r.doubted).map((r) => r.sha256)), doubted: rows.filter((r) => r.doubted).map((r) => r.sha256) };
}

/**
 * Stores the lists without a `blobs` row (or with a doubted one: a list lost from the bucket is
 * stored again by the next commit naming it), before the manifest is written (a manifest never
 * names an absent list). An unchanged artifact's list is yesterday's, which has its row: an
 * unchanged day stores none. Write once (`putIfAbsent`), without the look first on a server that
 * ignores conditional PUTs (`seenAbsent`) unless the row is there but doubted (`doubted`: its
 * object most likely rests there): a list without its row is absent, or was stored by a
 * commit that failed after it — the same list under its own hash, which writing again changes
 * nothing of (on the bench's Swift that look was a HEAD for each new list). A list stored here
 * whose commit then fails is an object without a row, which nothing sweeps and `check` lists as
 * an orphan chunk. Answers the lists it created (their bytes are the ones encoded here) and the
 * stored sizes that differ from the rows chunkListRows gave: a list a failed commit left,
 * compressed by another zlib to other bytes.
 */
export async function storeChunkLists(
  store: BlobStore,
  encoded: EncodedChunkLists,
  stored: Set<string>,
  doubted: ReadonlySet<string> = new Set(),
): Promise<{ created: string[]; resized: Array<{ sha256: string; storedSize: number }> }> {
  const absent = [...encoded.distinct.values()].filter((e) => !stored.has(e.chunk.sha256));
  const created: string[] = [];
  const found = await pool(absent, 16, async (e) => {
    const key = chunkKey(e.chunk.sha256);
    // A doubted list's object is most likely there (a rebuild doubts every record): look first,
    // so a server without write-once creates does not overwrite it.
    if ((await store.putIfAbsent(key, e.stored, { seenAbsent: !doubted.has(e.chunk.sha256) })) === 'created') {
      created.push(e.chunk.sha256);
      return null;
    }
    const head = await store.head(key);
    return head && head.size !== e.chunk.storedSize ? { sha256: e.chunk.sha256, storedSize: head.size } : null;
  });
  return { created, resized: found.filter((f) => f !== null) };
}

/**
 * Stores, ahead of the commit's transaction, the lists that have no `blobs` row now (asked
 * without the lock: only to leave out those with one) — a changed artifact's new list — so the
 * manifest, which must wait for them, goes out once the capture is claimed instead of after
 * their PUTs (on S3, a request each). Answers the lists it created. It changes nothing of what
 * the transaction decides: under the lock listsWithRows is asked as before, and storeChunkLists
 * stores what it still finds absent, leaving out these. An object stored here has no row, so no
 * sweep takes it; the transaction gives it its row, and a commit that fails after this leaves
 * it as storeChunkLists would (an orphan, listed by `check`).
 */
export async function storeAbsentChunkLists(db: Db, store: BlobStore, encoded: EncodedChunkLists): Promise<{ created: Promise<Set<string>> }> {
  // The lookup is answered before this resolves: the caller's transaction, begun after, waits for no statement of it.
  const { stored, doubted } = await listsWithRows(db, encoded);
  const withRow = new Set([...stored, ...doubted]);
  const created = new Set<string>();
  const puts = pool(
    [...encoded.distinct.values()].filter((e) => !withRow.has(e.chunk.sha256)),
    16,
    async (e) => {
      if ((await store.putIfAbsent(chunkKey(e.chunk.sha256), e.stored, { seenAbsent: true })) === 'created') created.add(e.chunk.sha256);
    },
  );
  return { created: puts.then(() => created) };
}

/**
 * A reader of chunk lists for format 3 manifests (decodeManifest): each list fetched once and
 * checked (decodeChunkList), kept for the manifests after it — a daily host's unchanged
 * artifacts name the same list in every capture — up to `maxBytes` of lists' JSON, least
 * recently used first: that bounds the lists kept, not a rebuild, which decodes every manifest first.
 * A missing list is an Error naming it and its key.
 */
export function chunkListReader(store: BlobStore, maxBytes = 16 * 1024 * 1024): ChunkListSource {
  const kept = new Map<string, { list: Promise<ChunkList>; bytes: number }>();
  const oldest = new OldestFirst(kept);
  let total = 0;
  return async (sha256) => {
    const hit = kept.get(sha256);
    if (hit) {
      oldest.use(sha256);
      return hit.list;
    }
    const entry = { list: fetchList(store, sha256), bytes: 0 };
    kept.set(sha256, entry);
    try {
      const list = await entry.list;
      if (kept.get(sha256) === entry) {
        entry.bytes = list.stored.size;
        total += entry.bytes;
        while (total > maxBytes && kept.size > 1) {
          const key = oldest.take();
          total -= kept.get(key)!.bytes;
          kept.delete(key);
        }
      }
      return list;
    } catch (e) {
      // A failure is not kept: the next manifest naming the list asks the store again.
      if (kept.get(sha256) === entry) kept.delete(sha256);
      throw e;
    }
  };
}

async function fetchList(store: BlobStore, sha256: string): Promise<ChunkList> {
  const key = chunkKey(sha256);
  const raw = await store.getBytes(key);
  if (!raw) throw new Error(`chunk list ${sha256} is missing (${key})`);
  try {
    return await decodeChunkList(sha256, raw);
  } catch (e) {
    throw new Error(`${(e as Error).message} (${key})`);
  }
}
