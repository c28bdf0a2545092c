/**
 * The ingest protocol between collector and catalog (docs/architecture.md, "Ingest protocol").
 * Plain types only: the collector bundle must stay free of validation libraries;
 * the api validates the same shapes with zod (api/schemas).
 *
 * Flow:
 *  1. POST /v1/captures (BeginRequest, or BeginBody with artifacts declared unchanged since
 *     ones the host committed: ArtifactDeclaration.previous) → BeginResponse. Idempotent on
 *     captureId; may be repeated with the same artifacts to add chunk encodings (see ChunkRef).
 *  2. PUT each `missing[i].url` with the stored bytes and `missing[i].headers`; or send those
 *     stored in at most 128 KiB, batched, to PUT /v1/captures/{captureId}/chunks (framing in
 *     api/ingest/chunks.ts; a catalog answering 404 or 405 takes them only by URL).
 *  3. POST /v1/captures/{captureId}/commit → CommitResponse (200), or CommitInProgress
 *     (202 + Retry-After) when the catalog handed a large commit to a worker: POST commit
 *     again after Retry-After until it answers 200 (or the error the commit ended with).
 * A begin sent with `Prefer: commit-if-complete` whose answer carries `commit` was committed
 * by the catalog there and then (an unchanged run): steps 2 and 3 are skipped.
 */
import type { ArtifactKind } from './types.js';

/** Chunks are fixed 1 MiB slices of an artifact (the last may be shorter). */
export const CHUNK_SIZE = 1024 * 1024;

export type ChunkEncoding = 'identity' | 'gzip';

export interface ChunkRef {
  /** SHA-256 (lower-case hex) of the uncompressed bytes: the chunk's name everywhere. */
  sha256: string;
  /** Uncompressed size, ≤ CHUNK_SIZE. */
  size: number;
  /**
   * How the collector will store it. Optional: a chunk declared without these gets
   * an identity upload URL; one declared with them gets a URL bound to exactly
   * those stored bytes (length and SHA-256), so the store refuses anything else.
   */
  encoding?: ChunkEncoding;
  storedSize?: number;
  storedSha256?: string;
  /**
   * Base64 MD5 of the bytes as PUT (the stored bytes: gzipped when encoding is gzip).
   * Needed when the catalog stores chunks in S3: S3 servers verify Content-MD5, which
   * binds the presigned URL to exactly one body. Ignored by the filesystem store.
   */
  storedMd5?: string;
}

export interface ArtifactRef {
  kind: ArtifactKind;
  fileName: string;
  sourcePath: string;
  /** The device the bytes came from (`naa.…`, `/dev/sdb`, a zvol path), when any. */
  device?: string | null;
  size: number;
  sha256: string;
  chunks: ChunkRef[];
}

/**
 * An artifact as a begin may declare it: with its chunk list (an ArtifactRef), or, in place
 * of the list, `previous`: the id of an artifact the same host committed with the same kind,
 * file name, source path, device, size and SHA-256, whose chunk list the catalog takes. When
 * any `previous` of a begin does not resolve so (an unknown id, another host's, a field that
 * differs: the same answer for all), the begin is answered 422 and records nothing; the
 * client then declares the chunk lists itself.
 */
export interface ArtifactDeclaration extends Omit<ArtifactRef, 'chunks'> {
  chunks?: ChunkRef[];
  previous?: string;
}

export interface HostRef {
  name: string;
  kind: 'esx' | 'esxi' | 'solaris' | 'linux';
  systemUuid?: string | null;
}

/**
 * The collector that sent a capture. `mode: 'import'`: `collectedAt` is the modification time of
 * files saved before the collector existed (`collector import`), so it may be months before the
 * catalog receives it, on purpose; retention then buckets the capture by it. Absent (older
 * collectors) or `collect`: the time the collector read the bytes.
 */
export interface CollectorRef {
  version: string;
  mode?: 'collect' | 'import';
}

export interface BeginRequest {
  /** UUIDv7 chosen by the collector. */
  captureId: string;
  host: HostRef;
  collectedAt: string;
  collector: CollectorRef;
  artifacts: ArtifactRef[];
}

/** A begin as sent: artifacts may name the one they are unchanged since (ArtifactDeclaration). */
export interface BeginBody extends Omit<BeginRequest, 'artifacts'> {
  artifacts: ArtifactDeclaration[];
}

export interface UploadTarget {
  sha256: string;
  encoding: ChunkEncoding;
  method: 'PUT';
  url: string;
  headers: Record<string, string>;
  expiresAt: string;
}

