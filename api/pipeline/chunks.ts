/**
 * Reading chunks back from the store: inflate (bounded), verify, assemble an
 * artifact's bytes for parsing. Every check uses the SHA-256 of the uncompressed
 * bytes, whatever encoding the object rests in.
 */
import { createHash } from 'node:crypto';
import { gunzip, gunzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { CHUNK_SIZE, type ChunkEncoding } from '../../formats/protocol.js';
import type { ArtifactKind } from '../../formats/types.js';
import { chunkKey, type BlobStore } from '../store/types.js';
import { OldestFirst } from '../oldest-first.js';
import { sha256HandedOver } from './hash-thread.js';
import { onePer } from '../one-per.js';
import type { Logger } from '../logger.js';

const gunzipAsync = promisify(gunzip);

/**
 * How much of an artifact is read for parsing. A vmfs-header dump's facts all sit
 * in its first 64 MiB: the partition table (LBA 0–33), the LVM header at partition
 * + 1 MiB, the volume table right after it, and the FS descriptor at partition +
 * dataOffset (usually 0x1100000 = 17 MiB) + 0x200000 — under 20 MiB even for a GPT
 * partition at LBA 2048. Support-grade dumps reach 1.5 GiB; holding those whole in
 * memory to parse the first 20 MiB would let one upload exhaust the API. `.vh.sf`
 * copies (4–8 MiB) and the text kinds (KB–MB) fit under the same bound; past it a
 * text artifact is a parse error (too_large) rather than an out-of-memory.
 */
export const PARSE_LIMIT_BYTES = 64 * 1024 * 1024;

/** How much of an artifact of this kind the parser reads. */
export function parseWindow(_kind: ArtifactKind, size: number): number {
  return Math.min(size, PARSE_LIMIT_BYTES);
}

/** A chunk that is missing or is not what its name says. */
export class ChunkError extends Error {
  constructor(
    readonly sha256: string,
    readonly reason: 'missing' | 'wrong-size' | 'wrong-hash' | 'bad-encoding' | 'too-large',
    message: string,
  ) {
    super(message);
    this.name = 'ChunkError';
  }
}

/** SHA-256 hex of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const GZIP_MAGIC = [0x1f, 0x8b];
/** Inflates bounded to at most this many bytes, of at most this many stored bytes, may run on the calling thread (gunzipBounded). */
const SYNC_INFLATE_MAX_BYTES = 64 * 1024;
/** Room past the expected output in zlib's piece, so it reads the gzip trailer on the same trip (gunzipBounded). */
const INFLATE_SLACK = 64;
/**
 * How many bytes may be inflated on the calling thread before the event loop turns: a batch
 * of 1,024 small chunks (a request of about 100 KiB) would otherwise inflate up to 64 MiB
 * there in one go, and every other request wait for it. Past it, inflates go to the thread pool.
 */
const SYNC_INFLATE_BUDGET = 256 * 1024;
let syncInflateLeft = SYNC_INFLATE_BUDGET;

/** Takes `bytes` from this turn of the event loop's budget of inflating on the calling thread, when it holds them. */
function takeSyncInflate(bytes: number): boolean {
  if (bytes > syncInflateLeft) return false;
  if (syncInflateLeft === SYNC_INFLATE_BUDGET) setImmediate(() => (syncInflateLeft = SYNC_INFLATE_BUDGET));
  syncInflateLeft -= bytes;
  return true;
}

/**
 * Inflates gzip bytes, refusing output past `maxBytes` (a gzip bomb stops there).
 * `expected`: the size the output should have (a chunk's announced size), so zlib writes it
 * in one piece: with its default 16 KiB pieces a 1 MiB chunk costs 64 trips between the
 * thread pool and this thread and a copy to join them, several times the inflating itself.
 * The piece is a little larger than that: output that fills it exactly leaves the gzip
 * trailer unread, and zlib then takes a second trip with a second piece as large (for a
 * 1 MiB chunk, 2 MiB allocated and two trips instead of one: 200 inflates of a dump's
 * chunk took 324–439 ms of CPU that way, 168–324 ms with the slack).
 */
export async function gunzipBounded(bytes: Uint8Array, maxBytes: number = CHUNK_SIZE, expected: number = maxBytes): Promise<Uint8Array> {
  return (await inflateBounded(bytes, maxBytes, expected)).bytes;
}

/** gunzipBounded, also answering how many of `bytes` the gzip data took (fewer than all when other bytes follow it). */
async function inflateBounded(bytes: Uint8Array, maxBytes: number, expected: number): Promise<{ bytes: Uint8Array; consumed: number }> {
  try {
    // maxOutputLength makes zlib stop with ERR_BUFFER_TOO_LARGE instead of allocating.
    const options = { maxOutputLength: maxBytes, chunkSize: Math.max(64, Math.min(expected, maxBytes)) + INFLATE_SLACK, info: true as const };
    // Output bounded by SYNC_INFLATE_MAX_BYTES is inflated on this thread: a few KiB inflate in
    // 15–75 µs, where handing them to the thread pool and back cost 300–370 µs of CPU.
    const sync = maxBytes <= SYNC_INFLATE_MAX_BYTES && bytes.length <= SYNC_INFLATE_MAX_BYTES && takeSyncInflate(maxBytes);
    const { buffer: out, engine } = (sync ? gunzipSync(bytes, options) : await gunzipAsync(bytes, options)) as unknown as ZlibInfo;
    return { bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength), consumed: engine.bytesWritten };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new ChunkError('', 'too-large', `inflates past ${maxBytes} bytes`);
    }
    throw new ChunkError('', 'bad-encoding', `not valid gzip: ${(e as Error).message}`);
  }
}

