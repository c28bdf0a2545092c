/**
 * Parse: an artifact's bytes (its parse window) assembled from verified chunks, its
 * whole SHA-256 checked, and parsed by formats/parseArtifact. A parser that refuses the
 * bytes makes a parse-error entry, never a failed capture.
 */
import { desc, eq } from 'drizzle-orm';
import type { ArtifactKind, ParsedArtifact } from '../../formats/types.js';
import { isFormatError } from '../../formats/errors.js';
import { parseArtifact } from '../../formats/parse.js';
import { detect } from '../../formats/detect.js';
import type { Db } from '../../db/client.js';
import { artifacts } from '../../db/schema.js';
import { ApiError } from '../errors.js';
import type { BlobStore } from '../store/types.js';
import { assembleArtifact, type ChunkCache, ChunkError, parseWindow } from './chunks.js';
import type { RedactionNote } from './redaction.js';
import { markMissing } from '../ingest/staging.js';
import { cleanJson } from './indexer.js';
import type { ManifestArtifact, StoredChunk } from './verify.js';

/** An artifact after parsing: what gets written to the catalog. */
export interface ParsedEntry {
  id: string;
  index: number;
  ref: ManifestArtifact;
  parseStatus: 'ok' | 'error' | 'opaque';
  parseError: { code: string; message: string } | null;
  parsed: ParsedArtifact | null;
  /** Set when the catalog redacted secrets from the uploaded bytes before storing them. */
  redaction?: RedactionNote | null;
}

/** An entry of a redacted artifact: the note on the entry and in its parsed details (`serverRedaction`). */
export function withRedaction(entry: ParsedEntry, note: RedactionNote | undefined): ParsedEntry {
  if (!note) return entry;
  const parsed = entry.parsed ? { ...entry.parsed, details: { ...entry.parsed.details, serverRedaction: note } } : null;
  return { ...entry, parsed, redaction: note };
}

/** Kinds whose bytes are never parsed (docs/formats.md §7: no public format). */
const OPAQUE_KINDS: ReadonlySet<ArtifactKind> = new Set(['vmfs-undelete']);

/**
 * An artifact committed before with the same bytes (hash and chunk list) and kind: a daily
 * run of an unchanged host. Its chunks and whole hash were verified then, and parsing is a
 * pure function of the bytes, so its parse result is reused (a parser change is what
 * `reindex` is for). This keeps an unchanged commit from re-reading every dump.
 */
async function committedBefore(db: Db, ref: ManifestArtifact): Promise<Pick<ParsedEntry, 'parseStatus' | 'parseError' | 'parsed'> | null> {
  const rows = await db
    .select({ kind: artifacts.kind, chunks: artifacts.chunks, parseStatus: artifacts.parseStatus, parseError: artifacts.parseError, parsed: artifacts.parsed })
    .from(artifacts)
    .where(eq(artifacts.sha256, ref.sha256))
    .orderBy(desc(artifacts.collectedAt))
    .limit(5);
  const want = ref.chunks.map((c) => c.sha256).join(',');
  const same = rows.find((r) => r.kind === ref.kind && (r.chunks as StoredChunk[]).map((c) => c.sha256).join(',') === want);
  if (!same) return null;
  return {
    parseStatus: same.parseStatus as ParsedEntry['parseStatus'],
    parseError: (same.parseError as ParsedEntry['parseError']) ?? null,
    parsed: (same.parsed as ParsedArtifact | null) ?? null,
  };
}

/**
 * Reads (the parse window of) an artifact, checks its whole SHA-256 against its
 * chunks, and parses it. A parse failure is recorded on the artifact, not thrown.
 * With `verifyWhole` (a commit), bytes committed before are neither re-read nor re-parsed.
 */
export async function parseStoredArtifact(
  db: Db,
  store: BlobStore,
  ref: ManifestArtifact,
  id: string,
  index: number,
  options: { verifyWhole: boolean; kindFilter?: ArtifactKind; cache?: ChunkCache },
): Promise<ParsedEntry> {
  const opaque = OPAQUE_KINDS.has(ref.kind);
  if (options.verifyWhole) {
    const before = await committedBefore(db, ref);
    if (before) return { id, index, ref, ...before };
  }
  const window = opaque ? 0 : parseWindow(ref.kind, ref.size);
  const needWhole = options.verifyWhole;
  let bytes: Uint8Array = new Uint8Array(0);
  if (window > 0 || needWhole) {
    let assembled;
    try {
      assembled = await assembleArtifact(store, ref.chunks, { window, hashAll: needWhole, cache: options.cache });
    } catch (e) {
      if (e instanceof ChunkError) {
        // reindex and rebuild come here too: a chunk the store lost is no longer called present.
        if (e.reason === 'missing') await markMissing(db, store, [e.sha256]);
        throw new ApiError('unprocessable', `artifact ${index} (${ref.fileName}): ${e.message}`);
      }
      throw e;
    }
    if (needWhole && assembled.sha256 !== ref.sha256) {
      throw new ApiError('unprocessable', `artifact ${index} (${ref.fileName}): its chunks hash to ${assembled.sha256}, not the announced ${ref.sha256}`);
    }
    bytes = assembled.bytes;
  }
  const entry: ParsedEntry = { id, index, ref, parseStatus: 'opaque', parseError: null, parsed: null };
  if (opaque) return entry;
  let kind: ArtifactKind = ref.kind;
  if (kind === 'unknown') {
    kind = detect(bytes, ref.fileName);
    if (kind === 'unknown' || OPAQUE_KINDS.has(kind)) return entry;
  }
  // A vmfs-header longer than the window parses from its first 64 MiB, which hold
  // every header structure (see PARSE_LIMIT_BYTES); any other kind that long is refused.
  if (ref.size > window && kind !== 'vmfs-header') {
    entry.parseStatus = 'error';
    entry.parseError = { code: 'too_large', message: `a ${kind} artifact of ${ref.size} bytes is over the ${window}-byte parse limit` };
    return entry;
  }
  try {
    // The device a header dump was read from settles which device-id layout it holds (docs/formats.md §1).
    entry.parsed = cleanJson(parseArtifact(kind, bytes, { deviceName: ref.device ?? ref.sourcePath }));
    entry.parseStatus = 'ok';
  } catch (e) {
    // A parser that trips over its input in any other way is still refusing those bytes:
    // the artifact is kept as a parse error, never a 5xx for the whole capture.
    entry.parseStatus = 'error';
    entry.parseError = isFormatError(e)
      ? cleanJson({ code: e.code, message: e.message })
      : cleanJson({
          code: 'parser_failed',
          message: `the ${kind} parser failed on these bytes: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`.slice(0, 500),
        });
  }
  return entry;
}
