/**
 * GET /v1/artifacts/{id}/content gives back the original bytes — also of gzip-stored
 * chunks — with ETag = SHA-256, the original file name, Content-Length, single
 * ranges across chunk boundaries (206), 416 with the error shape for a range past
 * the end, 304 for a matching If-None-Match, and a 302 to a presigned GET of the
 * assembled object with ?redirect=1. Runs over a real socket.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { extent1Dump, T0 } from './read-side-seed.js';

interface Json {
  [k: string]: any;
}
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describeEachFlavour('GET /v1/artifacts/{id}/content', (flavour) => {
  let catalog: TestCatalog;
  // 2.5 MiB: a header dump with random bytes appended, cut into 3 chunks, stored gzip.
  let bytes: Uint8Array;
  let gzId: string;
  let plainId: string;
  let plainBytes: Uint8Array;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    bytes = new Uint8Array([...extent1Dump(), ...randomBytes(CHUNK_SIZE / 2)]);
    plainBytes = new Uint8Array(randomBytes(CHUNK_SIZE + 1000));
    const res = await ingest(catalog, {
      host: 'esx01',
      collectedAt: T0,
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: 'naa.600144f0aabbccddeeff001122334455 (lun 3).hex',
          device: 'naa.600144f0aabbccddeeff001122334455',
          bytes,
          gzip: true,
        },
        { kind: 'vmfs-undelete', fileName: 'undelete.bu', sourcePath: '/vmfs/volumes/x/undelete.bu', bytes: plainBytes },
      ],
    });
    gzId = res.artifacts[0].id;
    plainId = res.artifacts[1].id;
  });
  afterAll(async () => catalog?.close());

  it('streams the original bytes with ETag, Content-Length and the original file name', async () => {
    for (const [id, want, name] of [
      [gzId, bytes, 'naa.600144f0aabbccddeeff001122334455 (lun 3).hex'],
      [plainId, plainBytes, 'undelete.bu'],
    ] as const) {
      const res = await catalog.request(`/v1/artifacts/${id}/content`);
      expect(res.status).toBe(200);
      const body = new Uint8Array(await res.arrayBuffer());
      expect(body.length).toBe(want.length);
      expect(sha256(body)).toBe(sha256(want));
      expect(res.headers.get('etag')).toBe(`"${sha256(want)}"`);
      expect(res.headers.get('content-length')).toBe(String(want.length));
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent(name)}`);
    }
  });

  it('serves a single range across a chunk boundary as 206 with Content-Range', async () => {
    // [Range header, first byte, last byte] for an artifact of n bytes.
    const cases = (n: number): Array<[string, number, number]> => [
      [`bytes=${CHUNK_SIZE - 10}-${CHUNK_SIZE + 9}`, CHUNK_SIZE - 10, CHUNK_SIZE + 9],
      ['bytes=0-511', 0, 511],
      [`bytes=${CHUNK_SIZE}-`, CHUNK_SIZE, n - 1],
      ['bytes=-100', n - 100, n - 1],
      [`bytes=${n - 5}-${n + 1000}`, n - 5, n - 1],
    ];
    for (const [id, want] of [
      [gzId, bytes],
      [plainId, plainBytes],
    ] as const) {
      for (const [range, from, to] of cases(want.length)) {
        const res = await catalog.request(`/v1/artifacts/${id}/content`, { headers: { range } });
        expect(res.status, range).toBe(206);
        expect(res.headers.get('content-range'), range).toBe(`bytes ${from}-${to}/${want.length}`);
        expect(res.headers.get('content-length'), range).toBe(String(to - from + 1));
        const body = Buffer.from(await res.arrayBuffer());
        expect(body.equals(Buffer.from(want.subarray(from, to + 1))), range).toBe(true);
      }
    }
  });

  it('answers 416 with the error shape for a range past the end', async () => {
    const res = await catalog.request(`/v1/artifacts/${gzId}/content`, { headers: { range: `bytes=${bytes.length}-` } });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    const body = (await res.json()) as Json;
    expect(body.error).toMatchObject({ code: 'range_not_satisfiable' });
    expect(typeof body.error.requestId).toBe('string');
  });

  it('answers 304 when If-None-Match names the SHA-256, and ignores a stale If-Range', async () => {
    const etag = `"${sha256(bytes)}"`;
    const res = await catalog.request(`/v1/artifacts/${gzId}/content`, { headers: { 'if-none-match': etag } });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe(etag);
    const other = await catalog.request(`/v1/artifacts/${gzId}/content`, { headers: { 'if-none-match': '"0000"' } });
    expect(other.status).toBe(200);
    await other.arrayBuffer();
    const stale = await catalog.request(`/v1/artifacts/${gzId}/content`, { headers: { range: 'bytes=0-9', 'if-range': '"stale"' } });
    expect(stale.status).toBe(200);
    expect((await stale.arrayBuffer()).byteLength).toBe(bytes.length);
  });

  it('with ?redirect=1 answers 302 to a presigned GET of the same bytes', async () => {
    const res = await catalog.request(`/v1/artifacts/${gzId}/content?redirect=1`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = res.headers.get('location')!;
    expect(location).toBeTruthy();
    const direct = await fetch(location);
    expect(direct.status).toBe(200);
    expect(sha256(new Uint8Array(await direct.arrayBuffer()))).toBe(sha256(bytes));
    // Content-addressed: asking again reuses the assembled object.
    const again = await catalog.request(`/v1/artifacts/${gzId}/content?redirect=1`, { redirect: 'manual' });
    expect(again.status).toBe(302);
  });

  it('GET /v1/artifacts/{id} gives metadata and what the parser found; unknown ids are 404', async () => {
    const res = await catalog.request(`/v1/artifacts/${gzId}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({
      id: gzId,
      host: 'esx01',
      kind: 'vmfs-header',
      size: bytes.length,
      sha256: sha256(bytes),
      chunkCount: 3,
      parseStatus: 'ok',
      collectedAt: T0.toISOString(),
      contentUrl: `/v1/artifacts/${gzId}/content`,
    });
    expect(body.committedAt).toEqual(expect.any(String));
    expect(body.parsed.device.deviceId).toBe('naa.600144f0aabbccddeeff001122334455');
    for (const path of ['/v1/artifacts/no-such-artifact', '/v1/artifacts/no-such-artifact/content']) {
      const missing = await catalog.request(path);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as Json).error.code).toBe('not_found');
    }
  });
});
