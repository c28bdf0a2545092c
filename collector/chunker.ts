import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as zlib from 'node:zlib';
import { constants, deflateRaw, deflateRawSync, gzip, type ZlibOptions } from 'node:zlib';
import { CHUNK_SIZE, type ChunkEncoding, type ChunkRef } from '../formats/index.js';
import type { Spool } from './spool.js';

/**
 * zlib level for a staged chunk's runs of pages that are not zeros (gzipChunk codes its zero
 * pages apart). Only chunks the catalog lacks are compressed, so the CPU is spent on a few MiB
 * a day; level 6 stores a header dump's chunks in about half the bytes of levels 1–3 and 9
 * gains nothing more, and with the zeros coded apart it costs about what level 3 did over
 * whole chunks (test/bench/collector.bench.ts).
 */
export const GZIP_LEVEL = 6;

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

const ZEROS = Buffer.alloc(CHUNK_SIZE);
let zeroSha: string | undefined;

/**
 * A chunk's SHA-256. A header dump is mostly zeros (a 20 MiB LUN head holds a few MiB of
 * metadata), and a whole chunk of zeros always has the same hash: comparing with zeros runs
 * at memory speed, many times faster than hashing, so that hash is computed once per run.
 */
export function chunkSha(chunk: Buffer): string {
  if (!chunk.equals(ZEROS)) return sha256Hex(chunk);
  if (!zeroSha) zeroSha = sha256Hex(chunk);
  return zeroSha;
}

/** How staged bytes are declared: size, SHA-256 and base64 MD5 (S3 binds upload URLs to Content-MD5). */
function storedFields(stored: Buffer): Pick<ChunkRef, 'storedSize' | 'storedSha256' | 'storedMd5'> {
  return { storedSize: stored.length, storedSha256: sha256Hex(stored), storedMd5: createHash('md5').update(stored).digest('base64') };
}

/** A zlib one-shot on the thread pool. */
function onPool(run: typeof gzip, data: Buffer, options: ZlibOptions): Promise<Buffer> {
  return new Promise((res, rej) => run(data, options, (e, out) => (e ? rej(e) : res(out))));
}

/** The unit of a zero run: a header dump's metadata sits in 4 KiB-aligned blocks amid zeros. */
const PAGE = 4096;
const ZERO_PAGE = ZEROS.subarray(0, PAGE);
/**
 * A chunk's data runs are deflated on the calling thread up to this many bytes in all: a
 * dump's are a few pages, and the pool's round trip cost more than deflating them (staging
 * the benchmark's 50 dumps: 1.85–1.89 s of CPU inline, 2.0–2.4 s with every run on the
 * pool). The runs past it go to the pool, so a dense chunk with a zero page here and there
 * does not hold the calling thread for its whole deflate.
 */
const INLINE_MAX = 65536;
/** Raw deflate of n zero pages, by n: a zero run's encoding depends on its length only. */
const zeroRuns = new Map<number, Buffer>();
/**
 * zlib.crc32 where Node has it (20.15 and later). Read as a property, not imported by name:
 * an ES module importing a name `node:zlib` lacks fails to load at all.
 */
const crc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32 ?? null;
/** Node's own gzip header: no name, mtime 0, OS 3 (Unix). */
const GZIP_HEADER = Buffer.from([31, 139, 8, 0, 0, 0, 0, 0, 0, 3]);

/** Columns of CRC-32's step over one zero page, [0] its value from 0 (zeroPagesCrc). */
let zeroStep: number[] | undefined;

/**
 * crc32(n zero pages, c) without reading them. CRC-32 over zeros is affine in the running
 * value: its step over a page is the CRC of the page from 0 plus, per bit of c, the CRC
 * from that bit alone less that (taken once, from zlib's own crc32), so a page costs 32 steps
 * of a word where crc32 read 4 KiB — on a dump's chunks, the CRC of their zeros was ~6% of
 * the collector's CPU on day 1.
 */
function zeroPagesCrc(crc: NonNullable<typeof crc32>, c: number, n: number): number {
  zeroStep ??= Array.from({ length: 33 }, (_, i) => crc(ZERO_PAGE, i && 2 ** (i - 1)));
  const s = zeroStep;
  for (; n > 0; n--) {
    let r = s[0];
    for (let i = 0; i < 32; i++) if ((c >>> i) & 1) r ^= s[i + 1] ^ s[0];
    c = r >>> 0;
  }
  return c;
}

const isZeroPage = (data: Buffer, at: number) => data.length - at >= PAGE && ZERO_PAGE.equals(data.subarray(at, at + PAGE));

/**
 * A chunk that is mostly zeros, as kept of an earlier read (DigestMemo): its length (4 bytes),
 * a bit per 4 KiB page that is not zeros (32 bytes), then those pages. At most a quarter of a
 * chunk's pages are kept, so a header dump's chunk (a few pages of metadata amid zeros) costs
 * a few KiB.
 */
