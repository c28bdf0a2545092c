/**
 * The early work (api/ingest/arrived.ts) follows at most four captures; a capture it stopped
 * following (pushed out by a newer one, or taken by its commit) is not followed again. Else,
 * with more captures arriving at once than it follows, each batch of a capture pushed out
 * followed it anew and pushed out another: every artifact of it complete so far was assembled,
 * hashed whole and parsed again, batch after batch, and thrown away with the next push.
 */
import { afterAll, beforeAll, expect, it, type MockInstance, vi } from 'vitest';
import { ArrivedArtifacts, arrivedOf } from '../../api/ingest/arrived.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, prepareCapture, type PreparedCapture, sendChunks } from '../helpers/ingest-client.js';

/** The early work's own step for one artifact: assembled, hashed whole, parsed. */
interface ParseStep {
  parse: (job: { artifact: { sha256: string } }, ...rest: unknown[]) => Promise<unknown>;
}

describeEachFlavour('captures: the early parse does each artifact once under many captures', (flavour) => {
  let catalog: TestCatalog;
  const hashed = new Map<string, number>();
  let step: MockInstance<ParseStep['parse']> | undefined;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    step = vi.spyOn(ArrivedArtifacts.prototype as unknown as ParseStep, 'parse');
  });
  afterAll(async () => {
    step?.mockRestore();
    await catalog?.close();
  });

  it('hashes each artifact whole at most once with five captures arriving at once', async () => {
    const captures: Array<{ p: PreparedCapture; missing: Set<string> }> = [];
    for (let h = 0; h < 5; h++) {
      const p = prepareCapture({
        host: `esx-many-${flavour}-${h}`,
        artifacts: [0, 1].map((i) => ({
          kind: 'vmfs-header' as const,
          fileName: `lun${i}.hex`,
          device: `/dev/disks/naa.600144f0c0ffee0000000000000001${h}${i}`,
          bytes: buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 1000 + 10 * h + i }),
          gzip: true,
        })),
      });
      captures.push({ p, missing: new Set((await begin(catalog, p.request)).missing.map((m) => m.sha256)) });
    }
    // Each capture's first artifact, capture after capture, then each one's second.
    for (const i of [0, 1]) {
      for (const { p, missing } of captures) {
        const mine = p.request.artifacts[i].chunks.map((c) => c.sha256).filter((s) => missing.delete(s));
        await sendChunks(catalog, p, mine);
        await arrivedOf(catalog.services.store).idle();
      }
    }
    for (const [job] of step!.mock.calls) hashed.set(job.artifact.sha256, (hashed.get(job.artifact.sha256) ?? 0) + 1);
    const artifacts = new Set(captures.flatMap(({ p }) => p.request.artifacts.map((a) => a.sha256)));
    expect([...hashed.keys()].every((s) => artifacts.has(s))).toBe(true);
    expect(Math.max(...hashed.values())).toBe(1);
    for (const { p } of captures) expect((await commit(catalog, p.request.captureId)).artifacts.map((a) => a.parseStatus)).toEqual(['ok', 'ok']);
  });
});