export interface BeginResponse {
  captureId: string;
  state: 'open' | 'committed';
  /** Chunks the store lacks, each with where to PUT it. */
  missing: UploadTarget[];
  /**
   * Chunk hashes the store already holds (every declared chunk not in `missing`); left out
   * when the begin was sent with `Prefer: return=minimal`.
   */
  present?: string[];
  /**
   * The commit's answer, when the begin was sent with `Prefer: commit-if-complete` and the
   * catalog committed the capture at once (an unchanged run: every artifact declared by
   * `previous`, no chunk missing), or found it committed already. Without it, commit as usual.
   */
  commit?: CommitResponse;
}

export interface ArtifactSummary {
  id: string;
  kind: ArtifactKind;
  fileName: string;
  parseStatus: 'ok' | 'error' | 'opaque';
  parseError: { code: string; message: string } | null;
  /** Ids found: vmfsUuid, deviceId, vml, iqn, backingStore, … */
  found: Record<string, string[]>;
}

export interface CommitResponse {
  captureId: string;
  state: 'committed';
  committedAt: string;
  manifestKey: string;
  artifacts: ArtifactSummary[];
  /**
   * Present when the collector's clock was more than 10 minutes ahead of the catalog's: the
   * capture is stored at its receipt time. `message` is one line for the collector to show.
   */
  clockSkew?: { collectedAt: string; storedAs: string; aheadSeconds: number; message: string };
}

/** 202 to a commit: a worker is verifying and indexing the capture; POST commit again after `retryAfter` seconds. */
export interface CommitInProgress {
  captureId: string;
  state: 'committing';
  queuedAt: string;
  /** When the current attempt started; null while the job waits for a worker. */
  startedAt: string | null;
  /** Times a worker took the job (more than 1: a worker stopped and another took over). */
  attempts: number;
  /** Bytes of uploaded chunks the commit reads and hashes. */
  bytes: number;
  /** Seconds to wait before asking again (also the Retry-After header). */
  retryAfter: number;
}

/** One chunk as a manifest records it: how it rests in the store under `chunks/`. */
export interface ManifestChunk {
  sha256: string;
  size: number;
  encoding: ChunkEncoding;
  storedSize: number;
}

/**
 * A committed capture's manifest as read, whichever format it was stored in: every artifact
 * with its chunk list (repeats included). `rebuild` needs nothing else.
 */
export interface CaptureManifest {
  captureId: string;
  host: HostRef;
  collectedAt: string;
  receivedAt: string;
  committedAt: string;
  collector: CollectorRef;
  artifacts: Array<
    Omit<ArtifactRef, 'chunks'> & {
      id: string;
      chunks: ManifestChunk[];
      /**
       * The artifact's chunk list as stored since format 3: a chunk of its own (ChunkListV1's
       * JSON, gzip-compressed, under its SHA-256). Absent for an artifact read from format 1 or 2.
       */
      chunkList?: ManifestChunk;
    }
  >;
}

/** Format 1: plain JSON at `manifests/<host>/<captureId>.json`, each chunk written out where it is used. */
export interface CaptureManifestV1 extends CaptureManifest {
  format: 'vmfs-catalog-manifest/1';
}

/**
 * Format 2: gzip-compressed JSON at `manifests/<host>/<captureId>.json.gz`. The capture's
 * distinct chunks are listed once, in order of first use; an artifact's chunk list is the
 * indexes of its chunks in that list (a zero chunk used 15 times is one entry and 15 small
 * numbers, which the compression then folds).
 */
export interface CaptureManifestV2 extends Omit<CaptureManifest, 'artifacts'> {
  format: 'vmfs-catalog-manifest/2';
  chunks: ManifestChunk[];
  artifacts: Array<Omit<CaptureManifest['artifacts'][number], 'chunks' | 'chunkList'> & { chunks: number[] }>;
}

/**
 * One artifact's chunk list, stored once as a chunk (since format 3): its canonical JSON (these
 * keys in this order, no spaces) named by its SHA-256 under `chunks/`, gzip-compressed. `chunks`
 * holds the distinct chunks in order of first use, `order` the artifact's bytes as indexes into
 * it. Only what the bytes are, nothing of where they came from: an artifact unchanged since
 * yesterday has yesterday's list.
 */
export interface ChunkListV1 {
  format: 'vmfs-catalog-chunk-list/1';
  size: number;
  sha256: string;
  chunks: ManifestChunk[];
  order: number[];
}

/**
 * Format 3: gzip-compressed JSON at `manifests/<host>/<captureId>.json.gz`. Each artifact is
 * what a reader recognises it by and the SHA-256 of its chunk list (ChunkListV1); its id is
 * `artifactId(captureId, index)`, its size, SHA-256 and chunks are in the list.
 */
export interface CaptureManifestV3 extends Omit<CaptureManifest, 'artifacts'> {
  format: 'vmfs-catalog-manifest/3';
  artifacts: Array<{ kind: ArtifactRef['kind']; fileName: string; sourcePath: string; device?: string | null; chunkList: string }>;
}
