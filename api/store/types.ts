/**
 * Where chunks and manifests rest. Two implementations: S3 (any S3-compatible
 * server through @aws-sdk/client-s3) and the filesystem under $DATA_DIR/blobs,
 * the embedded default. Keys: `chunks/<sha256[0:2]>/<sha256>`, `manifests/<host>/<captureId>.json.gz`
 * (`.json` for manifests written before format 2, api/pipeline/manifest.ts; since format 3 an
 * artifact's chunk list rests under `chunks/` like a chunk, api/pipeline/chunk-lists.ts),
 * `bundles/<…>` for assembled downloads, `staging/<captureId>/<sha256>` for uploads.
 *
 * Chunks are written once: upload URLs only ever point at a capture's staging keys;
 * commit verifies the staged bytes and publishes them under `chunks/` with `putIfAbsent`
 * (docs/architecture.md, "Write once, verify before publishing").
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
}

/** What a presigned upload URL is bound to: the store refuses any other body, key or time. */
export interface PresignPutOptions {
  /** Exact byte length of the body. */
  contentLength: number;
  /** SHA-256 (hex) of exactly the bytes that will be PUT (the stored, maybe gzipped, bytes). */
  payloadSha256: string;
  /**
   * Base64 MD5 of the same bytes (the Content-MD5 header value). Needed by the S3 store:
   * a presigned URL cannot make every S3 server check a SHA-256 (Swift signs query-auth
   * requests as UNSIGNED-PAYLOAD), but all of them verify a signed Content-MD5.
   */
  contentMd5?: string;
  expiresInSeconds: number;
}

export interface PresignedRequest {
  method: 'PUT' | 'GET';
  url: string;
  /** Headers the client must send unchanged. */
  headers: Record<string, string>;
  expiresAt: Date;
}

export interface BlobStore {
  readonly kind: 'fs' | 's3';
  /** Size of an object, or null when absent. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Whole small object (manifests, chunks ≤ 1 MiB) or null when absent. */
  getBytes(key: string): Promise<Uint8Array | null>;
  /** A stream of an object, optionally a byte range (inclusive end). Throws NotFound when absent. */
  getStream(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** Write an object atomically: readers see the old object or the whole new one. */
  put(key: string, body: Uint8Array | Readable, contentLength?: number): Promise<void>;
  /**
   * Write an object of unknown length from a stream, holding a bounded part of it in memory
   * and none of it on local disk (S3: multipart upload; fs: a temp file renamed into place).
   * Returns its size.
   */
  putStream(key: string, body: AsyncIterable<Uint8Array>): Promise<number>;
  /**
   * Creates an object only when the key is free (write once): 'created', or 'exists' when
   * an object already rests there (left untouched). The fs store links a fully written temp
   * file into place; S3 sends `If-None-Match: *`, and on servers that answer 501 to it
   * (OpenStack Swift) falls back to "HEAD, then PUT only if absent" — safe because only
   * the commit writes these keys, always with bytes it has verified. `seenAbsent`: the
   * caller found the key absent in a listing moments ago, so that fallback skips its HEAD.
   * `staged`: the staging key the bytes were read from; the fs store links that file into place
   * when it still holds exactly them, instead of writing a copy.
   */
  putIfAbsent(key: string, body: Uint8Array, options?: { seenAbsent?: boolean; staged?: string }): Promise<'created' | 'exists'>;
  /**
   * Whether putIfAbsent is one request (a native write-once create): false on an S3 server
   * that proved it ignores conditional PUTs (it then needs a look first), undefined before
   * the server answered one; absent means true (the filesystem store links in place).
   */
  conditionalWrites?(): boolean | undefined;
  /**
   * True while the store's last answer was an outage (no answer, a timeout, a 5xx) within
   * the last STORE_OUTAGE_MEMORY_MS: a begin then answers 503 instead of handing out upload
   * URLs that cannot work. Any later answer from the store clears it. Absent: never known.
   */
  recentlyUnavailable?(): boolean;
  delete(key: string): Promise<void>;
  /**
   * Makes a capture's staging area ready for uploads (the fs store's upload route
   * refuses keys of a capture whose area is gone). A no-op on S3.
   */
  openStaging(captureId: string): Promise<void>;
  /**
   * Removes a capture's staging area and every object in it; later uploads to it are refused (fs)
   * or orphaned (S3, swept). `background`: the removal may go on after this returns (on S3 its
   * listing and deletes are requests; `settled` waits for them) — for a committed capture, whose
   * staged objects nothing reads again.
   */
  closeStaging(captureId: string, options?: { background?: boolean }): Promise<void>;
  /**
   * Resolves once every removal `closeStaging` left running in the background has ended: what
   * waits for a commit's cleanup (a test, a sweep that must not race it) asks any store alike.
   * The filesystem store removes before it returns, so it is always settled.
   */
  settled(): Promise<void>;
  /** Every object under a prefix, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** A URL the collector PUTs one chunk to. */
  presignPut(key: string, options: PresignPutOptions): Promise<PresignedRequest>;
  /** A URL that GETs an object directly (used for large downloads, e.g. on Lambda). */
  presignGet(key: string, options: { expiresInSeconds: number; fileName?: string }): Promise<PresignedRequest>;
  /** Throws when the store cannot be reached (readiness). */
  check(): Promise<void>;
  /**
   * Stores whose presigned URLs point at the API itself (the filesystem store) check a
   * signed request here; S3 serves and checks its own URLs and leaves this out.
   */
  verifyPresigned?(method: 'PUT' | 'GET', key: string, query: Record<string, string | undefined>): Promise<PresignedGrant>;
  /** With verifyPresigned: writes a signed upload's body, refusing one whose length or SHA-256 differs. */
  writeVerified?(key: string, body: AsyncIterable<Uint8Array>, expected: { length: number; sha256: string }): Promise<void>;
  /** S3 with Object Lock configured: the date an object is locked until, or null. */
  lockedUntil?(key: string): Promise<Date | null>;
  /** S3 with Object Lock configured: lengthens an object's retention (api/retention/object-lock.ts). */
  extendLock?(key: string, until: Date): Promise<void>;
}

/** What a verified signed URL allows. */
export interface PresignedGrant {
  method: 'PUT' | 'GET';
  key: string;
  expiresAt: Date;
  /** PUT only: the exact body length and SHA-256 the signature binds. */
  contentLength?: number;
  payloadSha256?: string;
  /** GET only: the file name for Content-Disposition. */
  fileName?: string;
}

/** A store the API serves signed URLs for (see BlobStore.verifyPresigned). */
export type SelfServingStore = BlobStore & Required<Pick<BlobStore, 'verifyPresigned' | 'writeVerified'>>;

/** True when the API itself must answer the store's signed URLs. */
export function servesOwnUrls(store: BlobStore): store is SelfServingStore {
  return typeof store.verifyPresigned === 'function' && typeof store.writeVerified === 'function';
}

export class BlobNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
    this.name = 'BlobNotFoundError';
  }
}

