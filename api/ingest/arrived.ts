/**
 * Artifacts hashed whole and parsed while the rest of their capture still arrives through
 * the catalog (`PUT /v1/captures/{id}/chunks`). Once every chunk of an artifact has arrived
 * with this capture and been verified in this process (ReceivedChunks; the chunk of zeros is
 * known by its name), the artifact is assembled from those chunks, its SHA-256 checked against the declared one
 * (on the hashing thread, pipeline/hash-thread.ts) and its parse window parsed, between the
 * batches. Its commit then takes that outcome (`take`) instead of assembling, hashing and
 * parsing every artifact on the event loop once the last chunk is in, while the other core
 * waits.
 *
 * Nothing is weakened: the bytes are the chunks the commit names, each verified against its
 * SHA-256 when it arrived, in the declared order, so the whole hash
 * and the parse come out as the commit's would; the commit still verifies that every chunk
 * rests in the store and still refuses an artifact whose whole hash differs (an outcome is
 * kept only when the hash matched, and only for the very artifact it was made of: kind,
 * names, device, size, SHA-256 and chunk list). Nothing is written anywhere: a commit in
 * another process, after a restart, or of an artifact not done here (a chunk pushed out of
 * the in-memory bounds, a kind that goes through redaction, one past the parse window, the
 * bound on captures below) does the work itself, as before.
 *
 * A chunk this process keeps from an earlier capture (KeptChunks) does not count as arrived
 * for being kept: it may be another host's, and whether the work runs (an assembly, a whole
 * hash, a parse) would tell a collector token that declares it beside a chunk of its own
 * whether that chunk is in memory here. What counts besides the chunks that arrived is what
 * begin and the commit count: the chunks the capture's begin found its host holds (`held`), read
 * as the commit reads them (KeptChunks, else the store). So a day's dump changed in one chunk
 * is done once that chunk arrives, not left to its commit.
 */
import { createHash } from 'node:crypto';
import { CHUNK_SIZE, type BeginRequest } from '../../formats/protocol.js';
import { MAX_TEXT_BYTES } from '../../formats/text.js';
import type { BlobStore } from '../store/types.js';
import { ArtifactWindow, assembleArtifact, ChunkCache, PARSE_LIMIT_BYTES, sha256Hex } from '../pipeline/chunks.js';
import { sharedBytes, sha256Shared } from '../pipeline/hash-thread.js';
import { CaptureParseBudget, estimatedHeapBytes, isParsed, parseAssembled, parseInput, type ParseOutcome } from '../pipeline/parse.js';
import { mayNeedRedaction } from '../pipeline/redaction.js';
import type { ManifestArtifact } from '../pipeline/verify.js';
import { OldestFirst } from '../oldest-first.js';
import { onePer } from '../one-per.js';
import type { ReceivedChunks } from './chunks.js';

type DeclaredArtifact = BeginRequest['artifacts'][number];

/** One capture's artifacts as they arrive. */
interface Arrivals {
  artifacts: DeclaredArtifact[];
  /** Per artifact, how many of its chunks (from the first) were found arrived; -1 once it was queued or left out. */
  found: number[];
  /** Per artifact, whether one of its chunks came with this capture (an artifact of nothing but the chunk of zeros is left to the commit). */
  sent: boolean[];
  /**
   * Outcomes under way or done, by artifact index, each with the declared artifact it is made of
   * (a capture dropped and begun again under its id may declare another there): null when the
   * commit must do the artifact itself.
   */
  outcomes: Map<number, { artifact: DeclaredArtifact; outcome: Promise<ParseOutcome | null> }>;
  /** The estimated heap its outcomes done hold (estimatedHeapBytes), counted in ArrivedArtifacts' budget until it is stopped. */
  heldBytes: number;
  /** The text its artifacts may still be parsed early from (EARLY_TEXT_BYTES in all). */
  text: CaptureParseBudget;
  stopped: boolean;
}

/**
 * The text a capture's artifacts are parsed early from, at most: one text kind at its cap. A
 * capture may name the same chunks in 10,000 artifacts, each parsed here on the event loop as
 * soon as one batch brought them (30 of a 6 MiB list held it for most of a minute, from 1.5 KB
 * sent); the commit parses the rest itself, within its own bound (CaptureParseBudget).
 */
export const EARLY_TEXT_BYTES = MAX_TEXT_BYTES;