/** What zlib answers with `info: true`: the output, and the engine that counted the input it read. */
interface ZlibInfo {
  buffer: Buffer;
  engine: { bytesWritten: number };
}

export interface VerifiedChunk {
  bytes: Uint8Array;
  encoding: ChunkEncoding;
  storedSize: number;
}

/** The granularity of a SparseChunk: a chunk is kept as its pages that hold anything but zeros. */
const SPARSE_PAGE = 4096;
const ZERO_PAGE = Buffer.alloc(SPARSE_PAGE);

/** A chunk's worth of zeros to copy from (zeroInto). */
const ZEROS = new Uint8Array(CHUNK_SIZE);

/**
 * Zeros `out` from `from` to `to`. V8's fill is slow on shared memory (an artifact's window,
 * which the hashing thread reads): zeroing the 1000 MiB of a day's 50 dumps took 390–500 ms of
 * this thread with fill, 95–110 ms copied from zeros; on memory of its own fill is the faster
 * (35–50 ms).
 */
function zeroInto(out: Uint8Array, from: number, to: number): void {
  if (!(out.buffer instanceof SharedArrayBuffer)) out.fill(0, from, to);
  else for (let at = from; at < to; at += CHUNK_SIZE) out.set(ZEROS.subarray(0, Math.min(CHUNK_SIZE, to - at)), at);
}

/**
 * A verified chunk kept as its runs of pages that are not all zeros, copied out of the inflated
 * bytes (nothing larger is held for them). A header dump's chunks are zeros but for a few pages:
 * 1–5 pages of 4 KiB in a MiB, about what they rest in gzipped. Written into an artifact's window
 * it costs a fill and a copy of those pages, where the gzip bytes cost an inflate (1–2 ms of CPU a
 * MiB, most of it the page faults of a fresh 1 MiB output) and a copy of the whole MiB. Its bytes
 * are never handed out: writeInto and bytes() copy them.
 */
export class SparseChunk {
  private constructor(
    /** The chunk's size. */
    readonly size: number,
    /** [start, end) of each run of non-zero pages, in order. */
    private readonly runs: Uint32Array,
    /** The runs' bytes, one after another. */
    private readonly data: Uint8Array,
  ) {}

  /** What holding it costs beside the runs' bytes: the object, its two typed arrays, a map entry and its key (714 bytes measured). */
  static readonly ENTRY_BYTES = 720;

  /** Bytes the chunk holds in its runs. */
  get dataBytes(): number {
    return this.data.length;
  }

  /** What keeping it costs. */
  get cost(): number {
    return this.data.length + SparseChunk.ENTRY_BYTES;
  }

