import { availableParallelism, cpus } from 'node:os';
import { parentPort, Worker } from 'node:worker_threads';
import { chunkStream, ChunkStager, SourceChangedError, type PriorDigest } from './chunker.js';
import { describeError } from './errors.js';
import { LocalAccess } from './host-access.js';

/** What a hashing thread is started with: the same bundle file, told apart from a run by this (collector/main.ts). */
export const HASH_WORKER = 'vmfs-collector-hash';

/**
 * Hashing threads by default: the host's cores, at most 4. Each reads and hashes one
 * local source at a time; `--hash-threads 0` keeps all of it on the main thread.
 */
export const defaultHashThreads = (): number => Math.min(4, availableParallelism?.() ?? cpus().length);

/** One local source for a thread: its bytes [0, length) under root, and its last digest. */
export interface HashJob {
  root: string;
  path: string;
  length: number;
  prior: PriorDigest;
}

/** A source's digest as read (see chunkStream), or why not; `retry`: read it again on the main thread. */
type HashAnswer = PriorDigest | { error: string; retry: boolean };

/** In a hashing thread: reads and hashes each job's source (chunkStream, nothing staged) and answers its digest. */
export function serveHashJobs(): void {
  // Every chunk counts as present: the thread only hashes; the main thread stages what the catalog lacks.
  const hashOnly = new ChunkStager(null, { has: () => true } as unknown as Set<string>);
  parentPort!.on('message', async ({ root, path, length, prior }: HashJob) => {
    let answer: HashAnswer;
    try {
      const c = await chunkStream(new LocalAccess(root).read(path, 0, length), hashOnly, {
        prior: { digest: prior, reread: (n) => new LocalAccess(root).read(path, 0, n) },
      });
      answer = { size: c.size, sha256: c.sha256, chunks: c.chunks.map((x) => x.sha256) };
    } catch (e) {
      answer = { error: describeError(e), retry: e instanceof SourceChangedError };
    }
    parentPort!.postMessage(answer);
  });
}

/**
 * Up to `size` hashing threads, started on first use from this same file; one job per
 * thread at a time, the rest queued. An artifact whose job fails fails alone.
 */
export class HashPool {
  private idle: Worker[] = [];
  private started = 0;
  private queue: Array<[HashJob, (a: HashAnswer) => void]> = [];

  constructor(private readonly size: number) {}

  /** The source's digest; rejects with SourceChangedError (read it again on the main thread: it changed, or its thread stopped), or the thread's error. */
  async hash(job: HashJob): Promise<PriorDigest> {
    const a = await new Promise<HashAnswer>((done) => {
      this.queue.push([job, done]);
      this.next();
    });
    if (!('error' in a)) return a;
    throw a.retry ? new SourceChangedError(a.error) : new Error(a.error);
  }

  private next(): void {
    while (this.queue.length > 0) {
      let w = this.idle.pop();
      if (!w && this.started < this.size) {
        this.started++;
        w = new Worker(__filename, { workerData: HASH_WORKER });
        w.unref();
      }
      if (!w) return;
      const [job, done] = this.queue.shift()!;
      const worker = w;
      let gone = false;
      const lost = (e: unknown) => {
        // The thread is gone: this job is read on the main thread, the next ones start another.
        if (gone) return;
        gone = true;
        this.started--;
        done({ error: describeError(e), retry: true });
        this.next();
      };
      worker
        .once('error', lost)
        .once('exit', lost)
        .once('message', (a: HashAnswer) => {
          worker.off('error', lost).off('exit', lost);
          this.idle.push(worker);
          done(a);
          this.next();
        });
      worker.postMessage(job);
    }
  }

  close(): void {
    for (const w of this.idle) void w.terminate();
    this.idle = [];
  }
}
