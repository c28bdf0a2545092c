/**
 * `sh restore.sh --plan` in a LUN's bundle (collector restore --device), which carries no
 * DR-PLAN.txt: it said only "this bundle has no DR-PLAN.txt (a bundle of one LUN, …)", leaving
 * the operator to find how to get one. It now names the volume's plan, for the bundle's
 * volume and time, both ways (the collector, the API); a bundle that knows no volume says what
 * it said.
 */
import { mkdtempSync, rmSync } from 'node:fs';
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

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function bundleOf(vmfsUuid: string | null): string {
  const dir = mkdtempSync(join(tmpdir(), 'vrc-restore-lunplan-'));
  dirs.push(dir);
  const plan: RestorePlan = { vmfsUuid, label: 'prod', at: '2026-10-01T03:00:00.000Z', generatedAt: '2026-10-02T00:00:00.000Z', extents: [extent] };
  return writeBundle(dir, plan, { [extent.headerFile!]: new Uint8Array(512) });
}

describe.each(availableShells())('restore.sh --plan in a LUN bundle, under $name', (shell) => {
  it("names the volume's plan, both ways, for the bundle's time", () => {
    const r = runScript(shell, bundleOf('5a1c3e7f-2b4d6e80-91a2-0050569a1b2c'), ['--plan']);
    expect(r.code, r.out).toBe(1);
    expect(r.out.trim().split('\n').at(-1)).toBe(
      "restore.sh: this bundle has no DR-PLAN.txt (a bundle of one LUN, or from an older catalog); the DR plan is its volume's: " +
        'collector restore --volume 5a1c3e7f-2b4d6e80-91a2-0050569a1b2c --at 2026-10-01T03:00:00.000Z ' +
        '(or GET /v1/volumes/5a1c3e7f-2b4d6e80-91a2-0050569a1b2c/dr-plan?format=text&at=2026-10-01T03:00:00.000Z)',
    );
  });

  it('says what it said when the bundle knows no volume', () => {
    const r = runScript(shell, bundleOf(null), ['--plan']);
    expect(r.code, r.out).toBe(1);
    expect(r.out.trim().split('\n').at(-1)).toBe('restore.sh: this bundle has no DR-PLAN.txt (a bundle of one LUN, or from an older catalog)');
  });
});
