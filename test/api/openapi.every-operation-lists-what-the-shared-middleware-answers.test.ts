/**
 * /openapi.json lists, for every operation, the statuses the app's shared middleware and
 * guards answer whatever the route: 400 for a path or query the app refuses (api/app.ts
 * pathOrQueryProblem), 401 and 403 from the token guard, 503 with Retry-After while the
 * database or the store is down (the guard reads the database: api/errors.ts toApiError),
 * 413 for a body over the limit (POST, PATCH, DELETE under /v1), 415 for a JSON body sent as
 * something else (see also openapi.a-json-body-route-documents-the-415-it-answers), and 429
 * with Retry-After where a route answers it. Every read and admin route answered 503
 * without listing it. Then, with the database down, each guarded operation answers that
 * 503 with its Retry-After.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { RETRY_AFTER_SECONDS } from '../../api/errors.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

interface Response_ {
  description: string;
  headers?: Record<string, unknown>;
}
interface Operation {
  operationId: string;
  method: string;
  path: string;
  security?: unknown[];
  requestBody?: { content: Record<string, unknown>; required?: boolean };
  responses: Record<string, Response_>;
}

/** The operations whose handler answers too_many_requests (api/ingest/begin.ts: a host with too many open captures). */
const ANSWER_429 = ['beginCapture', 'beginCapturePartly'];

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

const guarded = (op: Operation) => (op.security?.length ?? 0) > 0;
const missing = (want: (op: Operation) => string[]) =>
  operations.flatMap((op) =>
    want(op)
      .filter((status) => !(status in op.responses))
      .map((status) => `${op.operationId} ${status}`),
  );

it('every operation lists 400, each guarded one 401, 403 and 503', () => {
  expect(operations.filter(guarded).length).toBeGreaterThan(20);
  expect(missing((op) => ['400', ...(guarded(op) ? ['401', '403', '503'] : [])])).toEqual([]);
});

it('an operation taking a body lists 413 (POST, PATCH, DELETE) and, when the body is JSON and required, 415', () => {
  expect(
    missing((op) => [
      ...(op.requestBody && ['POST', 'PATCH', 'DELETE'].includes(op.method) ? ['413'] : []),
      ...(op.requestBody?.required && 'application/json' in op.requestBody.content ? ['415'] : []),
    ]),
  ).toEqual([]);
});

it('429 is listed where a route answers it, and each 503 and 429 says to wait Retry-After and lists the header', () => {
  expect(operations.filter((op) => '429' in op.responses).map((op) => op.operationId)).toEqual(ANSWER_429);
  for (const op of operations)
    for (const status of ['429', '503'].filter((s) => s in op.responses)) {
      const res = op.responses[status];
      expect([op.operationId, status, res.description]).toEqual([op.operationId, status, expect.stringContaining('Retry-After')]);
      expect([op.operationId, status, Object.keys(res.headers ?? {})]).toEqual([op.operationId, status, ['retry-after']]);
    }
});

it('with the database down, each guarded operation answers 503 with Retry-After', async () => {
  const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const db = new Proxy(
    {},
    {
      get() {
        throw down;
      },
    },
  );
  const app = createApp({ ...catalog.services, db: db as typeof catalog.services.db });
  const answers: string[] = [];
  for (const op of operations.filter(guarded)) {
    const res = await app.request(op.path.replace(/\{(\w+)\}/g, '0190a000-0000-7000-8000-000000000001'), {
      method: op.method,
      // An unknown token: the guard asks the database about it.
      headers: { authorization: 'Bearer vrc_not_a_known_token', 'content-type': 'application/json' },
      ...(op.method === 'GET' ? {} : { body: '{}' }),
    });
    const body = (await res.json()) as { error: { code: string } };
    answers.push(`${op.operationId} ${res.status} ${body.error.code} ${res.headers.get('retry-after')}`);
  }
  expect(answers).toEqual(operations.filter(guarded).map((op) => `${op.operationId} 503 service_unavailable ${RETRY_AFTER_SECONDS}`));
});
