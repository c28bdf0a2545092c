/**
 * dist/lambda.mjs — the file the AWS deployment ships — with a commit too large for one
 * request (COMMIT_INLINE_MAX_BYTES = 1 MiB here), run as Lambda runs it: a Node process
 * configured only by environment (AWS_LAMBDA_FUNCTION_NAME as Lambda sets it), answering
 * API Gateway v2 events. The test plays the Lambda service: a local endpoint
 * (AWS_ENDPOINT_URL_LAMBDA) takes the function's asynchronous self-invocation, and the
 * test delivers that event to the handler, as Lambda would — no AWS account.
 * Checked: 202 + Retry-After and one 'Event' invocation `{kind:'commit',captureId}` per
 * hand-off; the delivered event commits the capture; a second delivery of the same event
 * (Lambda retries asynchronous events) finds nothing to do; the next POST answers 200
 * with the artifact ids a synchronous commit gives; a job whose invocation was lost is run
 * by the scheduled maintenance function. Under Node 22 when NODE22 names it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { artifactId } from '../../api/ingest/begin.js';
import { openDb, type Db } from '../../db/client.js';
import { artifacts, captures, commitJobs } from '../../db/schema.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { availableFlavours, reportMissingService, startTestCatalog, type Flavour, type TestCatalog } from '../helpers/catalog.js';
import { prepareCapture, type PreparedCapture } from '../helpers/ingest-client.js';
import { ROOT } from '../helpers/spawn-server.js';

const run = promisify(execFile);
const runtime = process.env.NODE22 || process.execPath;
const MiB = 1024 * 1024;

/** The child: begin, upload, commit (202), deliver the self-invocation, commit (200); then a lost invocation and maintenance. */
const SCRIPT = `
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { handler, maintenance } from ${JSON.stringify(join(ROOT, 'dist/lambda.mjs'))};
const input = JSON.parse(readFileSync(process.env.INPUT, 'utf8'));
const invocations = [];
const lambdaService = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    invocations.push({ method: req.method, path: req.url, type: req.headers['x-amz-invocation-type'], payload: body });
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end();
  });
});
await new Promise((r) => lambdaService.listen(0, '127.0.0.1', r));
process.env.AWS_ENDPOINT_URL_LAMBDA = 'http://127.0.0.1:' + lambdaService.address().port;
const auth = { authorization: 'Bearer ' + process.env.CATALOG_BOOTSTRAP_TOKEN };
const event = (method, path, { query = '', headers = {}, body } = {}) => ({
  version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: query, headers: { host: 'x.execute-api.local', ...headers },
  requestContext: { http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 't' }, requestId: 'r', routeKey: '$default', stage: '$default', timeEpoch: Date.now() },
  ...(body !== undefined ? { body: Buffer.from(body).toString('base64'), isBase64Encoded: true } : { isBase64Encoded: false }),
});
const context = (id) => ({ awsRequestId: id, getRemainingTimeInMillis: () => 900000 });
const commit = async (id) => {
  const r = await handler(event('POST', '/v1/captures/' + id + '/commit', { headers: { ...auth, prefer: 'respond-async' } }), context('http'));
  return { statusCode: r.statusCode, retryAfter: r.headers?.['retry-after'] ?? null, body: JSON.parse(r.body) };
};
async function upload(capture) {
  const begun = await handler(event('POST', '/v1/captures', { headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(capture.request) }), context('begin'));
  if (begun.statusCode !== 200) throw new Error('begin answered ' + begun.statusCode + ' ' + begun.body);
  for (const t of JSON.parse(begun.body).missing) {
    const bytes = Buffer.from(capture.chunks[t.sha256], 'base64');
    const u = new URL(t.url);
    if (u.pathname.startsWith('/v1/blobs/')) {
      const put = await handler(event('PUT', u.pathname, { query: u.search.slice(1), headers: { ...auth, ...t.headers, 'content-type': 'application/octet-stream' }, body: bytes }), context('put'));
      if (put.statusCode !== 200) throw new Error('PUT answered ' + put.statusCode);
    } else {
      const put = await fetch(t.url, { method: 'PUT', headers: t.headers, body: bytes });
      if (!put.ok) throw new Error('PUT answered ' + put.status);
    }
  }
}
const [big, lost] = input.captures;
await upload(big);
const out = { first: await commit(big.request.captureId) };
out.repeat = await commit(big.request.captureId);
out.invocations = invocations.slice();
out.delivered = await handler(JSON.parse(invocations[0].payload), context('async-1'));
out.redelivered = await handler(JSON.parse(invocations[1].payload), context('async-2'));
out.done = await commit(big.request.captureId);
await upload(lost);
out.lostFirst = await commit(lost.request.captureId);
out.maintenance = (await maintenance()).commitJobs;
out.lostDone = await commit(lost.request.captureId);
process.stdout.write(JSON.stringify(out));
process.exit(0);
`;

interface Answer {
  statusCode: number;
  retryAfter: string | null;
  body: Record<string, unknown> & { artifacts?: Array<{ id: string; parseStatus: string }> };
}

function bigCapture(host: string): PreparedCapture {
  const dump = buildVmfsDisk({ dumpLength: 6 * MiB, extraRegions: [{ offset: 4 * MiB, bytes: randomBytes(2 * MiB) }] });
  return prepareCapture({ host, artifacts: [{ kind: 'vmfs-header', fileName: 'support.bin', device: DEFAULTS.deviceId, bytes: dump }] });
}