interface Job {
  captureId: string;
  arrivals: Arrivals;
  artifact: DeclaredArtifact;
  done: (outcome: ParseOutcome | null) => void;
}

const ZEROS = new Uint8Array(CHUNK_SIZE);
const ZEROS_SHA256 = createHash('sha256').update(ZEROS).digest('hex');

/**
 * Whether a chunk is a whole chunk of zeros, by its name: its bytes are known without it (most
 * of a header dump; every dump of a capture names it, and it may well arrive last).
 */
function isZeros(c: { sha256: string; size: number }): boolean {
  return c.size === CHUNK_SIZE && c.sha256 === ZEROS_SHA256;
}

/**
 * Artifacts parsed at once, each assembled in a window of its own (at most 64 MiB, the parse
 * window): while the hashing thread hashes one, this thread assembles or parses the other.
 */
const LANES = 2;
/** Captures stopped that ArrivedArtifacts remembers, not to follow them again (~100 bytes each). */
const STOPPED_KEPT = 4096;
/** Captures whose host's held chunks are remembered from their begin (a set of references each). */
const HELD_KEPT = 16;
/** How long the windows of lanes that ended are kept for the next batch's artifacts. */
const WINDOWS_KEPT_MS = 5_000;

/**
 * The heap the outcomes done and not yet taken may hold, all captures together (estimated:
 * estimatedHeapBytes). An outcome that would go past it is dropped, and its commit parses the
 * artifact itself, as without early work. A parse's output can weigh several times its input:
 * an 8 MiB `zfs list` of 166,618 snapshots parsed to 46 MiB of heap, held until its commit
 * (docs/performance.md); a header dump's weighs a few KiB.
 */
export const EARLY_HELD_BYTES = 32 * 1024 * 1024;

/** The early work of one store's captures (see the module comment). */
export class ArrivedArtifacts {
  private readonly captures = new Map<string, Arrivals>();
  private readonly oldest = new OldestFirst(this.captures);
  /**
   * Captures stopped lately (taken by their commit, or pushed out by newer ones), not followed
   * again: one pushed out would push out another with its next batch and do again what it had
   * done, batch after batch, while more captures arrive than are followed; one taken gets no
   * more use of it. The newest STOPPED_KEPT are remembered.
   */
  private readonly stopped = new Set<string>();
  /** Per capture, the chunks its begin found its host holds (the newest HELD_KEPT captures). */
  private readonly heldBy = new Map<string, Set<string>>();
  private readonly queue: Job[] = [];
  /** Lanes parsing artifacts now (run). */
  private lanes = 0;
  /** Windows of lanes that ended, for the next ones (dropped once no capture is followed, or WINDOWS_KEPT_MS after the last lane ended). */
  private windows: ArtifactWindow[] = [];
  private lastEnded = 0;

  constructor(
    private readonly store: BlobStore,
    /** Captures followed at once: a newer one stops the oldest (its commit does the rest itself). */
    private readonly maxCaptures = 4,
    /** The estimated heap the outcomes waiting for their commits may hold (EARLY_HELD_BYTES). */
    private heldBudget = EARLY_HELD_BYTES,
  ) {}

  /** Tests only: sets the budget (EARLY_HELD_BYTES otherwise), so a small result can prove what a big one would; answers a function that puts it back. */
  heldBudgetForTests(bytes: number): () => void {
    const before = this.heldBudget;
    this.heldBudget = bytes;
    return () => {
      this.heldBudget = before;
    };
  }

  /** The estimated heap the outcomes waiting for their commits hold now. */
  private heldBytes = 0;

  /**
   * At a capture's begin that lacks some chunks: the chunks its host holds (confirmed as begin
   * answers them present), which count for its artifacts as arrived ones do.
   */
  held(captureId: string, shas: Set<string>): void {
    if (this.stopped.has(captureId)) return;
    this.heldBy.delete(captureId);
    this.heldBy.set(captureId, shas);
    if (this.heldBy.size > HELD_KEPT) this.heldBy.delete(this.heldBy.keys().next().value!);
  }

