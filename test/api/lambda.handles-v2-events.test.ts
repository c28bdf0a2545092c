/**
 * The Lambda entry serves the same app behind API Gateway HTTP API (payload v2):
 * JSON in and out, a binary download (base64 in the response), a base64 request
 * body, and errors in the one error shape.
 */
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { handlerFor } from '../../api/lambda.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, prepareCapture } from '../helpers/ingest-client.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';

interface V2Result {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
  multiValueHeaders?: unknown;
  cookies?: string[];
}

/** An API Gateway HTTP API v2 event, as the gateway sends it. */
function v2Event(method: string, path: string, options: { query?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {}) {
  const binary = options.body instanceof Uint8Array;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: options.query ?? '',
    headers: { host: 'abc123.execute-api.eu-west-1.amazonaws.com', 'user-agent': 'vitest', 'x-forwarded-for': '198.51.100.7', ...options.headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(options.body !== undefined
      ? { body: binary ? Buffer.from(options.body as Uint8Array).toString('base64') : (options.body as string), isBase64Encoded: binary }
      : { isBase64Encoded: false }),
  };
}

const lambdaContext = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'catalog',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:catalog',
  memoryLimitInMB: '1024',
  awsRequestId: 'req',
  logGroupName: '/aws/lambda/catalog',
  logStreamName: 's',
  getRemainingTimeInMillis: () => 30_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
};

describeEachFlavour('lambda handler', (flavour) => {
  let catalog: TestCatalog;
  let invoke: (event: ReturnType<typeof v2Event>) => Promise<V2Result>;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const handler = handlerFor(catalog.app);
    invoke = async (event) => (await handler(event as never, lambdaContext as never)) as V2Result;
  });
  afterAll(async () => {
    await catalog?.close();
  });
  const auth = () => ({ authorization: `Bearer ${catalog.adminToken}` });

  it('answers JSON: health and a begin call', async () => {
    const health = await invoke(v2Event('GET', '/healthz'));
    expect(health.statusCode).toBe(200);
    expect(JSON.parse(health.body!)).toEqual({ status: 'ok' });

    const prepared = prepareCapture({
      host: 'esx-lambda',
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: new TextEncoder().encode('tank/l@a\t1793491200\t1\n') }],
    });
    const res = await invoke(
      v2Event('POST', '/v1/captures', { headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify(prepared.request) }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers?.['content-type']).toMatch(/application\/json/);
    const answer = JSON.parse(res.body!) as { state: string; missing: Array<{ url: string }> };
    expect(answer.state).toBe('open');
    expect(answer.missing).toHaveLength(1);
  });

  it('streams a binary download back base64-encoded with its ETag', async () => {
    const bytes = buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 31 });
    const done = await ingest(catalog, { host: 'esx-lambda', artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', bytes }] });
    const res = await invoke(v2Event('GET', `/v1/artifacts/${done.artifacts[0].id}/content`, { headers: auth() }));
    expect(res.statusCode).toBe(200);
    expect(res.isBase64Encoded).toBe(true);
    const body = Buffer.from(res.body!, 'base64');
    expect(body.length).toBe(bytes.length);
    const sha = createHash('sha256').update(body).digest('hex');
    expect(sha).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(res.headers?.etag).toContain(sha);
  });

  it('takes a base64 request body (a chunk upload on the filesystem store)', async () => {
    const chunk = new TextEncoder().encode('tank/l2@b\t1793491200\t2\n');
    const prepared = prepareCapture({ host: 'esx-lambda', artifacts: [{ kind: 'zfs-snapshots', fileName: 'z2.txt', bytes: chunk }] });
    const beginRes = await invoke(
      v2Event('POST', '/v1/captures', { headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify(prepared.request) }),
    );
    const [target] = (JSON.parse(beginRes.body!) as { missing: Array<{ url: string; headers: Record<string, string> }> }).missing;
    if (catalog.services.store.kind === 'fs') {
      const u = new URL(target.url);
      const put = await invoke(
        v2Event('PUT', u.pathname, { query: u.search.slice(1), headers: { ...target.headers, 'content-type': 'application/octet-stream' }, body: chunk }),
      );
      expect(put.statusCode).toBe(200);
    } else {
      // On S3 the upload goes to the store itself, never through the function.
      expect(new URL(target.url).host).not.toBe('abc123.execute-api.eu-west-1.amazonaws.com');
      const put = await fetch(target.url, { method: 'PUT', headers: target.headers, body: chunk });
      expect(put.ok).toBe(true);
    }
    const commit = await invoke(v2Event('POST', `/v1/captures/${prepared.request.captureId}/commit`, { headers: auth() }));
    expect(commit.statusCode).toBe(200);
    expect(JSON.parse(commit.body!)).toMatchObject({ state: 'committed', artifacts: [{ parseStatus: 'ok' }] });
  });

  it('answers errors in the one error shape', async () => {
    const missing = await invoke(v2Event('GET', '/v1/no-such-route', { headers: auth() }));
    expect(missing.statusCode).toBe(404);
    expect(JSON.parse(missing.body!).error).toMatchObject({ code: 'not_found' });
    const unauth = await invoke(v2Event('POST', '/v1/captures', { headers: { 'content-type': 'application/json' }, body: '{}' }));
    expect(unauth.statusCode).toBe(401);
    const body = JSON.parse(unauth.body!);
    expect(body.error.code).toBe('unauthorized');
    expect(body.error.requestId).toBeTruthy();
    const bad = await invoke(v2Event('POST', '/v1/captures', { headers: { ...auth(), 'content-type': 'application/json' }, body: '{"captureId":1}' }));
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body!).error.code).toBe('bad_request');
  });
});
