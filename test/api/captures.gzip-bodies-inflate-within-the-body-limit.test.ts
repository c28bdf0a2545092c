/**
 * Request bodies may come gzipped (`Content-Encoding: gzip`, as the collector sends its
 * begin): the catalog inflates them and answers as for the plain body. The inflated bytes
 * are held to the same 64 MiB limit as a plain body — a small gzip that inflates past it is
 * a 413, answered without holding more than the limit — bytes that are not gzip are a 400,
 * another coding a 415; never a 5xx. Ingest answers are gzipped for a client that accepts it.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_JSON_BODY_BYTES } from '../../api/app.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { prepareCapture, uploadMissing } from '../helpers/ingest-client.js';

describeEachFlavour('gzip request bodies inflate within the body limit', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const post = (path: string, body: Uint8Array | string, headers: Record<string, string>) =>
    catalog.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: body as BodyInit });
  const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

  it('takes a gzipped begin as the plain one, and gzips the commit answer for a client that accepts it', async () => {
    const artifacts = Array.from({ length: 12 }, (_, i) => ({
      kind: 'vmfs-undelete' as const,
      fileName: `u${i}.tgz`,
      bytes: new Uint8Array(300_000).fill(i + 1),
    }));
    const prepared = prepareCapture({ host: 'esx-gzip', artifacts });
    const plain = JSON.stringify(prepared.request);
    const res = await post('/v1/captures', gzipSync(plain), { 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    const answer = await res.json();
    expect(answer.missing).toHaveLength(12);
    // The same begin, plain, is a repeat of the same capture.
    const again = await post('/v1/captures', plain, {});
    expect(again.status).toBe(200);
    await uploadMissing(catalog, prepared, (await again.json()) as never);

    const commit = await catalog.request(`/v1/captures/${prepared.request.captureId}/commit`, { method: 'POST', headers: { 'accept-encoding': 'gzip' } });
    expect(commit.status).toBe(200);
    expect(commit.headers.get('content-encoding')).toBe('gzip');
    const raw = new Uint8Array(await commit.arrayBuffer());
    // fetch inflates on its own; app.request (no socket) hands over the gzip bytes.
    const text = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw).toString('utf8') : new TextDecoder().decode(raw);
    const done = JSON.parse(text);
    expect(done.state).toBe('committed');
    expect(done.artifacts).toHaveLength(12);
  });

  it('answers 413 for a small gzip that inflates past the limit, 400 for bytes that are not gzip, 415 for another coding', async () => {
    const bomb = gzipSync(Buffer.alloc(MAX_JSON_BODY_BYTES + 1024, 0x20), { level: 9 });
    expect(bomb.length).toBeLessThan(MAX_JSON_BODY_BYTES / 100);
    const over = await post('/v1/captures', bomb, { 'content-encoding': 'gzip' });
    expect(over.status).toBe(413);
    expect((await errorOf(over)).message).toMatch(/inflates past/);

    const notGzip = await post('/v1/captures', '{"captureId":"x"}', { 'content-encoding': 'gzip' });
    expect(notGzip.status).toBe(400);
    expect((await errorOf(notGzip)).message).toMatch(/not valid gzip/);

    const truncated = gzipSync(JSON.stringify({ captureId: 'x', pad: 'y'.repeat(5000) })).subarray(0, 40);
    const cut = await post('/v1/captures', truncated, { 'content-encoding': 'gzip' });
    expect(cut.status).toBe(400);

    const br = await post('/v1/captures', '{}', { 'content-encoding': 'br' });
    expect(br.status).toBe(415);
    expect((await errorOf(br)).code).toBe('unsupported_media_type');
  });
});
