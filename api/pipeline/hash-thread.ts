/**
 * SHA-256 on a thread of its own, of bytes in shared memory or handed over: the main thread
 * posts a view of a SharedArrayBuffer, or transfers an ArrayBuffer it is done with (nothing is
 * copied; posting costs ~0.5 ms where hashing 20 MiB costs ~15), and goes on serving requests
 * while the other core hashes. WebCrypto's digest runs on
 * the thread pool too, but copies its input first, which for fresh memory costs about what the
 * hash does. One worker per process, started on first use and never holding the process open;
 * should it fail, every hash it was asked for fails and later ones run on the calling thread, as
 * they all do when it cannot be started. Should it stall (answer nothing for long: STALL_FLOOR_MS),
 * every hash it owed fails the same way, and it is terminated and replaced by a fresh one.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { createLogger, type Logger } from '../logger.js';

/** The worker's code (CommonJS, node: modules only: it runs from a string, outside any bundle). */
const WORKER = `const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ id, view }) => parentPort.postMessage({ id, sha256: createHash('sha256').update(view).digest('hex') }));`;

/**
 * How long the hashing thread may stay silent while it owes a hash before it is taken for stalled:
 * STALL_FLOOR_MS, plus STALL_PER_MIB_MS for each MiB of the hash it works on (the oldest one owed;
 * it answers in order). A MiB hashes in about a millisecond, so this allows a thread several
 * hundred times slower than usual (a loaded machine, a long garbage collection) and still answers
 * the collector before its 60 s request timeout even behind the largest hash asked of it (an
 * artifact's 64 MiB parse window: 5 + 32 s). A stalled thread is terminated and replaced; what it
 * owed is hashed on the calling thread (the callers' fallback, as when a thread stops).
 */
export const STALL_FLOOR_MS = 5_000;
/** See STALL_FLOOR_MS. */
export const STALL_PER_MIB_MS = 500;

/** The code of the thread started n-th (0 first) and the floor of the silence allowed: tests only (hashThreadForTests). */
let threadCode: (n: number) => string = () => WORKER;
let stallFloorMs = STALL_FLOOR_MS;
let started = 0;

let worker: Worker | null = null;
let broken = false;
let nextId = 0;
interface Owed {
  resolve: (sha256: string) => void;
  reject: (e: Error) => void;
  bytes: number;
  logger?: Logger;
}
const waiting = new Map<number, Owed>();
/** Fires when the thread stayed silent too long over the oldest hash owed (watch). */
let stallTimer: NodeJS.Timeout | null = null;

