/**
 * A catalog without its hashing thread (api/pipeline/hash-thread.ts) hashes on the calling
 * thread instead: chunk batches are verified and stored, and the capture commits with its
 * artifacts parsed. Whether the thread cannot start (`new Worker` throws ERR_WORKER_INIT_FAILED
 * when the process or its container is at its limit of threads, as a small function or a tight
 * cgroup may be: every batch holding a chunk of 64 KiB or more was answered 500), or stops while
 * it holds a chunk's bytes (handed over, not copied: that batch was answered 500). The real
 * server runs as a child whose node:worker_threads is changed by a module loaded before it
 * (--require).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { serverChildEnv, startServerChild, type ServerChild } from '../helpers/server-child.js';
import { begin, commit, frameChunks, prepareCapture, remoteCatalog } from '../helpers/ingest-client.js';

/** Every thread refused. */
const NO_THREADS = `const threads = require('node:worker_threads');
threads.Worker = class {
  constructor() {
    throw Object.assign(new Error('Worker initialization failure: EAGAIN'), { code: 'ERR_WORKER_INIT_FAILED' });
  }
};
require('node:module').syncBuiltinESMExports();
`;

/** A thread that stops once it was handed its first message. */
const THREAD_STOPS = `const threads = require('node:worker_threads');
const Thread = threads.Worker;
threads.Worker = class extends Thread {
  postMessage(message, transfer) {
    super.postMessage(message, transfer);
    if (!this.stopping) {
      this.stopping = true;
      void this.terminate();
    }
  }
};
require('node:module').syncBuiltinESMExports();
`;

describe.each([
  ['that cannot start', NO_THREADS],
  ['that stops', THREAD_STOPS],
])('captures: chunks are checked with a hashing thread %s', (_, threads) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-no-thread-'));
  const token = `no-thread-admin-${randomBytes(16).toString('hex')}`;
  let server: ServerChild | undefined;
  beforeAll(async () => {
    const preload = join(dataDir, 'threads.cjs');
    writeFileSync(preload, threads);
    server = await startServerChild({ ...(await serverChildEnv(join(dataDir, 'data'), token)), NODE_OPTIONS: `--require ${preload}` });
  });
  afterAll(async () => {
    await server?.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('takes a batch of large chunks and commits the capture', async () => {
    const catalog = remoteCatalog(server!.url, token);
    // A dump's 1 MiB chunks: each inflates past the 64 KiB from which a hash goes to the thread.
    const p = prepareCapture({
      host: 'esx-no-thread',
      artifacts: [0, 1].map((i) => ({
        kind: 'vmfs-header' as const,
        fileName: `lun${i}.hex`,
        device: `/dev/disks/naa.600144f0c0ffee00000000000000002${i}`,
        bytes: buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 20 + i }),
        gzip: true,
      })),
    });
    const missing = [...new Set((await begin(catalog, p.request)).missing.map((m) => m.sha256))];
    const res = await catalog.request(`/v1/captures/${p.request.captureId}/chunks`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: frameChunks(missing.map((s) => [s, p.stored.get(s)!])) as unknown as BodyInit,
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { received: string[] }).received.sort()).toEqual(missing.sort());
    const done = await commit(catalog, p.request.captureId);
    expect(done.artifacts.map((a) => a.parseStatus)).toEqual(['ok', 'ok']);
  });
});
