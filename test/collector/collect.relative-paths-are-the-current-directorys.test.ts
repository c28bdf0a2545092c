/**
 * `--file KIND:PATH`, `--device PATH` and `--undelete PATH` given relative are the current
 * directory's, as any command line's are: they were joined under the host root (`/`), and
 * `--file vh-sf:vh.sf` run from the directory holding it read /vh.sf (ENOENT).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { BUNDLE, buildBundle } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'collect-relative-'));
const cwd = join(dir, 'work');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  buildBundle();
  mkdirSync(join(cwd, 'sub'), { recursive: true });
  writeFileSync(join(cwd, 'disk.img'), buildVmfsDisk({ lvmMajor: 5 }));
  writeFileSync(join(cwd, 'sub', 'ds1.vh.sf'), Buffer.alloc(4096, 1));
});

function collector(args: string[]) {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(CATALOG_|COLLECTOR_)/.test(k)) env[k] = v;
  env.VMFS_COLLECTOR_CONFIG = join(dir, 'absent.json');
  env.PATH = join(dir, 'no-commands');
  return spawnSync(process.execPath, [BUNDLE, ...args], { env, cwd, encoding: 'utf8', timeout: 30_000 });
}

it('collect reads a relative --file and --device from the current directory', () => {
  const r = collector([
    'collect',
    '--dry-run',
    '--json',
    '--host',
    'esx01',
    '--spool',
    join(dir, 'spool'),
    '--file',
    'vh-sf:sub/ds1.vh.sf',
    '--device',
    './disk.img',
  ]);
  expect(r.status, r.stderr).toBe(0);
  const arts = JSON.parse(r.stdout).captures[0].artifacts;
  expect(arts.map((a: { sourcePath: string; status: string }) => [a.sourcePath, a.status])).toEqual([
    [join(cwd, 'disk.img'), 'ok'],
    [join(cwd, 'sub', 'ds1.vh.sf'), 'ok'],
  ]);
});

it('discover shows the paths it would read', () => {
  const r = collector(['discover', '--json', '--file', 'vh-sf:sub/ds1.vh.sf', '--undelete', 'sub']);
  expect(r.status, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)[0].artifacts.map((a: { sourcePath: string }) => a.sourcePath)).toEqual([
    join(cwd, 'sub', 'ds1.vh.sf'),
    join(cwd, 'sub', 'ds1.vh.sf'),
  ]);
});
