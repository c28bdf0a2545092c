/**
 * A proxy's wildcard collector token brings at most COLLECTOR_TOKEN_HOSTS_MAX hosts into the
 * catalog. When a run names one more ESXi host, the catalog refuses that host's begin with 403
 * and `details.limit` COLLECTOR_TOKEN_HOSTS_MAX. That refusal is the host's, not the token's:
 * the host's captures stay in the spool (said once, exit 1), while the run's other hosts — in
 * that run and in every next one — are still delivered; a refused token (401, or 403 for its
 * scope) still holds back the whole run, as deliver.mends-422-commits… shows. Once the host has a
 * token of its own, the next run delivers what waited.
 *
 * One flavour: what is under test is the collector's reading of the catalog's answer, which
 * both flavours give alike (the API test captures.attack-a-wildcard-token… checks that answer,
 * details included, on both).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { collectorTokens } from '../helpers/ingest-client.js';
import { fakeSsh, MiB, stageEsxiHost, stageFolder, type EsxiHost, type StagedHost } from '../helpers/staged-hosts.js';
import { buildBundle, runJson } from './run-collector.js';

const BOUND = 2;

describe('a host past its token’s host bound', { timeout: 120_000 }, () => {
  let catalog: TestCatalog;
  let esxi: EsxiHost;
  let proxy: StagedHost;
  let tokens: Record<string, string>;

  beforeAll(async () => {
    buildBundle();
    [catalog, esxi] = await Promise.all([
      startTestCatalog('embedded', { listen: true, env: { COLLECTOR_TOKEN_HOSTS_MAX: String(BOUND) } }),
      stageEsxiHost([{ deviceId: 'naa.6006016012345678abcdef0123450b0d', index: 3, sizeBytes: 4 * MiB }]),
    ]);
    proxy = stageFolder('staged-proxy-');
    // Every ssh target reaches the same staged ESXi host: three host names, one set of bytes.
    fakeSsh(proxy, esxi.root, esxi.bin);
    tokens = await collectorTokens(catalog, ['esxi-*', 'esxi-c']);
  }, 120_000);
  afterAll(async () => {
    await catalog?.close();
    esxi?.cleanup();
    proxy?.cleanup();
  });

  const spool = () => join(proxy.dir, 'spool');
  const collect = (token: string, hosts: string[]) =>
    runJson(['collect', '--json', ...hosts.flatMap((h) => ['--ssh', `root@${h}`]), '--spool', spool(), '--url', catalog.url, '--retries', '0'], {
      ...proxy.env,
      CATALOG_TOKEN: token,
    });
  const states = (r: { json: { captures: Array<{ host: string; state: string }> } }) => Object.fromEntries(r.json.captures.map((c) => [c.host, c.state]));
  const waiting = () => readdirSync(join(spool(), 'captures')).filter((f) => f.endsWith('.json'));
  const hostNames = async () => {
    const res = await catalog.request('/v1/hosts?limit=1000');
    return ((await res.json()) as { hosts: Array<{ name: string }> }).hosts.map((h) => h.name);
  };

  it('keeps only that host waiting, run after run, and delivers it once the host has a token of its own', async () => {
    const first = await collect(tokens['esxi-*']!, ['esxi-a', 'esxi-b', 'esxi-c']);
    expect(first.code, first.stderr).toBe(1);
    expect(states(first)).toEqual({ 'esxi-a': 'committed', 'esxi-b': 'committed', 'esxi-c': 'spooled' });
    const c = first.json.captures.find((x: { host: string }) => x.host === 'esxi-c');
    expect(c.error).toMatch(/^this token may not bring esxi-c into the catalog: COLLECTOR_TOKEN_HOSTS_MAX reached \(HTTP 403\)/);
    // Said once, on one line, naming the host and what mends it; never blamed on the token.
    const said = first.stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(said).toEqual([`error: ${c.error}`]);
    expect(c.error).toMatch(/kept in the spool until each has a token of its own or the setting is raised$/);
    expect(first.stderr).not.toMatch(/refused the token|not allowed to send/);
    expect(first.json.error).toEqual({ code: 'failed', message: said[0]!.slice('error: '.length) });
    expect(waiting()).toEqual([`${c.captureId}.json`]);
    expect(await hostNames()).toEqual(['esxi-a', 'esxi-b']);

    // The next run tries the waiting capture first; its refusal holds back neither the spool's
    // next capture nor the run's own hosts.
    const second = await collect(tokens['esxi-*']!, ['esxi-a', 'esxi-b', 'esxi-c']);
    expect(second.code, second.stderr).toBe(1);
    expect(states(second)).toEqual({ 'esxi-a': 'committed', 'esxi-b': 'committed', 'esxi-c': 'spooled' });
    expect(second.json.spool.delivered).toEqual([]);
    expect(waiting()).toHaveLength(2);
    expect(await hostNames()).toEqual(['esxi-a', 'esxi-b']);

    // With a token of its own, esxi-c's run delivers both captures that waited, and its own.
    const own = await collect(tokens['esxi-c']!, ['esxi-c']);
    expect(own.code, own.stderr).toBe(0);
    expect(states(own)).toEqual({ 'esxi-c': 'committed' });
    expect(own.json.spool.delivered).toHaveLength(2);
    expect(waiting()).toEqual([]);
    expect(await hostNames()).toEqual(['esxi-a', 'esxi-b', 'esxi-c']);
  });
});
