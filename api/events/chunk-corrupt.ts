/**
 * `chunk-corrupt` events (raised by the scrub, api/retention/check.ts) are resolved once the
 * chunk rests whole under its key again, and only on bytes the catalog itself read and hashed:
 * a commit that published the chunk from a verified upload (api/ingest/staging.ts
 * `publishChunk`, the chunks route) or stored a chunk list it encoded, and a scrub that read
 * the chunk back whole. No request resolves one by saying so: a collector brings it about only
 * by uploading bytes that hash to the chunk's name, which is the repair itself.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';

/**
 * Resolves the open chunk-corrupt events of these chunks (stored whole again at `at`); answers
 * their ids. The open ones are asked for first (the partial index events_open_chunk_corrupt
 * holds only them, seldom any), so a commit of a day's new chunks or a scrub slice of many sends
 * no long list of hashes.
 */
export async function resolveChunkCorrupt(
  tx: Db,
  shas: Iterable<string>,
  at: Date,
  /** The chunks with an open event, when the caller asked already (openChunkCorrupt, sent in a pipeline of its own). */
  asked?: Promise<string[]>,
): Promise<number[]> {
  const open = await (asked ?? openChunkCorrupt(tx));
  if (open.length === 0) return [];
  const named = new Set(shas);
  const whole = open.filter((s) => named.has(s));
  if (whole.length === 0) return [];
  const rows = await queryRows<{ id: number | string }>(
    tx,
    sql`
    UPDATE events SET resolved_at = ${at.toISOString()}
     WHERE type = 'chunk-corrupt' AND resolved_at IS NULL
       AND (details->>'sha256') IN (SELECT jsonb_array_elements_text(${JSON.stringify(whole)}::jsonb)) RETURNING id`,
  );
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/** The chunks that have an open chunk-corrupt event (the partial index events_open_chunk_corrupt holds only them). */
export async function openChunkCorrupt(tx: Db): Promise<string[]> {
  const rows = await queryRows<{ sha256: string }>(
    tx,
    sql`SELECT DISTINCT details->>'sha256' AS sha256 FROM events WHERE type = 'chunk-corrupt' AND resolved_at IS NULL`,
  );
  return rows.map((r) => r.sha256);
}
