/**
 * Mark and sweep of chunks no artifact references any more (see lock.ts for why it is safe
 * against a concurrent begin or commit). Mark: the committed captures, then every chunk an
 * artifact (its chunks and its chunk list) or an open capture's begin request names;
 * candidates are the chunks `blobs` knows that none names. Sweep, a batch at a time under the sweep lock: the batch is
 * checked again against open captures and captures committed since the mark, then its
 * `blobs` and `host_chunks` rows and its objects go. An object Object Lock still holds is
 * left (with its row) and reported "locked until …"; a later run takes it.
 */
import { inArray, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { blobs, hostChunks } from '../../db/schema.js';
import type { Services } from '../context.js';
import { pool, presenceOf } from '../ingest/staging.js';
import { keptOf } from '../pipeline/chunks.js';
import { chunkKey } from '../store/types.js';
import { holdSweepLock } from './lock.js';
import { rowsOf } from './gather.js';

export interface SweepOutcome {
  chunksDeleted: number;
  bytesFreed: number;
  /** Chunks left because Object Lock holds them. */
  locked: Array<{ key: string; until: string }>;
  /** The hashes of the chunks deleted. */
  swept: string[];
}

/** Every artifact. */
const ALL = sql`true`;

async function committedIds(db: Db): Promise<Set<string>> {
  return new Set(rowsOf<{ id: string }>(await db.execute(sql`select id from captures where state = 'committed'`)).map((r) => r.id));
}

/**
 * Chunks named by artifacts (of the given captures, or all) — their chunks and their chunk
 * lists (`chunk_list`, api/pipeline/chunk-lists.ts) — and by open captures' begin requests.
 */
async function namedChunks(db: Db, onlyCaptures?: string[]): Promise<Set<string>> {
  const named = new Set<string>();
  const of = (which: SQL) => sql`select c->>'sha256' as sha from artifacts a, jsonb_array_elements(a.chunks) c where ${which}
    union select a.chunk_list as sha from artifacts a where a.chunk_list is not null and ${which}`;
  const arts =
    onlyCaptures === undefined
      ? await db.execute(of(ALL))
      : onlyCaptures.length === 0
        ? []
        : await db.execute(
            of(
              sql`a.capture_id in (${sql.join(
                onlyCaptures.map((id) => sql`${id}`),
                sql`, `,
              )})`,
            ),
          );
  for (const r of rowsOf<{ sha: string }>(arts)) named.add(r.sha);
  // A begun capture's request: its chunks are about to be committed (or were just verified);
  // and the chunk lists its commit named (captures.chunk_lists: a commit that failed after its
  // manifest went out left them named there).
  const open = await db.execute(sql`select distinct c->>'sha256' as sha from captures cap,
    jsonb_array_elements(cap.request->'artifacts') a, jsonb_array_elements(a->'chunks') c where cap.state = 'open'
    union select jsonb_array_elements_text(cap.chunk_lists) from captures cap where cap.state = 'open' and cap.chunk_lists is not null`);
  for (const r of rowsOf<{ sha: string }>(open)) named.add(r.sha);
  return named;
}

/** Deletes every chunk no artifact and no open capture references. */
export async function sweepUnreferencedChunks(
  services: Pick<Services, 'db' | 'store' | 'now'>,
  options: { batchSize?: number; beforeBatch?: () => Promise<void> } = {},
): Promise<SweepOutcome> {
  const { db, store, now } = services;
  // Mark. The committed set is read before the references: a capture committing in between
  // is not in `marked` and is looked at again by every batch.
  const marked = await committedIds(db);
  const named = await namedChunks(db);
  const known = rowsOf<{ sha256: string; stored_size: number }>(await db.execute(sql`select sha256, stored_size from blobs`));
  const candidates = known.filter((b) => !named.has(b.sha256));
  const out: SweepOutcome = { chunksDeleted: 0, bytesFreed: 0, locked: [], swept: [] };
  const batchSize = options.batchSize ?? 200;
  for (let i = 0; i < candidates.length; i += batchSize) {
    await options.beforeBatch?.();
    const batch = candidates.slice(i, i + batchSize);
    await db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      await holdSweepLock(tx);
      const since = [...(await committedIds(tx))].filter((id) => !marked.has(id));
      const again = await namedChunks(tx, since);
      const stillThere = new Set(
        rowsOf<{ sha256: string }>(
          await tx.execute(sql`select sha256 from blobs
        where sha256 in (${sql.join(
          batch.map((b) => sql`${b.sha256}`),
          sql`, `,
        )})`),
        ).map((r) => r.sha256),
      );
      const doomed: typeof batch = [];
      await pool(
        batch.filter((b) => !again.has(b.sha256) && stillThere.has(b.sha256)),
        16,
        async (b) => {
          const until = store.lockedUntil ? await store.lockedUntil(chunkKey(b.sha256)) : null;
          if (until && until.getTime() > now().getTime()) out.locked.push({ key: chunkKey(b.sha256), until: until.toISOString() });
          else doomed.push(b);
        },
      );
      if (doomed.length === 0) return;
      const shas = doomed.map((b) => b.sha256);
      await tx.delete(blobs).where(inArray(blobs.sha256, shas));
      await tx.delete(hostChunks).where(inArray(hostChunks.sha256, shas));
      // The objects go while the lock is held: no begin can be told they are present meanwhile.
      await pool(shas, 16, async (sha) => {
        await store.delete(chunkKey(sha));
        presenceOf(store).forget(sha);
        keptOf(store).forget([sha]);
      });
      out.chunksDeleted += doomed.length;
      out.bytesFreed += doomed.reduce((n, b) => n + Number(b.stored_size), 0);
      out.swept.push(...shas);
    });
  }
  out.locked.sort((a, b) => a.key.localeCompare(b.key));
  return out;
}
