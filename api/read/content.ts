/**
 * An artifact's bytes, streamed chunk by chunk from the blob store: gzip-stored
 * chunks are inflated, and every chunk is checked whole against its SHA-256 before any
 * of its bytes go out; nothing larger than two chunks is ever held in memory.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { ChunkError, decodeChunk, sha256Hex } from '../pipeline/chunks.js';
import { BlobNotFoundError, chunkKey, type BlobStore } from '../store/types.js';

/** One chunk of an artifact as `artifacts.chunks` records it. */
export interface StoredChunk {
  sha256: string;
  size: number;
  encoding: 'identity' | 'gzip';
  storedSize: number;
}

/** Inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/** The chunk list of an artifact row (jsonb), normalised. */
export function chunkList(value: unknown): StoredChunk[] {
  if (!Array.isArray(value)) return [];
  return value.map((c: Record<string, unknown>) => ({
    sha256: String(c.sha256),
    size: Number(c.size),
    encoding: c.encoding === 'gzip' ? 'gzip' : 'identity',
    storedSize: Number(c.storedSize ?? c.size),
  }));
}

/** A stored chunk whose bytes are not the chunk its name says (or not there at its size). */
export class ChunkIntegrityError extends Error {
  constructor(
    readonly sha256: string,
    message: string,
  ) {
    super(`chunk ${sha256}: ${message}`);
    this.name = 'ChunkIntegrityError';
  }
}

/** One whole chunk's bytes, read and checked against its SHA-256 (inflated when stored as gzip). */
async function verifiedBytes(store: BlobStore, chunk: StoredChunk): Promise<Uint8Array> {
  const key = chunkKey(chunk.sha256);
  const raw = await store.getBytes(key);
  if (!raw) throw new BlobNotFoundError(key);
  try {
    return (await decodeChunk(chunk.sha256, chunk.size, raw)).bytes;
  } catch (e) {
    if (e instanceof ChunkError) throw new ChunkIntegrityError(chunk.sha256, e.message.replace(`chunk ${chunk.sha256}: `, ''));
    throw e;
  }
}

/**
 * Bytes `range` (inclusive; default all) of an artifact made of `chunks`, in order, one
 * piece per chunk. Every chunk the range touches is read whole and checked against its
 * SHA-256 before any of its bytes are yielded — also for a range that wants only part of it
 * (a chunk is at most 1 MiB) — so a damaged chunk throws ChunkIntegrityError and none of
 * its bytes go out. The next chunk is read and checked while the current one is sent (one
 * ahead), so a store with per-request latency (S3) does not stall between chunks; at most
 * two chunks are held.
 */
export async function* artifactBytes(store: BlobStore, chunks: StoredChunk[], range?: ByteRange): AsyncGenerator<Uint8Array> {
  const total = chunks.reduce((n, c) => n + c.size, 0);
  const start = range?.start ?? 0;
  const end = range?.end ?? total - 1;
  if (total === 0 || end < start) return;
  // Which part of which chunk the range covers.
  const plan: Array<{ chunk: StoredChunk; from: number; to: number }> = [];
  let offset = 0;
  for (const chunk of chunks) {
    const chunkEnd = offset + chunk.size - 1;
    if (chunkEnd >= start && offset <= end) {
      plan.push({ chunk, from: Math.max(start, offset) - offset, to: Math.min(end, chunkEnd) - offset });
    }
    offset += chunk.size;
  }
  const read: Array<Promise<Uint8Array>> = [];
  const readAt = (i: number) => {
    if (i < plan.length && !read[i]) {
      read[i] = verifiedBytes(store, plan[i].chunk);
      read[i].catch(() => {}); // surfaced when awaited
    }
  };
  for (let i = 0; i < plan.length; i++) {
    readAt(i);
    const { from, to } = plan[i];
    const bytes = await read[i];
    readAt(i + 1);
    delete read[i];
    yield bytes.subarray(from, to + 1);
  }
}

/**
 * A chunk's stored object as a check made earlier in the same request found it: gzip data
 * alone that inflates to the chunk (api/bundle/intact.ts), named by its size and SHA-256. Read
 * again to be sent, an object with that size and SHA-256 is those very bytes, so it goes out
 * without a second inflate and hash of the whole chunk: hashing the stored bytes costs a
 * fraction of that for the compressible chunks stored gzipped.
 */
export interface CheckedObject {
  storedSize: number;
  storedSha256: string;
}

/** A chunk checked against its SHA-256, as an archive takes it: a gzip member to copy, or bytes to compress. */
export type CheckedChunk = { gzipMember: Buffer; size: number; bytes?: undefined } | { bytes: Buffer; gzipMember?: undefined };

