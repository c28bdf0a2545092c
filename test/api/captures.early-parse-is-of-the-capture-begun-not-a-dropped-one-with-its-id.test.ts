/**
 * The parse a commit takes from the early work (api/ingest/arrived.ts) is of the artifact the
 * commit stores, byte for byte: an open capture dropped (DELETE /v1/captures/{id}, or the
 * staging sweep a day after its last begin) whose id is begun again with other artifacts gets
 * the parse of those, not of the dropped capture's artifacts at the same places — the early
 * work of the dropped one is still held in the process, keyed by the capture id.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { arrivedOf } from '../../api/ingest/arrived.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, frameChunks, prepareCapture, uuidv7, type PreparedCapture } from '../helpers/ingest-client.js';

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

  async function sendThroughCatalog(p: PreparedCapture): Promise<void> {
    const missing = [...new Set((await begin(catalog, p.request)).missing.map((m) => m.sha256))];
    const res = await catalog.request(`/v1/captures/${p.request.captureId}/chunks`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: frameChunks(missing.map((s) => [s, p.stored.get(s)!])) as unknown as BodyInit,
    });
    expect(res.status).toBe(200);
    await res.body?.cancel();
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
});
