/**
 * Parse: an artifact's bytes (its parse window) assembled from verified chunks, its
 * whole SHA-256 checked, and parsed by formats/parseArtifact. A parser that refuses the
 * bytes makes a parse-error entry, never a failed capture.
 */
import { sql } from 'drizzle-orm';
import type { ArtifactKind, ParsedArtifact } from '../../formats/types.js';
import { isFormatError } from '../../formats/errors.js';
import { PARSER_VERSION, parseArtifact } from '../../formats/parse.js';
import { detect } from '../../formats/detect.js';
import { MAX_TEXT_BYTES } from '../../formats/text.js';
import { queryRows, type Db } from '../../db/client.js';
import { ApiError } from '../errors.js';
import type { BlobStore } from '../store/types.js';
import { assembleArtifact, type ChunkCache, ChunkError, parseWindow } from './chunks.js';
import { mayNeedRedaction, type RedactionNote } from './redaction.js';
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

/** A parse result as an artifact row keeps it. */
export type ParseOutcome = Pick<ParsedEntry, 'parseStatus' | 'parseError' | 'parsed'>;

/** What makes two artifacts the same input to the parser: kind, name, hints, and the exact bytes (chunk by chunk). */
export function parseInput(
  a: Pick<ManifestArtifact, 'kind' | 'fileName' | 'sourcePath' | 'device' | 'size' | 'sha256'> & { chunks: Array<{ sha256: string; size: number }> },
): string {
  return JSON.stringify([a.kind, a.fileName, a.sourcePath, a.device ?? null, a.size, a.sha256, a.chunks.map((c) => [c.sha256, c.size])]);
}

/**
 * Parses a commit may take over instead of reading and parsing again: for each artifact,
 * the newest one the same host committed with the same kind, file name, source path, device,
 * size, SHA-256 and chunk list (hash and size, in order), parsed at this PARSER_VERSION.
 * That artifact's chunks and whole hash were verified when it was committed, and this
 * capture's chunks are verified now, so the bytes are the same; the hints the parser takes
 * (device, source path, file name) are the same too. Kinds that go through redaction
 * (mayNeedRedaction) are always read. Only the host's own artifacts count: another host's
 * parse was made with its hints, and what a commit costs must not tell one host what
 * another committed. One query for the whole capture (keyed by index), none when no artifact
 * can have one: an artifact with a chunk in `fresh` (chunks this commit gave their first `blobs`
 * row) is not looked up, for an earlier artifact with its chunk list would have left that row
 * (retention drops a chunk's row only with the last artifact naming it; a chunk found lost or
 * damaged and stored again merely costs that artifact a parse, which comes out the same).
 */
export async function earlierParses(
  db: Db,
  host: string,
  refs: ManifestArtifact[],
  fresh: ReadonlySet<string> = new Set(),
): Promise<Map<number, ParseOutcome>> {
  const wanted = refs.map((r, i) => [r, i] as const).filter(([r]) => !mayNeedRedaction(r.kind) && !r.chunks.some((c) => fresh.has(c.sha256)));
  const out = new Map<number, ParseOutcome>();
  if (wanted.length === 0) return out;
  const asked = wanted.map(([r, i]) => ({ i, kind: r.kind, file_name: r.fileName, source_path: r.sourcePath, device: r.device ?? null, sha256: r.sha256 }));
  // For each artifact, the newest of the host's rows with its sha256, kind, names and device,
  // found through the sha256 index; only that row's chunk list and parse are read. (Picking
  // the newest with one DISTINCT ON over every row of the host with those hashes sorted, and
  // read the chunk lists and parses of, all the host's past captures: its cost grew with each
  // day kept — 41 days of 50 dumps on PostgreSQL: 77–133 ms, against 8 ms for this; 29 days in
  // the embedded database: 23 ms, against 9 ms.)
  const rows = await queryRows<{
    i: number;
    size: number | string;
    chunks: StoredChunk[] | string;
    parse_status: ParsedEntry['parseStatus'];
    parse_error: ParsedEntry['parseError'] | string;
    parsed: ParsedArtifact | string | null;
  }>(
    db,
    sql`
    SELECT w.i, a.size, a.chunks, a.parse_status, a.parse_error, a.parsed
      FROM jsonb_to_recordset(${JSON.stringify(asked)}::jsonb)
           AS w(i int, kind text, file_name text, source_path text, device text, sha256 text)
     CROSS JOIN LATERAL (
       SELECT a.size, a.chunks, a.parse_status, a.parse_error, a.parsed FROM artifacts a
        WHERE a.sha256 = w.sha256 AND a.host = ${host} AND a.kind = w.kind AND a.file_name = w.file_name
          AND a.source_path = w.source_path AND a.device IS NOT DISTINCT FROM w.device
          AND a.parser_version = ${PARSER_VERSION} AND a.redaction IS NULL
        ORDER BY a.collected_at DESC LIMIT 1) a`,
  );
  // A driver may hand jsonb over as text.
  const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
  const byIndex = new Map(wanted.map(([r, i]) => [i, r]));
  for (const row of rows) {
    const i = Number(row.i);
    const r = byIndex.get(i)!;
    // The same bytes chunk by chunk: the newest such row's size and chunk list match this artifact's.
    const same = parseInput({ ...r, size: Number(row.size), chunks: json(row.chunks) }) === parseInput(r);
    if (same) out.set(i, { parseStatus: row.parse_status, parseError: json(row.parse_error) ?? null, parsed: json(row.parsed) ?? null });
  }
  return out;
}