  /**
   * After a batch of the capture's chunks was verified and kept in `received`: queues each
   * artifact whose chunks have now all arrived. `artifacts`: the capture's declaration.
   */
  arrived(captureId: string, artifacts: DeclaredArtifact[], received: ReceivedChunks): void {
    let a = this.captures.get(captureId);
    if (!a) {
      if (this.stopped.has(captureId)) return;
      while (this.captures.size >= this.maxCaptures) this.stop(this.oldest.take());
      a = { artifacts: [], found: [], sent: [], outcomes: new Map(), heldBytes: 0, text: new CaptureParseBudget(EARLY_TEXT_BYTES), stopped: false };
      this.captures.set(captureId, a);
    } else if (a.artifacts !== artifacts) {
      // A later begin of the same capture (the same artifacts, or more of them after those when
      // it was declared in part; encodings may differ): what arrived still holds. A capture
      // dropped and begun again under its id with other artifacts is left to its commit: what
      // arrived for the dropped one says nothing of these.
      if (artifacts.length < a.artifacts.length || a.artifacts.some((x, i) => parseInput(x) !== parseInput(artifacts[i]))) {
        this.stop(captureId);
        return;
      }
    }
    // Only what the commit would assemble and parse the same way: no redaction, a parse window holding it all.
    for (const x of artifacts.slice(a.artifacts.length)) {
      a.found.push(mayNeedRedaction(x.kind) || !isParsed(x.kind) || x.size > PARSE_LIMIT_BYTES || x.chunks.length === 0 ? -1 : 0);
      a.sent.push(false);
    }
    a.artifacts = artifacts;
    const held = this.heldBy.get(captureId);
    for (let i = 0; i < a.artifacts.length; i++) {
      let n = a.found[i];
      if (n < 0) continue;
      const chunks = a.artifacts[i].chunks;
      // Chunks mostly arrive in declaration order: each artifact is walked on from where it stopped.
      for (; n < chunks.length; n++) {
        const c = chunks[n];
        if (received.get(captureId, c.sha256)?.size === c.size) a.sent[i] = true;
        else if (!isZeros(c) && !held?.has(c.sha256)) break;
      }
      if (n < chunks.length || !a.sent[i]) {
        a.found[i] = n < chunks.length ? n : -1;
        continue;
      }
      a.found[i] = -1;
      const artifact = a.artifacts[i];
      if (!a.text.admits(artifact.kind, artifact.size)) continue; // left to the commit
      const arrivals = a;
      a.outcomes.set(i, { artifact, outcome: new Promise((done) => this.queue.push({ captureId, arrivals, artifact, done })) });
    }
    this.received = received;
    this.run();
  }

  /** The chunks received through the catalog, as the last batch handed them over (one object per store). */
  private received: ReceivedChunks | null = null;

  /**
   * The commit's part: stops the capture's early work and answers the outcomes done or under
   * way, by artifact index, of the artifacts in `refs` (as the commit will store them) that
   * they were made of. The capture's artifacts still queued are done first, here, their whole
   * hash taken on this thread while the lanes' hashing thread hashes theirs: the commit, which
   * waits for them anyway, gets them from two cores (a day's five changed dumps were left to
   * the commit, one after another, once the lanes' two were done).
   */
  async take(captureId: string, refs: ManifestArtifact[]): Promise<Map<number, ParseOutcome>> {
    this.heldBy.delete(captureId);
    const a = this.captures.get(captureId);
    const out = new Map<number, ParseOutcome>();
    if (!a) return out;
    for (;;) {
      const i = a.stopped ? -1 : this.queue.findIndex((j) => j.arrivals === a);
      if (i < 0) break;
      const [job] = this.queue.splice(i, 1);
      let window = this.windows.pop() ?? null;
      try {
        // A window refused (a RangeError when memory is short) leaves this artifact to the commit.
        if (!window || window.bytes.length < job.artifact.size) window = new ArtifactWindow(sharedBytes(job.artifact.size));
        job.done(await this.parse(job, window, true));
      } catch {
        job.done(null);
      }
      if (window) this.windows.push(window);
    }
    this.stop(captureId);
    for (const [i, { artifact, outcome }] of a.outcomes) {
      const done = await outcome;
      if (done && refs[i] && parseInput(refs[i]) === parseInput({ ...artifact, device: artifact.device ?? null })) out.set(i, done);
    }
    return out;
  }

  /** Resolves once no artifact waits to be parsed (tests). */
  async idle(): Promise<void> {
    while (this.lanes > 0) await new Promise((r) => setTimeout(r, 5));
  }