  /** A chunk's verified bytes as runs of non-zero pages, or null when those come to more than `maxData` bytes. */
  static of(bytes: Uint8Array, maxData: number): SparseChunk | null {
    if (maxData < 0) return null;
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const runs: number[] = [];
    let data = 0;
    for (let at = 0; at < view.length; at += SPARSE_PAGE) {
      const end = Math.min(at + SPARSE_PAGE, view.length);
      if (view.subarray(at, end).equals(end - at === SPARSE_PAGE ? ZERO_PAGE : ZERO_PAGE.subarray(0, end - at))) continue;
      data += end - at;
      if (data > maxData) return null;
      if (runs.length > 0 && runs[runs.length - 1] === at) runs[runs.length - 1] = end;
      else runs.push(at, end);
    }
    const copy = new Uint8Array(data);
    for (let i = 0, to = 0; i < runs.length; i += 2) {
      copy.set(view.subarray(runs[i], runs[i + 1]), to);
      to += runs[i + 1] - runs[i];
    }
    return new SparseChunk(view.length, Uint32Array.from(runs), copy);
  }

  /**
   * Writes the chunk's bytes into `out` at `at` (room for `size` bytes): its runs, and zeros
   * between them — or, into a window that holds zeros there (`zeroed`), its runs alone, noted
   * as written.
   */
  writeInto(out: Uint8Array, at: number, zeroed?: ArtifactWindow): void {
    let zeroFrom = 0;
    for (let i = 0, from = 0; i < this.runs.length; i += 2) {
      const n = this.runs[i + 1] - this.runs[i];
      if (zeroed) zeroed.wrote(at + this.runs[i], at + this.runs[i + 1]);
      else zeroInto(out, at + zeroFrom, at + this.runs[i]);
      out.set(this.data.subarray(from, from + n), at + this.runs[i]);
      from += n;
      zeroFrom = this.runs[i + 1];
    }
    if (!zeroed) zeroInto(out, at + zeroFrom, at + this.size);
  }

