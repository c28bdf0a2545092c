/**
 * Authorization of every operation /openapi.json lists, from one role table: without a
 * token each guarded operation answers 401, with a token of a role it does not admit 403.
 * A new route without an entry here fails the test, so no route ships untested.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { tokenFor } from './read-side-seed.js';

type Guard = 'none' | 'admin' | 'operator' | 'collector';

/** operationId → the role it needs (admin passes every guard). */
const ROLES: Record<string, Guard> = {
  getHealth: 'none',
  getReadiness: 'none',
  createToken: 'admin',
  listTokens: 'admin',
  revokeToken: 'admin',
  rebuildCatalog: 'admin',
  reindexArtifacts: 'admin',
  runRetention: 'admin',
  checkStore: 'admin',
  pinCapture: 'admin',
  dropOpenCapture: 'admin',
  unpinCapture: 'admin',
  beginCapture: 'collector',
  sendCaptureChunks: 'collector',
  commitCapture: 'collector',
  beginCapturePartly: 'collector',
  search: 'operator',
  getVolume: 'operator',
  getLun: 'operator',
  listHosts: 'operator',
  getHost: 'operator',
  listEvents: 'operator',
  acknowledgeEvent: 'operator',
  scanEvents: 'admin',
  getArtifact: 'operator',
  getArtifactContent: 'operator',
  getVolumeRestoreBundle: 'operator',
  getLunRestoreBundle: 'operator',
  getVolumeDrPlan: 'operator',
};

const PARAM_VALUES: Record<string, string> = {
  vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c',
  deviceId: 'naa.600144f0aabbccddeeff001122334455',
  id: '0190a000-0000-7000-8000-000000000001',
  name: 'esx01',
};

interface Operation {
  method: string;
  path: string;
  operationId: string;
  security?: unknown[];
  responses: Record<string, unknown>;
}

describe('every operation in /openapi.json has a role, and the API enforces it', () => {
  let catalog: TestCatalog;
  let operations: Operation[];
  const tokens: Partial<Record<'operator' | 'collector', string>> = {};
  beforeAll(async () => {
    catalog = await startTestCatalog('embedded');
    const spec = (await (await catalog.request('/openapi.json', { token: null })).json()) as {
      paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'>>>;
    };
    operations = Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ ...op, method: method.toUpperCase(), path })),
    );
    tokens.operator = await tokenFor(catalog, 'operator');
    tokens.collector = await tokenFor(catalog, 'collector', 'esx01');
  });
  afterAll(async () => catalog?.close());

  const url = (op: Operation) => op.path.replace(/\{(\w+)\}/g, (_, p: string) => encodeURIComponent(PARAM_VALUES[p] ?? 'x'));
  const call = (op: Operation, token: string | null) =>
    catalog.request(url(op), {
      method: op.method,
      token,
      ...(op.method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
    });

  it('lists each operation of the role table and nothing else', () => {
    const ids = operations.map((o) => o.operationId);
    expect(
      ids.filter((id) => !(id in ROLES)),
      'operations without a role entry',
    ).toEqual([]);
    expect(
      Object.keys(ROLES).filter((id) => !ids.includes(id)),
      'role entries without an operation',
    ).toEqual([]);
  });

  it('documents security as the table says', () => {
    for (const op of operations) expect(op.security, op.operationId).toEqual(ROLES[op.operationId] === 'none' ? [] : [{ bearer: [] }]);
  });

  it('documents the 401 and 403 every guarded operation answers', () => {
    // POST /v1/tokens and DELETE /v1/tokens/{id} listed neither.
    for (const op of operations.filter((o) => ROLES[o.operationId] !== 'none'))
      expect([op.operationId, '401' in op.responses, '403' in op.responses]).toEqual([op.operationId, true, true]);
  });

  it('answers 401 without a token and 403 to a role it does not admit', async () => {
    for (const op of operations) {
      const guard = ROLES[op.operationId];
      if (guard === 'none') {
        expect((await call(op, null)).status, op.operationId).not.toBe(401);
        continue;
      }
      const none = await call(op, null);
      expect(none.status, `${op.operationId} without a token`).toBe(401);
      for (const role of ['operator', 'collector'] as const) {
        if (role === guard) continue;
        const res = await call(op, tokens[role]!);
        expect(res.status, `${op.operationId} with a ${role} token`).toBe(403);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
      }
    }
  });
});
