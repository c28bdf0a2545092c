/**
 * `npm run collector -- inspect FILE` (README: "From a checkout, … builds and runs the same
 * bundle"): npm runs a script in the package's directory, so a relative FILE — and -o, --spool,
 * --file — was taken from the checkout's root, not from where the operator typed it: from a
 * subdirectory, or `npm --prefix CHECKOUT run collector` elsewhere, `inspect dump.hex` said ENOENT.
 * The script runs the bundle in the operator's directory (npm's INIT_CWD).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/spawn-server.js';

const dir = mkdtempSync(join(tmpdir(), 'vrc-npm-collector-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run collector', () => {
  it('reads a relative FILE from the directory it was typed in', { timeout: 120_000 }, () => {
    mkdirSync(join(dir, 'saved'));
    writeFileSync(join(dir, 'saved', 'zfs.txt'), 'tank/vm/lun0@daily-2026-11-01\t1793491200\t1024\n');
    const r = spawnSync('npm', ['--prefix', ROOT, 'run', '-s', 'collector', '--', 'inspect', '--json', 'saved/zfs.txt'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const [file] = JSON.parse(r.stdout);
    expect(file).toMatchObject({ kind: 'zfs-snapshots' });
    expect(r.stdout).not.toContain('ENOENT');
  });
});
