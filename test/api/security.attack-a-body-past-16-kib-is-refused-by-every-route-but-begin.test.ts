/**
 * Every POST, PATCH and DELETE under /v1 was held to the begin's 64 MiB: an admin's token
 * creation with 64 MiB of `{},` in a field the route ignores was parsed whole (1.5 GB of heap,
 * tens of seconds of the event loop) and answered 201 after, and any route that reads no body
 * (a commit, a rebuild, a scan) took 64 MiB off the socket. Now only the begin routes take a
 * begin's size; every other one takes at most SMALL_BODY_MAX_BYTES, as sent and as inflated, a
 * 413 payload_too_large in the JSON error shape before anything is parsed or run. Every such
 * operation is taken from /openapi.json, so a route added later is held to it too.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SMALL_BODY_MAX_BYTES } from '../../api/http/body-limit.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { prepareCapture, uuidv7 } from '../helpers/ingest-client.js';

const junk = (bytes: number) => `{"role":"operator","name":"x","extra":[${'{},'.repeat(Math.floor(bytes / 3))}{}]}`;
const BEGIN_OPERATIONS = ['beginCapture', 'beginCapturePartly'];

describeEachFlavour('every route but begin takes a body of at most 16 KiB', (flavour) => {
  let catalog: TestCatalog;
  let operations: Array<{ operationId: string; method: string; path: string }>;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    const spec = (await (await catalog.request('/openapi.json', { token: null })).json()) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    operations = Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ operationId: op.operationId, method: method.toUpperCase(), path })),
    );
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const send = (method: string, path: string, body: BodyInit, headers: Record<string, string> = {}) =>
    catalog.request(path, { method, headers: { 'content-type': 'application/json', ...headers }, body });

  it('answers 413 to 1 MiB on every POST, PATCH and DELETE but a begin, before it runs', async () => {
    const limited = operations.filter((op) => ['POST', 'PATCH', 'DELETE'].includes(op.method) && !BEGIN_OPERATIONS.includes(op.operationId));
    expect(limited.map((op) => op.operationId)).toEqual(expect.arrayContaining(['createToken', 'commitCapture', 'rebuildCatalog', 'revokeToken']));
    for (const op of limited) {
      const path = op.path.replace(/\{[^}]+\}/g, '00000000-0000-7000-8000-000000000001');
      const res = await send(op.method, path, junk(1024 * 1024));
      const text = await res.text();
      expect(res.status, `${op.operationId}: ${text.slice(0, 200)}`).toBe(413);
      const { error } = JSON.parse(text) as { error: { code: string; message: string; requestId: string } };
      expect([op.operationId, error.code]).toEqual([op.operationId, 'payload_too_large']);
      expect(error.requestId).toBeTruthy();
    }
    // Nothing ran: no token was created by any of them.
    const listed = (await (await catalog.request('/v1/tokens')).json()) as { tokens: unknown[] };
    expect(listed.tokens).toEqual([]);
  });

  it('holds a gzip body to it as inflated, and takes a small one', async () => {
    const packed = gzipSync(junk(4 * 1024 * 1024));
    expect(packed.length).toBeLessThan(SMALL_BODY_MAX_BYTES);
    const inflated = await send('POST', '/v1/tokens', packed as unknown as BodyInit, { 'content-encoding': 'gzip' });
    expect(inflated.status, await inflated.clone().text()).toBe(413);
    expect(((await inflated.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    // Just under it, plain and gzipped, a token is created.
    const fits = `{"role":"operator","name":"fits"}${' '.repeat(SMALL_BODY_MAX_BYTES - 40)}`;
    expect(fits.length).toBeLessThanOrEqual(SMALL_BODY_MAX_BYTES);
    expect((await send('POST', '/v1/tokens', fits)).status).toBe(201);
    expect((await send('POST', '/v1/tokens', gzipSync(fits) as unknown as BodyInit, { 'content-encoding': 'gzip' })).status).toBe(201);
  });

  it('a begin and a part still take a body of megabytes', async () => {
    const p = prepareCapture({ host: 'esx-big', captureId: uuidv7(), artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes: randomBytes(300) }] });
    const padded = (value: unknown) => `${JSON.stringify(value)}${' '.repeat(2 * 1024 * 1024)}`;
    const part = await send('POST', `/v1/captures/${p.request.captureId}/partial`, padded(p.request));
    expect(part.status, await part.clone().text()).toBe(200);
    const whole = await send('POST', '/v1/captures', padded(p.request));
    expect(whole.status, await whole.clone().text()).toBe(200);
  });
});
