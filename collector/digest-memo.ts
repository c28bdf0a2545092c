import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import type { PriorDigest } from './chunker.js';
import { writeAtomic, type ArtifactSource } from './spool.js';

const MEMO_FILE = 'artifact-digests';
/** The chunks kept of the sources' last reads (chunker.ts knownSha): a 32-byte hash, the kept form's length (4 bytes), the kept form, and so on. */
const KEPT_FILE = 'chunk-pages';
/** A cache: past this many sources the ones least recently read are forgotten. */
const MEMO_MAX = 10_000;
/** Bytes of kept chunks written at most, those of the sources read last first. */
const KEPT_MAX = 64 * 1024 * 1024;

/**
 * The last digest of each re-readable source (`<spool>/artifact-digests`, JSON): its size,
 * whole SHA-256 and chunk hashes. A later read whose chunks all match reuses the whole
 * SHA-256 instead of hashing every byte a second time (see chunkStream). Losing or
 * corrupting the file only costs that second hash. Beside it (`chunk-pages`), the chunks of
 * those reads that are mostly zeros, kept by hash: a chunk equal to the one its source held
 * there last time is not hashed at all (chunker.ts knownSha). Losing that file costs the
 * chunks' hashes; a kept chunk that does not match the bytes read is merely hashed.
 */
export class DigestMemo {
  #changed = false;
  #keptSize = 0;
  readonly #file: string;
  readonly #entries: Map<string, PriorDigest>;

  private constructor(
    file: string,
    entries: Map<string, PriorDigest>,
    /** Kept chunks by hash (chunker.ts knownSha adds those it hashes). */
    readonly kept = new Map<string, Buffer>(),
  ) {
    this.#file = file;
    this.#entries = entries;
    this.#keptSize = kept.size;
  }

  static async load(spoolDir: string): Promise<DigestMemo> {
    const file = join(spoolDir, MEMO_FILE);
    const entries = new Map<string, PriorDigest>();
    try {
      const parsed = JSON.parse(await fsp.readFile(file, 'utf8')) as { entries?: Record<string, { size: number; sha256: string; chunks: string }> };
      for (const [key, e] of Object.entries(parsed.entries ?? {})) {
        if (!Number.isSafeInteger(e.size) || !/^[0-9a-f]{64}$/.test(e.sha256) || typeof e.chunks !== 'string' || !/^([0-9a-f]{64})*$/.test(e.chunks)) continue;
        entries.set(key, { size: e.size, sha256: e.sha256, chunks: e.chunks.match(/.{64}/g) ?? [] });
      }
    } catch {
      /* none yet, or unreadable: start empty */
    }
    const kept = new Map<string, Buffer>();
    const bytes = await fsp.readFile(join(spoolDir, KEPT_FILE)).catch(() => Buffer.alloc(0));
    for (let at = 0; at + 36 <= bytes.length; ) {
      const end = at + 36 + bytes.readUInt32BE(at + 32);
      if (end > bytes.length) break;
      kept.set(bytes.toString('hex', at, at + 32), bytes.subarray(at + 36, end));
      at = end;
    }
    return new DigestMemo(file, entries, kept);
  }

  static key(source: ArtifactSource): string {
    return JSON.stringify([source.access, source.path, source.offset]);
  }

  get(source: ArtifactSource): PriorDigest | null {
    return this.#entries.get(DigestMemo.key(source)) ?? null;
  }

  set(source: ArtifactSource, digest: PriorDigest): void {
    const key = DigestMemo.key(source);
    this.#entries.delete(key);
    this.#entries.set(key, digest);
    this.#changed = true;
  }

  forget(source: ArtifactSource): void {
    this.#changed = this.#entries.delete(DigestMemo.key(source)) || this.#changed;
  }

  /** Writes the memo if it changed (temp file + rename), and the kept chunks when some were added: those the sources' digests name. */
  async save(): Promise<void> {
    const keep = [...this.#entries].slice(-MEMO_MAX);
    if (this.kept.size !== this.#keptSize) {
      const parts: Buffer[] = [];
      let size = 0;
      // The sources read last first, should the bound leave some out.
      for (const sha of new Set(keep.flatMap(([, e]) => e.chunks).reverse())) {
        const k = this.kept.get(sha);
        if (!k || size + k.length > KEPT_MAX) continue;
        size += k.length;
        const head = Buffer.from(`${sha}00000000`, 'hex');
        head.writeUInt32BE(k.length, 32);
        parts.push(head, k);
      }
      await writeAtomic(join(this.#file, '..', KEPT_FILE), Buffer.concat(parts));
      this.#keptSize = this.kept.size;
    }
    if (!this.#changed) return;
    const out: Record<string, { size: number; sha256: string; chunks: string }> = {};
    for (const [key, e] of keep) out[key] = { size: e.size, sha256: e.sha256, chunks: e.chunks.join('') };
    await writeAtomic(this.#file, JSON.stringify({ format: 'vmfs-collector-digests/1', entries: out }));
    this.#changed = false;
  }
}
