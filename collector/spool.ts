import { closeSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { BeginRequest, ChunkEncoding } from '../formats/index.js';
import type { AccessRef } from './host-access.js';
import { CollectorError } from './errors.js';

/** Where an artifact's bytes can be read again: byte 0 of the artifact is `offset` of `path`. */
export interface ArtifactSource {
  access: AccessRef;
  path: string;
  offset: number;
}

/**
 * A capture waiting to be delivered: the begin request exactly as it will be sent
 * (same captureId every time, so the catalog never records it twice) and, per
 * artifact, where to re-read a chunk the spool does not hold (null: inline text,
 * whose chunks are always staged).
 */
export interface SpooledCapture {
  format: 'vmfs-collector-spool/1';
  begin: BeginRequest;
  sources: Array<ArtifactSource | null>;
  spooledAt: string;
}

export interface StagedChunk {
  sha256: string;
  encoding: ChunkEncoding;
  file: string;
}

const KNOWN_FILE = 'known-chunks';
/** The known-present list is a cache: past this many hashes the oldest are forgotten. */
const KNOWN_MAX = 200_000;

/**
 * The spool directory: staged chunk bytes (`chunks/<sha256>.gz|.raw`), captures not yet
 * committed (`captures/<captureId>.json`), refused ones (`rejected/`), and the list of
 * chunk hashes the catalog confirmed it holds (`known-chunks`, one per line).
 */
export class Spool {
  private usedBytes = 0;
  private stagedIndex = new Map<string, StagedChunk>();
  private lockFd: number | null = null;

  private constructor(readonly dir: string, readonly maxBytes: number) {}

  /** Opens (creating when needed) the spool and takes its lock. */
  static async open(dir: string, maxBytes: number): Promise<Spool> {
    const s = new Spool(dir, maxBytes);
    try {
      for (const d of ['chunks', 'captures', 'rejected']) await fsp.mkdir(join(dir, d), { recursive: true });
    } catch (e) {
      throw new CollectorError(`spool ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (use --spool DIR)`);
    }
    s.takeLock();
    for (const name of await fsp.readdir(join(dir, 'chunks'))) {
      const m = /^([0-9a-f]{64})\.(gz|raw)$/.exec(name);
      const file = join(dir, 'chunks', name);
      if (!m) {
        // A temp file left by an interrupted write.
        await fsp.rm(file, { force: true });
        continue;
      }
      s.stagedIndex.set(m[1], { sha256: m[1], encoding: m[2] === 'gz' ? 'gzip' : 'identity', file });
      s.usedBytes += (await fsp.stat(file)).size;
    }
    return s;
  }

  private takeLock(): void {
    const path = join(this.dir, 'lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        this.lockFd = openSync(path, 'wx');
        writeFileSync(this.lockFd, String(process.pid));
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new CollectorError(`spool lock ${path}: ${(e as Error).message}`);
        const pid = Number(readFileSync(path, 'utf8').trim());
        if (pid > 0 && pidAlive(pid)) throw new CollectorError(`another collector run (pid ${pid}) holds ${path}`);
        unlinkSync(path); // stale: its process is gone
      }
    }
    throw new CollectorError(`cannot take spool lock ${path}`);
  }

  /** Releases the lock. */
  close(): void {
    if (this.lockFd === null) return;
    closeSync(this.lockFd);
    this.lockFd = null;
    try {
      unlinkSync(join(this.dir, 'lock'));
    } catch {
      /* already gone */
    }
  }

  /** Hashes the catalog has confirmed it holds. */
  async knownChunks(): Promise<Set<string>> {
    try {
      const text = await fsp.readFile(join(this.dir, KNOWN_FILE), 'utf8');
      return new Set(text.split('\n').filter((l) => /^[0-9a-f]{64}$/.test(l)));
    } catch {
      return new Set();
    }
  }

  /** Records hashes the catalog holds (rewritten whole, newest last, bounded). */
  async rememberChunks(hashes: Iterable<string>): Promise<void> {
    const known = await this.knownChunks();
    for (const h of hashes) {
      known.delete(h);
      known.add(h);
    }
    let list = [...known];
    if (list.length > KNOWN_MAX) list = list.slice(list.length - KNOWN_MAX);
    await writeAtomic(join(this.dir, KNOWN_FILE), list.join('\n') + '\n');
  }

  /** Forgets hashes the catalog turned out to lack. */
  async forgetChunks(hashes: Iterable<string>): Promise<void> {
    const known = await this.knownChunks();
    let changed = false;
    for (const h of hashes) changed = known.delete(h) || changed;
    if (changed) await writeAtomic(join(this.dir, KNOWN_FILE), [...known].join('\n') + '\n');
  }

  staged(sha256: string): StagedChunk | null {
    return this.stagedIndex.get(sha256) ?? null;
  }

  /** Stores a chunk's upload bytes; false when the spool bound would be exceeded. */
  async stage(sha256: string, encoding: ChunkEncoding, stored: Buffer, overBound = false): Promise<boolean> {
    if (this.stagedIndex.has(sha256)) return true;
    if (!overBound && this.usedBytes + stored.length > this.maxBytes) return false;
    const file = join(this.dir, 'chunks', `${sha256}.${encoding === 'gzip' ? 'gz' : 'raw'}`);
    await writeAtomic(file, stored);
    this.usedBytes += stored.length;
    this.stagedIndex.set(sha256, { sha256, encoding, file });
    return true;
  }

  async saveCapture(c: SpooledCapture): Promise<void> {
    await writeAtomic(join(this.dir, 'captures', `${c.begin.captureId}.json`), JSON.stringify(c));
  }

  async removeCapture(captureId: string): Promise<void> {
    await fsp.rm(join(this.dir, 'captures', `${captureId}.json`), { force: true });
  }

  /** Moves a capture the catalog refused out of the queue, kept for a human to look at. */
  async rejectCapture(captureId: string, reason: string): Promise<void> {
    const from = join(this.dir, 'captures', `${captureId}.json`);
    await fsp.rename(from, join(this.dir, 'rejected', `${captureId}.json`)).catch(() => undefined);
    await fsp.writeFile(join(this.dir, 'rejected', `${captureId}.reason`), reason + '\n').catch(() => undefined);
  }

  /** Captures waiting to be delivered, oldest first (UUIDv7 ids sort by time). */
  async pendingCaptures(): Promise<SpooledCapture[]> {
    const names = (await fsp.readdir(join(this.dir, 'captures'))).filter((n) => n.endsWith('.json')).sort();
    const out: SpooledCapture[] = [];
    for (const n of names) {
      try {
        const c = JSON.parse(await fsp.readFile(join(this.dir, 'captures', n), 'utf8')) as SpooledCapture;
        if (c.format === 'vmfs-collector-spool/1' && c.begin?.captureId) out.push(c);
      } catch {
        /* a torn file cannot be sent; leave it for a human */
      }
    }
    return out;
  }

  /** Deletes staged chunks no waiting capture declares as staged. */
  async collectGarbage(): Promise<void> {
    const needed = new Set<string>();
    for (const c of await this.pendingCaptures()) {
      for (const a of c.begin.artifacts) for (const ch of a.chunks) if (ch.encoding) needed.add(ch.sha256);
    }
    for (const [sha, s] of this.stagedIndex) {
      if (needed.has(sha)) continue;
      const size = (await fsp.stat(s.file).catch(() => ({ size: 0 }))).size;
      await fsp.rm(s.file, { force: true });
      this.usedBytes -= size;
      this.stagedIndex.delete(sha);
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Write to a temp name, then rename: readers never see half a file. */
async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, data);
  await fsp.rename(tmp, path);
}