  /** The chunk's bytes, in a buffer of their own. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    this.writeInto(out, 0);
    return out;
  }
}

/** A verified chunk's bytes as a SparseChunk when its pages that are not zeros pack 4:1 or better (PACK_RATIO), else null. */
export function sparseOf(bytes: Uint8Array): SparseChunk | null {
  return SparseChunk.of(bytes, Math.floor(bytes.length / PACK_RATIO));
}

/**
 * Decodes stored chunk bytes and checks them against the chunk's name: identity when
 * the length and hash match, else gzip, inflated no further than the announced size (and
 * never past 1 MiB). A chunk is content-addressed, so any encoding whose inflated bytes
 * have the right SHA-256 is the chunk. The announced size bounds the work, not only the
 * result: it is the collector's to declare, and zlib hands the output over in pieces of
 * it, so a chunk announced as 1 byte that inflated on to 1 MiB cost 16,384 pieces.
 */
export async function decodeChunk(sha256: string, size: number, stored: Uint8Array): Promise<VerifiedChunk> {
  const { bytes, encoding, storedSize } = await checkedChunk(sha256, size, stored, async (inflated) => sha256Hex(inflated));
  return { bytes, encoding, storedSize };
}

/**
 * decodeChunk for a chunk that is checked and then dropped (the chunks route): `look` sees its
 * bytes first (what is kept of them), then the inflated bytes are handed over to the hashing
 * thread, which hashes them there and drops them — this thread neither hashes a MiB a chunk nor
 * collects it. The same checks, in the same order; no bytes are answered.
 */
export async function verifyChunk(
  sha256: string,
  size: number,
  stored: Uint8Array,
  look: (bytes: Uint8Array) => void,
  logger?: Logger,
): Promise<Omit<VerifiedChunk, 'bytes'>> {
  const { encoding, storedSize, bytes } = await checkedChunk(sha256, size, stored, (inflated) => {
    look(inflated);
    // A hashing thread that stopped or stalled holding them took the bytes with it: they are inflated again and hashed here.
    return sha256HandedOver(inflated, logger).catch(async () => sha256Hex(await gunzipBounded(stored, CHUNK_SIZE, size)));
  });
  if (encoding === 'identity') look(bytes);
  return { encoding, storedSize };
}

/**
 * decodeChunk's checks for a chunk whose stored object may go out as it is (a restore bundle
 * carries a gzip object as one of its members), answering whether the object is gzip data and
 * nothing after it (`gzipOnly`); the inflated bytes are dropped. They are hashed here: handed
 * over to the hashing thread (verifyChunk's way), a bundle's check of 256 MiB ran about 15%
 * faster but held 55–70 MiB more, buffers waiting for that thread's garbage collection, which
 * runs seldom as it allocates next to nothing.
 */
export async function checkStoredChunk(sha256: string, size: number, stored: Uint8Array): Promise<{ encoding: ChunkEncoding; gzipOnly: boolean }> {
  const { encoding, gzipBytes } = await checkedChunk(sha256, size, stored, async (inflated) => sha256Hex(inflated));
  return { encoding, gzipOnly: encoding === 'gzip' && gzipBytes === stored.length };
}

/** decodeChunk's checks, the SHA-256 of inflated bytes taken by `hashInflated` (which may take the bytes over). */
async function checkedChunk(
  sha256: string,
  size: number,
  stored: Uint8Array,
  hashInflated: (inflated: Uint8Array) => Promise<string>,
): Promise<VerifiedChunk & { gzipBytes: number }> {
  if (stored.length === size && sha256Hex(stored) === sha256) return { bytes: stored, encoding: 'identity', storedSize: stored.length, gzipBytes: 0 };
  if (stored.length >= 2 && stored[0] === GZIP_MAGIC[0] && stored[1] === GZIP_MAGIC[1]) {
    let inflated: Uint8Array;
    let gzipBytes: number;
    // zlib takes no bound below 1 byte; an empty chunk is still checked for its length below.
    const bound = Math.max(1, Math.min(size, CHUNK_SIZE));
    try {
      ({ bytes: inflated, consumed: gzipBytes } = await inflateBounded(stored, bound, size));
    } catch (e) {
      const ce = e as ChunkError;
      // Past a smaller announced size the chunk is not what its declaration says; past 1 MiB it is too large for any chunk.
      if (ce.reason === 'too-large' && bound < CHUNK_SIZE)
        throw new ChunkError(sha256, 'wrong-size', `chunk ${sha256}: inflates past its announced ${size} bytes`);
      throw new ChunkError(sha256, ce.reason, `chunk ${sha256}: ${ce.message}`);
    }
    if (inflated.length !== size) throw new ChunkError(sha256, 'wrong-size', `chunk ${sha256}: inflates to ${inflated.length} bytes, announced ${size}`);
    if ((await hashInflated(inflated)) !== sha256) throw new ChunkError(sha256, 'wrong-hash', `chunk ${sha256}: the stored bytes do not have this SHA-256`);
    return { bytes: inflated, encoding: 'gzip', storedSize: stored.length, gzipBytes };
  }
  if (stored.length !== size) throw new ChunkError(sha256, 'wrong-size', `chunk ${sha256}: stored ${stored.length} bytes, announced ${size}`);
  throw new ChunkError(sha256, 'wrong-hash', `chunk ${sha256}: the stored bytes do not have this SHA-256`);
}

/**
 * A buffer artifacts are assembled into one after another (ArrivedArtifacts' lanes), which keeps
 * where the last assembly wrote: the next one zeros those ranges alone, and then writes only
 * the pages of its sparse chunks that are not zeros, where each chunk's whole MiB was zeroed
 * and written (a day's 50 header dumps: 1000 MiB written for the 4–5 MiB that are not zeros).
 * Its memory starts as zeros (a new ArrayBuffer or SharedArrayBuffer is).
 */
export class ArtifactWindow {
  /** [from, to) of each range written since the window last held only zeros. */
  private written: number[] = [];
  constructor(readonly bytes: Uint8Array) {}

  /** Notes that `from`…`to` may hold other bytes than zeros from now on. */
  wrote(from: number, to: number): void {
    const w = this.written;
    if (w.length > 0 && w[w.length - 1] === from) w[w.length - 1] = to;
    else w.push(from, to);
  }

