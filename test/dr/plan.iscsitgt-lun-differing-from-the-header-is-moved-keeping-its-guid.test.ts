/**
 * An iscsitgt LU whose saved LUN is not the one its VMFS header expects: the plan moves it to
 * the header's LUN in the repository before the daemon starts, keeping its GUID, where it used
 * to say only "present it as LUN X". ESX treats a LUN whose number or id differs from its VMFS
 * header's as a snapshot LUN (VMware KB 1011387).
 *
 * Command facts and their public sources:
 * - iscsitgtd keeps an LU's parameters in the SMF property group `param_<target>_<lun>`: the
 *   LUN is in the group's name (illumos-gate usr/src/cmd/iscsi/iscsitgtd/mgmt_scf.c,
 *   `mgmt_param_save2scf`: `snprintf(pgname, …, "param_%s_%d", target_name, lun)`), and the
 *   target's LUNs in its `lun-list` (docs/formats.md, legacy iscsitgt).
 * - Re-creating an LU gives it a new GUID: `iscsitadm create target -u N -b <backing store>`
 *   (iscsitadm(1M), OpenSolaris) writes its parameters with guid 0 (mgmt_create.c `create_lun`),
 *   and the daemon gives it a GUID when it first comes online; `iscsitadm delete target -u N`
 *   removes the LU's parameters (mgmt_remove.c, util.c `remove_target_common`).
 * - svccfg(8) (illumos-gate usr/src/man/man8/svccfg.8): `delpropvalue pg/name globpattern`
 *   deletes the values matching the pattern and succeeds even if none does;
 *   `addpropvalue pg/name [type:] value` appends a value to an existing property.
 * - `svccfg export` quotes attributes with ' (the fixture's export, test/fixtures/text-fixtures.ts);
 *   the sed takes either quote.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderRestoreGuide } from '../../api/bundle/render.js';
import { composeSelection } from '../../api/bundle/select.js';
import { buildDrPlan, renderDrPlanText, type DrPlanInput, type PlanLu, type PlanSource } from '../../api/dr/plan.js';
import { parseIscsitgtSmf } from '../../formats/smf.js';
import { availableShells } from '../api/restore-harness.js';
import { descriptor, header, hoursAfterT0, rows } from '../bundle/rows-fixture.js';
import { iscsitgtExport } from '../fixtures/text-fixtures.js';

const UUID = '49a1b2c3-5d2e1f00-1a2b-001b21c0ffee';
const GUID1 = '600144F0C0FFEE00000049A1B2C3D4E5';
const GUID2 = '600144F0C0FFEE00000049A1B2C3D4E6';
const NAA1 = `naa.${GUID1.toLowerCase()}`;
const NAA2 = `naa.${GUID2.toLowerCase()}`;

function src(kind: string, fileName: string, host: string): PlanSource {
  return { artifactId: `${kind}-${host}`, kind, host, fileName, collectedAt: '2026-11-28T02:00:00.000Z', bundlePath: `${host}/${kind}/${fileName}` };
}

const EXPORT = src('iscsitgt-smf', 'iscsitgt.xml', 'thumper');
const lu = (deviceId: string, lun: number, zvol: string): PlanLu => ({
  stack: 'iscsitgt',
  storageHost: 'thumper',
  deviceId,
  lun,
  iqn: 'iqn.1986-03.com.sun:02:prod',
  alias: null,
  backingStore: `/dev/zvol/rdsk/tank/iscsi/${zvol}`,
  sizeBytes: 1 << 30,
  targetName: 'tgt.prod:1',
  portalGroups: [],
  initiators: [],
  chap: false,
  source: EXPORT,
});
const extent = (deviceId: string, lun: number) => ({ deviceId, lun, vml: null, host: 'esx01', source: src('vmfs-header', `vmfs-header-${lun}.bin`, 'esx01') });

/** The saved LU is LUN 3; the VMFS header expects LUN 4. */
const moved: DrPlanInput = { vmfsUuid: UUID, label: null, at: null, extents: [extent(NAA1, 4)], lus: [lu(NAA1, 3, 'lun3')], snapshots: [] };