function hashWorker(): Worker | null {
  if (broken) return null;
  if (!worker) {
    let w: Worker;
    try {
      w = new Worker(threadCode(started++), { eval: true });
    } catch {
      // No thread to be had (ERR_WORKER_INIT_FAILED: the process or its container is at its limit): every hash runs here.
      broken = true;
      return null;
    }
    worker = w;
    w.unref();
    w.on('message', ({ id, sha256 }: { id: number; sha256: string }) => {
      if (worker !== w) return;
      const owed = waiting.get(id);
      waiting.delete(id);
      if (waiting.size === 0) w.unref();
      watch();
      owed?.resolve(sha256);
    });
    const fail = (e: unknown) => {
      // A thread terminated for stalling (stalled) was replaced already: its exit says nothing of the next.
      if (worker !== w) return;
      broken = true;
      worker = null;
      rejectOwed(e instanceof Error ? e : new Error(`the hashing thread stopped (${String(e)})`));
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the hashing thread exited with ${code}`)));
  }
  return worker;
}

function rejectOwed(e: Error): void {
  const owed = [...waiting.values()];
  waiting.clear();
  watch();
  for (const o of owed) o.reject(e);
}

/** (Re)arms the stall timer for the oldest hash owed, or clears it when none is. */
function watch(): void {
  if (stallTimer) clearTimeout(stallTimer);
  stallTimer = null;
  const oldest = waiting.values().next();
  if (oldest.done) return;
  const allowed = stallFloorMs + Math.ceil((oldest.value.bytes / (1024 * 1024)) * STALL_PER_MIB_MS);
  stallTimer = setTimeout(() => stalled(oldest.value, allowed), allowed);
  stallTimer.unref();
}

/** The thread owed a hash longer than allowed: it is terminated, the next hash starts a fresh one, and every hash it owed fails (hashed by the callers here). */
function stalled(oldest: Owed, allowedMs: number): void {
  const w = worker;
  worker = null;
  const owed = waiting.size;
  (oldest.logger ?? [...waiting.values()].find((o) => o.logger)?.logger ?? fallbackLogger()).warn(
    'the hashing thread answered nothing in time; it is replaced and what it owed is hashed on the event loop',
    { waitedMs: allowedMs, hashesOwed: owed, bytes: oldest.bytes },
  );
  rejectOwed(new Error(`the hashing thread answered nothing in ${allowedMs} ms`));
  void w?.terminate().catch(() => {});
}

let defaultLogger: Logger | null = null;
function fallbackLogger(): Logger {
  defaultLogger ??= createLogger('warn');
  return defaultLogger;
}

/**
 * Tests only: each thread started from now on runs `code(n)` (n counts threads started, 0 the
 * first) and may stay silent `stallFloorMs` plus its share per MiB; the thread running now is
 * terminated. Answers a function putting back the usual code and floor (and terminating the test's thread).
 */
export function hashThreadForTests(o: { code?: (n: number) => string; stallFloorMs?: number }): () => void {
  const reset = () => {
    const w = worker;
    worker = null;
    broken = false;
    started = 0;
    rejectOwed(new Error('the hashing thread was replaced'));
    void w?.terminate().catch(() => {});
  };
  reset();
  threadCode = o.code ?? threadCode;
  stallFloorMs = o.stallFloorMs ?? stallFloorMs;
  return () => {
    reset();
    threadCode = () => WORKER;
    stallFloorMs = STALL_FLOOR_MS;
  };
}

/** A buffer of `size` bytes the hashing thread can read without a copy. */
export function sharedBytes(size: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(size));
}

/**
 * Below this, hashing here costs less than the trip to the hashing thread (a message each way,
 * and the thread woken: for an artifact of a few KiB, several times its hash).
 */
const HAND_OVER_MIN_BYTES = 64 * 1024;

/**
 * SHA-256 hex of `bytes`: on the hashing thread when they live in shared memory (sharedBytes;
 * they must not change until this resolves) and are not small, else here.
 */
export function sha256Shared(bytes: Uint8Array): Promise<string> {
  const w = bytes.byteLength >= HAND_OVER_MIN_BYTES && bytes.buffer instanceof SharedArrayBuffer ? hashWorker() : null;
  return w ? ask(w, bytes) : Promise.resolve(hashHere(bytes));
}

/**
 * SHA-256 hex of bytes this thread is done with: their memory is handed over to the hashing
 * thread (transferred, not copied; they read as empty here from then on), which hashes them and
 * drops them, so this thread collects no garbage for them either. Small ones, and memory that
 * cannot be handed over (Node copies its shared pool's instead), are hashed as before.
 */
export function sha256HandedOver(bytes: Uint8Array, logger?: Logger): Promise<string> {
  const w = bytes.byteLength >= HAND_OVER_MIN_BYTES && bytes.buffer instanceof ArrayBuffer ? hashWorker() : null;
  return w ? ask(w, bytes, [bytes.buffer as ArrayBuffer], logger) : Promise.resolve(hashHere(bytes));
}

function hashHere(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function ask(w: Worker, bytes: Uint8Array, transfer: ArrayBuffer[] = [], logger?: Logger): Promise<string> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    // Held open while a hash is owed, as any pending I/O would hold it.
    if (waiting.size === 0) w.ref();
    waiting.set(id, { resolve, reject, bytes: bytes.byteLength, logger });
    if (waiting.size === 1) watch();
    w.postMessage({ id, view: bytes }, transfer);
  });
}
