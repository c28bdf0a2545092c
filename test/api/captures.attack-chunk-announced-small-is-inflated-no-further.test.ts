/**
 * A gzip chunk is inflated no further than the size its declaration announces. The size is
 * the collector's to declare, and it also sets how zlib hands the output over (one piece of
 * that size): a chunk announced as 1 byte and stored as 1 KiB of gzip that inflates to 1 MiB
 * was inflated to the 1 MiB bound in 64-byte pieces, 16,384 trips between zlib's thread and
 * the event loop, before it was refused — nearly a second of the catalog's CPU for 1 KiB sent,
 * up to 1,024 times a batch of the chunks route and 65,536 times a commit. Such a chunk is
 * refused as soon as its output passes what was announced (422, the size named), through the
 * chunks route and from staging at commit alike; a bomb announced at the full 1 MiB is still
 * the 413 of test/api/captures.refuses-bad-chunks.test.ts.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BeginRequest } from '../../formats/protocol.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, frameChunks, md5Base64, putChunk, sha256Hex, uuidv7 } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;
/** 1 MiB of zeros as gzip: about 1 KiB. */
const BOMB = new Uint8Array(gzipSync(new Uint8Array(MiB)));

/** `n` one-byte artifacts (bytes `first`…), each a single chunk announced as 1 byte and stored as BOMB. */
function bombs(host: string, n: number, first: number): BeginRequest {
  return {
    captureId: uuidv7(),
    host: { name: host, kind: 'esxi' },
    collectedAt: new Date().toISOString(),
    collector: { version: 'test-0' },
    artifacts: Array.from({ length: n }, (_, i) => {
      const one = new Uint8Array([first + i]);
      const sha = sha256Hex(one);
      return {
        kind: 'vmfs-undelete' as const,
        fileName: `b${i}.tgz`,
        sourcePath: `/tmp/b${i}.tgz`,
        device: null,
        size: 1,
        sha256: sha,
        chunks: [{ sha256: sha, size: 1, encoding: 'gzip' as const, storedSize: BOMB.length, storedSha256: sha256Hex(BOMB), storedMd5: md5Base64(BOMB) }],
      };
    }),
  };
}

describeEachFlavour('captures: a chunk announced small is inflated no further', (flavour) => {
  let catalog: TestCatalog;
  let token: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    token = (await collectorTokens(catalog, ['esx-bomb']))['esx-bomb'];
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('the chunks route refuses a batch of them at once, naming the announced size', async () => {
    const req = bombs('esx-bomb', 32, 0);
    const answer = await begin(catalog, req, token);
    expect(answer.missing).toHaveLength(32);
    const started = performance.now();
    const res = await catalog.request(`/v1/captures/${req.captureId}/chunks`, {
      method: 'PUT',
      token,
      headers: { 'content-type': 'application/octet-stream' },
      body: frameChunks(answer.missing.map((m) => [m.sha256, BOMB])) as unknown as BodyInit,
    });
    const ms = performance.now() - started;
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status, JSON.stringify(body)).toBe(422);
    expect(body.error.message).toMatch(/inflates past its announced 1 bytes/);
    // 32 bounded inflates of 2 bytes each (printed, not asserted: speed is the benchmarks' to measure).
    console.log(`[${flavour}] a batch of 32 announced-small bombs refused in ${ms.toFixed(0)} ms`);
  });

  it('the commit refuses one staged through its upload URL the same way', async () => {
    const req = bombs('esx-bomb', 4, 100);
    const answer = await begin(catalog, req, token);
    for (const m of answer.missing) expect((await putChunk(catalog, m, BOMB)).ok).toBe(true);
    const res = await catalog.request(`/v1/captures/${req.captureId}/commit`, { method: 'POST', token });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status, JSON.stringify(body)).toBe(422);
    expect(body.error.message).toMatch(/inflates past its announced 1 bytes/);
  });
});
