/**
 * A token written with its trailing newline (`"token": "vrc_…\n"`, a secret read from a file
 * with its line end, or `CATALOG_TOKEN="$(cat token)\n"`) could not go into an Authorization
 * header: Node refused the header (ERR_INVALID_CHAR), which the collector took for the catalog
 * out of reach — "catalog unreachable", spooled, exit 75, and cron trying again for ever. The
 * whitespace around a token is no part of it (tokens are base64url): it is sent without it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildBundle, emptyCatalog, isolatedEnv, runCollector } from './run-collector.js';

const TOKEN = 'vrc_operator-token-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'config-token-'));
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

it.each([
  ['the config file', (cfg: string) => ({ file: { catalogUrl: url, token: `${TOKEN}\n` }, env: isolatedEnv(cfg) })],
  ['CATALOG_TOKEN', (cfg: string) => ({ file: { catalogUrl: url }, env: { ...isolatedEnv(cfg), CATALOG_TOKEN: `${TOKEN}\r\n` } })],
])('from %s: sent without the line end, and the 404 answered as such (exit 1, not 75)', async (_, setup) => {
  const cfg = join(dir, `c-${Math.random().toString(36).slice(2)}.json`);
  const { file, env } = setup(cfg);
  writeFileSync(cfg, JSON.stringify(file), { mode: 0o600 });
  seen.length = 0;
  const r = await runCollector(['restore', '--volume', '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c', '-o', join(dir, 'out'), '--retries', '0'], env);
  expect(r.stderr).not.toContain('unreachable');
  expect(r.code, r.stderr).toBe(1);
  expect(seen).toEqual([`Bearer ${TOKEN}`]);
});
