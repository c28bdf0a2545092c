/**
 * `node infra/build.mjs --sever --cli` (a typo of the systemd layout's `--server --cli`) built
 * the collector and the CLI, said nothing of `--sever`, exited 0 — and the host copied a dist/
 * without server.mjs. An option the script does not know is now refused before anything is
 * built (exit 64, one line); `--help` prints the usage; `--out` without a directory is refused.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/spawn-server.js';

const build = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'infra/build.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

it('an unknown option: one line, exit 64, nothing built', () => {
  const r = build('--sever', '--cli');
  expect(r.status).toBe(64);
  expect(r.stderr).toBe('build: unknown option --sever (node infra/build.mjs --help lists them)\n');
  expect(r.stdout).toBe('');
});

it('--out without a directory is refused', () => {
  const r = build('--server', '--out');
  expect(r.status).toBe(64);
  expect(r.stderr).toBe('build: --out needs a directory\n');
});

it('--help prints the usage and builds nothing', () => {
  const r = build('--help');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^usage: node infra\/build\.mjs \[--quiet\] \[--lambda \| --lambda-only\] \[--server\] \[--cli\] \[--out DIR\] \[--if-changed\]\n/);
  expect(r.stdout).not.toContain('KiB');
});
