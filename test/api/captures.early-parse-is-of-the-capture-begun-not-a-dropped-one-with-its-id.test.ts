/**
 * The parse a commit takes from the early work (api/ingest/arrived.ts) is of the artifact the
 * commit stores, byte for byte: an open capture dropped (DELETE /v1/captures/{id}, or the
 * staging sweep a day after its last begin) whose id is begun again with other artifacts gets
 * the parse of those, not of the dropped capture's artifacts at the same places — the early
 * work of the dropped one is still held in the process, keyed by the capture id. Nor does what
 * arrived for the dropped one count for the artifacts begun again: they are left to the commit.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { arrivedOf } from '../../api/ingest/arrived.js';
import { declaredRefs } from '../../api/ingest/commit-jobs.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, prepareCapture, type PreparedCapture, sendChunks, uuidv7 } from '../helpers/ingest-client.js';

describeEachFlavour('captures: the early parse is of the capture begun, not of a dropped one with its id', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const dump = (segmentUuid: string) => ({
    kind: 'vmfs-header' as const,
    fileName: 'lun0.hex',
    device: '/dev/disks/naa.600144f0c0ffee000000000000000077',
    bytes: buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', segmentUuid }),
    gzip: true,
  });

  async function sendThroughCatalog(p: PreparedCapture, only?: (sha256: string) => boolean): Promise<void> {
    const missing = [...new Set((await begin(catalog, p.request)).missing.map((m) => m.sha256))].filter((s) => !only || only(s));
    await sendChunks(catalog, p, missing);
    await arrivedOf(catalog.services.store).idle();
  }

  it('commits the parse of the artifact begun again under the id', async () => {
    const captureId = uuidv7();
    const first = prepareCapture({ host: 'esx-dropped', captureId, artifacts: [dump('5a000001-00000000-0000-0050569a0001')] });
    await sendThroughCatalog(first);
    const dropped = await catalog.request(`/v1/captures/${captureId}`, { method: 'DELETE' });
    expect(dropped.status).toBe(200);

    const second = prepareCapture({ host: 'esx-dropped', captureId, artifacts: [dump('5a000002-00000000-0000-0050569a0002')] });
    await sendThroughCatalog(second);
    const done = await commit(catalog, captureId);
    expect(done.artifacts[0].parseStatus).toBe('ok');
    const found = JSON.stringify(done.artifacts[0].found);
    expect(found).toContain('5a000002-00000000-0000-0050569a0002');
    expect(found).not.toContain('5a000001-00000000-0000-0050569a0001');
  });

  it('counts none of what arrived for the dropped capture toward the artifacts begun again', async () => {
    // A chunk of another host's, which this process keeps in memory once it arrived.
    const theirDump = dump('5a000003-00000000-0000-0050569a0003');
    const theirs = prepareCapture({ host: 'esx-theirs', artifacts: [theirDump] });
    await sendThroughCatalog(theirs);
    await commit(catalog, theirs.request.captureId);
    const theirChunk = theirs.request.artifacts[0].chunks[0].sha256;

    const filled = (...bytes: number[]) => {
      const out = new Uint8Array(bytes.length * CHUNK_SIZE);
      for (const [i, b] of bytes.entries()) out.fill(b, i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE);
      return out;
    };
    const captureId = uuidv7();
    const first = prepareCapture({
      host: 'esx-dropped-too',
      captureId,
      artifacts: [{ kind: 'vmfs-header', fileName: 'a.hex', bytes: filled(0x42, 0x43), gzip: true }],
    });
    const firstChunk = first.request.artifacts[0].chunks[0].sha256;
    await sendThroughCatalog(first, (s) => s === firstChunk);
    expect((await catalog.request(`/v1/captures/${captureId}`, { method: 'DELETE' })).status).toBe(200);

    // Begun again: the other host's chunk where the dropped one's first chunk was, then one of its own (the only one it sends).
    const bytes = new Uint8Array(2 * CHUNK_SIZE);
    bytes.set(theirDump.bytes.subarray(0, CHUNK_SIZE), 0);
    bytes.fill(0x44, CHUNK_SIZE);
    const second = prepareCapture({ host: 'esx-dropped-too', captureId, artifacts: [{ kind: 'vmfs-header', fileName: 'a.hex', bytes, gzip: true }] });
    expect(second.request.artifacts[0].chunks[0].sha256).toBe(theirChunk);
    const own = second.request.artifacts[0].chunks[1].sha256;
    await sendThroughCatalog(second, (s) => s === own);

    const taken = await arrivedOf(catalog.services.store).take(captureId, declaredRefs(second.request));
    expect([...taken.keys()]).toEqual([]);
  });
});
