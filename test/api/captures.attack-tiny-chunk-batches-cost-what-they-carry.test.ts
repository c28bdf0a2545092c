/**
 * A batch of the chunks route costs what it carries, not what its capture declared. A
 * capture may declare 65,536 chunk references (a begin of ~8 MB); each batch used to read that
 * whole declaration back from the database and walk it twice (which chunks were declared,
 * which only secret-bearing artifacts name), about a second of the catalog for a request of
 * one 16-byte chunk — so a collector token sending one-chunk batches for such a capture kept
 * the catalog busy at a thousandth of the cost to itself. The declaration is now read once per
 * begin of a capture in each process. Here one-chunk batches for a capture of 65,536
 * references and for one of 64 are each taken, interleaved; their medians are printed beside
 * each other (about 1:1 now, about 10:1 before), not asserted: speed is the benchmarks' to
 * measure, and a test's timing on a shared machine proves nothing either way.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BeginRequest } from '../../formats/protocol.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, frameChunks, md5Base64, sha256Hex, uuidv7 } from '../helpers/ingest-client.js';

const PER_ARTIFACT = 4096;

/** A capture of `n` distinct 16-byte chunks (ids from `first`), 4,096 to an artifact. */
function capture(host: string, n: number, first: number): { request: BeginRequest; chunks: Array<[string, Uint8Array]> } {
  const chunks: Array<[string, Uint8Array]> = [];
  for (let i = 0; i < n; i++) {
    const raw = new Uint8Array(16);
    new DataView(raw.buffer).setUint32(0, first + i);
    chunks.push([sha256Hex(raw), raw]);
  }
  const artifacts: BeginRequest['artifacts'] = [];
  for (let at = 0; at < n; at += PER_ARTIFACT) {
    const part = chunks.slice(at, at + PER_ARTIFACT);
    const whole = createHash('sha256');
    for (const [, raw] of part) whole.update(raw);
    artifacts.push({
      kind: 'vmfs-undelete',
      fileName: `u${at}.tgz`,
      sourcePath: `/tmp/u${at}.tgz`,
      device: null,
      size: part.length * 16,
      sha256: whole.digest('hex'),
      chunks: part.map(([sha256, raw]) => ({ sha256, size: 16, storedMd5: md5Base64(raw) })),
    });
  }
  return {
    request: { captureId: uuidv7(), host: { name: host, kind: 'esxi' }, collectedAt: new Date().toISOString(), collector: { version: 'test-0' }, artifacts },
    chunks,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describeEachFlavour('captures: tiny chunk batches cost what they carry', (flavour) => {
  let catalog: TestCatalog;
  let token: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    token = (await collectorTokens(catalog, ['esx-tiny']))['esx-tiny'];
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('takes one-chunk batches for a capture of 65,536 chunk references as for one of 64 (their times printed)', { timeout: 240_000 }, async () => {
    const big = capture('esx-tiny', 65_536, 0);
    const small = capture('esx-tiny', 64, 1_000_000);
    for (const c of [big, small]) expect((await begin(catalog, c.request, token)).missing).toHaveLength(c.chunks.length);
    const send = async (c: typeof big, i: number) => {
      const started = performance.now();
      const res = await catalog.request(`/v1/captures/${c.request.captureId}/chunks`, {
        method: 'PUT',
        token,
        headers: { 'content-type': 'application/octet-stream' },
        body: frameChunks([c.chunks[i]]) as unknown as BodyInit,
      });
      expect(res.status).toBe(200);
      await res.body?.cancel();
      return performance.now() - started;
    };
    const times = { big: [] as number[], small: [] as number[] };
    for (let i = 0; i < 6; i++) {
      times.big.push(await send(big, i));
      times.small.push(await send(small, i));
    }
    // The first batch of each reads its capture's declaration: the ones after it are what a flood costs.
    const ratio = median(times.big.slice(1)) / median(times.small.slice(1));
    console.log(
      `[${flavour}] one-chunk batch, median after the first: 65,536-reference capture ${median(times.big.slice(1)).toFixed(1)} ms, 64-reference ${median(times.small.slice(1)).toFixed(1)} ms (${ratio.toFixed(2)}×)`,
    );
  });
});
