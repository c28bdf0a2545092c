/**
 * `sh /path/to/bundle/restore.sh --plan` prints the DR plan, whose steps name the bundle's files
 * relative to the bundle (`svccfg import sol01/iscsitgt-smf/iscsitgt.xml`). Run from another
 * directory — as README's own example does — and pasted where the operator stands, those steps
 * found no file: the import failed. The plan now starts with the `cd` into the bundle, so the
 * whole output pasted into each shell, from anywhere, imports the saved export.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RestoreExtent, RestorePlan } from '../../api/bundle/restore-script.js';
import { availableShells, runScript, writeBundle } from './restore-harness.js';

const NAA = 'naa.600144f0aabbccddeeff001122334401';
const extent: RestoreExtent = {
  number: 1,
  host: 'esx01',
  deviceId: NAA,
  vml: null,
  lun: 1,
  devicePath: `/vmfs/devices/disks/${NAA}`,
  headerFile: `esx01/vmfs-header/${NAA}.hex`,
  headerCollectedAt: '2026-10-01T02:00:00.000Z',
  partition: { scheme: 'mbr', index: 1, startLba: 128, endLba: 209715199, type: '0xfb', missing: false },
  expectedIdHex: NAA.slice(4),
};
const EXPORT = 'sol01/iscsitgt-smf/iscsitgt.xml';
const PLAN_TEXT = [
  '# DR plan for 5a1c3e7f-2b4d6e80-91a2-0050569a1b2c',
  '',
  '# 1. [storage] Restore the iscsitgt configuration on sol01',
  `   svccfg import ${EXPORT}`,
  '',
].join('\n');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.each([...availableShells(), { name: 'bash', argv: ['bash'] }])('restore.sh --plan run from elsewhere, under $name', (shell) => {
  it('starts with the cd into the bundle, so its steps pasted anywhere find their files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrc-plan-cd-'));
    dirs.push(dir);
    const bundle = join(dir, 'bundle dir');
    mkdirSync(bundle);
    const plan: RestorePlan = {
      vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c',
      label: null,
      at: '2026-10-01T03:00:00.000Z',
      generatedAt: '2026-10-02T00:00:00.000Z',
      extents: [extent],
    };
    const enc = (s: string) => new TextEncoder().encode(s);
    const script = writeBundle(bundle, plan, {
      [extent.headerFile!]: new Uint8Array(512),
      'DR-PLAN.txt': enc(PLAN_TEXT),
      [EXPORT]: enc("<service_bundle><service name='system/iscsitgt'/></service_bundle>\n"),
    });

    const printed = runScript(shell, script, ['--plan']);
    expect(printed.code, printed.out).toBe(0);
    expect(printed.out).toContain(`cd '${bundle}'   # the steps below name the bundle's files from here\n${PLAN_TEXT}`);

    // Pasted whole where the operator stands, with an svccfg that checks its file is there.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const log = join(dir, 'svccfg.log');
    writeFileSync(join(bin, 'svccfg'), `#!/bin/sh\n[ -s "$2" ] && echo "imported $PWD/$2" >> '${log}'\n`);
    chmodSync(join(bin, 'svccfg'), 0o755);
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    spawnSync(shell.argv[0], shell.argv.slice(1), {
      cwd: elsewhere,
      input: printed.out,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    expect(readFileSync(log, 'utf8')).toBe(`imported ${bundle}/${EXPORT}\n`);
  });
});
