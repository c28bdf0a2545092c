/** One artifact: its metadata and parse result, and where its bytes rest. */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import { ARTIFACT_EVENTS_LIMIT, type ArtifactView } from '../schemas/catalog.js';
import { chunkList, type StoredChunk } from './content.js';
import { iso, num, str } from './rows.js';
import { eventView } from './volumes.js';

type Row = Record<string, unknown>;

async function artifactRow(db: Db, id: string): Promise<Row | null> {
  const [row] = await queryRows<Row>(
    db,
    sql`
    SELECT a.*, c.committed_at FROM artifacts a LEFT JOIN captures c ON c.id = a.capture_id WHERE a.id = ${id}`,
  );
  return row ?? null;
}

/** The artifact view with its events; null when there is no such artifact. */
export async function getArtifact(db: Db, id: string): Promise<ArtifactView | null> {
  const r = await artifactRow(db, id);
  if (!r) return null;
  const events = await queryRows<Row>(db, sql`SELECT * FROM events WHERE artifact_id = ${id} ORDER BY created_at DESC, id DESC LIMIT ${ARTIFACT_EVENTS_LIMIT}`);
  return {
    id: String(r.id),
    captureId: String(r.capture_id),
    host: String(r.host),
    collectedAt: iso(r.collected_at)!,
    committedAt: iso(r.committed_at),
    kind: String(r.kind),
    fileName: String(r.file_name),
    sourcePath: String(r.source_path),
    device: str(r.device),
    size: num(r.size) ?? 0,
    sha256: String(r.sha256),
    chunkCount: chunkList(r.chunks).length,
    parseStatus: String(r.parse_status),
    parseError: r.parse_error ?? null,
    parsed: r.parsed ?? null,
    pinned: Boolean(r.pinned),
    contentUrl: `/v1/artifacts/${encodeURIComponent(String(r.id))}/content`,
    events: events.map(eventView),
  };
}

/** What serving an artifact's bytes needs; null when there is no such artifact. */
export async function artifactContent(db: Db, id: string): Promise<{ sha256: string; size: number; fileName: string; chunks: StoredChunk[] } | null> {
  const r = await artifactRow(db, id);
  if (!r) return null;
  return { sha256: String(r.sha256), size: num(r.size) ?? 0, fileName: String(r.file_name), chunks: chunkList(r.chunks) };
}
