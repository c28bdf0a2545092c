/** Begin refuses requests over the limits table (api/ingest/limits.ts) and malformed ones with 400, in the one error shape. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, ingest, prepareCapture, sha256Hex } from '../helpers/ingest-client.js';
import type { BeginRequest } from '../../formats/protocol.js';

const MiB = 1024 * 1024;
const H = (n: number) => sha256Hex(new Uint8Array([n]));

function request(artifacts: BeginRequest['artifacts']): BeginRequest {
  const r = prepareCapture({ host: 'esx-limits', artifacts: [] }).request;
  // storedMd5 is required on the S3 flavour; these tests are about other limits.
  return { ...r, artifacts: artifacts.map((a) => ({ ...a, chunks: a.chunks.map((c) => ({ storedMd5: '1B2M2Y8AsgTpgAmY7PhCfg==', ...c })) })) };
}

describeEachFlavour('captures: limits', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  async function expectError(req: unknown, status: number, code: string, message?: RegExp, limit?: string) {
    const res = await catalog.request('/v1/captures', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(req) });
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string; details?: { limit?: string } } };
    expect(body.error.code).toBe(code);
    expect(body.error.requestId).toBeTruthy();
    if (message) expect(body.error.message).toMatch(message);
    if (limit) {
      expect(body.error.details?.limit).toBe(limit);
      expect(body.error.message).toContain(`limit ${limit}`);
    }
  }

  it('refuses a chunk over 1 MiB uncompressed', async () => {
    await expectError(
      request([{ kind: 'unknown', fileName: 'big', sourcePath: '/x', size: MiB + 1, sha256: H(1), chunks: [{ sha256: H(2), size: MiB + 1 }] }]),
      400,
      'bad_request',
      /at most 1048576/,
      'chunkBytes',
    );
  });

  it('refuses more than 10,000 artifacts (400 naming the limit)', async () => {
    const one = { kind: 'unknown' as const, fileName: 'e', sourcePath: '/e', size: 0, sha256: sha256Hex(new Uint8Array(0)), chunks: [] };
    await expectError(request(Array.from({ length: 10_001 }, () => one)), 400, 'bad_request', /10000 artifacts/, 'artifactsPerCapture');
  });

  it('refuses an artifact over 4 GiB', async () => {
    const size = 4 * 1024 * MiB + 1;
    const chunks = Array.from({ length: 4096 }, (_, i) => ({ sha256: H(i % 256), size: MiB }));
    await expectError(
      request([{ kind: 'vmfs-header', fileName: 'huge', sourcePath: '/h', size, sha256: H(3), chunks }]),
      400,
      'bad_request',
      /4 GiB/,
      'artifactBytes',
    );
  });

  it('refuses a gzip chunk whose stored size is over the bound', async () => {
    await expectError(
      request([
        {
          kind: 'unknown',
          fileName: 'g',
          sourcePath: '/g',
          size: 10,
          sha256: H(4),
          chunks: [{ sha256: H(5), size: 10, encoding: 'gzip', storedSize: 2 * MiB, storedSha256: H(6) }],
        },
      ]),
      400,
      'bad_request',
      /stored as 2097152 bytes/,
      'storedChunkBytes',
    );
  });

  it('refuses chunks that do not add up to the artifact size (400)', async () => {
    await expectError(
      request([{ kind: 'unknown', fileName: 'a', sourcePath: '/a', size: 100, sha256: H(7), chunks: [{ sha256: H(8), size: 99 }] }]),
      400,
      'bad_request',
      /add up to 99/,
    );
  });

  it('refuses a body that is not the protocol (400)', async () => {
    await expectError({ captureId: 'not-a-uuid', host: { name: 'x', kind: 'esx' } }, 400, 'bad_request', /invalid request/);
    await expectError(request([{ kind: 'unknown', fileName: 'a', sourcePath: '/a', size: 1, sha256: 'ABC', chunks: [] }]), 400, 'bad_request');
    const res = await catalog.request('/v1/captures', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(res.status).toBe(400);
  });

  it('refuses a gzip chunk without its stored size and hash (400)', async () => {
    await expectError(
      request([{ kind: 'unknown', fileName: 'g', sourcePath: '/g', size: 10, sha256: H(9), chunks: [{ sha256: H(10), size: 10, encoding: 'gzip' }] }]),
      400,
      'bad_request',
    );
  });

  it('wants storedMd5 only for chunks that need an upload URL, and only on S3', async () => {
    const bytes = new TextEncoder().encode('tank/md5@a\t1793491200\t1\n');
    const first = prepareCapture({ host: 'esx-limits', artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes }] });
    const bare = (r: BeginRequest): BeginRequest => ({
      ...r,
      artifacts: r.artifacts.map((a) => ({ ...a, chunks: a.chunks.map(({ storedMd5: _, ...c }) => c) })),
    });
    const res = await catalog.request('/v1/captures', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(bare(first.request)),
    });
    if (catalog.services.store.kind === 's3') {
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/storedMd5/);
    } else {
      expect(res.status).toBe(200);
    }
    await ingest(catalog, { host: 'esx-limits', artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes }] });
    // The chunk is now held: a begin without its MD5 is fine on every store.
    const again = prepareCapture({ host: 'esx-limits', artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes }] });
    expect(await begin(catalog, bare(again.request))).toMatchObject({ state: 'open', missing: [] });
  });

  it('accepts an empty artifact and an empty capture', async () => {
    const empty = sha256Hex(new Uint8Array(0));
    const answer = await begin(catalog, request([{ kind: 'unknown', fileName: 'empty', sourcePath: '/e', size: 0, sha256: empty, chunks: [] }]));
    expect(answer).toMatchObject({ state: 'open', missing: [], present: [] });
  });
});
