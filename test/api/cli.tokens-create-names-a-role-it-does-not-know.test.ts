/**
 * `npm run catalog -- tokens create --role colector …` names the role it does not know and
 * the three it does (exit 64, one line, nothing made): it said "tokens create needs --role
 * admin|operator|collector", as if --role had been left out.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, serverEnv } from '../helpers/spawn-server.js';

const cli = (dataDir: string, ...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'dist/catalog.mjs'), 'tokens', 'create', ...args], {
    env: serverEnv({ DATA_DIR: dataDir }),
    encoding: 'utf8',
    timeout: 60_000,
  });

it('a misspelt --role is named; a missing one still says --role is needed', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-cli-role-'));
  try {
    const typo = cli(dataDir, '--role', 'colector', '--host', 'esx01', '--name', 'esx01');
    expect(typo.status).toBe(64);
    expect(typo.stderr).toBe('catalog: tokens create: no role "colector"; --role is admin, operator or collector\n');
    const none = cli(dataDir, '--name', 'esx01');
    expect(none.status).toBe(64);
    expect(none.stderr).toBe('catalog: tokens create needs --role admin|operator|collector\n');
    expect(readdirSync(dataDir)).toEqual([]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
