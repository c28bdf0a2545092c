/**
 * `npm run catalog -- --version` (and -V) prints the catalog's version, package.json's, as the
 * collector's --version does, and exits 0 without opening the database — it was node's raw
 * parseArgs error ("To specify a positional argument starting with a '-' …") and exit 64.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT, serverEnv } from '../helpers/spawn-server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'vrc-cli-version-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const cli = (args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'dist/catalog.mjs'), ...args], {
    cwd: ROOT,
    env: serverEnv({ DATA_DIR: dataDir }),
    encoding: 'utf8',
    timeout: 60_000,
  });

it('prints the package version', () => {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
  for (const flag of ['--version', '-V']) {
    const r = cli([flag]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
    expect(r.stderr).toBe('');
  }
  const asJson = cli(['--version', '--json']);
  expect(asJson.status).toBe(0);
  expect(JSON.parse(asJson.stdout)).toEqual({ version });
  expect(cli(['--help']).stdout).toMatch(/-V, --version\s+the catalog's version/);
  // Nothing was opened: no database was made in DATA_DIR.
  expect(readdirSync(dataDir)).toEqual([]);
});
