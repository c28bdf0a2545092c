/**
 * The Error schema of /openapi.json names its `code` as an enum of exactly the codes
 * `api/errors.ts` maps to a status, so a generated client can switch on it: it was a free
 * string. The wire shape is unchanged: `{"error":{"code","message","requestId"}}`.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../api/errors.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

let catalog: TestCatalog;
let code: { type?: string; enum?: string[] };
beforeAll(async () => {
  catalog = await startTestCatalog('embedded');
  const spec = (await (await catalog.request('/openapi.json', { token: null })).json()) as {
    components: { schemas: { Error: { properties: { error: { properties: { code: typeof code } } } } } };
  };
  code = spec.components.schemas.Error.properties.error.properties.code;
});
afterAll(async () => catalog?.close());

it('lists each code of ERROR_STATUS, and no other', () => {
  const taxonomy = Object.keys(ERROR_STATUS);
  expect(code.type).toBe('string');
  expect(
    taxonomy.filter((c) => !code.enum?.includes(c)),
    'codes of the taxonomy the enum lacks',
  ).toEqual([]);
  expect(
    (code.enum ?? []).filter((c) => !taxonomy.includes(c)),
    'codes in the enum the taxonomy lacks',
  ).toEqual([]);
});

it('an error answer carries one of those codes, in the same shape', async () => {
  const res = await catalog.request('/v1/search?q=x', { token: null });
  expect(res.status).toBe(401);
  const body = (await res.json()) as { error: Record<string, unknown> };
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'requestId']);
  expect(code.enum).toContain(body.error.code);
});
