/**
 * Every operation whose body is JSON answers a body sent as another media type with 415
 * `unsupported_media_type`, and /openapi.json lists that 415: POST /v1/tokens and
 * PUT /v1/captures/{id}/pin answered it without listing it, and the begin routes listed
 * their 415 as a Content-Encoding other than gzip only.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

interface Operation {
  operationId: string;
  method: string;
  path: string;
  requestBody?: { content: Record<string, unknown>; required?: boolean };
  responses: Record<string, { description: string }>;
}

let catalog: TestCatalog;
let operations: Operation[];
beforeAll(async () => {
  catalog = await startTestCatalog('embedded');
  const spec = (await (await catalog.request('/openapi.json', { token: null })).json()) as {
    paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'>>>;
  };
  operations = Object.entries(spec.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ ...op, method: method.toUpperCase(), path })));
});
afterAll(async () => catalog?.close());

const PARAMS: Record<string, string> = { id: '0190a000-0000-7000-8000-000000000001' };

it('each operation that takes a required JSON body answers text with 415 and lists it', async () => {
  const json = operations.filter((o) => o.requestBody?.required && 'application/json' in o.requestBody.content);
  expect(json.map((o) => o.operationId).sort()).toEqual(['beginCapture', 'beginCapturePartly', 'createToken', 'pinCapture']);
  for (const op of json) {
    const res = await catalog.request(
      op.path.replace(/\{(\w+)\}/g, (_, p: string) => PARAMS[p]),
      { method: op.method, headers: { 'content-type': 'text/plain' }, body: '{}' },
    );
    expect([op.operationId, res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([
      op.operationId,
      415,
      'unsupported_media_type',
    ]);
    expect([op.operationId, op.responses['415']?.description]).toEqual([op.operationId, expect.stringContaining('not sent as JSON')]);
  }
});
