/**
 * A commit that arrives while artifacts of its capture still wait in the early work's queue
 * (api/ingest/arrived.ts) does them itself, on its own thread, while the lanes' hashing thread
 * hashes theirs: it waits for them anyway. They were left to the commit's own parse, one after
 * another once the lanes' two were done. What it answers is what a parse of each artifact gives;
 * an artifact whose chunks do not hash to its declared SHA-256 gets no outcome (its commit
 * refuses it, as before).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { ArrivedArtifacts } from '../../api/ingest/arrived.js';
import { ReceivedChunks } from '../../api/ingest/chunks.js';
import { parseAssembled } from '../../api/pipeline/parse.js';
import { FsBlobStore } from '../../api/store/fs.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { prepareCapture } from '../helpers/ingest-client.js';

const dir = mkdtempSync(join(tmpdir(), 'take-queued-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('takes every queued artifact, parsed as the commit would, doing some on the commit’s thread', async () => {
  const store = new FsBlobStore({ dataDir: dir, publicBaseUrl: 'http://127.0.0.1:1' });
  const disks = [0, 1, 2, 3, 4].map((i) => buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 500 + i }));
  const p = prepareCapture({
    host: 'esx-take',
    artifacts: disks.map((bytes, i) => ({
      kind: 'vmfs-header' as const,
      fileName: `lun${i}.hex`,
      device: `naa.600144f0c0ffee00000000000000700${i}`,
      bytes,
      gzip: true,
    })),
  });
  const id = p.request.captureId;
  // Artifact 4 declares another artifact's SHA-256: its chunks are not what it says.
  const declared = p.request.artifacts.map((a, i) => (i === 4 ? { ...a, sha256: p.request.artifacts[0].sha256 } : a));
  const received = new ReceivedChunks();
  for (const a of declared) for (const c of a.chunks) received.add(id, c.sha256, { stored: p.stored.get(c.sha256)!, encoding: 'gzip', size: c.size });
  const early = new ArrivedArtifacts(store);
  const step = vi.spyOn(early as unknown as { parse: (...a: unknown[]) => Promise<unknown> }, 'parse');
  early.arrived(id, declared, received);
  // The commit comes before any lane took a job (lanes start on the next turn of the event loop).
  const taken = await early.take(
    id,
    declared.map((a) => ({
      ...a,
      id: '',
      device: a.device ?? null,
      chunks: a.chunks.map((c) => ({ ...c, encoding: 'gzip' as const, storedSize: c.storedSize! })),
    })),
  );
  expect([...taken.keys()].sort()).toEqual([0, 1, 2, 3]);
  for (const [i, outcome] of taken) {
    const a = declared[i];
    expect(outcome).toEqual(parseAssembled({ ...a, device: a.device ?? null }, disks[i], a.size));
    expect(outcome.parseStatus).toBe('ok');
  }
  // Each artifact once, some on the commit's thread (the lanes take theirs as it works on its own).
  await early.idle();
  expect(step).toHaveBeenCalledTimes(5);
  expect(new Set(step.mock.calls.map((c) => (c[0] as { artifact: { fileName: string } }).artifact.fileName)).size).toBe(5);
  expect(step.mock.calls.filter((c) => c[2] === true).length).toBeGreaterThan(0);
});