for (const flavour of availableFlavours() as Flavour[]) {
  describe(`dist/lambda.mjs hands a large commit to itself [${flavour}]`, () => {
    const work = mkdtempSync(join(tmpdir(), 'vrc-lambda-commit-'));
    let catalog: TestCatalog | undefined;
    afterAll(async () => {
      await catalog?.close();
      rmSync(work, { recursive: true, force: true });
    });

    it('answers 202, commits when its async commit event is delivered, and maintenance runs a lost one', { timeout: 300_000 }, async () => {
      if (!process.env.NODE22)
        reportMissingService('[lambda bundle] Node 22 not used', "NODE22 is not set (.ci/run provides Lambda's Node 22); running under this Node instead");
      const token = `lambda-commit-admin-${randomBytes(16).toString('hex')}`;
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        AWS_LAMBDA_FUNCTION_NAME: 'catalog-api',
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'AKIDLOCALTEST',
        AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local-test-secret',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        DATA_DIR: join(work, 'data'),
        LOG_LEVEL: 'silent',
        CATALOG_BOOTSTRAP_TOKEN: token,
        COMMIT_INLINE_MAX_BYTES: String(MiB),
        SCRUB_PERCENT: '0',
        INPUT: join(work, 'input.json'),
      };
      if (flavour === 'postgres-s3') {
        catalog = await startTestCatalog('postgres-s3', { env: { CATALOG_BOOTSTRAP_TOKEN: token } });
        const c = catalog.services.config;
        Object.assign(env, {
          DATABASE_URL: c.DATABASE_URL,
          DATABASE_POOL_MAX: '1',
          DATABASE_PREPARE: 'false',
          S3_BUCKET: c.S3_BUCKET,
          S3_ENDPOINT: c.S3_ENDPOINT,
          S3_REGION: c.S3_REGION,
          S3_FORCE_PATH_STYLE: 'true',
        });
      }
      const captures2 = [bigCapture('esx-lambda-big'), bigCapture('esx-lambda-lost')];
      const input = {
        captures: captures2.map((p) => ({
          request: p.request,
          chunks: Object.fromEntries([...p.stored].map(([sha, bytes]) => [sha, Buffer.from(bytes).toString('base64')])),
        })),
      };
      writeFileSync(env.INPUT!, JSON.stringify(input));
      writeFileSync(join(work, 'invoke.mjs'), SCRIPT);
      const { stdout } = await run(runtime, [join(work, 'invoke.mjs')], { cwd: ROOT, env, maxBuffer: 8 << 20 });
      const out = JSON.parse(stdout) as {
        first: Answer;
        repeat: Answer;
        invocations: Array<{ method: string; path: string; type: string; payload: string }>;
        delivered: { captureId: string; outcome: string };
        redelivered: { captureId: string; outcome: string };
        done: Answer;
        lostFirst: Answer;
        maintenance: Record<string, number>;
        lostDone: Answer;
      };
      const [big, lost] = captures2.map((p) => p.request.captureId);

      expect(out.first.statusCode).toBe(202);
      expect(out.first.body).toMatchObject({ captureId: big, state: 'committing', startedAt: null });
      expect(Number(out.first.retryAfter)).toBeGreaterThanOrEqual(2);
      expect(out.repeat.statusCode).toBe(202);
      // One asynchronous invocation of the function itself per hand-off, carrying the commit event.
      expect(out.invocations).toHaveLength(2);
      for (const inv of out.invocations) {
        expect(inv.method).toBe('POST');
        expect(decodeURIComponent(inv.path)).toBe('/2015-03-31/functions/catalog-api/invocations');
        expect(inv.type).toBe('Event');
        expect(JSON.parse(inv.payload)).toEqual({ kind: 'commit', captureId: big });
      }
      expect(out.delivered).toEqual({ captureId: big, outcome: 'committed' });
      expect(out.redelivered).toEqual({ captureId: big, outcome: 'not-taken' });
      expect(out.done.statusCode).toBe(200);
      expect(out.done.body.state).toBe('committed');
      expect(out.done.body.artifacts!.map((a) => [a.id, a.parseStatus])).toEqual([[artifactId(big, 0), 'ok']]);

      expect(out.lostFirst.statusCode).toBe(202);
      expect(out.maintenance).toMatchObject({ committed: 1, failed: 0 });
      expect(out.lostDone.statusCode).toBe(200);
      expect(out.lostDone.body.artifacts!.map((a) => a.id)).toEqual([artifactId(lost, 0)]);

      // Each capture committed once; no job left.
      const opened = catalog ? null : await openDb({ dataDir: env.DATA_DIR! });
      const db: Db = catalog ? catalog.services.db : opened!.db;
      try {
        expect(
          await db
            .select({ id: captures.id, state: captures.state })
            .from(captures)
            .where(inArray(captures.id, [big, lost])),
        ).toHaveLength(2);
        for (const id of [big, lost]) {
          expect(await db.select({ state: captures.state }).from(captures).where(eq(captures.id, id))).toEqual([{ state: 'committed' }]);
          expect(await db.select({ id: artifacts.id }).from(artifacts).where(eq(artifacts.captureId, id))).toEqual([{ id: artifactId(id, 0) }]);
        }
        expect(await db.select().from(commitJobs)).toEqual([]);
      } finally {
        await opened?.close();
      }
    });
  });
}