  /** Zeros what was written: the whole window holds zeros again. */
  clear(): void {
    for (let i = 0; i < this.written.length; i += 2) zeroInto(this.bytes, this.written[i], this.written[i + 1]);
    this.written = [];
  }
}

export interface AssembledArtifact {
  /** The first `window` bytes (the whole artifact when it fits). */
  bytes: Uint8Array;
  /** SHA-256 of the whole artifact, when `hashAll` was asked (every chunk is then read). */
  sha256: string | null;
}

/**
 * Concatenates an artifact's chunks. Reads at most `window` bytes into memory; with
 * `hashAll` it streams the rest through the hash too (one chunk at a time), so the
 * whole-artifact SHA-256 is checked without holding a 4 GiB artifact. Each chunk is hashed
 * and copied into place as it arrives; with `lend`, into the window buffer the cache lends
 * (`ChunkCache.windowOf`, valid until its next assembly), so the artifacts one commit parses
 * share one buffer; with `into`, into that buffer (when it is long enough), which it clears first.
 */
export async function assembleArtifact(
  store: BlobStore,
  chunks: Array<{ sha256: string; size: number }>,
  options: { window: number; hashAll: boolean; cache?: ChunkCache; lend?: boolean; into?: ArtifactWindow },
): Promise<AssembledArtifact> {
  const cache = options.cache ?? new ChunkCache();
  const hash = createHash('sha256');
  const total = chunks.reduce((n, c) => n + c.size, 0);
  const length = Math.min(options.window, total);
  const zeroed = options.into && options.into.bytes.length >= length ? options.into : undefined;
  zeroed?.clear();
  const out = zeroed ? zeroed.bytes.subarray(0, length) : options.lend ? cache.windowOf(length) : new Uint8Array(length);
  let held = 0;
  let offset = 0;
  // Read ahead a few chunks at a time: one GET after another costs a round trip each on S3.
  const needed: Array<{ sha256: string; size: number }> = [];
  for (const c of chunks) {
    if (offset >= options.window && !options.hashAll) break;
    needed.push(c);
    offset += c.size;
  }
  offset = 0;
  const AHEAD = 4;
  const pending = new Map<number, Promise<Uint8Array | SparseChunk>>();
  const fetchAt = (i: number) => {
    if (i >= needed.length || pending.has(i)) return;
    const read = cache.piece(store, needed[i].sha256, needed[i].size);
    read.catch(() => {}); // awaited below in order; a read ahead that fails must not go unhandled
    pending.set(i, read);
  };
  // Where a sparse chunk that does not fit the window whole is written out (this assembly's own).
  let scratch: Uint8Array | null = null;
  for (let i = 0; i < needed.length; i++) {
    for (let k = i; k < i + AHEAD; k++) fetchAt(k);
    const piece = await pending.get(i)!;
    pending.delete(i);
    let bytes: Uint8Array;
    if (piece instanceof SparseChunk) {
      if (held + piece.size <= out.length) {
        // Written straight into its place in the window, and hashed from there.
        piece.writeInto(out, held, zeroed);
        held += piece.size;
        offset += piece.size;
        if (options.hashAll) hash.update(out.subarray(held - piece.size, held));
        continue;
      }
      if (!scratch || scratch.length < piece.size) scratch = new Uint8Array(Math.max(CHUNK_SIZE, piece.size));
      piece.writeInto(scratch, 0);
      bytes = scratch.subarray(0, piece.size);
    } else {
      bytes = piece;
    }
    if (options.hashAll) hash.update(bytes);
    if (held < out.length) {
      const take = Math.min(bytes.length, out.length - held);
      zeroed?.wrote(held, held + take);
      out.set(take === bytes.length ? bytes : bytes.subarray(0, take), held);
      held += take;
    }
    offset += bytes.length;
  }
  const complete = options.hashAll && offset === total;
  return { bytes: out.subarray(0, held), sha256: complete ? hash.digest('hex') : null };
}

/**
 * Verified chunks kept for the length of one commit, bounded in bytes. Header dumps of
 * many LUNs share most chunks (runs of zeros): each is fetched and checked once, not
 * once per artifact and offset. A chunk that rests gzipped at a quarter of its size or
 * less (a dump's chunks: mostly zeros) is kept as stored and inflated again when asked
 * for, the last few inflated kept at hand: a day-1 capture of 50 dumps (300 distinct
 * chunks, 300 MiB inflated) fits in a few MiB, where holding them inflated sent most of
 * them back to the store for a second GET when the artifacts were hashed and parsed. A chunk
 * whose pages that are not zeros come to a quarter of it or less is kept as those pages
 * (SparseChunk) rather than as stored: an assembly writes it into place without inflating it.
 */
export class ChunkCache {
  private readonly entries = new Map<string, Promise<Uint8Array>>();
  /** Verified chunks kept as their pages that are not zeros (preferred to the gzip bytes: nothing to inflate). */
  private readonly sparse = new Map<string, SparseChunk>();
  /** Verified chunks kept as their gzip bytes. */
  private readonly packed = new Map<string, Uint8Array>();
  /** The last few packed chunks inflated (most recent last). */
  private readonly inflated = new Map<string, Promise<Uint8Array>>();
  private readonly located = new Map<string, string>();
  private bytes = 0;
  private window: Uint8Array | null = null;
  /**
   * `kept`: take chunks from the process's KeptChunks before the store (a commit, whose
   * verifyChunks has just asked whether the store holds each). Reindex and rebuild do not: their
   * read of the store is what finds a chunk it lost.
   */
  constructor(
    private readonly maxBytes = 64 * 1024 * 1024,
    private readonly kept = false,
  ) {}