const KEPT_HEAD = 36;

/** The kept form of a chunk, or null when more than a quarter of its pages are not zeros. */
function keptOf(chunk: Buffer): Buffer | null {
  const parts: Buffer[] = [Buffer.alloc(KEPT_HEAD)];
  parts[0].writeUInt32BE(chunk.length);
  for (let p = 0, at = 0; at < chunk.length; p++, at += PAGE) {
    const page = chunk.subarray(at, at + PAGE);
    if (page.equals(ZEROS.subarray(0, page.length))) continue;
    if (parts.push(page) > CHUNK_SIZE / PAGE / 4 + 1) return null;
    parts[0][4 + (p >> 3)] |= 1 << (p & 7);
  }
  return Buffer.concat(parts);
}

/** Whether a chunk holds exactly the bytes of a kept one: zeros where it kept none, its pages elsewhere. */
function sameAsKept(chunk: Buffer, kept: Buffer): boolean {
  if (kept.readUInt32BE() !== chunk.length) return false;
  let k = KEPT_HEAD;
  for (let p = 0, at = 0; at < chunk.length; p++, at += PAGE) {
    const n = Math.min(PAGE, chunk.length - at);
    const page = kept[4 + (p >> 3)] & (1 << (p & 7));
    if (page ? chunk.compare(kept, k, k + n, at, at + n) : chunk.compare(ZEROS, 0, n, at, at + n)) return false;
    if (page) k += n;
  }
  return k === kept.length;
}

/**
 * A chunk's SHA-256. When `kept` holds the chunk an earlier read of the same place hashed to
 * `earlier` and this one equals it byte for byte, that is its hash: comparing runs at memory
 * speed, where SHA-256 took a third of an unchanged day's reading. A chunk hashed is kept in
 * `kept` (by its hash) when it is mostly zeros, for the next read.
 */
export function knownSha(chunk: Buffer, earlier?: string, kept?: Map<string, Buffer>): string {
  const k = earlier && kept?.get(earlier);
  if (k && sameAsKept(chunk, k)) return earlier!;
  const sha = chunkSha(chunk);
  const mine = kept && sha !== zeroSha && !kept.has(sha) && keptOf(chunk);
  if (mine) kept!.set(sha, mine);
  return sha;
}

/**
 * A chunk as one gzip member (RFC 1952) that any gunzip reads. A typical new chunk of a
 * header dump is 1 MiB with 1–5 pages of 4 KiB that are not zeros, and deflate's lazy
 * matching spent ~90% of level 6's ~6 ms a chunk on the zeros. So the deflate body is cut
 * at page boundaries into runs, each ending in a sync flush (byte-aligned, not final): a run
 * of whole zero pages is its cached run-length coding, any other run is deflated at
 * `level`; an empty final block, the CRC-32 and the length close the member. Matches cannot
 * reach across a cut; on the benchmark's dumps the chunks still come out 6% smaller than
 * level 6 over the whole chunk, in a quarter of its time (test/bench/collector.bench.ts).
 * Without zlib.crc32 (Node 18, and 20 before 20.15), or without a whole zero page, the chunk
 * is gzipped in one piece on the thread pool as before; `crc` is a parameter so tests can
 * take it away.
 */
export async function gzipChunk(data: Buffer, level: number, crc: typeof crc32 = crc32): Promise<Buffer> {
  const runs: Array<[at: number, end: number, zero: boolean]> = [];
  for (let at = 0, end: number; at < data.length; at = end) {
    const zero = isZeroPage(data, at);
    for (end = at + PAGE; end < data.length && isZeroPage(data, end) === zero; ) end += PAGE;
    runs.push([at, Math.min(end, data.length), zero]);
  }
  if (!crc || !runs.some((r) => r[2])) return onPool(gzip, data, { level });
  const flush = { level, finishFlush: constants.Z_SYNC_FLUSH };
  let inline = 0;
  let sum = 0;
  const parts = runs.map(([at, end, zero]) => {
    const run = data.subarray(at, end);
    sum = zero ? zeroPagesCrc(crc, sum, (end - at) / PAGE) : crc(run, sum);
    if (!zero) {
      inline += end - at;
      return inline > INLINE_MAX ? onPool(deflateRaw, run, flush) : deflateRawSync(run, flush);
    }
    let z = zeroRuns.get(end - at);
    if (!z) {
      // A copy: zlib's answer is a view of a 16 KiB buffer, which the cache would keep whole.
      z = Buffer.from(deflateRawSync(run, { finishFlush: constants.Z_SYNC_FLUSH, strategy: constants.Z_RLE }));
      zeroRuns.set(end - at, z);
    }
    return z;
  });
  const trailer = Buffer.alloc(10);
  trailer[0] = 3; // BFINAL, fixed codes, end of block: the empty final block
  trailer.writeUInt32LE(sum, 2);
  trailer.writeUInt32LE(data.length, 6);
  return Buffer.concat([GZIP_HEADER, ...(await Promise.all(parts)), trailer]);
}

