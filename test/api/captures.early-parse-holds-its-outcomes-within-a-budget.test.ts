/**
 * The early work (api/ingest/arrived.ts) holds the outcomes it made until their commits take
 * them, within a budget of estimated heap (EARLY_HELD_BYTES): an outcome that would go past it
 * is dropped and its commit parses the artifact itself, answering what it would have. An 8 MiB
 * `zfs list` of 166,618 snapshots held 46 MiB of heap until its commit before: that it is past
 * the budget is checked on its parse alone; the catalog is driven with a small listing and a
 * budget below it (heldBudgetForTests), the same rule. An outcome taken by its commit, or of a
 * capture pushed out, gives its share back.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ArrivedArtifacts, arrivedOf, EARLY_HELD_BYTES, estimatedHeapBytes } from '../../api/ingest/arrived.js';
import { receivedOf } from '../../api/ingest/chunks.js';
import { declaredRefs } from '../../api/ingest/commit-jobs.js';
import { parseAssembled } from '../../api/pipeline/parse.js';
import { parseArtifact } from '../../formats/parse.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, prepareCapture, type PreparedCapture, sendChunks } from '../helpers/ingest-client.js';

/**
 * `zfs list -H -p -t snapshot -o name,creation,used` (TAB-separated, epoch seconds, bytes: the
 * OpenZFS zfs-list(8) manual, -H and -p) of `size` bytes; 256 snapshots a dataset, so a chunk
 * gzips under the chunks route's 128 KiB.
 */
function zfsListing(size: number, dataset = 'tank/vmfs'): Uint8Array {
  const lines: string[] = [];
  for (let n = 0, len = 0; len < size; n++) {
    const line = `${dataset}/zvol-${n >> 8}@autosnap_${String(n & 255).padStart(4, '0')}\t${1700000000 + (n & 255) * 3600}\t${(n & 63) * 4096}`;
    lines.push(line);
    len += line.length + 1;
  }
  return new TextEncoder().encode(`${lines.join('\n').slice(0, size - 1)}\n`);
}

const listing = (host: string, bytes: Uint8Array) =>
  prepareCapture({ host, artifacts: [{ kind: 'zfs-snapshots', fileName: 'zfs-snapshots.txt', bytes, gzip: true }] });

// Once, not per flavour: the constant, against the outcome of a realistic big listing (no catalog).
it('EARLY_HELD_BYTES holds a realistic big result out: an 8 MiB zfs list of 166k snapshots is estimated past it', () => {
  expect(estimatedHeapBytes(parseArtifact('zfs-snapshots', zfsListing(8 * 1024 * 1024), {}))).toBeGreaterThan(EARLY_HELD_BYTES);
});

describeEachFlavour('captures: early parse holds its outcomes within a budget', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  async function sendAll(p: PreparedCapture): Promise<void> {
    const missing = [...new Set((await begin(catalog, p.request)).missing.map((m) => m.sha256))];
    await sendChunks(catalog, p, missing);
  }

  it('drops an outcome past the budget, and the commit parses that artifact as it would have', async () => {
    // The server's own early work with a budget below this listing's outcome: the rule the 8 MiB listing meets with EARLY_HELD_BYTES.
    const bytes = zfsListing(256 * 1024);
    const expected = JSON.parse(JSON.stringify(parseArtifact('zfs-snapshots', bytes, {})));
    const early = arrivedOf(catalog.services.store);
    const restore = early.heldBudgetForTests(Math.floor(estimatedHeapBytes(expected) / 2));
    try {
      const p = listing(`esx-budget-big-${flavour}`, bytes);
      await sendAll(p);
      await early.idle();
      expect((await early.take(p.request.captureId, declaredRefs(p.request))).size).toBe(0);
      const done = await commit(catalog, p.request.captureId);
      expect(done.artifacts.map((a) => a.parseStatus)).toEqual(['ok']);
      const stored = await catalog.request(`/v1/artifacts/${done.artifacts[0].id}`);
      expect(stored.status).toBe(200);
      expect(((await stored.json()) as { parsed: unknown }).parsed).toEqual(expected);
    } finally {
      restore();
    }
  });

  it('keeps outcomes while they fit, and one taken or pushed out makes room again', async () => {
    const bytes = (i: number) => zfsListing(64 * 1024, `tank/ds${i}`);
    const one = estimatedHeapBytes(
      parseAssembled({ kind: 'zfs-snapshots', fileName: 'zfs-snapshots.txt', sourcePath: '/x', device: null, size: 65536 }, bytes(0), 65536),
    );
    // Room for one of these outcomes, not two; at most two captures followed.
    const early = new ArrivedArtifacts(catalog.services.store, 2, Math.floor(one * 1.5));
    const captures = [0, 1, 2, 3, 4].map((i) => listing(`esx-budget-${flavour}-${i}`, bytes(i)));
    for (const p of captures) await sendAll(p);
    const follow = async (p: PreparedCapture) => {
      early.arrived(p.request.captureId, p.request.artifacts, receivedOf(catalog.services.store));
      await early.idle();
    };
    const taken = async (p: PreparedCapture) => [...(await early.take(p.request.captureId, declaredRefs(p.request))).keys()];

    await follow(captures[0]);
    await follow(captures[1]);
    // The first holds the budget: the second's outcome is dropped; taking the first gives it back.
    expect(await taken(captures[1])).toEqual([]);
    expect(await taken(captures[0])).toEqual([0]);
    await follow(captures[2]);
    await follow(captures[3]);
    // Pushed out by the fifth (two followed at once), the third gives its share back: the fifth's outcome is kept, the fourth's was not.
    await follow(captures[4]);
    expect(await taken(captures[4])).toEqual([0]);
    expect(await taken(captures[3])).toEqual([]);
    expect(await taken(captures[2])).toEqual([]);
    for (const p of captures) expect((await commit(catalog, p.request.captureId)).artifacts.map((a) => a.parseStatus)).toEqual(['ok']);
  });
});
