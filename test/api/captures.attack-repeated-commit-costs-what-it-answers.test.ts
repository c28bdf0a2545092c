/**
 * Repeating POST …/commit (safe: it answers the same artifact ids) costs what the answer
 * holds, not what the capture declared. A capture may declare 65,536 chunk references (~8 MB
 * of request, and as many in its artifacts' chunk lists); every repeat read all of it back —
 * the request to count the artifacts, every artifact row with its chunk list — about a second
 * of the catalog for an empty request, a hundred times the repeat of a small capture. So did a
 * poll of a commit handed to the worker. A repeat now reads the artifacts' count and the
 * columns of the answer. Here repeats of a committed capture of 65,536 references and of one
 * of 4 answer exactly what the first commit answered; their medians are printed beside each
 * other (about 1:1 now, about 45:1 before), not asserted: speed is the benchmarks' to measure.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BeginRequest, CommitResponse } from '../../formats/protocol.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, frameChunks, md5Base64, sha256Hex, uuidv7 } from '../helpers/ingest-client.js';

const RAW = new Uint8Array(16).fill(3);
const SHA = sha256Hex(RAW);

/** `artifacts` opaque artifacts, each the 16-byte chunk named `refs` times. */
function capture(host: string, artifacts: number, refs: number): BeginRequest {
  const whole = createHash('sha256');
  for (let i = 0; i < refs; i++) whole.update(RAW);
  const sha256 = whole.digest('hex');
  return {
    captureId: uuidv7(),
    host: { name: host, kind: 'esxi' },
    collectedAt: new Date().toISOString(),
    collector: { version: 'test-0' },
    artifacts: Array.from({ length: artifacts }, (_, a) => ({
      kind: 'vmfs-undelete' as const,
      fileName: `u${a}.tgz`,
      sourcePath: `/tmp/u${a}.tgz`,
      device: null,
      size: refs * 16,
      sha256,
      chunks: Array.from({ length: refs }, () => ({ sha256: SHA, size: 16, storedMd5: md5Base64(RAW) })),
    })),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describeEachFlavour('captures: a repeated commit costs what it answers', (flavour) => {
  let catalog: TestCatalog;
  let token: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    token = (await collectorTokens(catalog, ['esx-again']))['esx-again'];
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const post = async (captureId: string) => {
    const started = performance.now();
    const res = await catalog.request(`/v1/captures/${captureId}/commit`, { method: 'POST', token, headers: { prefer: 'respond-async' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as CommitResponse;
    return { ms: performance.now() - started, body };
  };

  it('answers repeats of a committed capture of 65,536 chunk references as the first commit did (their times printed)', { timeout: 240_000 }, async () => {
    const big = capture('esx-again', 16, 4096);
    const small = capture('esx-again', 1, 4);
    for (const req of [big, small]) {
      const answer = await begin(catalog, req, token);
      if (answer.missing.length > 0) {
        const res = await catalog.request(`/v1/captures/${req.captureId}/chunks`, {
          method: 'PUT',
          token,
          headers: { 'content-type': 'application/octet-stream' },
          body: frameChunks([[SHA, RAW]]) as unknown as BodyInit,
        });
        expect(res.status).toBe(200);
        await res.body?.cancel();
      }
    }
    const first = { big: (await post(big.captureId)).body, small: (await post(small.captureId)).body };
    expect(first.big.artifacts).toHaveLength(16);
    const times = { big: [] as number[], small: [] as number[] };
    for (let i = 0; i < 5; i++) {
      const b = await post(big.captureId);
      expect(b.body).toEqual(first.big);
      times.big.push(b.ms);
      const s = await post(small.captureId);
      expect(s.body).toEqual(first.small);
      times.small.push(s.ms);
    }
    const ratio = median(times.big) / median(times.small);
    console.log(
      `[${flavour}] repeated commit, median: 65,536-reference capture ${median(times.big).toFixed(1)} ms, 4-reference ${median(times.small).toFixed(1)} ms (${ratio.toFixed(2)}×)`,
    );
  });
});
