/**
 * A collector token's host scope may be a pattern (`esxi-*`): one SSH proxy collects a
 * whole ESXi cluster with one token, and that token still cannot write for other hosts.
 * Letter case does not count (an ESXi host may report ESX01 for a token made for esx01); a
 * scope no capture could name (`bad host`, `esx..01`) is refused by the API and the CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostScopeCovers, hostScopeProblem } from '../../api/ingest/host-scope.js';
import { cli } from '../helpers/in-process-cli.js';
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
    ['esx01', 'ESX01', true],
    ['ESXI-*', 'esxi-01', true],
    ['esx*-*.lab', 'esx3-a.lab', true],
    ['esx*-*.lab', 'esx3.lab', false],
    ['*a*b*', 'xxaxxbxx', true],
    ['*a*b*', 'xxbxxaxx', false],
    ['a*a*a', 'aaaa', true],
    ['a*a*a', 'aa', false],
    ['*', 'anything.at.all', true],
    ['**', '', true],
    ['esxi-*', 'esxi-01/x', false],
  ])('scope %s covers %s: %s', (scope, host, covered) => {
    expect(hostScopeCovers(scope, host)).toBe(covered);
  });

  it.each([
    ['esxi01', null],
    ['esxi-*', null],
    ['*.lab.example', null],
    ['host_01', null],
    ['bad host', 'is not'],
    ['esx..01', 'is not'],
    ['esx01:22', 'is not'],
  ])('scope %s: problem %s', (scope, problem) => {
    const why = hostScopeProblem(scope);
    if (problem === null) expect(why).toBeNull();
    else expect(why).toContain(problem);
  });

  it('the CLI refuses a collector token for a host no capture could name (exit 64)', async () => {
    const run = await cli(['tokens', 'create', '--role', 'collector', '--host', 'bad host', '--name', 'x'], { DATA_DIR: '/nonexistent/never-opened' });
    expect(run.code).toBe(64);
    expect(run.err).toMatch(/^catalog: --host: host "bad host" is not dot-separated labels/);
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
    const dots = await catalog.request('/v1/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'collector', host: 'esxi..01', name: 'x' }),
    });
    expect(dots.status).toBe(400);
    expect(await dots.text()).toContain('is not dot-separated labels');
  });

  it('writes for a host whose name differs from its scope only in letter case', async () => {
    const committed = await ingest(catalog, {
      host: 'ESXI-03',
      token,
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'zfs.txt', bytes: new TextEncoder().encode('tank/ESXI-03@d1\t1793491200\t4096\n') }],
    });
    expect(committed.state).toBe('committed');
  });
});
