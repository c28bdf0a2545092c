/**
 * `npm run bench -- serch` (a typo) printed "## serch: no benchmark file (…)" and exited 0;
 * `npm run bench -- --help` ran every benchmark, minutes of load on a shared machine. A name
 * that is no benchmark and an option the runner does not know are now refused before any
 * benchmark runs (exit 64, one line naming the benchmarks); --help prints the usage.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/spawn-server.js';

const bench = (...args: string[]) =>
  spawnSync(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'test/bench/run.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
const NAMES = 'formats, collector, catalog, start, search, load, health, sizing, bigcommit';

it('a name that is no benchmark: one line naming them, exit 64, none run', () => {
  const r = bench('search', 'serch');
  expect(r.status).toBe(64);
  expect(r.stderr).toBe(`bench: no benchmark "serch"; the benchmarks: ${NAMES}\n`);
  expect(r.stdout).toBe('');
});

it('an option it does not know: exit 64, none run', () => {
  const r = bench('--quick');
  expect(r.status).toBe(64);
  expect(r.stderr).toBe('bench: unknown option --quick (npm run bench -- --help)\n');
  expect(r.stdout).toBe('');
});

it('--help prints the usage and the names, and runs none', () => {
  const r = bench('--help');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('usage: npm run bench [-- NAME...]');
  expect(r.stdout).toContain(NAMES);
  expect(r.stdout).not.toContain('## ');
});
