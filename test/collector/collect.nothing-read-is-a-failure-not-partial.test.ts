/**
 * A run that read nothing at all — every artifact failed, or there was nothing to read —
 * exits 1 with one line on stderr saying why; it exited 2 ("partial"), which a cron wrapper
 * or monitoring reads as "mostly worked". A run that read something and lost the rest is
 * still partial (2).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { BUNDLE, buildBundle } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'collect-nothing-'));
const root = join(dir, 'root');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  buildBundle();
  mkdirSync(root);
  writeFileSync(join(root, 'sdb'), buildVmfsDisk({ lvmMajor: 5 }));
});

function collector(args: string[]) {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(CATALOG_|COLLECTOR_)/.test(k)) env[k] = v;
  env.VMFS_COLLECTOR_CONFIG = join(dir, 'absent.json');
  // No host commands on PATH: only what --device names is read.
  env.PATH = join(dir, 'no-commands');
  return spawnSync(process.execPath, [BUNDLE, ...args], { env, encoding: 'utf8', timeout: 30_000 });
}

const collect = (...extra: string[]) => collector(['collect', '--dry-run', '--root', root, '--host', 'esx01', '--spool', join(dir, 'spool'), ...extra]);

it('exits 1 with the reason when no artifact could be read', () => {
  const r = collect('--device', '/missing-disk');
  expect(r.status, r.stderr).toBe(1);
  expect(r.stderr).toMatch(/^error: esx01: nothing could be read \(\/missing-disk: ENOENT: no such file or directory[^\n]*\)\n$/);
  expect(r.stdout).toContain('esx01 (linux) capture');
});

it('exits 1 when there was nothing to read at all', () => {
  const r = collect();
  expect(r.status, r.stderr).toBe(1);
  expect(r.stderr).toBe('error: esx01: nothing found to capture\n');
});

it('stays partial (2) when one artifact was read and another failed', () => {
  const r = collect('--json', '--device', '/missing-disk', '--device', '/sdb');
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout).captures[0].artifacts.map((a: { status: string }) => a.status)).toEqual(['error', 'ok']);
});

it('import of files that cannot be read exits 1 too', () => {
  const r = collector(['import', '--dry-run', '--host', 'esx01', '--spool', join(dir, 'spool'), join(dir, 'no-such-backup.hex')]);
  expect(r.status, r.stderr).toBe(1);
  expect(r.stderr).toMatch(/^error: esx01: nothing could be read \([^\n]*no-such-backup\.hex: ENOENT[^\n]*\)\n$/);
});

it('--help gives 1 for a run that read nothing', () => {
  const r = collector(['collect', '--help']);
  expect(r.stdout).toMatch(/1 failed \(nothing could be read;/);
});
