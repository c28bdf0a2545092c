/**
 * Each answer names its request id in X-Request-Id and in an error body: the client's own
 * X-Request-Id when it is 1–100 letters, digits, `_`, `.` or `-` (a proxy's, so one request can
 * be followed through both logs), else a new UUID — never text a log line could be forged with.
 * As docs/architecture.md ("Errors") says.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

let catalog: TestCatalog;
beforeAll(async () => {
  catalog = await startTestCatalog('embedded');
});
afterAll(async () => catalog?.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

it("keeps a client's safe request id on the answer and in the error body", async () => {
  const res = await catalog.request('/v1/volumes/not-a-uuid', { headers: { 'x-request-id': 'proxy-7f3a.01_b' } });
  expect(res.status).toBe(400);
  expect(res.headers.get('x-request-id')).toBe('proxy-7f3a.01_b');
  expect(((await res.json()) as { error: { requestId: string } }).error.requestId).toBe('proxy-7f3a.01_b');
});

it.each([
  ['a blank', 'a b'],
  ['a quote', 'x"y'],
  ['101 characters', 'x'.repeat(101)],
])('replaces one holding %s with a new UUID', async (_, sent) => {
  const res = await catalog.request('/healthz', { headers: { 'x-request-id': sent } });
  expect(res.headers.get('x-request-id')).toMatch(UUID);
});

it('makes one when the client sends none', async () => {
  expect((await catalog.request('/healthz')).headers.get('x-request-id')).toMatch(UUID);
});
