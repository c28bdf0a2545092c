/**
 * A file named whole (--file) is read up to its kind's cap — what the catalog parses of a
 * text kind, 4 GiB (its artifactBytes) of the rest — and one byte more: a special file
 * (/dev/zero) stops there and fails that artifact with one clear error, where it was read for
 * ever (vh-sf) or into a buffer past Node's limit (esx-inventory, ERR_OUT_OF_RANGE). The other
 * artifacts of the run are kept.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUNDLE, buildBundle } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'collect-cap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  buildBundle();
  writeFileSync(join(dir, 'ds1.vh.sf'), Buffer.alloc(4096, 1));
});

function collect(...files: string[]) {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(CATALOG_|COLLECTOR_)/.test(k)) env[k] = v;
  env.VMFS_COLLECTOR_CONFIG = join(dir, 'absent.json');
  env.PATH = join(dir, 'no-commands');
  const args = ['collect', '--dry-run', '--json', '--host', 'esx01', '--spool', join(dir, 'spool'), ...files.flatMap((f) => ['--file', f])];
  return spawnSync(process.execPath, [BUNDLE, ...args], { env, encoding: 'utf8', timeout: 60_000 });
}

it('stops a text kind at what the catalog parses of it, and keeps the rest of the run', () => {
  const r = collect('esx-inventory:/dev/zero', 'stmf-smf:/dev/zero', `vh-sf:${join(dir, 'ds1.vh.sf')}`);
  expect(r.status, r.stderr).toBe(2);
  const arts = JSON.parse(r.stdout).captures[0].artifacts;
  expect(arts.map((a: { status: string; error: string | null }) => [a.status, a.error])).toEqual([
    ['error', 'esx-inventory over its 33554432-byte cap: stopped reading'],
    ['error', 'stmf-smf over its 16777216-byte cap: stopped reading'],
    ['ok', null],
  ]);
});

it('stops a binary kind at the 4 GiB the catalog takes of an artifact', { timeout: 60_000 }, () => {
  const r = collect('vh-sf:/dev/zero');
  expect(r.status, r.stderr).toBe(1);
  expect(JSON.parse(r.stdout).captures[0].artifacts[0].error).toBe('vh-sf over its 4294967296-byte cap: stopped reading');
});
