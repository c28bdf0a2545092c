/**
 * A collector token's host scope may be a pattern (`esxi-*`): one SSH proxy collects a
 * whole ESXi cluster with one token, and that token still cannot write for other hosts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostScopeCovers } from '../../api/ingest/host-scope.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, prepareCapture } from '../helpers/ingest-client.js';

describe('hostScopeCovers', () => {
  it.each([
    ['esxi01', 'esxi01', true],
    ['esxi01', 'esxi02', false],
    ['esxi-*', 'esxi-01', true],
    ['esxi-*', 'esxi-', true],
    ['esxi-*', 'san01', false],
    ['esx.1', 'esxx1', false], // a dot is a dot, not "any character"
    ['*.lab.example', 'esx3.lab.example', true],
    ['*.lab.example', 'esx3.lab.example.evil', false],
  ])('scope %s covers %s: %s', (scope, host, covered) => {
    expect(hostScopeCovers(scope, host)).toBe(covered);
  });
});

describe('a collector token scoped esxi-*', () => {
  let catalog: TestCatalog;
  let token: string;
  const zfs = (host: string) =>
    prepareCapture({
      host,
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'zfs.txt', bytes: new TextEncoder().encode(`tank/${host}@d1\t1793491200\t4096\n`) }],
    });

  beforeAll(async () => {
    catalog = await startTestCatalog('embedded');
    const res = await catalog.request('/v1/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'collector', host: 'esxi-*', name: 'ssh proxy' }),
    });
    expect(res.status).toBe(201);
    token = ((await res.json()) as { token: string }).token;
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('writes captures for every matching host', async () => {
    for (const host of ['esxi-01', 'esxi-02']) {
      const committed = await ingest(catalog, {
        host,
        token,
        artifacts: [{ kind: 'zfs-snapshots', fileName: 'zfs.txt', bytes: new TextEncoder().encode(`tank/${host}@d1\t1793491200\t4096\n`) }],
      });
      expect(committed.state).toBe('committed');
    }
  });

  it('is refused with 403 for a host outside the pattern', async () => {
    const res = await catalog.request('/v1/captures', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(zfs('san01').request),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
  });

  it('refuses a host scope with characters outside host names and *', async () => {
    const res = await catalog.request('/v1/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'collector', host: 'esxi-(.*)', name: 'x' }),
    });
    expect(res.status).toBe(400);
  });
});
