/**
 * A hashing thread (api/pipeline/hash-thread.ts) that takes a chunk and never answers — stalled,
 * not stopped — holds no batch for ever: after the silence allowed it is terminated and replaced,
 * the batch's chunks are hashed on the event loop and the batch is answered as it would have been,
 * with one log line; the next batch is hashed on a fresh thread. The request waited for ever
 * before. The stalled thread is a real thread spinning in a loop (hashThreadForTests gives the
 * first thread that code, and the later ones the usual hashing, counting what they answer in a file).
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashThreadForTests } from '../../api/pipeline/hash-thread.js';
import { createLogger, type Logger } from '../../api/logger.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, frameChunks, prepareCapture, type PreparedCapture } from '../helpers/ingest-client.js';

/** Takes its first message and spins for ever: a stall `terminate` still ends. */
const STALLS = `require('node:worker_threads').parentPort.on('message', () => { for (;;) {} });`;

/** The usual hashing, writing a line to `file` for each hash it answers. */
const counting = (file: string) => `const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { appendFileSync } = require('node:fs');
parentPort.on('message', ({ id, view }) => {
  appendFileSync(${JSON.stringify(file)}, 'hashed\\n');
  parentPort.postMessage({ id, sha256: createHash('sha256').update(view).digest('hex') });
});`;

const STALL_FLOOR_MS = 400;

describe('captures: chunks are answered when the hashing thread stalls', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vrc-stall-'));
  const answered = join(dir, 'answered');
  const started: number[] = [];
  const lines: string[] = [];
  let catalog: TestCatalog;
  let restore: () => void = () => {};
  beforeAll(async () => {
    catalog = await startTestCatalog('embedded', { listen: true });
    (catalog.services as { logger: Logger }).logger = createLogger('warn', (l) => lines.push(l));
    restore = hashThreadForTests({
      code: (n) => {
        started.push(n);
        return n === 0 ? STALLS : counting(answered);
      },
      stallFloorMs: STALL_FLOOR_MS,
    });
  });
  afterAll(async () => {
    restore();
    await catalog?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const dump = (i: number) => ({
    kind: 'vmfs-header' as const,
    fileName: `lun${i}.hex`,
    device: `/dev/disks/naa.600144f0c0ffee0000000000000000${70 + i}`,
    bytes: buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 70 + i }),
    gzip: true,
  });

  async function sendBatch(p: PreparedCapture, shas: string[]): Promise<string[]> {
    const res = await catalog.request(`/v1/captures/${p.request.captureId}/chunks`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: frameChunks(shas.map((s) => [s, p.stored.get(s)!])) as unknown as BodyInit,
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { received: string[] }).received;
  }

  it('answers the batch the stalled thread held, and hashes the next one on a fresh thread', { timeout: 60_000 }, async () => {
    // Two captures, each a dump whose 1 MiB chunks inflate past the 64 KiB from which a hash goes to the thread.
    const first = prepareCapture({ host: 'esx-stall-1', artifacts: [dump(0)] });
    const missing = [...new Set((await begin(catalog, first.request)).missing.map((m) => m.sha256))];
    expect(missing.length).toBeGreaterThan(1);

    const t0 = Date.now();
    expect((await sendBatch(first, missing)).sort()).toEqual([...missing].sort());
    // Answered once the silence allowed ran out (a 1 MiB chunk: the floor and half a second), not before.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(STALL_FLOOR_MS);
    expect(started).toEqual([0]);
    const warned = lines.map((l) => JSON.parse(l) as { level: string; msg: string; hashesOwed: number });
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 'warn', msg: expect.stringMatching(/hashing thread answered nothing in time/) });
    expect(warned[0].hashesOwed).toBeGreaterThanOrEqual(1);
    expect(existsSync(answered)).toBe(false);
    expect((await commit(catalog, first.request.captureId)).artifacts.map((a) => a.parseStatus)).toEqual(['ok']);

    const second = prepareCapture({ host: 'esx-stall-2', artifacts: [dump(1)] });
    const missing2 = [...new Set((await begin(catalog, second.request)).missing.map((m) => m.sha256))];
    expect((await sendBatch(second, missing2)).sort()).toEqual([...missing2].sort());
    expect(started).toEqual([0, 1]);
    // The fresh thread hashed the chunks that go to a thread (and the artifact whole, early).
    expect(readFileSync(answered, 'utf8').split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(1);
    expect(lines).toHaveLength(1);
    expect((await commit(catalog, second.request.captureId)).artifacts.map((a) => a.parseStatus)).toEqual(['ok']);
  });
});
