/**
 * dist/lambda.mjs — the file the AWS deployment ships — answering GET /v1/artifacts/{id}/content
 * as Lambda runs it (API Gateway HTTP API v2 events, PostgreSQL and the S3 server of the test
 * run). Lambda buffers an answer and caps it at 6 MB, a binary one base64-encoded in it: an
 * artifact past BUFFERED_ANSWER_MAX_BYTES asked for without `redirect` — as the DR plan's printed
 * download, RESTORE.md and the console's links ask — is answered with a 302 to a presigned GET of
 * it assembled in the bucket, where it was streamed into the cap and failed. A smaller one, and a
 * range within the cap, are answered directly as before; a range past it goes by the 302 too, and
 * the bucket answers the range; `?redirect=0` still streams; a HEAD carries no bytes and is not
 * redirected.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUFFERED_ANSWER_MAX_BYTES } from '../../api/context.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { availableFlavours, reportMissingService, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { ROOT } from '../helpers/spawn-server.js';

const run = promisify(execFile);
const runtime = process.env.NODE22 || process.execPath;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.runIf(availableFlavours().includes('postgres-s3'))('dist/lambda.mjs: an artifact download past the answer cap', () => {
  let catalog: TestCatalog;
  const work = mkdtempSync(join(tmpdir(), 'vrc-lambda-artifact-'));
  const big = buildVmfsDisk({ extraRegions: [{ offset: 4 * 1024 * 1024, bytes: randomBytes(BUFFERED_ANSWER_MAX_BYTES + 1024 * 1024) }] });
  const small = new TextEncoder().encode('esx01 small file\n'.repeat(100));
  let bigId = '';
  let smallId = '';

  beforeAll(async () => {
    if (!process.env.NODE22)
      reportMissingService('[lambda bundle] Node 22 not used', "NODE22 is not set (.ci/run provides Lambda's Node 22); running under this Node instead");
    catalog = await startTestCatalog('postgres-s3');
    const done = await ingest(catalog, {
      host: 'esx01',
      hostKind: 'esxi',
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: 'big-header.bin',
          sourcePath: `/vmfs/devices/disks/${DEFAULTS.deviceId}`,
          device: DEFAULTS.deviceId,
          bytes: big,
          gzip: true,
        },
        { kind: 'unknown', fileName: 'notes.txt', sourcePath: '/tmp/notes.txt', bytes: small },
      ],
    });
    bigId = done.artifacts.find((a) => a.fileName === 'big-header.bin')!.id;
    smallId = done.artifacts.find((a) => a.fileName === 'notes.txt')!.id;
  }, 240_000);
  afterAll(async () => {
    await catalog?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('answers a 302 to the bucket unasked past the cap, directly within it, and Range either way', { timeout: 240_000 }, async () => {
    const script = join(work, 'invoke.mjs');
    writeFileSync(
      script,
      `
      import { handler } from ${JSON.stringify(join(ROOT, 'dist/lambda.mjs'))};
      const token = process.env.CATALOG_BOOTSTRAP_TOKEN;
      const event = (method, path, query, headers = {}) => ({
        version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: query, headers: { host: 'x.execute-api.local', ...headers },
        queryStringParameters: Object.fromEntries(new URLSearchParams(query)),
        requestContext: { http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 't' }, requestId: 'r', routeKey: '$default', stage: '$default', timeEpoch: Date.now() },
        isBase64Encoded: false,
      });
      const auth = { authorization: 'Bearer ' + token };
      const content = (id) => '/v1/artifacts/' + id + '/content';
      // The bytes of a body, not the body: a streamed big one is larger than this script's output should be.
      const brief = async (answer) => {
        const bytes = answer.body === undefined ? 0 : answer.isBase64Encoded ? Buffer.from(answer.body, 'base64') : Buffer.from(answer.body);
        return { statusCode: answer.statusCode, headers: answer.headers, length: bytes.length, sha256: (await import('node:crypto')).createHash('sha256').update(bytes).digest('hex') };
      };
      const big = content(process.env.BIG_ID);
      const out = {
        unasked: await brief(await handler(event('GET', big, '', auth), {})),
        streamed: await brief(await handler(event('GET', big, 'redirect=0', auth), {})),
        head: await brief(await handler(event('HEAD', big, '', auth), {})),
        range: await brief(await handler(event('GET', big, '', { ...auth, range: 'bytes=0-511' }), {})),
        wideRange: await brief(await handler(event('GET', big, '', { ...auth, range: 'bytes=1-' + (${BUFFERED_ANSWER_MAX_BYTES} + 1) }), {})),
        small: await brief(await handler(event('GET', content(process.env.SMALL_ID), '', auth), {})),
      };
      process.stdout.write(JSON.stringify(out));
      process.exit(0);
    `,
    );
    const c = catalog.services.config;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      DATA_DIR: join(work, 'tmp-catalog'),
      LOG_LEVEL: 'silent',
      DATABASE_URL: c.DATABASE_URL,
      DATABASE_POOL_MAX: '1',
      DATABASE_PREPARE: 'false',
      S3_BUCKET: c.S3_BUCKET,
      S3_ENDPOINT: c.S3_ENDPOINT,
      S3_REGION: c.S3_REGION,
      S3_FORCE_PATH_STYLE: 'true',
      CATALOG_BOOTSTRAP_TOKEN: catalog.adminToken,
      BIG_ID: bigId,
      SMALL_ID: smallId,
    };
    const { stdout } = await run(runtime, [script], { cwd: ROOT, env, maxBuffer: 8 << 20 });
    type Brief = { statusCode: number; headers: Record<string, string>; length: number; sha256: string };
    const out = JSON.parse(stdout) as Record<string, Brief>;

    // Unasked, past the cap: a 302 to the bucket, whose object is the artifact.
    expect(out.unasked.statusCode).toBe(302);
    const located = new Uint8Array(await (await fetch(out.unasked.headers.location)).arrayBuffer());
    expect(sha(located)).toBe(sha(big));
    // ?redirect=0 keeps its meaning: streamed (past the cap a real Lambda then fails, as asked).
    expect(out.streamed.statusCode).toBe(200);
    expect(out.streamed.sha256).toBe(sha(big));
    expect(out.head.statusCode).toBe(200);
    expect(out.head.headers['content-length']).toBe(String(big.length));
    // A range within the cap: answered directly, as before.
    expect(out.range.statusCode).toBe(206);
    expect(out.range.headers['content-range']).toBe(`bytes 0-511/${big.length}`);
    expect(out.range.sha256).toBe(sha(big.subarray(0, 512)));
    // A range past it: the 302, and the bucket answers the range sent along.
    expect(out.wideRange.statusCode).toBe(302);
    const ranged = await fetch(out.wideRange.headers.location, { headers: { range: `bytes=1-${BUFFERED_ANSWER_MAX_BYTES + 1}` } });
    expect(ranged.status).toBe(206);
    expect(sha(new Uint8Array(await ranged.arrayBuffer()))).toBe(sha(big.subarray(1, BUFFERED_ANSWER_MAX_BYTES + 2)));
    // A small artifact: answered directly.
    expect(out.small.statusCode).toBe(200);
    expect(out.small.sha256).toBe(sha(small));
  });
});
