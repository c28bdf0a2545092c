import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import type { PriorDigest } from './chunker.js';
import type { ArtifactSource } from './spool.js';

const MEMO_FILE = 'artifact-digests';
/** A cache: past this many sources the ones least recently read are forgotten. */
const MEMO_MAX = 10_000;

/**
 * The last digest of each re-readable source (`<spool>/artifact-digests`, JSON): its size,
 * whole SHA-256 and chunk hashes. A later read whose chunks all match reuses the whole
 * SHA-256 instead of hashing every byte a second time (see chunkStream). Losing or
 * corrupting the file only costs that second hash.
 */
export class DigestMemo {
  private changed = false;

  private constructor(
    private readonly file: string,
    private readonly entries: Map<string, PriorDigest>,
  ) {}

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
    return new DigestMemo(file, entries);
  }

  static key(source: ArtifactSource): string {
    return JSON.stringify([source.access, source.path, source.offset]);
  }

  get(source: ArtifactSource): PriorDigest | null {
    return this.entries.get(DigestMemo.key(source)) ?? null;
  }

  set(source: ArtifactSource, digest: PriorDigest): void {
    const key = DigestMemo.key(source);
    this.entries.delete(key);
    this.entries.set(key, digest);
    this.changed = true;
  }

  forget(source: ArtifactSource): void {
    this.changed = this.entries.delete(DigestMemo.key(source)) || this.changed;
  }

  /** Writes the memo if it changed (temp file + rename). */
  async save(): Promise<void> {
    if (!this.changed) return;
    const keep = [...this.entries].slice(-MEMO_MAX);
    const out: Record<string, { size: number; sha256: string; chunks: string }> = {};
    for (const [key, e] of keep) out[key] = { size: e.size, sha256: e.sha256, chunks: e.chunks.join('') };
    const tmp = `${this.file}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify({ format: 'vmfs-collector-digests/1', entries: out }));
    await fsp.rename(tmp, this.file);
    this.changed = false;
  }
}
