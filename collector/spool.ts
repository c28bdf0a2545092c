import { closeSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { dirname, join } from 'node:path';
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
  /** Failed deliveries, oldest first (one per run; the last MAX_ATTEMPTS kept). */
  attempts?: DeliveryAttempt[];
}

/** One failed delivery: when, the HTTP status (0: no answer), and what was said. */
export interface DeliveryAttempt {
  at: string;
  status: number;
  error: string;
  requestId?: string;
}

/** Why a capture sits in `rejected/<id>/`: the catalog's last answer (status 0: the collector could not send it). */
export interface Rejection {
  rejectedAt: string;
  status: number;
  message: string;
  requestId: string | null;
}

/** A capture in the spool, as `collector spool list` shows it. */
export interface SpoolEntry {
  id: string;
  state: 'pending' | 'rejected';
  host: string;
  collectedAt: string;
  artifacts: number;
  /** Bytes of the artifacts it holds, and bytes its staged chunks take in the spool (0 unless asked for). */
  size: number;
  spoolBytes: number;
  attempts: number;
  lastError: string | null;
  rejection: Rejection | null;
  capture: SpooledCapture;
}

const MAX_ATTEMPTS = 20;

export interface StagedChunk {
  sha256: string;
  encoding: ChunkEncoding;
  file: string;
}

const KNOWN_FILE = 'known-chunks';
/** The known-present list is a cache: past this many hashes the oldest are forgotten. */
const KNOWN_MAX = 200_000;
const ARTIFACTS_FILE = 'known-artifacts';

/**
 * The spool directory: staged chunk bytes (`chunks/<sha256>.gz|.raw`), captures not yet
 * committed (`captures/<captureId>.json`), captures the catalog will never take
 * (`rejected/<captureId>/capture.json` + `rejection.json`; their staged chunks are kept
 * for a resend), and the list of chunk hashes the catalog confirmed it holds
 * (`known-chunks`, one per line).
 */
export class Spool {
  #usedBytes = 0;
  #stagedIndex = new Map<string, StagedChunk>();
  #lockFd: number | null = null;

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** Opens (creating when needed) the spool and takes its lock. */
  static async open(dir: string, maxBytes: number): Promise<Spool> {
    const s = new Spool(dir, maxBytes);
    try {
      for (const d of ['chunks', 'captures', 'rejected']) await makeDir(join(dir, d));
    } catch (e) {
      throw new CollectorError(`spool ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (use --spool DIR)`);
    }
    s.#takeLock();
    for (const name of await fsp.readdir(join(dir, 'chunks'))) {
      const m = /^([0-9a-f]{64})\.(gz|raw)$/.exec(name);
      const file = join(dir, 'chunks', name);
      if (!m) {
        // A temp file left by an interrupted write.
        await fsp.rm(file, { force: true });
        continue;
      }
      s.#stagedIndex.set(m[1], { sha256: m[1], encoding: m[2] === 'gz' ? 'gzip' : 'identity', file });
      s.#usedBytes += (await fsp.stat(file)).size;
    }
    return s;
  }

