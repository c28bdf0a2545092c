import {
  CHUNK_SIZE,
  isFormatError,
  planHeaderDump,
  redactSecrets,
  vmfsPartitionOffsets,
  LVM_HEADER_OFFSET,
  type ArtifactRef,
  type ArtifactKind,
} from '../formats/index.js';
import { visible } from '../formats/printable.js';
import { bufferSource, chunkStream, SourceChangedError, type ChunkStager, type ChunkStreamOptions } from './chunker.js';
import type { DigestMemo } from './digest-memo.js';
import { describeError } from './errors.js';
import { accessFromRef, type HostAccess } from './host-access.js';
import { isTextKind, type PlannedArtifact } from './discover.js';
import type { ArtifactSource } from './spool.js';

/** How much of a device is read to plan a header dump (partition table + LVM header). */
export const PLAN_BYTES = 3 * 1024 * 1024;
/**
 * A dump that would end past this starts at its VMFS partition instead of byte 0: the
 * catalog parses a header dump from its first 64 MiB (api PARSE_LIMIT_BYTES), and a
 * boot disk's datastore starting GiBs in would otherwise be GiBs of dump it cannot parse.
 */
const DISK_DUMP_MAX = 0x4000000;

/** Where a header dump starts on its device, how long it is, and the bytes read at its start. */
export interface DumpPlan {
  offset: number;
  need: number;
  first: Buffer;
}

/**
 * Plans a header dump from a device's first PLAN_BYTES (`head`, copied for the parser:
 * the captured bytes must be the device's, whatever a parser does with its input).
 * When the partition table names a VMFS partition whose LVM header lies past `head`,
 * PLAN_BYTES more are read at that partition's start and planned from: two reads at
 * most, whatever the table says, and a start past the device's end reads nothing and
 * fails like any short dump. Throws the parser's FormatError when nothing can be planned.
 */
export async function planDump(head: Buffer, readAt: (offset: number, length: number) => Promise<Buffer>): Promise<DumpPlan> {
  const planOf = (b: Buffer): number => {
    planScratch ??= new Uint8Array(PLAN_BYTES);
    planScratch.set(b);
    return planHeaderDump(planScratch.subarray(0, b.length)).needBytes;
  };
  let at = 0;
  let first = head;
  let need: number;
  try {
    need = planOf(head);
  } catch (e) {
    // Planned from the head when it can be (a probe may find the VMFS a wrong table misses);
    // else from the first VMFS entry whose LVM header the head does not hold.
    at = vmfsPartitionOffsets(head).find((o) => o + LVM_HEADER_OFFSET + 4 > head.length) ?? 0;
    if (!at) throw e;
    first = await readAt(at, PLAN_BYTES);
    need = planOf(first);
  }
  return at + need > DISK_DUMP_MAX ? { offset: at, need, first } : { offset: 0, need: at + need, first: head };
}

export type ArtifactStatus = 'ok' | 'error' | 'skipped';

/** One artifact's outcome in a run's report. */
export interface CapturedArtifact {
  kind: ArtifactKind;
  fileName: string;
  sourcePath: string;
  device: string | null;
  status: ArtifactStatus;
  error: string | null;
  /** Why it was skipped or how its length was chosen. */
  note: string | null;
  size: number;
  sha256: string | null;
  chunks: number;
  ref: ArtifactRef | null;
  source: ArtifactSource | null;
}

/**
 * Reads a whole (small) stream into one buffer (`into` when given and large enough);
 * pieces are copied since readers reuse theirs.
 */
export async function readAll(src: AsyncIterable<Buffer>, sizeHint = 0, into?: Buffer): Promise<Buffer> {
  let out = into ?? Buffer.allocUnsafe(sizeHint || 64 * 1024);
  let fill = 0;
  for await (const p of src) {
    if (fill + p.length > out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, fill + p.length));
      out.copy(bigger, 0, 0, fill);
      out = bigger;
    }
    p.copy(out, fill);
    fill += p.length;
  }
  return out.subarray(0, fill);
}

async function* concatSources(head: Buffer, rest: AsyncIterable<Buffer> | null): AsyncIterable<Buffer> {
  // Hand the head over in 1 MiB pieces so the chunker can take them without copying.
  for (let off = 0; off < head.length; off += CHUNK_SIZE) yield head.subarray(off, Math.min(off + CHUNK_SIZE, head.length));
  if (rest) yield* rest;
}

/**
 * Artifacts are captured one after another, so the 3 MiB planning head and the copy
 * the parser gets are allocated once per process: memory stays flat over 50 devices
 * (a partition past the head costs one more 3 MiB buffer, dropped with its dump).
 */
let headBuffer: Buffer | null = null;
let planScratch: Uint8Array | null = null;

export interface CaptureOptions {
  /** `--header-bytes`: overrides the planned length of header dumps. */
  headerBytes: number | null;
  onBytes?: (n: number) => void;
  /**
   * Earlier digests of local sources: an artifact whose chunks all match its last read
   * reuses that whole SHA-256 and hashes its bytes once.
   */
  digests?: DigestMemo | null;
}