/** The content-addressed key of a chunk. */
export function chunkKey(sha256: string): string {
  return `chunks/${sha256.slice(0, 2)}/${sha256}`;
}

/** Where a capture's upload of one chunk waits for the commit to verify it. */
export function stagingKey(captureId: string, sha256: string): string {
  return `${stagingPrefix(captureId)}${sha256}`;
}

/** Every staged upload of a capture lives under this prefix. */
export function stagingPrefix(captureId: string): string {
  return `staging/${captureId}/`;
}

/** The capture id of a staging key, or null when the key is not one. */
export function captureOfStagingKey(key: string): string | null {
  const m = /^staging\/([^/]+)\/[^/]+$/.exec(key);
  return m ? m[1] : null;
}

/** Where a committed capture's manifest lives (format 2 or 3: gzip-compressed JSON). */
export function manifestKey(host: string, captureId: string): string {
  return `manifests/${encodeURIComponent(host)}/${captureId}.json.gz`;
}

/**
 * The keys one capture's manifest may rest under: `key` and the other format's (`.json.gz`
 * and `.json`). A commit that failed under a catalog before format 2 may have left `.json`,
 * and its retry after an upgrade wrote `.json.gz`: both name the one capture.
 */
export function manifestKeysOf(key: string): [string, string] {
  return [key, key.endsWith('.json.gz') ? key.slice(0, -'.gz'.length) : `${key}.gz`];
}

/** True for a manifest's key: `.json.gz` (format 2 or 3), or `.json` of a manifest written before format 2. */
export function isManifestKey(key: string): boolean {
  return key.startsWith('manifests/') && (key.endsWith('.json.gz') || key.endsWith('.json'));
}

/** How long an outage the store showed keeps begins answering 503 (unless it answers again sooner). */
export const STORE_OUTAGE_MEMORY_MS = 30_000;