/**
 * Reads (the parse window of) an artifact, checks its whole SHA-256 against its
 * chunks, and parses it. A parse failure is recorded on the artifact, not thrown.
 * `earlier` (a commit, see earlierParses) is taken as the parse without reading anything.
 */
export async function parseStoredArtifact(
  db: Db,
  store: BlobStore,
  ref: ManifestArtifact,
  id: string,
  index: number,
  options: { verifyWhole: boolean; kindFilter?: ArtifactKind; cache?: ChunkCache; earlier?: ParseOutcome; budget?: CaptureParseBudget },
): Promise<ParsedEntry> {
  const opaque = OPAQUE_KINDS.has(ref.kind);
  const window = opaque ? 0 : parseWindow(ref.kind, ref.size);
  // Charged whether or not the parse is taken over, so commit and rebuild come out the same.
  const admitted = !options.budget || options.budget.admits(ref.kind, window);
  if (options.earlier && admitted) return options.budget?.charge({ id, index, ref, ...options.earlier }) ?? { id, index, ref, ...options.earlier };
  const needWhole = options.verifyWhole;
  let bytes: Uint8Array = new Uint8Array(0);
  if (window > 0 || needWhole) {
    let assembled;
    try {
      // The bytes are parsed and dropped before the next artifact: the cache's window buffer will do.
      assembled = await assembleArtifact(store, ref.chunks, { window, hashAll: needWhole, cache: options.cache, lend: true });
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
  if (!admitted) {
    const mib = PARSED_TEXT_MAX_BYTES / 1024 / 1024;
    return {
      ...entry,
      ...CaptureParseBudget.over(`this capture's text artifacts come to over ${mib} MiB with this one: the catalog parses no more text from one capture`),
    };
  }
  const parsed: ParsedEntry = { ...entry, ...parseAssembled(ref, bytes, window, options.budget?.heapLeft) };
  return options.budget?.charge(parsed) ?? parsed;
}

/** Whether an artifact of this kind is parsed from its bytes at all (docs/formats.md §7). */
export function isParsed(kind: ArtifactKind): boolean {
  return !OPAQUE_KINDS.has(kind);
}

/**
 * About how much heap a JSON value (a parse's outcome) holds, in bytes, counting no further
 * than just past `limit`. A rough model of V8's layout on 64-bit: an object 32 bytes and 16 a
 * property, an array 32 and 8 an element, a string 24 and a byte a character, a number 16 —
 * on an 8 MiB `zfs list` (166,618 snapshots) it says 50.7 MiB where 46 MiB were measured, in 33 ms (its parse: about 1 s). A string
 * the parser cut out of its input may share that input's memory; counted whole, it is over
 * rather than under.
 */
export function estimatedHeapBytes(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && bytes <= limit) {
    const v = stack.pop();
    if (typeof v === 'string') bytes += 24 + v.length;
    else if (typeof v === 'number') bytes += 16;
    else if (Array.isArray(v)) {
      bytes += 32 + 8 * v.length;
      for (const x of v) stack.push(x);
    } else if (v !== null && typeof v === 'object') {
      bytes += 32;
      for (const k in v) {
        bytes += 16;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return bytes;
}

/**
 * The most a parse's outcome may hold (estimatedHeapBytes); past it the artifact is a parse
 * error `too_large`. A text kind may be 32 MiB, and what its parser makes of it many times
 * that: a `zfs list` of 10-byte lines is 2.9 million snapshots, 751 MiB of heap and 291 MiB of
 * jsonb, which ran PGlite out of memory (a 503 the collector sends again every run) after
 * holding the event loop for 38 s. Real snapshot names at that cap (553,892) are 179 MiB.
 */
export const PARSED_MAX_HEAP_BYTES = 256 * 1024 * 1024;

/**
 * The most text one capture's artifacts are parsed from (CaptureParseBudget.admits): a parse
 * reads its text line by line, for up to a few seconds a 32 MiB text kind's, and a capture may
 * name the same chunks in 10,000 artifacts — hours of parsing for a few MiB sent. Eight
 * artifacts at the 32 MiB text cap; a storage host's listings and exports are KiB to MiB.
 */
export const PARSED_TEXT_MAX_BYTES = 256 * 1024 * 1024;

/**
 * What the parses of one capture's artifacts hold together, charged artifact by artifact in
 * their order (commit and rebuild alike): each is under PARSED_MAX_HEAP_BYTES alone, and a
 * capture writes all of its rows at once, so twenty 10 MiB `zfs list`s of 10-byte lines (each
 * 244 MiB, from 3 MB sent) took the real server past its heap and ended the process. Once
 * they pass the same bound together, the next artifact with a parse is the parse error
 * `too_large` instead, its bytes kept as sent.
 */
export class CaptureParseBudget {
  private left = PARSED_MAX_HEAP_BYTES;
  private textLeft: number;

  /** `textBytes`: the text its artifacts are parsed from in all (the early parse holds it to EARLY_TEXT_BYTES). */
  constructor(textBytes = PARSED_TEXT_MAX_BYTES) {
    this.textLeft = textBytes;
  }

  /** The parse error `too_large` of an artifact past the capture's bound, saying which. */
  static over(message: string): ParseOutcome {
    return { parseStatus: 'error', parsed: null, parseError: { code: 'too_large', message } };
  }

  /**
   * Whether an artifact of `kind` may be parsed from its `window` bytes: header dumps and
   * `.vh.sf` copies are read a few structures at a time, every other parsed kind (text, and
   * `unknown`, which may be detected as text) is read line by line, and their bytes together
   * (each up to the text cap) are held to PARSED_TEXT_MAX_BYTES. A refused one ends the
   * capture's text parses, so the outcome depends only on the artifacts and their order.
   */
  admits(kind: ArtifactKind, window: number): boolean {
    if (kind === 'vmfs-header' || kind === 'vh-sf' || OPAQUE_KINDS.has(kind)) return true;
    // Past the text cap a text parser refuses the bytes unread (formats/text.ts).
    const text = Math.min(window, MAX_TEXT_BYTES);
    if (text > this.textLeft) {
      this.textLeft = 0;
      return false;
    }
    this.textLeft -= text;
    return true;
  }

  /** The heap the capture's parses may still hold (estimatedHeapBytes): what `charge` takes a parse against. */
  get heapLeft(): number {
    return this.left;
  }

  /** The parse error `too_large` of a parse past what is left of the capture's heap bound. */
  static overHeap(): ParseOutcome {
    const mib = PARSED_MAX_HEAP_BYTES / 1024 / 1024;
    return CaptureParseBudget.over(`the parses of this capture's artifacts hold over ${mib} MiB with this one's: the catalog indexes no more from one capture`);
  }

  /** The entry as parsed, or as the parse error `too_large` when its parse would pass what is left. */
  charge(entry: ParsedEntry): ParsedEntry {
    if (!entry.parsed) return entry;
    const bytes = estimatedHeapBytes(entry.parsed, this.left);
    if (bytes <= this.left) {
      this.left -= bytes;
      return entry;
    }
    return { ...entry, ...CaptureParseBudget.overHeap() };
  }
}

/**
 * The parse of an artifact's assembled window (`bytes`, the first `window` bytes of it, its
 * whole SHA-256 already checked): a parser that refuses the bytes makes a parse error, never a throw.
 * `heapLeft` (a commit's CaptureParseBudget.heapLeft): a parse under PARSED_MAX_HEAP_BYTES but
 * past it is the capture's parse error `too_large` straight away, as `charge` would make it,
 * without the copy the text rule's cleaning makes of it first (a 957,000-snapshot list: 244 MiB).
 */
export function parseAssembled(
  ref: Pick<ManifestArtifact, 'kind' | 'fileName' | 'sourcePath' | 'device' | 'size'>,
  bytes: Uint8Array,
  window: number,
  heapLeft = Number.POSITIVE_INFINITY,
): ParseOutcome {
  const entry: ParseOutcome = { parseStatus: 'opaque', parseError: null, parsed: null };
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
    // A listing stops as soon as its rows pass the bound (formats/zfs.ts), where most of the
    // work of 32 MiB of short lines is; what any parse made is still estimated whole below.
    const parsed = parseArtifact(kind, bytes, { deviceName: ref.device ?? ref.sourcePath }, { maxHeapBytes: PARSED_MAX_HEAP_BYTES });
    const held = estimatedHeapBytes(parsed, PARSED_MAX_HEAP_BYTES);
    if (held > PARSED_MAX_HEAP_BYTES) {
      entry.parseStatus = 'error';
      entry.parseError = {
        code: 'too_large',
        message: `what the ${kind} parser made of these ${bytes.length} bytes is over the ${PARSED_MAX_HEAP_BYTES / 1024 / 1024} MiB the catalog indexes from one artifact`,
      };
      return entry;
    }
    // The same estimate `charge` makes of the cleaned parse: a parser's strings already
    // follow the text rule (formats/text-rule.ts), which cleanJson leaves as they are.
    if (held > heapLeft) return CaptureParseBudget.overHeap();
    entry.parsed = cleanJson(parsed);
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