/** An artifact that could not be captured (nothing read): where it was, and why. */
export function failedArtifact(p: Pick<PlannedArtifact, 'kind' | 'fileName' | 'sourcePath' | 'device'>, error: string | null): CapturedArtifact {
  return {
    kind: p.kind,
    fileName: p.fileName,
    sourcePath: p.sourcePath,
    device: p.device,
    status: 'error',
    error,
    note: null,
    size: 0,
    sha256: null,
    chunks: 0,
    ref: null,
    source: null,
  };
}

/**
 * Reads one planned artifact through the chunker. Header dumps read 3 MiB first
 * (and 3 MiB at a VMFS partition past them: `planDump`), plan the length that
 * reaches the FS descriptor, then stream the rest from where the dump's first
 * 3 MiB end: those are not read twice. A dump with no plan keeps the first 3 MiB
 * and says so in one line on stderr; it was read, so the run does not count it failed.
 */
export async function captureArtifact(
  access: HostAccess,
  p: PlannedArtifact,
  stager: ChunkStager,
  opts: CaptureOptions,
  usePrior = true,
): Promise<CapturedArtifact> {
  const out = failedArtifact(p, p.error ?? null);
  if (p.error) return out;
  const cap = p.read?.cap ?? 1 / 0;
  const capped = (n: number) => {
    if (n > cap) throw new Error(`${p.kind} over its ${cap}-byte cap: stopped reading`);
  };
  try {
    let source: AsyncIterable<Buffer>;
    let forceStage = false;
    if (p.text) {
      // Inline command output cannot be re-read later, so its chunks are always staged.
      source = bufferSource(p.text);
      forceStage = true;
    } else if (p.read && isTextKind(p.kind)) {
      const raw = await readAll(access.read(p.read.path, 0, p.read.length === 'header' ? PLAN_BYTES : p.read.length));
      capped(raw.length);
      const red = redactSecrets(p.kind, raw).bytes;
      source = bufferSource(Buffer.from(red.buffer, red.byteOffset, red.byteLength));
      forceStage = true;
    } else if (p.read && p.read.length === 'header') {
      const path = p.read.path;
      const head = await readAll(access.read(path, 0, PLAN_BYTES), PLAN_BYTES, (headBuffer ??= Buffer.allocUnsafe(PLAN_BYTES)));
      let d: DumpPlan = { offset: 0, need: opts.headerBytes ?? head.length, first: head };
      if (opts.headerBytes !== null) {
        out.note = `--header-bytes ${d.need}`;
      } else {
        try {
          d = await planDump(head, (at, n) => readAll(access.read(path, at, n), n));
          out.note = `planned ${d.need} bytes from byte ${d.offset} to reach the FS descriptor`;
        } catch (e) {
          if (p.onlyIfVmfs && isFormatError(e)) {
            out.status = 'skipped';
            out.note = `no VMFS found (${describeError(e)})`;
            return out;
          }
          out.note = `no VMFS layout to plan from (${describeError(e)}); kept the first ${head.length} bytes`;
          // The capture still succeeds (its bytes are the device's); only this line says the dump is short.
          process.stderr.write(`warning: ${visible(path)}: ${out.note}\n`);
        }
      }
      const { offset, need, first } = d;
      const rest = need > first.length && first.length === PLAN_BYTES ? access.read(path, offset + PLAN_BYTES, need - PLAN_BYTES) : null;
      source = concatSources(first.subarray(0, Math.min(need, first.length)), rest);
      out.source = { access: access.ref, path, offset };
    } else if (p.read) {
      source = access.read(p.read.path, 0, p.read.length as number);
      out.source = { access: access.ref, path: p.read.path, offset: 0 };
    } else {
      throw new Error('nothing to read');
    }
    const streamOpts: ChunkStreamOptions = { onBytes: opts.onBytes, forceStage };
    const src = out.source;
    const local = src && access.ref.type === 'local';
    const prior = local && usePrior ? opts.digests?.get(src) : null;
    // A local source's chunks are compared with those kept of its last read rather than hashed.
    if (local) streamOpts.kept = opts.digests?.kept;
    if (src && prior) {
      // A second access: it reads into its own buffer, not the one `source` yields.
      const again = accessFromRef(access.ref);
      streamOpts.prior = { digest: prior, reread: (length) => again.read(src.path, src.offset, length) };
    }
    let c;
    try {
      c = await chunkStream(source, stager, streamOpts);
    } catch (e) {
      if (!(e instanceof SourceChangedError) || !src) throw e;
      // Written while it was read: read it again from the start, hashing every byte twice.
      opts.digests!.forget(src);
      return captureArtifact(access, p, stager, opts, false);
    }
    capped(c.size);
    if (local) opts.digests?.set(src, { size: c.size, sha256: c.sha256, chunks: c.chunks.map((x) => x.sha256) });
    out.size = c.size;
    out.sha256 = c.sha256;
    out.chunks = c.chunks.length;
    // What the catalog keeps holds no control character (api/ingest/limits.ts): one in a path
    // refused the whole capture. Escaped as \xNN, the path still reads.
    out.ref = {
      kind: p.kind,
      fileName: p.fileName,
      sourcePath: visible(p.sourcePath),
      device: p.device && visible(p.device),
      size: c.size,
      sha256: c.sha256,
      chunks: c.chunks,
    };
    out.status = 'ok';
  } catch (e) {
    out.error = describeError(e);
    out.source = null;
  }
  return out;
}