  /**
   * A buffer of `size` bytes to assemble an artifact's parse window in, lent again for the
   * next artifact: what was assembled in it must be done with by then (it is parsed and
   * dropped). Fresh memory costs a page fault per 4 KiB, as much as hashing the bytes, so
   * a commit of 50 header dumps takes its pages once, not 50 times.
   */
  windowOf(size: number): Uint8Array {
    if (!this.window || this.window.length < size) this.window = new Uint8Array(size);
    return this.window.subarray(0, size);
  }

  /** Reads of this chunk go to `key` (a staged upload not yet published). */
  locate(sha256: string, key: string): void {
    this.located.set(sha256, key);
  }

  /** Keeps bytes already verified elsewhere (and, when known, how they rest), while the budget allows. */
  add(sha256: string, bytes: Uint8Array, stored?: { bytes: Uint8Array; encoding: ChunkEncoding }): void {
    if (this.holds(sha256)) return;
    if (this.addSparse(sha256, sparseOf(bytes))) return;
    const pack = stored?.encoding === 'gzip' && stored.bytes.length * PACK_RATIO <= bytes.length;
    const cost = pack ? stored!.bytes.length : bytes.length;
    if (this.bytes + cost > this.maxBytes) return;
    if (pack) this.packed.set(sha256, stored!.bytes);
    else this.entries.set(sha256, Promise.resolve(bytes));
    this.bytes += cost;
  }

  /** Keeps a chunk verified elsewhere as it rests (gzip bytes are inflated again when asked for), while the budget allows. */
  addStored(sha256: string, stored: Uint8Array, encoding: ChunkEncoding, sparse?: SparseChunk | null): void {
    if (this.holds(sha256) || this.addSparse(sha256, sparse ?? null) || this.bytes + stored.length > this.maxBytes) return;
    if (encoding === 'gzip') this.packed.set(sha256, stored);
    else this.entries.set(sha256, Promise.resolve(stored));
    this.bytes += stored.length;
  }

  /** Whether the cache holds this chunk in any form. */
  private holds(sha256: string): boolean {
    return this.entries.has(sha256) || this.packed.has(sha256) || this.sparse.has(sha256);
  }

  /** Keeps a verified chunk as its non-zero pages, while the budget allows; false when it was not. */
  private addSparse(sha256: string, sparse: SparseChunk | null): boolean {
    if (!sparse || this.bytes + sparse.cost > this.maxBytes) return false;
    this.sparse.set(sha256, sparse);
    this.bytes += sparse.cost;
    return true;
  }

  /**
   * A chunk for an assembly: its verified bytes as get answers them, or the SparseChunk it is
   * kept as (the assembly writes it into place; its bytes are not handed out).
   */
  piece(store: BlobStore, sha256: string, size: number): Promise<Uint8Array | SparseChunk> {
    const sparse = this.sparse.get(sha256) ?? this.keptSparse(store, sha256, size);
    if (!sparse) return this.get(store, sha256, size);
    if (sparse.size !== size) return Promise.reject(new ChunkError(sha256, 'wrong-size', `chunk ${sha256}: holds ${sparse.size} bytes, announced ${size}`));
    return Promise.resolve(sparse);
  }

  /** A chunk KeptChunks holds as its non-zero pages, taken into this cache (while its budget allows). */
  private keptSparse(store: BlobStore, sha256: string, size: number): SparseChunk | undefined {
    const kept = this.kept ? keptOf(store).get(sha256, size) : undefined;
    if (!(kept instanceof SparseChunk)) return undefined;
    this.addSparse(sha256, kept);
    return kept;
  }

