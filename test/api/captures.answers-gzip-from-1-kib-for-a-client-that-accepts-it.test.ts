/**
 * Ingest answers go gzipped only when it pays: to a client whose Accept-Encoding takes gzip
 * (the collector's does), and only from 1 KiB of JSON on. A small answer (a chunk batch's, a
 * commit's of one artifact) goes as it is, with its length — it used to be gzipped whatever its
 * size, since the threshold looked for a Content-Length the route's JSON never had. Through a
 * real socket with the collector's own HTTP client, so what is checked is what goes over the wire.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from '../../collector/http.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { collectorTokens, frameChunks, prepareCapture } from '../helpers/ingest-client.js';

let catalog: TestCatalog;
let token: string;

beforeAll(async () => {
  catalog = await startTestCatalog('embedded', { listen: true });
  token = (await collectorTokens(catalog, ['esx-answers']))['esx-answers'];
});
afterAll(async () => {
  await catalog?.close();
});

const send = (method: string, path: string, body: Buffer | string | undefined, headers: Record<string, string>) =>
  request({ method, url: `${catalog.url}${path}`, body, headers: { authorization: `Bearer ${token}`, ...headers } });

it('gzips a begin answer of 1 KiB and more for a client that takes gzip, and nothing smaller', async () => {
  const prepared = prepareCapture({
    host: 'esx-answers',
    artifacts: Array.from({ length: 12 }, (_, i) => ({ kind: 'vmfs-undelete' as const, fileName: `u${i}.tgz`, bytes: new Uint8Array(1000).fill(i + 1) })),
  });
  const json = { 'content-type': 'application/json' };
  const plain = await send('POST', '/v1/captures', JSON.stringify(prepared.request), json);
  expect(plain.status).toBe(200);
  expect(plain.headers['content-encoding']).toBeUndefined();
  expect(plain.body.length).toBeGreaterThanOrEqual(1024);
  expect(String(plain.headers.vary)).toMatch(/accept-encoding/i);

  // The same begin again (a repeat), from a client that takes gzip: the same answer, gzipped.
  const packed = await send('POST', '/v1/captures', JSON.stringify(prepared.request), { ...json, 'accept-encoding': 'gzip' });
  expect(packed.status).toBe(200);
  expect(packed.headers['content-encoding']).toBe('gzip');
  expect(Number(packed.headers['content-length'])).toBeLessThan(plain.body.length);
  const answer = JSON.parse(packed.body.toString('utf8')) as { missing: Array<{ sha256: string }> };
  expect(answer.missing).toHaveLength(12);

  // A chunk batch's answer is well under 1 KiB: it goes as it is, with its length.
  const batch = await send(
    'PUT',
    `/v1/captures/${prepared.request.captureId}/chunks`,
    frameChunks(answer.missing.slice(0, 1).map((m) => [m.sha256, prepared.stored.get(m.sha256)!])),
    { 'content-type': 'application/octet-stream', 'accept-encoding': 'gzip' },
  );
  expect(batch.status).toBe(200);
  expect(batch.headers['content-encoding']).toBeUndefined();
  expect(Number(batch.headers['content-length'])).toBe(batch.body.length);
  expect(JSON.parse(batch.body.toString('utf8'))).toEqual({ captureId: prepared.request.captureId, received: [answer.missing[0].sha256] });

  // An error answer is JSON too, and small: as it is.
  const refused = await send('POST', '/v1/captures/not-a-capture/commit', undefined, { 'accept-encoding': 'gzip' });
  expect(refused.status).toBeGreaterThanOrEqual(400);
  expect(refused.headers['content-encoding']).toBeUndefined();
  expect(JSON.parse(refused.body.toString('utf8')).error.code).toBeTruthy();
});