export interface StagerStats {
  /** Chunks compressed (and staged, outside a dry run) in this run. */
  compressed: number;
  /** Bytes those chunks take when stored. */
  storedBytes: number;
  /** Device/file chunks left unstaged because the spool is full (re-read when sent). */
  unstaged: number;
}

/**
 * Decides per chunk what the begin request declares: a chunk the catalog is known to
 * hold is declared bare; any other is compressed and staged in the spool under its
 * SHA-256, then declared with its encoding and stored size/hash. Without a spool
 * (dry run) chunks are compressed only to learn their size.
 */
export class ChunkStager {
  readonly stats: StagerStats = { compressed: 0, storedBytes: 0, unstaged: 0 };
  #refs = new Map<string, Promise<ChunkRef>>();
  readonly #spool: Spool | null;
  readonly #known: ReadonlySet<string>;
  readonly #level: number;

  constructor(spool: Spool | null, known: ReadonlySet<string>, level: number = GZIP_LEVEL) {
    this.#spool = spool;
    this.#known = known;
    this.#level = level;
  }

  /**
   * The chunk's declaration. `force` stages it even when the catalog is believed to hold
   * it, and even past the spool bound: bytes that cannot be read again (command output,
   * redacted text) or are about to be sent must be kept.
   */
  offer(sha256: string, data: Buffer, force = false): Promise<ChunkRef> {
    if (!force && this.#known.has(sha256)) return Promise.resolve({ sha256, size: data.length });
    let p = this.#refs.get(sha256);
    // Staged earlier in this run, then swept from the spool (the capture that declared it was
    // delivered, and dedup is per host): stage it again, or this capture would declare it staged
    // without the bytes — lost for good when they cannot be read again (command output).
    if (!p || (this.#staged.has(sha256) && this.#spool && !this.#spool.staged(sha256))) {
      this.#staged.delete(sha256);
      p = this.#stage(sha256, data, force);
      this.#refs.set(sha256, p);
    }
    return p;
  }

  /** Chunks this stager staged whose staging has finished (their file was in the spool then). */
  #staged = new Set<string>();

  async #stage(sha256: string, input: Buffer, force: boolean): Promise<ChunkRef> {
    const existing = this.#spool?.staged(sha256);
    if (existing) {
      const stored = await fsp.readFile(existing.file);
      this.#staged.add(sha256);
      return { sha256, size: input.length, encoding: existing.encoding, ...storedFields(stored) };
    }
    // Readers reuse their buffers once we return: work on a copy from a small pool, so
    // a run over many devices does not leave a MiB of garbage per new chunk.
    const copy = this.#takeBuffer();
    const data = copy.subarray(0, input.length);
    input.copy(data);
    try {
      const gz = await gzipChunk(data, this.#level);
      const encoding: ChunkEncoding = gz.length < data.length ? 'gzip' : 'identity';
      const stored = encoding === 'gzip' ? gz : data;
      const ref: ChunkRef = { sha256, size: data.length, encoding, ...storedFields(stored) };
      if (this.#spool && !(await this.#spool.stage(sha256, encoding, stored, force))) {
        this.stats.unstaged++;
        this.#refs.delete(sha256);
        return { sha256, size: data.length };
      }
      this.stats.compressed++;
      this.stats.storedBytes += stored.length;
      if (this.#spool) this.#staged.add(sha256);
      return ref;
    } finally {
      this.#pool.push(copy);
    }
  }

  #pool: Buffer[] = [];

  #takeBuffer(): Buffer {
    return this.#pool.pop() ?? Buffer.allocUnsafe(CHUNK_SIZE);
  }
}

export interface ChunkedArtifact {
  size: number;
  sha256: string;
  chunks: ChunkRef[];
}

/** How many chunks may be compressing/staging while the next ones are hashed. */
const STAGE_AHEAD = 4;

/**
 * What an earlier read of the same source gave: its size, whole SHA-256 and chunk hashes.
 * Identical chunk hashes mean identical bytes, so an identical chunk list has the same
 * whole SHA-256 and its bytes need hashing only once (per chunk).
 */
export interface PriorDigest {
  size: number;
  sha256: string;
  chunks: string[];
}

export interface ChunkStreamOptions {
  onBytes?: (n: number) => void;
  /** Stage every chunk, even those the catalog is believed to hold (bytes that cannot be read again). */
  forceStage?: boolean;
  /**
   * The source's earlier digest and a way to read its first bytes again. While the chunks
   * match the prior ones the whole-artifact hash is not fed; at the first difference the
   * matched prefix is read again (each chunk checked against its hash) and fed, so every
   * byte still goes through both hashes when anything changed. `reread` must not reuse
   * the buffers `source` yields.
   */
  prior?: { digest: PriorDigest; reread: (length: number) => AsyncIterable<Buffer> };
  /** Chunks kept of earlier reads, by hash (knownSha): compared instead of hashed where `prior` names one; those hashed are added. */
  kept?: Map<string, Buffer>;
}

/** The source no longer holds the bytes it gave moments ago (a device written while it is read). */
export class SourceChangedError extends Error {
  constructor(what: string) {
    super(`changed while being read (${what})`);
    this.name = 'SourceChangedError';
  }
}

/**
 * Cuts a byte stream into 1 MiB chunks, hashes each and the whole, and hands each
 * chunk to the stager. Memory stays at a few chunks whatever the stream's length.
 *
 * The protocol needs both the per-chunk and the whole-artifact SHA-256 (the whole one
 * cannot be derived from the chunk hashes), so each byte is read once and hashed twice,
 * except when `opts.prior` lets the whole hash be reused: then bytes that match the earlier
 * read are hashed once.
 */
export async function chunkStream(source: AsyncIterable<Buffer>, stager: ChunkStager, opts: ChunkStreamOptions = {}): Promise<ChunkedArtifact> {
  const { onBytes, forceStage = false, prior, kept } = opts;
  const whole = createHash('sha256');
  const pending: Array<Promise<ChunkRef>> = [];
  const chunks: ChunkRef[] = [];
  let inFlight: Array<Promise<unknown>> = [];
  let size = 0;
  // Chunks so far that equal the prior read's, and whose bytes the whole hash has not seen yet.
  let deferred = prior ? 0 : -1;
  let deferredBytes = 0;

  const emit = async (chunk: Buffer) => {
    const sha = knownSha(chunk, prior?.digest.chunks[pending.length], kept);
    size += chunk.length;
    onBytes?.(chunk.length);
    const p = stager.offer(sha, chunk, forceStage);
    pending.push(p);
    inFlight.push(p);
    if (deferred >= 0 && prior!.digest.chunks[deferred] === sha) {
      deferred++;
      deferredBytes += chunk.length;
    } else {
      if (deferred > 0) await feedPrefix();
      deferred = -1;
      whole.update(chunk);
    }
    if (inFlight.length >= STAGE_AHEAD) {
      await inFlight.shift();
    }
  };

  /** Feeds the whole hash the deferred prefix, read again and checked against its chunk hashes. */
  const feedPrefix = async () => {
    let i = 0;
    for await (const c of cut(prior!.reread(deferredBytes))) {
      if (i >= deferred || knownSha(c, prior!.digest.chunks[i], kept) !== prior!.digest.chunks[i])
        throw new SourceChangedError(`chunk ${i} differs on a second read`);
      whole.update(c);
      i++;
    }
    if (i !== deferred) throw new SourceChangedError('shorter on a second read');
  };

  for await (const c of cut(source)) await emit(c);
  inFlight = [];
  for (const p of pending) chunks.push(await p);
  let sha256: string;
  if (deferred >= 0 && deferred === prior!.digest.chunks.length && size === prior!.digest.size) {
    // Every chunk equals the prior read's: so do the bytes, and so does the whole hash.
    sha256 = prior!.digest.sha256;
  } else {
    if (deferred > 0) await feedPrefix();
    sha256 = whole.digest('hex');
  }
  return { size, sha256, chunks };
}

/**
 * A stream's 1 MiB chunks (the last may be shorter). A yielded chunk is valid until the
 * next is asked for: it may be the source's own buffer or one reused for copies.
 */
async function* cut(source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let buf: Buffer | null = null;
  let fill = 0;
  for await (const piece of source) {
    let off = 0;
    while (off < piece.length) {
      if (fill === 0 && piece.length - off >= CHUNK_SIZE) {
        // Aligned whole chunk: take it without copying.
        yield off === 0 && piece.length === CHUNK_SIZE ? piece : piece.subarray(off, off + CHUNK_SIZE);
        off += CHUNK_SIZE;
        continue;
      }
      // Allocated once per stream: the chunk's consumer hashes it and the stager copies what it keeps.
      buf ??= Buffer.allocUnsafe(CHUNK_SIZE);
      const n = Math.min(CHUNK_SIZE - fill, piece.length - off);
      piece.copy(buf, fill, off, off + n);
      fill += n;
      off += n;
      if (fill === CHUNK_SIZE) {
        yield buf;
        fill = 0;
      }
    }
  }
  if (fill > 0 && buf) yield buf.subarray(0, fill);
}

/** A byte buffer as a one-piece stream. */
export async function* bufferSource(data: Buffer): AsyncIterable<Buffer> {
  if (data.length > 0) yield data;
}
