/**
 * The saved partition table bytes of header dumps, for api/bundle/extents.ts. restore.sh puts
 * a table back by copying bytes of the picked dump: an MBR's whole first sector (`dd …
 * count=1`), a GPT's primary header and entries (sectors 0–33, the `dd … count=34`
 * alternative RESTORE.md shows). When several hosts dumped one device, those bytes are
 * compared, not only the VMFS entry the rows hold: a dump that agrees on the entry but carries
 * other entries or another disk signature beside it disputes the extent too.
 *
 * Read from the store (the leading bytes of the first chunk, verified as every read of a chunk
 * is) only for the dumps a dispute compares: each host's newest intact dump of a device that
 * more than one host dumped (newestIntactPerHost), at most 4 at a time. A table that cannot be
 * read is `unreadable:<artifact id>`, unlike any other value, so such a candidate always
 * disputes: the operator picks the host rather than the bundle guessing.
 */
import { createHash } from 'node:crypto';
import type { BlobStore } from '../store/types.js';
import { artifactBytes } from '../read/content.js';
import { pool } from '../ingest/staging.js';
import { newestIntactPerHost } from './extents.js';
import type { ExtentRow } from './types.js';

/** Bytes restore.sh copies from a dump of each scheme. */
const TABLE_BYTES: Record<string, number> = { mbr: 512, gpt: 34 * 512 };

/** SHA-256 of the saved table bytes, per artifact id, of the dumps a dispute among `extents` compares. */
export async function savedTablesOf(store: BlobStore, extents: readonly ExtentRow[]): Promise<Map<string, string>> {
  const byDevice = new Map<string, ExtentRow[]>();
  for (const e of extents) {
    if (e.source !== 'header' || !e.deviceId) continue;
    const rows = byDevice.get(e.deviceId);
    if (rows) rows.push(e);
    else byDevice.set(e.deviceId, [e]);
  }
  const wanted = new Map<string, ExtentRow>();
  for (const rows of byDevice.values()) {
    const perHost = newestIntactPerHost([...rows].sort((a, b) => b.artifact.collectedAt.localeCompare(a.artifact.collectedAt)));
    if (perHost.length > 1) for (const h of perHost) if (h.scheme && h.scheme in TABLE_BYTES) wanted.set(h.artifact.id, h);
  }
  const out = new Map<string, string>();
  await pool([...wanted.values()], 4, async (h) => {
    const length = TABLE_BYTES[h.scheme!];
    try {
      const hash = createHash('sha256');
      let read = 0;
      for await (const piece of artifactBytes(store, h.artifact.chunks, { start: 0, end: Math.min(length, h.artifact.size) - 1 })) {
        hash.update(piece);
        read += piece.length;
      }
      out.set(h.artifact.id, read === length ? hash.digest('hex') : `unreadable:${h.artifact.id}`);
    } catch {
      out.set(h.artifact.id, `unreadable:${h.artifact.id}`);
    }
  });
  return out;
}
