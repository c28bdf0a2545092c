/**
 * Where chunks and manifests rest. Two implementations: S3 (any S3-compatible
 * server through @aws-sdk/client-s3) and the filesystem under $DATA_DIR/blobs,
 * the embedded default. Keys: `chunks/<sha256[0:2]>/<sha256>`, `manifests/<host>/<captureId>.json`,
 * `bundles/<…>` for assembled downloads.
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
  delete(key: string): Promise<void>;
  /** Every object under a prefix, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** A URL the collector PUTs one chunk to. */
  presignPut(key: string, options: PresignPutOptions): Promise<PresignedRequest>;
  /** A URL that GETs an object directly (used for large downloads, e.g. on Lambda). */
  presignGet(key: string, options: { expiresInSeconds: number; fileName?: string }): Promise<PresignedRequest>;
  /** Throws when the store cannot be reached (readiness). */
  check(): Promise<void>;
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

/** Where a committed capture's manifest lives. */
export function manifestKey(host: string, captureId: string): string {
  return `manifests/${encodeURIComponent(host)}/${captureId}.json`;
}
