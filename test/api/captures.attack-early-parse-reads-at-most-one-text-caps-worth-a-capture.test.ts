/**
 * The early parse (ingest/arrived.ts) parses an artifact on the event loop as soon as a chunk
 * batch brings its last chunk, and a capture may name the same chunks in 10,000 artifacts: one
 * collector token's batch of one 1.5 KB chunk, for a capture of 30 artifacts of the same 6 MiB
 * list, held the real server's event loop for most of a minute (/healthz answered 13 times in
 * 60 s, the slowest after 10.9 s), and 10,000 would hold it for hours, before any commit. Early
 * work now reads at most EARLY_TEXT_BYTES (one text kind at its 32 MiB cap) of a capture's
 * text; the commit parses the rest itself, with the same outcomes.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { arrivedOf, EARLY_TEXT_BYTES } from '../../api/ingest/arrived.js';
import { declaredRefs } from '../../api/ingest/commit-jobs.js';
import { MAX_TEXT_BYTES } from '../../formats/text.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, prepareCapture, sendChunks } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;
/**
 * 6 MiB of lines a zfs list skips (no TAB): six times the same 1 MiB chunk, gzipped to about
 * 1.5 KB. The bound counts bytes, not lines: lines of 4 KiB keep the parses to 1,536 lines each.
 */
const skipped = new TextEncoder().encode(`${'x@y 1 1 '.repeat(511)}x@y 1 1\n`.repeat((6 * MiB) / 4096));

describeEachFlavour('captures: the early parse reads at most one text cap’s worth a capture', (flavour) => {
  let catalog: TestCatalog;
  let token: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    ({ 'san-early': token } = await collectorTokens(catalog, ['san-early']));
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('parses five of thirty 6 MiB lists early from one chunk sent, and the commit the other 25 as it would have', async () => {
    const p = prepareCapture({
      host: 'san-early',
      hostKind: 'solaris',
      artifacts: Array.from({ length: 30 }, (_, i) => ({ kind: 'zfs-snapshots' as const, fileName: `junk${i}.txt`, bytes: skipped, gzip: true })),
    });
    const answer = await begin(catalog, p.request, token);
    const missing = [...new Set(answer.missing.map((m) => m.sha256))];
    expect(missing).toHaveLength(1);
    const early = arrivedOf(catalog.services.store);
    const started = performance.now();
    await sendChunks(catalog, p, missing, token);
    await early.idle();
    console.log(`early work done ${Math.round(performance.now() - started)} ms after the batch`);
    // 32 MiB of text: five lists of 6 MiB; the sixth would pass it.
    expect((await early.take(p.request.captureId, declaredRefs(p.request))).size).toBe(5);
    const done = await commit(catalog, p.request.captureId, token);
    expect(done.artifacts.map((a) => a.parseError?.code)).toEqual(Array(30).fill('unrecognized'));
    expect(EARLY_TEXT_BYTES).toBe(MAX_TEXT_BYTES);
  }, 240_000);
});