  /** Stops a capture's early work: its queued artifacts are left to its commit. */
  private stop(captureId: string): void {
    const a = this.captures.get(captureId);
    if (!a) return;
    this.captures.delete(captureId);
    this.heldBy.delete(captureId);
    this.stopped.add(captureId);
    if (this.stopped.size > STOPPED_KEPT) this.stopped.delete(this.stopped.values().next().value!);
    if (this.captures.size === 0) this.windows = [];
    // Its outcomes are its commit's now (take), or nobody's.
    this.heldBytes -= a.heldBytes;
    a.heldBytes = 0;
    a.stopped = true;
    for (const job of this.queue.filter((j) => j.arrivals === a)) job.done(null);
  }

  /** Starts lanes while artifacts wait and fewer than LANES run. */
  private run(): void {
    while (this.lanes < LANES && this.queue.length > 0) {
      this.lanes++;
      void this.lane();
    }
  }

  /**
   * Parses queued artifacts one after another in a window of its own, kept for the next lane
   * while a capture is followed: fresh memory costs a page fault per 4 KiB, about what hashing
   * it costs, and the queue of a capture runs dry between most of its batches.
   */
  private async lane(): Promise<void> {
    let window = this.windows.pop() ?? null;
    try {
      while (this.queue.length > 0) {
        // A turn of the event loop between artifacts: requests waiting on this thread go first.
        await new Promise((r) => setImmediate(r));
        const job = this.queue.shift();
        if (!job) break;
        if (job.arrivals.stopped) {
          job.done(null);
          continue;
        }
        let outcome: ParseOutcome | null = null;
        try {
          // A window refused (a RangeError when memory is short) fails this artifact alone: its commit awaits it.
          if (!window || window.bytes.length < job.artifact.size) window = new ArtifactWindow(sharedBytes(job.artifact.size));
          outcome = this.hold(job.arrivals, await this.parse(job, window));
        } catch {
          outcome = null;
        }
        job.done(outcome);
      }
    } finally {
      this.lanes--;
      if (window && this.captures.size > 0) this.windows.push(window);
      // A capture whose batches stopped coming (abandoned, or committed elsewhere) holds no windows for long.
      if (this.lanes === 0) {
        const ended = Date.now();
        this.lastEnded = ended;
        setTimeout(() => {
          if (this.lanes === 0 && this.lastEnded === ended) this.windows = [];
        }, WINDOWS_KEPT_MS).unref();
      }
    }
  }

  /**
   * An outcome done, counted in the budget while its capture is followed; null (its commit
   * parses the artifact itself) when it would go past the budget. One whose capture was stopped
   * meanwhile goes to the commit that took it, or to nobody, and holds nothing here.
   */
  private hold(arrivals: Arrivals, outcome: ParseOutcome | null): ParseOutcome | null {
    if (!outcome || arrivals.stopped) return outcome;
    const left = this.heldBudget - this.heldBytes;
    const bytes = estimatedHeapBytes(outcome, left);
    if (bytes > left) return null;
    this.heldBytes += bytes;
    arrivals.heldBytes += bytes;
    return outcome;
  }

  /**
   * One artifact assembled from its arrived chunks, hashed whole (on the hashing thread, or on
   * this one: `here`) and parsed; null when its whole hash is not the declared one.
   */
  private async parse(job: Job, window: ArtifactWindow, here = false): Promise<ParseOutcome | null> {
    const artifact = job.artifact;
    const received = this.received!;
    // A cache of this artifact's own: its arrived chunks as they were kept; KeptChunks, or at worst the store, for one pushed out since.
    const cache = new ChunkCache(undefined, true);
    for (const c of artifact.chunks) {
      const r = received.get(job.captureId, c.sha256);
      if (r?.size === c.size) cache.addStored(c.sha256, r.stored, r.encoding, r.sparse);
      else if (isZeros(c)) cache.add(c.sha256, ZEROS);
    }
    const { bytes } = await assembleArtifact(this.store, artifact.chunks, { window: artifact.size, hashAll: false, cache, into: window });
    if (bytes.length !== artifact.size) return null;
    // Hashed on the other core while this thread serves the next batches; parsed once the hash is the declared one.
    if ((here ? sha256Hex(bytes) : await sha256Shared(bytes)) !== artifact.sha256) return null;
    return parseAssembled({ ...artifact, device: artifact.device ?? null }, bytes, artifact.size);
  }
}

export { estimatedHeapBytes };

/** The early work of one store (shared by every request the process serves). */
export const arrivedOf = onePer((store: BlobStore) => new ArrivedArtifacts(store));
