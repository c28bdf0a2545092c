/**
 * Secrets never rest in the store, whoever uploads: the collector redacts CHAP/RADIUS
 * secrets before hashing (formats/redact.ts), and the commit applies the same redaction
 * to every SMF export and COMSTAR listing before it publishes their chunks — so bytes
 * uploaded raw through the API are cleaned too. A redacted artifact is stored (and
 * hashed, chunked, downloaded) as its redacted bytes; the artifact row's `redaction`
 * and its parsed details' `serverRedaction` name the original hash and the fields.
 */
import type { Db } from '../../db/client.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import type { ArtifactKind } from '../../formats/types.js';
import { detect } from '../../formats/detect.js';
import { isFormatError } from '../../formats/errors.js';
import { redactSecrets } from '../../formats/redact.js';
import { ApiError } from '../errors.js';
import type { BlobStore } from '../store/types.js';
import { assembleArtifact, type ChunkCache, ChunkError, PARSE_LIMIT_BYTES, sha256Hex } from './chunks.js';
import { knownBlobs, publishChunk, type Published } from '../ingest/staging.js';
import type { ManifestArtifact } from './verify.js';

/** The kinds that can carry secrets (formats/redact.ts acts on exactly these). */
export const REDACTABLE_KINDS: ReadonlySet<ArtifactKind> = new Set(['iscsitgt-smf', 'stmf-smf', 'comstar-listing']);

/** What the catalog records about an artifact it redacted. */
export interface RedactionNote {
  /** SHA-256 and size of the bytes as uploaded (never stored). */
  originalSha256: string;
  originalSize: number;
  /** Names of the redacted fields (never their values). */
  fields: string[];
}

/** An artifact kind that may hold secrets, or may be one (declared `unknown`): its chunks wait in staging until redaction has run. */
export function mayNeedRedaction(kind: ArtifactKind): boolean {
  return REDACTABLE_KINDS.has(kind) || kind === 'unknown';
}

/** How many leading bytes `detect` looks at for an artifact declared `unknown`. */
const DETECT_WINDOW = 64 * 1024;

/**
 * Redacts the artifacts that need it. Returns the refs as they will be stored (a redacted
 * one with its new size, hash and identity chunks, already published write-once), the
 * notes by artifact index, and the `blobs` rows of chunks this created.
 */
export async function redactArtifacts(
  db: Db,
  store: BlobStore,
  at: Date,
  refs: ManifestArtifact[],
  cache: ChunkCache,
): Promise<{ refs: ManifestArtifact[]; notes: Map<number, RedactionNote>; published: Published[] }> {
  const out = [...refs];
  const notes = new Map<number, RedactionNote>();
  const published: Published[] = [];
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i];
    if (!mayNeedRedaction(ref.kind)) continue;
    const where = `artifact ${i} (${ref.fileName})`;
    try {
      let kind = ref.kind;
      if (kind === 'unknown') {
        const head = await assembleArtifact(store, ref.chunks, { window: Math.min(ref.size, DETECT_WINDOW), hashAll: false, cache });
        kind = detect(head.bytes, ref.fileName);
        if (!REDACTABLE_KINDS.has(kind)) continue;
      }
      if (ref.size > PARSE_LIMIT_BYTES) {
        throw new ApiError(
          'payload_too_large',
          `${where}: a ${kind} artifact of ${ref.size} bytes is over the ${PARSE_LIMIT_BYTES}-byte limit up to which the catalog removes secrets`,
        );
      }
      const whole = await assembleArtifact(store, ref.chunks, { window: ref.size, hashAll: true, cache });
      if (whole.sha256 !== ref.sha256) {
        throw new ApiError('unprocessable', `${where}: its chunks hash to ${whole.sha256}, not the announced ${ref.sha256}`);
      }
      let result: { bytes: Uint8Array; redacted: string[] };
      try {
        result = redactSecrets(kind, whole.bytes);
      } catch (e) {
        if (!isFormatError(e)) throw e;
        // Not storing what could not be checked for secrets.
        throw new ApiError('unprocessable', `${where}: the catalog could not check it for secrets (${e.message})`);
      }
      if (result.bytes === whole.bytes || sameBytes(result.bytes, whole.bytes)) continue;
      const pieces: Array<{ sha256: string; bytes: Uint8Array }> = [];
      for (let off = 0; off < result.bytes.length; off += CHUNK_SIZE) {
        const bytes = result.bytes.subarray(off, Math.min(off + CHUNK_SIZE, result.bytes.length));
        pieces.push({ sha256: sha256Hex(bytes), bytes });
      }
      const known = await knownBlobs(
        db,
        pieces.map((p) => p.sha256),
      );
      const chunks: ManifestArtifact['chunks'] = [];
      for (const p of pieces) {
        const done = await publishChunk(
          db,
          store,
          at,
          { sha256: p.sha256, size: p.bytes.length, encoding: 'identity', storedSize: p.bytes.length, storedBytes: p.bytes },
          known.get(p.sha256),
        );
        cache.add(p.sha256, p.bytes);
        published.push(done);
        chunks.push(done.stored);
      }
      out[i] = { ...ref, size: result.bytes.length, sha256: sha256Hex(result.bytes), chunks };
      notes.set(i, { originalSha256: ref.sha256, originalSize: ref.size, fields: result.redacted });
    } catch (e) {
      if (e instanceof ChunkError) throw new ApiError('unprocessable', `${where}: ${e.message}`);
      throw e;
    }
  }
  return { refs: out, notes, published };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