  /** A path inside the spool. */
  #at(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  #takeLock(): void {
    const path = this.#at('lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        this.#lockFd = openSync(path, 'wx');
        writeFileSync(this.#lockFd, String(process.pid));
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
    if (this.#lockFd === null) return;
    closeSync(this.#lockFd);
    this.#lockFd = null;
    try {
      unlinkSync(this.#at('lock'));
    } catch {
      /* already gone */
    }
  }

  /** When a capture from this spool was last delivered (ms; 0: never): every delivery rewrites known-chunks. */
  async lastDelivery(): Promise<number> {
    return (await fsp.stat(this.#at(KNOWN_FILE)).catch(() => ({ mtimeMs: 0 }))).mtimeMs;
  }

  /** The lines of a spool file (none when it is missing). */
  #lines(name: string): Promise<string[]> {
    return fsp.readFile(this.#at(name), 'utf8').then(
      (t) => t.split('\n'),
      () => [],
    );
  }

  /** Rewrites a spool file whole with the last `max` of `lines`. */
  #keep(name: string, lines: string[], max: number): Promise<void> {
    return writeAtomic(this.#at(name), lines.slice(-max).join('\n') + '\n');
  }

  /** Hashes the catalog has confirmed it holds. */
  async knownChunks(): Promise<Set<string>> {
    return new Set((await this.#lines(KNOWN_FILE)).filter((l) => /^[0-9a-f]{64}$/.test(l)));
  }

  /** Records hashes the catalog holds (rewritten whole, newest last, bounded). */
  async rememberChunks(hashes: Iterable<string>): Promise<void> {
    const known = await this.knownChunks();
    for (const h of hashes) {
      known.delete(h);
      known.add(h);
    }
    await this.#keep(KNOWN_FILE, [...known], KNOWN_MAX);
  }

  /**
   * Ids the catalog gave committed artifacts, by what identifies one (see deliverCapture):
   * `known-artifacts`, a "key id" line each, newest last. A cache: losing it costs chunk lists.
   */
  async knownArtifacts(): Promise<Map<string, string>> {
    return new Map((await this.#lines(ARTIFACTS_FILE)).map((l) => l.split(' ') as [string, string]).filter((p) => p[1]));
  }

  /** Records artifact ids (rewritten whole, newest last, bounded). */
  async rememberArtifacts(pairs: Array<[string, string]>): Promise<void> {
    const known = await this.knownArtifacts();
    for (const [k, id] of pairs) {
      known.delete(k);
      known.set(k, id);
    }
    await this.#keep(
      ARTIFACTS_FILE,
      [...known].map((p) => p.join(' ')),
      KNOWN_MAX / 20,
    );
  }

  /** Forgets hashes the catalog turned out to lack. */
  async forgetChunks(hashes: Iterable<string>): Promise<void> {
    const known = await this.knownChunks();
    let changed = false;
    for (const h of hashes) changed = known.delete(h) || changed;
    if (changed) await this.#keep(KNOWN_FILE, [...known], KNOWN_MAX);
  }

  staged(sha256: string): StagedChunk | null {
    return this.#stagedIndex.get(sha256) ?? null;
  }

  /** Stores a chunk's upload bytes; false when the spool bound would be exceeded. */
  async stage(sha256: string, encoding: ChunkEncoding, stored: Buffer, overBound = false): Promise<boolean> {
    if (this.#stagedIndex.has(sha256)) return true;
    if (!overBound && this.#usedBytes + stored.length > this.maxBytes) return false;
    const file = this.#at('chunks', `${sha256}.${encoding === 'gzip' ? 'gz' : 'raw'}`);
    await writeAtomic(file, stored);
    this.#usedBytes += stored.length;
    this.#stagedIndex.set(sha256, { sha256, encoding, file });
    return true;
  }

  async saveCapture(c: SpooledCapture): Promise<void> {
    await writeAtomic(this.#at('captures', `${c.begin.captureId}.json`), JSON.stringify(c));
  }

  async removeCapture(captureId: string): Promise<void> {
    await fsp.rm(this.#at('captures', `${captureId}.json`), { force: true });
  }

  /** Adds a failed delivery to the capture's spool entry. */
  async recordAttempt(c: SpooledCapture, attempt: DeliveryAttempt): Promise<void> {
    c.attempts = [...(c.attempts ?? []), attempt].slice(-MAX_ATTEMPTS);
    await this.saveCapture(c);
  }

  /** Moves a capture the catalog will never take out of the queue, kept for an operator. */
  async rejectCapture(c: SpooledCapture, why: Rejection): Promise<void> {
    const dir = this.#at('rejected', c.begin.captureId);
    await makeDir(dir);
    await writeAtomic(join(dir, 'capture.json'), JSON.stringify(c));
    await writeAtomic(join(dir, 'rejection.json'), JSON.stringify(why, null, 2) + '\n');
    await this.removeCapture(c.begin.captureId);
  }

  /** Puts a rejected capture back in the queue with a clean attempt history. */
  async unreject(e: SpoolEntry): Promise<SpooledCapture> {
    const c = { ...e.capture, attempts: [] };
    await this.saveCapture(c);
    await fsp.rm(this.#at('rejected', e.id), { recursive: true, force: true });
    return c;
  }

  /** Deletes a capture, pending or rejected, and the staged chunks only it needed. */
  async drop(e: SpoolEntry): Promise<void> {
    await (e.state === 'pending' ? this.removeCapture(e.id) : fsp.rm(this.#at('rejected', e.id), { recursive: true, force: true }));
    await this.collectGarbage();
  }

  /** Captures waiting to be delivered, oldest first (UUIDv7 ids sort by time). */
  async pendingCaptures(): Promise<SpooledCapture[]> {
    return (await readSpool(this.dir)).filter((e) => e.state === 'pending').map((e) => e.capture);
  }

  /** Deletes staged chunks no pending or rejected capture declares as staged. */
  async collectGarbage(): Promise<void> {
    const needed = new Set<string>();
    for (const e of await readSpool(this.dir)) {
      for (const a of e.capture.begin.artifacts) for (const ch of a.chunks) if (ch.encoding) needed.add(ch.sha256);
    }
    for (const [sha, s] of this.#stagedIndex) {
      if (needed.has(sha)) continue;
      const size = (await fsp.stat(s.file).catch(() => ({ size: 0 }))).size;
      await fsp.rm(s.file, { force: true });
      this.#usedBytes -= size;
      this.#stagedIndex.delete(sha);
    }
  }
}

/**
 * Every capture in a spool directory, pending then rejected, each oldest first (UUIDv7
 * ids sort by time); `sizes`: also the bytes of their staged chunks (a stat per chunk). Reads only: safe while a run holds the lock. A torn file is skipped
 * (it cannot be sent; it stays for a human).
 */
export async function readSpool(dir: string, sizes = false): Promise<SpoolEntry[]> {
  const out: SpoolEntry[] = [];
  const read = async (file: string) => JSON.parse(await fsp.readFile(file, 'utf8'));
  for (const state of ['pending', 'rejected'] as const) {
    const sub = join(dir, state === 'pending' ? 'captures' : 'rejected');
    // Not there yet is empty; there but unreadable (a file, no permission) is said, not listed as empty.
    const names = (
      await fsp.readdir(sub).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return [] as string[];
        throw new CollectorError(`cannot read ${sub}: ${e.code ?? e.message}`);
      })
    ).sort();
    for (const n of names) {
      if (state === 'pending' && !n.endsWith('.json')) continue;
      try {
        const c = (await read(state === 'pending' ? join(sub, n) : join(sub, n, 'capture.json'))) as SpooledCapture;
        if (c.format !== 'vmfs-collector-spool/1' || !c.begin?.captureId) continue;
        const rejection = state === 'rejected' ? ((await read(join(sub, n, 'rejection.json')).catch(() => null)) as Rejection | null) : null;
        const staged = new Map<string, string>();
        for (const a of c.begin.artifacts)
          for (const ch of a.chunks) if (ch.encoding) staged.set(ch.sha256, `${ch.sha256}.${ch.encoding === 'gzip' ? 'gz' : 'raw'}`);
        let spoolBytes = 0;
        if (sizes) for (const f of staged.values()) spoolBytes += (await fsp.stat(join(dir, 'chunks', f)).catch(() => ({ size: 0 }))).size;
        const last = c.attempts?.at(-1);
        out.push({
          id: c.begin.captureId,
          state,
          host: c.begin.host.name,
          collectedAt: c.begin.collectedAt,
          artifacts: c.begin.artifacts.length,
          size: c.begin.artifacts.reduce((n, a) => n + a.size, 0),
          spoolBytes,
          attempts: c.attempts?.length ?? 0,
          lastError: rejection?.message ?? last?.error ?? null,
          rejection,
          capture: c,
        });
      } catch {
        /* torn or foreign: skipped */
      }
    }
  }
  return out;
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
export async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, data);
  await fsp.rename(tmp, path);
}

/**
 * `mkdir -p`, one level at a time. Node's own recursive mkdir loops for ever when mkdir
 * answers ENOENT under a parent that exists, as /proc and /sys do (`--spool /proc/x` spun at
 * 100% CPU, printing nothing); here that ENOENT is the answer. A file in the way is EEXIST, as
 * with `mkdir -p`.
 */
export async function makeDir(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && dirname(dir) !== dir) {
      await makeDir(dirname(dir));
      await fsp.mkdir(dir);
    } else if (code !== 'EEXIST' || !(await fsp.stat(dir)).isDirectory()) throw e;
  }
}
