/**
 * SHA-256 on a thread of its own, of bytes in shared memory or handed over: the main thread
 * posts a view of a SharedArrayBuffer, or transfers an ArrayBuffer it is done with (nothing is
 * copied; posting costs ~0.5 ms where hashing 20 MiB costs ~15), and goes on serving requests
 * while the other core hashes. WebCrypto's digest runs on
 * the thread pool too, but copies its input first, which for fresh memory costs about what the
 * hash does. One worker per process, started on first use and never holding the process open;
 * should it fail, every hash it was asked for fails and later ones run on the calling thread, as
 * they all do when it cannot be started.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** The worker's code (CommonJS, node: modules only: it runs from a string, outside any bundle). */
const WORKER = `const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ id, view }) => parentPort.postMessage({ id, sha256: createHash('sha256').update(view).digest('hex') }));`;

let worker: Worker | null = null;
let broken = false;
let nextId = 0;
const waiting = new Map<number, { resolve: (sha256: string) => void; reject: (e: Error) => void }>();

function hashWorker(): Worker | null {
  if (broken) return null;
  if (!worker) {
    try {
      worker = new Worker(WORKER, { eval: true });
    } catch {
      // No thread to be had (ERR_WORKER_INIT_FAILED: the process or its container is at its limit): every hash runs here.
      broken = true;
      return null;
    }
    worker.unref();
    worker.on('message', ({ id, sha256 }: { id: number; sha256: string }) => {
      const w = waiting.get(id);
      waiting.delete(id);
      if (waiting.size === 0) worker?.unref();
      w?.resolve(sha256);
    });
    const fail = (e: unknown) => {
      broken = true;
      worker = null;
      for (const w of waiting.values()) w.reject(e instanceof Error ? e : new Error(`the hashing thread stopped (${String(e)})`));
      waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the hashing thread exited with ${code}`)));
  }
  return worker;
}

/** A buffer of `size` bytes the hashing thread can read without a copy. */
export function sharedBytes(size: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(size));
}

/**
 * SHA-256 hex of `bytes`: on the hashing thread when they live in shared memory (sharedBytes;
 * they must not change until this resolves), else here.
 */
export function sha256Shared(bytes: Uint8Array): Promise<string> {
  const w = bytes.buffer instanceof SharedArrayBuffer ? hashWorker() : null;
  return w ? ask(w, bytes) : Promise.resolve(hashHere(bytes));
}

/** Below this, hashing here costs less than the trip to the hashing thread. */
const HAND_OVER_MIN_BYTES = 64 * 1024;

/**
 * SHA-256 hex of bytes this thread is done with: their memory is handed over to the hashing
 * thread (transferred, not copied; they read as empty here from then on), which hashes them and
 * drops them, so this thread collects no garbage for them either. Small ones, and memory that
 * cannot be handed over (Node copies its shared pool's instead), are hashed as before.
 */
export function sha256HandedOver(bytes: Uint8Array): Promise<string> {
  const w = bytes.byteLength >= HAND_OVER_MIN_BYTES && bytes.buffer instanceof ArrayBuffer ? hashWorker() : null;
  return w ? ask(w, bytes, [bytes.buffer as ArrayBuffer]) : Promise.resolve(hashHere(bytes));
}

function hashHere(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function ask(w: Worker, bytes: Uint8Array, transfer: ArrayBuffer[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    // Held open while a hash is owed, as any pending I/O would hold it.
    if (waiting.size === 0) w.ref();
    waiting.set(id, { resolve, reject });
    w.postMessage({ id, view: bytes }, transfer);
  });
}