  /** The verified bytes of a chunk, from the cache or the store. */
  get(store: BlobStore, sha256: string, size: number): Promise<Uint8Array> {
    const sparse = this.sparse.get(sha256) ?? this.keptSparse(store, sha256, size);
    if (sparse) {
      if (sparse.size !== size) return Promise.reject(new ChunkError(sha256, 'wrong-size', `chunk ${sha256}: holds ${sparse.size} bytes, announced ${size}`));
      // A buffer of the caller's own each time: what it does with it reaches no other reader.
      return Promise.resolve(sparse.bytes());
    }
    const hit = this.entries.get(sha256);
    if (hit) return hit;
    const packed = this.packed.get(sha256);
    if (packed) return this.inflate(sha256, packed, size);
    const kept = this.kept ? keptOf(store).get(sha256, size) : undefined;
    if (kept instanceof Uint8Array) {
      this.addStored(sha256, kept, 'gzip');
      return this.inflate(sha256, kept, size);
    }
    const key = this.located.get(sha256) ?? chunkKey(sha256);
    // Room for the inflated bytes is taken now, so concurrent reads share this one.
    const fits = this.bytes + size <= this.maxBytes;
    if (fits) this.bytes += size;
    const read = (async () => {
      const stored = await store.getBytes(key);
      if (!stored) throw new ChunkError(sha256, 'missing', `chunk ${sha256} is not in the store`);
      const v = await decodeChunk(sha256, size, stored);
      const room = fits ? size : 0;
      const sparse = this.sparse.has(sha256) ? null : sparseOf(v.bytes);
      // A published chunk read and verified: later commits in this process need not read it again.
      if (key === chunkKey(sha256)) keptOf(store).add(sha256, size, stored, v.encoding, sparse);
      if (sparse && this.bytes - room + sparse.cost <= this.maxBytes) {
        // Kept as its non-zero pages instead: the room taken shrinks to theirs.
        if (fits) this.entries.delete(sha256);
        this.sparse.set(sha256, sparse);
        this.bytes += sparse.cost - room;
      } else if (
        v.encoding === 'gzip' &&
        stored.length * PACK_RATIO <= v.bytes.length &&
        this.bytes - room + stored.length <= this.maxBytes &&
        !this.packed.has(sha256)
      ) {
        // Kept as stored instead: the room taken shrinks (or grows) to the stored size.
        if (fits) this.entries.delete(sha256);
        this.packed.set(sha256, stored);
        this.bytes += stored.length - room;
      }
      return v.bytes;
    })();
    if (fits) {
      this.entries.set(sha256, read);
      read.catch(() => {
        this.entries.delete(sha256);
        this.bytes -= size;
      });
    }
    return read;
  }

  /**
   * Reads these chunks into the cache ahead of their artifacts' assembly, PREFETCH_AT_ONCE at a
   * time, as far as the budget holds them: on S3 each is a GET, and assembly alone reads only a
   * few ahead within one artifact at a time (a changed dump's unchanged chunks, five dumps: ten
   * rounds of GETs instead of two). A chunk already held, or one that fails (assembly reads it
   * again and reports it), costs nothing more.
   */
  async prefetch(store: BlobStore, chunks: Array<{ sha256: string; size: number }>): Promise<void> {
    // Each is planned at its inflated size, the room a read takes until it is kept as stored.
    const wanted = new Map<string, number>();
    let planned = this.bytes;
    const kept = this.kept ? keptOf(store) : null;
    for (const c of chunks) {
      if (this.holds(c.sha256) || wanted.has(c.sha256) || kept?.has(c.sha256, c.size)) continue;
      if (planned + c.size > this.maxBytes) break;
      wanted.set(c.sha256, c.size);
      planned += c.size;
    }
    const list = [...wanted];
    let next = 0;
    const lane = async () => {
      while (next < list.length) {
        const [sha256, size] = list[next++];
        await this.get(store, sha256, size).catch(() => {});
      }
    };
    await Promise.all(Array.from({ length: Math.min(PREFETCH_AT_ONCE, list.length) }, lane));
  }

  private inflate(sha256: string, packed: Uint8Array, size: number): Promise<Uint8Array> {
    let out = this.inflated.get(sha256);
    if (out) {
      this.inflated.delete(sha256);
    } else {
      // Verified when it was kept: only inflated again (bounded), not hashed again.
      out = gunzipBounded(packed, CHUNK_SIZE, size).then((bytes) => {
        if (bytes.length !== size) throw new ChunkError(sha256, 'wrong-size', `chunk ${sha256}: inflates to ${bytes.length} bytes, announced ${size}`);
        return bytes;
      });
      out.catch(() => this.inflated.delete(sha256));
      if (this.inflated.size >= INFLATED_KEPT) this.inflated.delete(this.inflated.keys().next().value!);
    }
    this.inflated.set(sha256, out);
    return out;
  }
}

/**
 * Published chunks this process verified lately (received through the catalog, or read from
 * the store and checked against their hash), kept across commits as their pages that are not
 * zeros (SparseChunk) when those come to a quarter of the chunk or less, else as stored when
 * they rest gzipped at a quarter of their size or less — a header dump's chunks, mostly zeros —
 * bounded in bytes (the least recently used go first). A commit's ChunkCache takes a chunk from
 * here before it asks the store: the next day's capture of a dump changed in one chunk needs
 * its other chunks for the whole hash and the parse, and they are the ones this process
 * received or read the day before (on S3, a GET each); kept as pages, an assembly writes them
 * into place with no inflate. The bytes were verified when they were kept; whether the store
 * still holds the chunk is verifyChunks' question, asked as before.
 */
export class KeptChunks {
  private readonly entries = new Map<string, { stored: Uint8Array | SparseChunk; size: number }>();
  private readonly oldest = new OldestFirst(this.entries);
  private bytes = 0;
  constructor(private readonly maxBytes = 32 * 1024 * 1024) {}

