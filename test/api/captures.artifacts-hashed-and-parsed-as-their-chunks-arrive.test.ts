/**
 * An artifact whose chunks have all come through the catalog (PUT /v1/captures/{id}/chunks) is
 * hashed whole and parsed before its commit (api/ingest/arrived.ts), and the commit takes that
 * outcome: the same parse as the commit's own, for exactly the artifact it was made of. Nothing
 * is weakened: an artifact announced with another whole SHA-256 still makes the commit 422 naming
 * it, and an outcome is not taken for an artifact declared otherwise. On both flavours.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { arrivedOf } from '../../api/ingest/arrived.js';
import { declaredRefs } from '../../api/ingest/commit-jobs.js';
import { parseArtifact } from '../../formats/parse.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, frameChunks, prepareCapture, type PreparedCapture } from '../helpers/ingest-client.js';

describeEachFlavour('captures: artifacts hashed whole and parsed as their chunks arrive', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const dumps = (seed: number) =>
    Array.from({ length: 3 }, (_, i) => ({
      kind: 'vmfs-header' as const,
      fileName: `lun${i}.hex`,
      device: `/dev/disks/naa.600144f0c0ffee00000000000000${seed + i}`,
      bytes: buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: seed + i }),
      gzip: true,
    }));

  /** Sends every missing chunk through the catalog, one artifact's chunks a batch. */
  async function sendThroughCatalog(p: PreparedCapture): Promise<void> {
    const missing = new Set((await begin(catalog, p.request)).missing.map((m) => m.sha256));
    for (const a of p.request.artifacts) {
      const mine = [...new Set(a.chunks.map((c) => c.sha256))].filter((s) => missing.delete(s));
      if (mine.length === 0) continue;
      const res = await catalog.request(`/v1/captures/${p.request.captureId}/chunks`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: frameChunks(mine.map((s) => [s, p.stored.get(s)!])) as unknown as BodyInit,
      });
      expect(res.status).toBe(200);
      await res.body?.cancel();
    }
  }

  /** The artifacts as the commit stores them, for ArrivedArtifacts.take. */
  const refsOf = (p: PreparedCapture) => declaredRefs(p.request);

  it('parses each artifact once its chunks are in, as the commit would, and the commit answers that parse', async () => {
    const input = dumps(10);
    const p = prepareCapture({ host: 'esx-arrive', artifacts: input });
    await sendThroughCatalog(p);
    // What the early work made, asked as the commit asks (this stops it: the commit below parses itself).
    await arrivedOf(catalog.services.store).idle();
    const taken = await arrivedOf(catalog.services.store).take(p.request.captureId, refsOf(p));
    expect([...taken.keys()].sort()).toEqual([0, 1, 2]);
    for (const [i, outcome] of taken) {
      expect(outcome.parseStatus).toBe('ok');
      expect(outcome.parsed).toEqual(JSON.parse(JSON.stringify(parseArtifact('vmfs-header', input[i].bytes, { deviceName: input[i].device }))));
    }
    const done = await commit(catalog, p.request.captureId);
    expect(done.artifacts.map((a) => a.parseStatus)).toEqual(['ok', 'ok', 'ok']);

    // The same dumps as a capture of another host, its commit taking the early outcomes: the same answer.
    const q = prepareCapture({ host: 'esx-arrive-too', artifacts: input });
    await sendThroughCatalog(q);
    await arrivedOf(catalog.services.store).idle();
    const viaEarly = await commit(catalog, q.request.captureId);
    expect(viaEarly.artifacts.map(({ id: _, ...a }) => a)).toEqual(done.artifacts.map(({ id: _, ...a }) => a));
  });

  it("does a dump changed in one chunk once that chunk arrives, its other chunks the host's own", async () => {
    const input = dumps(50);
    const first = prepareCapture({ host: 'esx-changed', artifacts: input });
    await sendThroughCatalog(first);
    await commit(catalog, first.request.captureId);

    // The next day: one page of the second dump changed, past its first MiB; the host holds every other chunk.
    const changed = input.map((a) => ({ ...a, bytes: a.bytes.slice() }));
    expect(changed[1].bytes.length).toBeGreaterThan(CHUNK_SIZE + 8192);
    changed[1].bytes.fill(0x5a, CHUNK_SIZE + 4096, CHUNK_SIZE + 8192);
    const next = prepareCapture({ host: 'esx-changed', artifacts: changed });
    const missing = new Set((await begin(catalog, next.request)).missing.map((m) => m.sha256));
    expect(missing.size).toBe(1);
    await sendThroughCatalog(next);
    await arrivedOf(catalog.services.store).idle();
    const taken = await arrivedOf(catalog.services.store).take(next.request.captureId, refsOf(next));
    // The unchanged dumps sent nothing: their commit keeps yesterday's parse (earlierParses).
    expect([...taken.keys()]).toEqual([1]);
    expect(taken.get(1)!.parsed).toEqual(JSON.parse(JSON.stringify(parseArtifact('vmfs-header', changed[1].bytes, { deviceName: changed[1].device }))));
    const done = await commit(catalog, next.request.captureId);
    expect(done.artifacts.map((a) => a.parseStatus)).toEqual(['ok', 'ok', 'ok']);
  });

  it('takes no outcome for an artifact declared otherwise than it was made of', async () => {
    const p = prepareCapture({ host: 'esx-other', artifacts: dumps(30) });
    await sendThroughCatalog(p);
    const refs = refsOf(p);
    refs[1] = { ...refs[1], device: '/dev/disks/another' };
    await arrivedOf(catalog.services.store).idle();
    const taken = await arrivedOf(catalog.services.store).take(p.request.captureId, refs);
    expect([...taken.keys()].sort()).toEqual([0, 2]);
  });

  it('still refuses a capture whose artifact is announced with another whole SHA-256, naming it', async () => {
    const p = prepareCapture({ host: 'esx-lies', artifacts: dumps(40) });
    const honest = p.request.artifacts.map((a) => a.sha256);
    p.request.artifacts[1].sha256 = honest[2];
    await sendThroughCatalog(p);
    const err = await commit(catalog, p.request.captureId).catch((e) => e);
    expect(err).toMatchObject({ status: 422, code: 'unprocessable' });
    expect(err.body.error.message).toContain(`artifact 1 (lun1.hex): its chunks hash to ${honest[1]}, not the announced ${honest[2]}`);
  });
});