describe('iscsitgt LU at another LUN than its VMFS header expects', () => {
  const temps: string[] = [];
  afterAll(() => {
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  it('imports a copy of the export with the LU renamed to the header LUN and trades the number in the lun-list', () => {
    const plan = buildDrPlan(moved);
    const restore = plan.steps[0];
    expect(restore.title).toBe('Restore the iscsitgt configuration on thumper');
    expect(restore.commands).toEqual([
      'svcadm disable iscsitgt',
      'grep iscsitgt thumper/iscsitgt-smf/iscsitgt.xml >/dev/null && svccfg delete iscsitgt',
      `sed -e 's/name=\\(["'\\'']\\)param_tgt__1prod__21_3\\1/name=\\1param_tgt__1prod__21_4\\1/' thumper/iscsitgt-smf/iscsitgt.xml > thumper/iscsitgt-smf/iscsitgt.lun4.xml`,
      'svccfg import thumper/iscsitgt-smf/iscsitgt.lun4.xml',
      'grep iscsitgt thumper/iscsitgt-smf/iscsitgt.lun4.xml >/dev/null && svccfg -s iscsitgt delpropvalue target_tgt__1prod__21/lun-list 3',
      'grep iscsitgt thumper/iscsitgt-smf/iscsitgt.lun4.xml >/dev/null && svccfg -s iscsitgt addpropvalue target_tgt__1prod__21/lun-list 4',
    ]);
    expect(restore.note).toContain('so the LU keeps its GUID');
    expect(restore.note).toContain('Do not re-create it with iscsitadm create target -u instead: a new LU gets a new GUID');
    // The backing-store step names the group as the restore step left it.
    expect(plan.steps.flatMap((s) => s.commands)).toContain(
      'svccfg -s iscsitgt setprop param_tgt__1prod__21_4/backing-store = astring: /dev/zvol/rdsk/tank/iscsi/lun3',
    );
    expect(plan.steps.map((s) => s.title)).toContain('Point LUN 4 of target tgt.prod:1 at the DR path');
    expect(plan.naaChecks[0].lunMismatch).toBe(true);
    // A LUN that matches: the saved export is imported as it is.
    const same = buildDrPlan({ ...moved, extents: [extent(NAA1, 3)] });
    expect(same.steps[0].commands).toEqual([
      'svcadm disable iscsitgt',
      'grep iscsitgt thumper/iscsitgt-smf/iscsitgt.xml >/dev/null && svccfg delete iscsitgt',
      'svccfg import thumper/iscsitgt-smf/iscsitgt.xml',
    ]);
  });

  it("the sed, run by each shell, renames only that LU's group and the GUID stays with it", () => {
    const saved = iscsitgtExport({
      targets: [
        {
          name: 'tgt.prod:1',
          iqn: 'iqn.1986-03.com.sun:02:prod',
          tpgts: ['3'],
          luns: [
            { lun: 0, guid: GUID2, backingStore: '/dev/zvol/rdsk/tank/iscsi/lun0' },
            { lun: 3, guid: GUID1, backingStore: '/dev/zvol/rdsk/tank/iscsi/lun3' },
          ],
        },
        { name: 'other', iqn: 'iqn.1986-03.com.sun:02:other', luns: [{ lun: 3, guid: '600144F0000000000000000000000003' }] },
      ],
      tpgts: [{ tag: '3', addresses: ['10.0.0.3'] }],
    });
    const sed = buildDrPlan(moved).steps[0].commands.find((c) => c.startsWith('sed '))!;
    for (const shell of availableShells()) {
      const dir = mkdtempSync(join(tmpdir(), 'vrc-iscsitgt-lun-'));
      temps.push(dir);
      spawnSync('mkdir', ['-p', join(dir, 'thumper/iscsitgt-smf')]);
      writeFileSync(join(dir, 'thumper/iscsitgt-smf/iscsitgt.xml'), saved);
      const run = spawnSync(shell.argv[0], [...shell.argv.slice(1), '-c', sed], { cwd: dir, encoding: 'utf8' });
      expect(run.status, `${shell.name}: ${run.stderr}`).toBe(0);
      const copy = readFileSync(join(dir, 'thumper/iscsitgt-smf/iscsitgt.lun4.xml'), 'utf8');
      const changed = saved.split('\n').filter((l, i) => l !== copy.split('\n')[i]);
      expect(changed, shell.name).toEqual([expect.stringContaining("name='param_tgt__1prod__21_3'")]);
      const lus = (parseIscsitgtSmf(copy).details as { lus: Array<{ target: string; lun: number; guid: string }> }).lus;
      expect(lus.map((l) => [l.target, l.lun, l.guid]).sort()).toEqual(
        [
          ['other', 3, '600144F0000000000000000000000003'],
          ['tgt.prod:1', 0, GUID2],
          ['tgt.prod:1', 4, GUID1],
        ].sort(),
      );
    }
  });

  it('restores an export once for all its LUs, moving each that differs, and starts the target once', () => {
    const plan = buildDrPlan({
      ...moved,
      extents: [extent(NAA1, 4), extent(NAA2, 5)],
      lus: [lu(NAA1, 3, 'lun3'), lu(NAA2, 1, 'lun1')],
    });
    const titles = plan.steps.map((s) => s.title);
    expect(titles.filter((t) => t.startsWith('Restore the iscsitgt configuration'))).toHaveLength(1);
    expect(titles.filter((t) => t === 'Start the target')).toHaveLength(1);
    expect(plan.steps[0].commands).toEqual([
      'svcadm disable iscsitgt',
      'grep iscsitgt thumper/iscsitgt-smf/iscsitgt.xml >/dev/null && svccfg delete iscsitgt',
      `sed -e 's/name=\\(["'\\'']\\)param_tgt__1prod__21_3\\1/name=\\1param_tgt__1prod__21_4\\1/' -e 's/name=\\(["'\\'']\\)param_tgt__1prod__21_1\\1/name=\\1param_tgt__1prod__21_5\\1/' thumper/iscsitgt-smf/iscsitgt.xml > thumper/iscsitgt-smf/iscsitgt.lun4-5.xml`,
      'svccfg import thumper/iscsitgt-smf/iscsitgt.lun4-5.xml',
      'grep iscsitgt thumper/iscsitgt-smf/iscsitgt.lun4-5.xml >/dev/null && svccfg -s iscsitgt delpropvalue target_tgt__1prod__21/lun-list 3',
      'grep iscsitgt thumper/iscsitgt-smf/iscsitgt.lun4-5.xml >/dev/null && svccfg -s iscsitgt addpropvalue target_tgt__1prod__21/lun-list 4',
      'grep iscsitgt thumper/iscsitgt-smf/iscsitgt.lun4-5.xml >/dev/null && svccfg -s iscsitgt delpropvalue target_tgt__1prod__21/lun-list 1',
      'grep iscsitgt thumper/iscsitgt-smf/iscsitgt.lun4-5.xml >/dev/null && svccfg -s iscsitgt addpropvalue target_tgt__1prod__21/lun-list 5',
    ]);
    // Both backing-store steps come after the one import and before the start: a second import would undo the first's.
    expect(titles).toEqual([
      'Restore the iscsitgt configuration on thumper',
      'Point LUN 4 of target tgt.prod:1 at the DR path',
      'Point LUN 5 of target tgt.prod:1 at the DR path',
      'Start the target',
      'Rescan on the ESX host and check the volume mounts with its old UUID',
    ]);
  });

  it('leaves a target whose name sed or svccfg would not take as written to the operator, quoted', () => {
    const evil = 'x/y;$(reboot)';
    const plan = buildDrPlan({ ...moved, lus: [{ ...lu(NAA1, 3, 'lun3'), targetName: evil }] });
    const text = renderDrPlanText(plan);
    expect(plan.steps[0].commands).toEqual([
      'svcadm disable iscsitgt',
      'grep iscsitgt thumper/iscsitgt-smf/iscsitgt.xml >/dev/null && svccfg delete iscsitgt',
      'svccfg import thumper/iscsitgt-smf/iscsitgt.xml',
    ]);
    expect(plan.steps[0].note).toContain(`Left out: LUN 3 of target ${JSON.stringify(evil)} must become LUN 4`);
    expect(text).not.toMatch(/^ {3}sed /m);
  });

  it("RESTORE.md's advice for a LUN re-presented under another number keeps the iscsitgt LU's GUID", () => {
    const sel = composeSelection(
      rows({ volumes: [UUID], extents: [header({ lun: 3, artifact: { host: 'esx01', collectedAt: hoursAfterT0(1) } })], descriptors: [descriptor(UUID)] }),
      { vmfsUuid: UUID },
      new Date(hoursAfterT0(4)),
      new Date(hoursAfterT0(5)),
    )!;
    const guide = renderRestoreGuide(sel);
    expect(guide).toContain('svccfg -s iscsitgt addpropvalue target_<target>/lun-list <LUN>');
    expect(guide).toContain('re-creating the LU with `iscsitadm create target -u <LUN>` gives it a new GUID');
    expect(guide).not.toContain('recreate the LU with the same LUN');
  });
});
