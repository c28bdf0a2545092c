/**
 * A begin's body is counted before it is parsed: a JSON text costs its parse tens of bytes of
 * heap for every object, array, number or string it holds, where each may take two bytes of
 * text (`{},`), so a body within the 64 MiB limit — or a 64 KiB gzip inflating to it — of
 * empty objects in a field the catalog ignores held 1.5 GB of heap and the event loop for
 * about 27 s a parse (the route parsed it twice), and three such begins at once froze the
 * catalog for 200 s at 5.3 GB. A collector token is all that takes. Such a body is now a 400
 * naming `requestJsonValues` after one pass over its text; a begin at every other limit of
 * the table, with every optional field, holds about half as many (538,761) and is taken.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LIMITS } from '../../api/ingest/limits.js';
import type { BeginRequest } from '../../formats/protocol.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { collectorTokens, prepareCapture, sha256Hex } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;

/** A begin of `host` whose host object also holds `filler` in a field the catalog does not know. */
function beginWith(host: string, filler: string): { captureId: string; body: string } {
  const { request } = prepareCapture({ host, artifacts: [] });
  return { captureId: request.captureId, body: JSON.stringify(request).replace('"host":{', `"host":{"note":${filler},`) };
}

/** `[{},{},…]` of about `bytes` bytes. */
const emptyObjects = (bytes: number) => `[${'{},'.repeat(Math.floor(bytes / 3))}{}]`;

describeEachFlavour('captures: a begin of millions of tiny values is refused before it is parsed', (flavour) => {
  let catalog: TestCatalog;
  let token: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    ({ 'esx-values': token } = await collectorTokens(catalog, ['esx-values']));
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const post = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
    catalog.request(path, { method: 'POST', token, headers: { 'content-type': 'application/json', ...headers }, body: body as BodyInit });

  async function expectRefused(res: Response, started: number) {
    const text = await res.text();
    expect(res.status, text).toBe(400);
    const error = JSON.parse(text).error;
    expect(error.code).toBe('bad_request');
    expect(error.details?.limit).toBe('requestJsonValues');
    expect(error.message).toContain('limit requestJsonValues');
    console.log(`refused in ${Math.round(performance.now() - started)} ms`);
  }

  it('refuses 8 MiB of empty objects in an unknown field (2.8 million values) with 400 naming the limit, at begin and at partial', async () => {
    const { captureId, body } = beginWith('esx-values', emptyObjects(8 * MiB));
    let started = performance.now();
    await expectRefused(await post('/v1/captures', body), started);
    started = performance.now();
    await expectRefused(await post(`/v1/captures/${captureId}/partial`, body), started);
  });

  it('refuses a 64 KiB gzip that inflates to 48 MiB of empty objects, numbers or strings, without parsing it', async () => {
    for (const filler of [emptyObjects(48 * MiB), `[${'0,'.repeat(24 * MiB)}0]`, `[${'"",'.repeat(16 * MiB)}""]`]) {
      const { body } = beginWith('esx-values', filler);
      const packed = gzipSync(body, { level: 9 });
      expect(packed.length).toBeLessThan(256 * 1024);
      const started = performance.now();
      const res = await post('/v1/captures', packed, { 'content-encoding': 'gzip' });
      // The time it took is printed, not asserted: counting stops at the limit, where a parse took tens of seconds.
      await expectRefused(res, started);
    }
  });

  it('takes a begin at every other limit with every optional field (10,000 artifacts, 65,536 gzip chunks)', async () => {
    const one = new Uint8Array([1]);
    const chunk = {
      sha256: sha256Hex(one),
      size: 1,
      encoding: 'gzip' as const,
      storedSize: 21,
      storedSha256: sha256Hex(gzipSync(one)),
      storedMd5: 'AAAAAAAAAAAAAAAAAAAAAA==',
    };
    const per = [7, 6];
    const artifacts: BeginRequest['artifacts'] = Array.from({ length: LIMITS.artifactsPerCapture }, (_, i) => {
      // 5,536 artifacts of 7 chunks and 4,464 of 6: 65,536 chunk references in all.
      const n = i < LIMITS.chunksPerCapture - 6 * LIMITS.artifactsPerCapture ? per[0] : per[1];
      return {
        kind: 'unknown',
        fileName: `f${i}.bin`,
        sourcePath: `/captures/${i}`,
        device: `naa.${String(i).padStart(32, '0')}`,
        size: n,
        sha256: sha256Hex(new Uint8Array(n).fill(1)),
        chunks: Array.from({ length: n }, () => chunk),
      };
    });
    expect(artifacts.reduce((s, a) => s + a.chunks.length, 0)).toBe(LIMITS.chunksPerCapture);
    const { request } = prepareCapture({ host: 'esx-values', systemUuid: '4c4c4544-0042-3510-8052-b4c04f4e3132', artifacts: [] });
    const body = JSON.stringify({ ...request, collector: { version: 'test-0', mode: 'collect' }, artifacts });
    const res = await post('/v1/captures', body, { prefer: 'return=minimal' });
    expect(res.status, (await res.clone().text()).slice(0, 300)).toBe(200);
    expect(((await res.json()) as { missing: unknown[] }).missing).toHaveLength(1);
  }, 120_000);
});