  /** A chunk of this size, if kept: its non-zero pages, or its stored (gzip) bytes. */
  get(sha256: string, size: number): Uint8Array | SparseChunk | undefined {
    const hit = this.entries.get(sha256);
    if (!hit || hit.size !== size) return undefined;
    this.oldest.use(sha256);
    return hit.stored;
  }

  has(sha256: string, size: number): boolean {
    return this.entries.get(sha256)?.size === size;
  }

  /** Forgets these chunks (what another process, which kept nothing, would see). */
  forget(shas: Iterable<string>): void {
    for (const s of shas) {
      const hit = this.entries.get(s);
      if (!hit) continue;
      this.entries.delete(s);
      this.bytes -= costOf(hit.stored);
    }
  }

  /**
   * Keeps a verified chunk as stored, when it packs well enough (see the class). Each entry is
   * charged CHUNK_ENTRY_BYTES beside its bytes, so many tiny chunks (a collector may send 65,536
   * in a capture) cost the process what the bound counts, not several times more.
   */
  add(sha256: string, size: number, stored: Uint8Array, encoding: ChunkEncoding, sparse?: SparseChunk | null): void {
    // `sparse`: the chunk's non-zero pages (at most a quarter of it), when they were taken.
    const keep = sparse && sparse.size === size ? sparse : stored;
    const cost = costOf(keep);
    if ((keep === stored && (encoding !== 'gzip' || stored.length * PACK_RATIO > size)) || cost > this.maxBytes || this.entries.has(sha256)) return;
    while (this.bytes + cost > this.maxBytes) {
      const oldest = this.oldest.take();
      this.bytes -= costOf(this.entries.get(oldest)!.stored);
      this.entries.delete(oldest);
    }
    // A copy when the bytes are part of something larger (a request body): that is not held for
    // them. `new Uint8Array(…)` copies; a Node Buffer's slice() would be a view of the same memory.
    const own = keep instanceof SparseChunk || (keep.byteOffset === 0 && keep.buffer.byteLength === keep.length) ? keep : new Uint8Array(keep);
    this.entries.set(sha256, { stored: own, size });
    this.bytes += cost;
  }
}

/** What KeptChunks counts for a chunk: its bytes (a SparseChunk's pages and entry) and its map entry. */
function costOf(kept: Uint8Array | SparseChunk): number {
  return (kept instanceof SparseChunk ? kept.cost : kept.length) + CHUNK_ENTRY_BYTES;
}

/** The kept verified chunks of one store (shared by every request the process serves). */
export const keptOf = onePer((_store: BlobStore) => new KeptChunks());

/**
 * What a map of chunks kept in memory (KeptChunks, ReceivedChunks) charges for each entry beside
 * its bytes: the map entry, its key, its object and the buffer's own. Measured for 300,000 entries
 * of 8 bytes each, copied out of a request body: KeptChunks 377 bytes of heap and array buffers
 * (~400 of resident memory), ReceivedChunks (a longer key, more fields) 458 (~575).
 */
export const CHUNK_ENTRY_BYTES = 640;
/** Chunk reads ChunkCache.prefetch keeps in flight (store requests are latency-bound). */
const PREFETCH_AT_ONCE = 16;
/** A gzipped chunk at most 1/PACK_RATIO of its size is cached as stored, one whose non-zero pages are at most that as those (ChunkCache). */
export const PACK_RATIO = 4;
/** Inflated copies of packed chunks ChunkCache keeps at hand (1 MiB each at most). */
const INFLATED_KEPT = 8;
