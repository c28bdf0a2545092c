/**
 * An environment variable set to nothing (`CATALOG_URL=` in a cron env file) is unset, as the
 * catalog takes its own (api/config.ts loadConfig): the next source applies — the config
 * file, else the default. The collector took the empty value: `CATALOG_URL=` failed with
 * "catalog URL is not a URL: " even when the config file named one, `CATALOG_TOKEN=` hid the
 * file's token, and `COLLECTOR_HOST=` named the host "" (discover) or failed "host name "" is
 * empty" (collect). Through the built bundle.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildBundle, emptyCatalog, isolatedEnv, runCollector } from './run-collector.js';

const TOKEN = 'vrc_operator-token-0123456789abcdef';
const VOLUME = '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c';
const dir = mkdtempSync(join(tmpdir(), 'config-empty-env-'));
let catalog: Awaited<ReturnType<typeof emptyCatalog>>;
let url = '';
let seen: string[] = [];

beforeAll(async () => {
  buildBundle();
  catalog = await emptyCatalog();
  ({ url, seen } = catalog);
});
afterAll(async () => {
  await catalog?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A config file holding `file`, and an env naming it with `vars` set on top. */
function setup(file: Record<string, unknown>, vars: Record<string, string>): NodeJS.ProcessEnv {
  const cfg = join(dir, `c-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(cfg, JSON.stringify(file), { mode: 0o600 });
  return { ...isolatedEnv(cfg), ...vars };
}

const restore = (env: NodeJS.ProcessEnv) => runCollector(['restore', '--volume', VOLUME, '-o', join(dir, 'out'), '--retries', '0'], env);

it("empty CATALOG_URL and CATALOG_TOKEN: the config file's URL and token are used", async () => {
  seen.length = 0;
  const r = await restore(setup({ catalogUrl: url, token: TOKEN }, { CATALOG_URL: '', CATALOG_TOKEN: '' }));
  expect(r.stderr).not.toContain('not a URL');
  expect(r.code, r.stderr).toBe(1);
  expect(seen).toEqual([`Bearer ${TOKEN}`]);
});

it('empty CATALOG_URL with none in the config file: the usage error says no catalog URL is set', async () => {
  const r = await restore(setup({ token: TOKEN }, { CATALOG_URL: '' }));
  expect(r.code, r.stderr).toBe(64);
  expect(r.stderr).toContain('no catalog URL: pass --url, set CATALOG_URL, or "catalogUrl" in the config file');
});

it("empty COLLECTOR_HOST: the config file's host, else this host's name", async () => {
  const named = await runCollector(['discover', '--json'], setup({ host: 'esx07' }, { COLLECTOR_HOST: '' }));
  expect(named.code, named.stderr).toBe(0);
  expect(JSON.parse(named.stdout)[0].host.name).toBe('esx07');
  const own = await runCollector(['discover', '--json'], setup({}, { COLLECTOR_HOST: '' }));
  expect(JSON.parse(own.stdout)[0].host.name).toBe(hostname());
  const collect = await runCollector(['collect', '--dry-run', '--json', '--spool', join(dir, 'spool')], setup({ host: 'esx07' }, { COLLECTOR_HOST: '' }));
  expect(collect.stderr).not.toContain('host name');
  expect(JSON.parse(collect.stdout).captures[0].host).toBe('esx07');
});

it('--help says so', async () => {
  const r = await runCollector(['--help'], setup({}, {}));
  expect(r.stdout.replace(/\s+/g, ' ')).toContain('A variable set to nothing is unset.');
});
