/**
 * The Lambda entry takes two kinds of events: API Gateway v2 requests, and the
 * `{ kind: 'commit', captureId }` event the API function sends itself for a commit handed to
 * a worker. With the services injected (as tests do; the deployed bundle is checked in
 * test/deploy/), a large commit answers 202, the hand-off carries the capture id, delivering
 * the event runs the job, and a second delivery (Lambda retries asynchronous events) finds
 * nothing to do. Only well-formed commit events are taken for one.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { handlerFor, isCommitEvent } from '../../api/lambda.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;

function v2Event(method: string, path: string, headers: Record<string, string>) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'abc123.execute-api.eu-west-1.amazonaws.com', ...headers },
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
  };
}

it('takes only a well-formed commit event for one', () => {
  expect(isCommitEvent({ kind: 'commit', captureId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' })).toBe(true);
  for (const e of [
    null,
    'commit',
    {},
    { kind: 'commit' },
    { kind: 'commit', captureId: '../../etc' },
    { kind: 'other', captureId: randomUUID() },
    v2Event('GET', '/healthz', {}),
  ])
    expect(isCommitEvent(e)).toBe(false);
});

describeEachFlavour('lambda handler: commit events', (flavour) => {
  let catalog: TestCatalog;
  const handed: string[] = [];
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { env: { COMMIT_INLINE_MAX_BYTES: String(MiB) } });
    catalog.services.dispatchCommit = async (captureId) => {
      handed.push(captureId);
    };
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('answers 202, runs the job when the event is delivered, and a second delivery does nothing', async () => {
    const handler = handlerFor(catalog.app, catalog.services);
    const call = async (event: unknown) => (await handler(event as never, { awsRequestId: randomUUID() } as never)) as Record<string, unknown>;
    const dump = buildVmfsDisk({ dumpLength: 6 * MiB, extraRegions: [{ offset: 4 * MiB, bytes: randomBytes(2 * MiB) }] });
    const p = prepareCapture({ host: 'esx-lambda-event', artifacts: [{ kind: 'vmfs-header', fileName: 'support.bin', bytes: dump }] });
    await uploadMissing(catalog, p, await begin(catalog, p.request));
    const id = p.request.captureId;
    const commit = () => call(v2Event('POST', `/v1/captures/${id}/commit`, { authorization: `Bearer ${catalog.adminToken}`, prefer: 'respond-async' }));

    const first = await commit();
    expect(first.statusCode).toBe(202);
    expect((first.headers as Record<string, string>)['retry-after']).toMatch(/^\d+$/);
    expect(handed).toEqual([id]);

    expect(await call({ kind: 'commit', captureId: id })).toEqual({ captureId: id, outcome: 'committed' });
    expect(await call({ kind: 'commit', captureId: id })).toEqual({ captureId: id, outcome: 'not-taken' });

    const done = await commit();
    expect(done.statusCode).toBe(200);
    expect(JSON.parse(done.body as string)).toMatchObject({ state: 'committed', artifacts: [{ parseStatus: 'ok' }] });
  });
});
