/**
 * The early work on an artifact (api/ingest/arrived.ts) waits for chunks its capture sent: a
 * chunk another host's capture left in this process's memory (KeptChunks) does not complete a
 * host's artifact. Else a collector token could learn whether another host's chunk is there by
 * declaring it beside one of its own and timing what follows (the assembly, the whole hash and
 * the parse run or not), where begin and the commit only ever count the chunks a host holds.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { arrivedOf } from '../../api/ingest/arrived.js';
import { declaredRefs } from '../../api/ingest/commit-jobs.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, prepareCapture, type PreparedCapture, sendChunks } from '../helpers/ingest-client.js';

describeEachFlavour('captures: the early parse takes no chunk the host did not send', (flavour) => {
  let catalog: TestCatalog;
  let tokens: Record<string, string>;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    tokens = await collectorTokens(catalog, ['esx-victim', 'esx-probe']);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  async function send(p: PreparedCapture, token: string, only?: (sha256: string) => boolean): Promise<void> {
    const missing = [...new Set((await begin(catalog, p.request, token)).missing.map((m) => m.sha256))].filter((s) => !only || only(s));
    await sendChunks(catalog, p, missing, token);
    await arrivedOf(catalog.services.store).idle();
  }

  it("leaves an artifact naming another host's chunk to its commit", async () => {
    const dump = buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 91 });
    const victim = prepareCapture({
      host: 'esx-victim',
      artifacts: [{ kind: 'vmfs-header', fileName: 'lun0.hex', device: '/dev/disks/naa.600144f0c0ffee000000000000000091', bytes: dump, gzip: true }],
    });
    await send(victim, tokens['esx-victim']);
    await commit(catalog, victim.request.captureId, tokens['esx-victim']);

    // The probe: one chunk of its own, then the victim's first MiB (its headers), which it does not hold.
    const own = new Uint8Array(CHUNK_SIZE).fill(0x41);
    const bytes = new Uint8Array(2 * CHUNK_SIZE);
    bytes.set(own, 0);
    bytes.set(dump.subarray(0, CHUNK_SIZE), CHUNK_SIZE);
    const probe = prepareCapture({ host: 'esx-probe', artifacts: [{ kind: 'vmfs-header', fileName: 'probe.hex', bytes, gzip: true }] });
    const [ownChunk, victimChunk] = probe.request.artifacts[0].chunks.map((c) => c.sha256);
    expect(victimChunk).toBe(victim.request.artifacts[0].chunks[0].sha256);
    await send(probe, tokens['esx-probe'], (s) => s === ownChunk);

    const taken = await arrivedOf(catalog.services.store).take(probe.request.captureId, declaredRefs(probe.request));
    expect([...taken.keys()]).toEqual([]);
  });
});