/**
 * Chunks read and checked ahead of the one being sent: the reads and the inflating run on
 * libuv's threads while the main thread hashes and sends. Memory: this many stored
 * objects (a gzip chunk's is small) plus one inflated piece each.
 */
const LOOK_AHEAD = 4;

/**
 * Inflates a stored gzip object only to check it: SHA-256 and size of what it inflates to,
 * and whether the inflate consumed every stored byte. The inflated bytes are hashed piece
 * by piece and dropped, unless `keep` (then they are returned).
 */
function checkGzip(stored: Buffer, chunk: StoredChunk, keep: boolean): Promise<{ consumedAll: boolean; bytes: Buffer | null }> {
  return new Promise((resolve, reject) => {
    const gunzip = createGunzip({ chunkSize: 128 * 1024 });
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    let total = 0;
    gunzip.on('data', (part: Buffer) => {
      total += part.length;
      // A gzip chunk is bounded by its declared size (≤ 1 MiB): never inflate past it.
      if (total > chunk.size || total > CHUNK_SIZE) {
        gunzip.destroy(new ChunkIntegrityError(chunk.sha256, 'inflates past its declared size'));
        return;
      }
      hash.update(part);
      if (keep) kept.push(part);
    });
    gunzip.once('error', reject);
    gunzip.once('end', () => {
      if (total !== chunk.size) return reject(new ChunkIntegrityError(chunk.sha256, `inflates to ${total} bytes, expected ${chunk.size}`));
      const got = hash.digest('hex');
      if (got !== chunk.sha256) return reject(new ChunkIntegrityError(chunk.sha256, `stored bytes hash to ${got}`));
      resolve({ consumedAll: gunzip.bytesWritten === stored.length, bytes: keep ? Buffer.concat(kept, total) : null });
    });
    gunzip.end(stored);
  });
}

/**
 * One whole chunk, read and checked against its SHA-256. A gzip-stored chunk whose object
 * is gzip data and nothing else comes as that object: a `.tar.gz` can carry it unchanged,
 * as gzip readers join members (RFC 1952, 2.2). Anything else comes as its bytes.
 */
async function checkedChunk(store: BlobStore, chunk: StoredChunk, checked?: ReadonlyMap<string, CheckedObject>): Promise<CheckedChunk> {
  const key = chunkKey(chunk.sha256);
  const raw = await store.getBytes(key);
  if (!raw) throw new BlobNotFoundError(key);
  const stored = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (chunk.encoding === 'gzip') {
    const known = checked?.get(chunk.sha256);
    if (known && stored.length === known.storedSize && sha256Hex(stored) === known.storedSha256) return { gzipMember: stored, size: chunk.size };
    const first = await checkGzip(stored, chunk, false);
    // Trailing bytes after the gzip data would upset a strict reader: send the bytes instead.
    return first.consumedAll ? { gzipMember: stored, size: chunk.size } : { bytes: (await checkGzip(stored, chunk, true)).bytes! };
  }
  if (stored.length !== chunk.size) throw new ChunkIntegrityError(chunk.sha256, `store gave ${stored.length} bytes, expected ${chunk.size}`);
  const got = createHash('sha256').update(stored).digest('hex');
  if (got !== chunk.sha256) throw new ChunkIntegrityError(chunk.sha256, `stored bytes hash to ${got}`);
  return { bytes: stored };
}

/**
 * An artifact's whole chunks in order, each checked before it is yielded, a few read ahead;
 * one whose object is in `checked` and reads as it did there is not inflated again.
 */
export async function* checkedChunks(store: BlobStore, chunks: StoredChunk[], checked?: ReadonlyMap<string, CheckedObject>): AsyncGenerator<CheckedChunk> {
  const inFlight: Array<Promise<CheckedChunk>> = [];
  let next = 0;
  for (let i = 0; i < chunks.length; i++) {
    for (; next < chunks.length && next <= i + LOOK_AHEAD; next++) {
      const p = checkedChunk(store, chunks[next], checked);
      p.catch(() => {}); // surfaced when its turn comes
      inFlight.push(p);
    }
    yield await inFlight.shift()!;
  }
}

/**
 * A web ReadableStream pulling from an async iterable: one piece per pull, so the
 * HTTP client's pace is the only pace; cancelling stops the source.
 */
export function toWebStream(source: AsyncIterable<Uint8Array>, onError?: (e: unknown) => void): ReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { value, done } = await it.next();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (e) {
          onError?.(e);
          controller.error(e);
        }
      },
      async cancel() {
        await it.return?.(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}

/**
 * Writes a stream into the store as one object (an artifact or bundle served by presigned
 * GET): streamed by the store, never held whole in memory or on local disk.
 */
export async function assembleObject(store: BlobStore, key: string, source: AsyncIterable<Uint8Array> | Readable): Promise<number> {
  return store.putStream(key, source as AsyncIterable<Uint8Array>);
}
