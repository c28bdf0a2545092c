/**
 * Every read route: 401 without a token or with a bad or revoked one, 403 for a
 * collector token (it may only write its own host's captures), 200 for operator and
 * admin. Downloads and bundles leave audit rows naming the token.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { EXTENT1, PROD, seedDatacenter, tokenFor, type Seeded } from './read-side-seed.js';

describeEachFlavour('read routes: security', (flavour) => {
  let catalog: TestCatalog;
  let seeded: Seeded;
  let operator: string;
  let collector: string;
  let routes: string[];
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    seeded = await seedDatacenter(catalog);
    operator = await tokenFor(catalog, 'operator');
    collector = await tokenFor(catalog, 'collector', 'esx01');
    const artifactId = seeded.esx01.artifacts[0].id;
    routes = [
      '/v1/search?q=esx01',
      `/v1/volumes/${PROD.vmfsUuid}`,
      `/v1/luns/${EXTENT1.deviceId}`,
      '/v1/hosts',
      '/v1/hosts/esx01',
      '/v1/events',
      `/v1/artifacts/${artifactId}`,
      `/v1/artifacts/${artifactId}/content`,
      `/v1/volumes/${PROD.vmfsUuid}/restore-bundle`,
      `/v1/luns/${EXTENT1.deviceId}/restore-bundle`,
      `/v1/volumes/${PROD.vmfsUuid}/dr-plan`,
    ];
  });
  afterAll(async () => catalog?.close());

  const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  it('401 without a token and with an unknown one', async () => {
    for (const path of routes) {
      const none = await catalog.request(path, { token: null });
      expect(none.status, path).toBe(401);
      expect(await errorCode(none)).toBe('unauthorized');
      const bad = await catalog.request(path, { token: 'vrc_not-a-real-token-at-all' });
      expect(bad.status, path).toBe(401);
      expect(await errorCode(bad)).toBe('unauthorized');
    }
  });

  it('403 for a collector token on every read route', async () => {
    for (const path of routes) {
      const res = await catalog.request(path, { token: collector });
      expect(res.status, path).toBe(403);
      expect(await errorCode(res)).toBe('forbidden');
    }
  });

  it('200 for operator and admin tokens', async () => {
    for (const token of [operator, catalog.adminToken]) {
      for (const path of routes) {
        const res = await catalog.request(path, { token });
        expect(res.status, path).toBe(200);
        await res.arrayBuffer();
      }
    }
  });

  it('writes an audit row for every download and bundle, naming the token', async () => {
    const artifactId = seeded.esx01.artifacts[0].id;
    const [{ id: operatorTokenId }] = await queryRows<{ id: string }>(catalog.services.db, sql`SELECT id FROM tokens WHERE role = 'operator'`);
    const before = await queryRows<{ n: number }>(catalog.services.db, sql`SELECT count(*)::int AS n FROM audit WHERE action IN ('download', 'bundle')`);
    const res = await catalog.request(`/v1/artifacts/${artifactId}/content`, { token: operator, headers: { 'x-forwarded-for': '192.0.2.7' } });
    await res.arrayBuffer();
    const bundle = await catalog.request(`/v1/volumes/${PROD.vmfsUuid}/restore-bundle`, { token: operator });
    await bundle.arrayBuffer();
    const rows = await queryRows<Record<string, unknown>>(
      catalog.services.db,
      sql`
      SELECT action, subject, token_id, role, remote_addr, request_id FROM audit WHERE action IN ('download', 'bundle') ORDER BY id DESC LIMIT 2`,
    );
    expect(rows).toHaveLength(2);
    // TRUST_PROXY is off: the header is ignored, and app.request() has no socket peer.
    expect(rows[1]).toMatchObject({ action: 'download', subject: artifactId, token_id: operatorTokenId, role: 'operator', remote_addr: null });
    expect(rows[0]).toMatchObject({ action: 'bundle', subject: PROD.vmfsUuid, token_id: operatorTokenId, role: 'operator' });
    expect(rows[0].request_id).toBe(bundle.headers.get('x-request-id'));
    const after = await queryRows<{ n: number }>(catalog.services.db, sql`SELECT count(*)::int AS n FROM audit WHERE action IN ('download', 'bundle')`);
    expect(after[0].n - before[0].n).toBe(2);
  });

  it('/openapi.json documents every read route with bearer security', async () => {
    const doc = (await (await catalog.request('/openapi.json', { token: null })).json()) as { paths: Record<string, { get?: { security?: unknown[] } }> };
    for (const path of [
      '/v1/search',
      '/v1/volumes/{vmfsUuid}',
      '/v1/luns/{deviceId}',
      '/v1/hosts',
      '/v1/hosts/{name}',
      '/v1/events',
      '/v1/artifacts/{id}',
      '/v1/artifacts/{id}/content',
      '/v1/volumes/{vmfsUuid}/restore-bundle',
      '/v1/luns/{deviceId}/restore-bundle',
      '/v1/volumes/{vmfsUuid}/dr-plan',
    ]) {
      expect(doc.paths[path]?.get?.security, path).toEqual([{ bearer: [] }]);
    }
  });

  it("every GET route /openapi.json lists under /v1 is in this test's route table", async () => {
    const doc = (await (await catalog.request('/openapi.json', { token: null })).json()) as { paths: Record<string, { get?: unknown }> };
    const templates = routes.map((r) => r.split('?')[0]);
    const covered = (path: string) => templates.some((t) => new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(t));
    // Admin-only reads are covered by the admin tests; everything else must be here.
    const uncovered = Object.keys(doc.paths).filter(
      (p) => p.startsWith('/v1/') && doc.paths[p].get && !p.startsWith('/v1/tokens') && !p.startsWith('/v1/admin') && !covered(p),
    );
    expect(uncovered).toEqual([]);
  });

  it('401 once the operator token is revoked', async () => {
    const created = await catalog.request('/v1/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'operator', name: 'short-lived' }),
    });
    const { id, token } = (await created.json()) as { id: string; token: string };
    expect((await catalog.request('/v1/hosts', { token })).status).toBe(200);
    expect((await catalog.request(`/v1/tokens/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await catalog.request('/v1/hosts', { token })).status).toBe(401);
  });
});
