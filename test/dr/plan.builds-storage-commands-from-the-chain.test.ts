/**
 * The DR plan as a pure function (api/dr/plan.ts): line-for-line commands for a legacy
 * iscsitgt storage host and for a COMSTAR host, the NAA mismatch case, missing links,
 * and quoting of names that came from a collector.
 *
 * Command syntax sources: illumos `stmfadm(1M)` (import-lu, create-lu -p guid=, add-view -n/-h/-t,
 * create-hg, add-hg-member -g, create-tg, add-tg-member -g with the target offline),
 * `itadm(1M)` (create-tpg, create-target -n/-l/-t), `svccfg(1M)` (import, delete,
 * `setprop pg/name = type: value`), `iscsitadm(1M)` (create tpgt, modify tpgt -i,
 * modify target -p/-l, create initiator -n, modify initiator -C), `zfs(1M)` (clone),
 * and `esxcli storage` (core adapter rescan --all, vmfs snapshot list, vmfs extent list).
 * A device id that differs from the VMFS header's makes the LUN a snapshot LUN: VMware KB 1011387.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDrPlan, chooseSnapshot, renderDrPlanText, shellQuote, type DrPlanInput, type PlanSource } from '../../api/dr/plan.js';

const NAA = 'naa.600144f0c0ffee00000049a1b2c3d4e5';
const GUID = '600144F0C0FFEE00000049A1B2C3D4E5';
const UUID = '49a1b2c3-5d2e1f00-1a2b-001b21c0ffee';

function src(kind: string, fileName: string, host: string, collectedAt = '2026-11-28T02:00:00.000Z'): PlanSource {
  return { artifactId: `${kind}-${host}`, kind, host, fileName, collectedAt, bundlePath: `${host}/${kind}/${fileName}` };
}

const extent = {
  deviceId: NAA,
  lun: 3,
  vml: `vml.0200030000${NAA.slice(4)}434f4d535441`,
  host: 'esx01',
  source: src('vmfs-header', 'vmfs-header-sdb.bin', 'esx01'),
};
const snapshots = [
  {
    host: 'thumper',
    dataset: 'tank/iscsi/lun3',
    snapshot: 'daily-2026-11-26',
    createdAt: '2026-11-26T01:00:00.000Z',
    source: src('zfs-snapshots', 'zfs-snapshots.txt', 'thumper'),
  },
  {
    host: 'thumper',
    dataset: 'tank/iscsi/lun3',
    snapshot: 'daily-2026-11-27',
    createdAt: '2026-11-27T01:00:00.000Z',
    source: src('zfs-snapshots', 'zfs-snapshots.txt', 'thumper'),
  },
  {
    host: 'thumper',
    dataset: 'tank/iscsi/lun3',
    snapshot: 'daily-2026-11-28',
    createdAt: '2026-11-28T01:00:00.000Z',
    source: src('zfs-snapshots', 'zfs-snapshots.txt', 'thumper'),
  },
];

const iscsitgt: DrPlanInput = {
  vmfsUuid: UUID,
  label: 'vmfs-prod',
  at: '2026-11-27T12:00:00.000Z',
  extents: [extent],
  lus: [
    {
      stack: 'iscsitgt',
      storageHost: 'thumper',
      deviceId: NAA,
      lun: 3,
      iqn: 'iqn.1986-03.com.sun:02:lun3',
      alias: 'lun3',
      backingStore: '/dev/zvol/rdsk/tank/iscsi/lun3',
      sizeBytes: 53687091200,
      targetName: 'lun3',
      portalGroups: [{ tag: '1', addresses: ['192.168.10.5'] }],
      initiators: [{ name: 'esx01', iqn: 'iqn.1998-01.com.vmware:esx01' }],
      chap: true,
      source: src('iscsitgt-smf', 'iscsitgt.xml', 'thumper'),
    },
  ],
  snapshots,
};

describe('legacy iscsitgt', () => {
  it('restores the saved export, points the LU at a clone of the snapshot for the time asked, and starts the target', () => {
    const plan = buildDrPlan(iscsitgt);
    expect(plan.complete).toBe(true);
    expect(plan.naaChecks).toMatchObject([{ verdict: 'match', headerDeviceId: NAA, luDeviceId: NAA, headerLun: 3, luLun: 3 }]);
    expect(plan.steps.flatMap((s) => s.commands)).toEqual([
      'zfs create -p tank/clones',
      'zfs clone tank/iscsi/lun3@daily-2026-11-27 tank/clones/lun3-daily-2026-11-27',
      'svcadm disable iscsitgt',
      'grep iscsitgt thumper/iscsitgt-smf/iscsitgt.xml >/dev/null && svccfg delete iscsitgt',
      'svccfg import thumper/iscsitgt-smf/iscsitgt.xml',
      'svccfg -s iscsitgt setprop param_lun3_3/backing-store = astring: /dev/zvol/rdsk/tank/clones/lun3-daily-2026-11-27',
      'svcadm refresh iscsitgt',
      'svcadm enable iscsitgt',
      'iscsitadm create tpgt 1',
      'iscsitadm modify tpgt -i 192.168.10.5 1',
      'iscsitadm modify target -p 1 lun3',
      'iscsitadm create initiator -n iqn.1998-01.com.vmware:esx01 esx01',
      'iscsitadm modify target -l esx01 lun3',
      'iscsitadm modify admin -C',
      'iscsitadm modify initiator -C esx01',
      'esxcli storage core adapter rescan --all',
      'esxcli storage vmfs snapshot list',
      'esxcli storage vmfs extent list',
    ]);
    expect(plan.steps.map((s) => s.n)).toEqual(plan.steps.map((_, i) => i + 1));
    // Every step names the artifact it comes from.
    for (const s of plan.steps) expect(s.from.length).toBeGreaterThan(0);
    expect(plan.steps.find((s) => s.stage === 'zfs')!.from[0].kind).toBe('zfs-snapshots');
  });

  it('without a point in time keeps the saved backing store and clones nothing', () => {
    const plan = buildDrPlan({ ...iscsitgt, at: null });
    const cmds = plan.steps.flatMap((s) => s.commands);
    expect(cmds.some((c) => c.startsWith('zfs clone'))).toBe(false);
    expect(cmds).toContain('svccfg -s iscsitgt setprop param_lun3_3/backing-store = astring: /dev/zvol/rdsk/tank/iscsi/lun3');
  });

  it('chooses the newest snapshot taken at or before the time asked', () => {
    expect(chooseSnapshot(snapshots, 'tank/iscsi/lun3', '2026-11-27T00:59:59Z', 'thumper')!.snapshot).toBe('daily-2026-11-26');
    expect(chooseSnapshot(snapshots, 'tank/iscsi/lun3', '2026-11-27T01:00:00Z', 'thumper')!.snapshot).toBe('daily-2026-11-27');
    expect(chooseSnapshot(snapshots, 'tank/iscsi/lun3', null, 'thumper')!.snapshot).toBe('daily-2026-11-28');
    expect(chooseSnapshot(snapshots, 'tank/iscsi/lun3', '2026-01-01T00:00:00Z', 'thumper')).toBeNull();
  });
});

describe('COMSTAR', () => {
  const comstar: DrPlanInput = {
    ...iscsitgt,
    lus: [
      {
        stack: 'comstar',
        storageHost: 'zfs01',
        deviceId: NAA,
        lun: 3,
        iqn: 'iqn.2010-09.org.illumos:zfs01:vmfs',
        alias: 'vmfs',
        backingStore: '/dev/zvol/rdsk/tank/iscsi/lun3',
        sizeBytes: 53687091200,
        portalGroups: [{ tag: 'tpg-a', addresses: ['192.168.10.6:3260'] }],
        initiators: [],
        hostGroup: { name: 'esx-cluster', members: ['iqn.1998-01.com.vmware:esx01', 'iqn.1998-01.com.vmware:esx02'] },
        targetGroup: { name: 'tg-vmfs', members: ['iqn.2010-09.org.illumos:zfs01:vmfs'] },
        chap: false,
        source: src('stmf-smf', 'stmf.xml', 'zfs01'),
      },
    ],
    snapshots: snapshots.map((s) => ({ ...s, host: 'zfs01' })),
  };

  it('creates the LU with the saved GUID, the groups, the target and the view with the saved LUN', () => {
    const plan = buildDrPlan(comstar);
    expect(plan.complete).toBe(true);
    expect(plan.naaChecks[0].guaranteedBy).toBe(`stmfadm import-lu (the zvol's LU metadata carries the GUID), else stmfadm create-lu -p guid=${GUID}`);
    expect(plan.steps.flatMap((s) => s.commands)).toEqual([
      'zfs create -p tank/clones',
      'zfs clone tank/iscsi/lun3@daily-2026-11-27 tank/clones/lun3-daily-2026-11-27',
      'stmfadm list-lu -v 600144F0C0FFEE00000049A1B2C3D4E5',
      'stmfadm delete-lu -k 600144F0C0FFEE00000049A1B2C3D4E5',
      `stmfadm import-lu /dev/zvol/rdsk/tank/clones/lun3-daily-2026-11-27 || stmfadm create-lu -p guid=${GUID} /dev/zvol/rdsk/tank/clones/lun3-daily-2026-11-27`,
      `stmfadm list-lu -v ${GUID}`,
      'stmfadm create-hg esx-cluster',
      'stmfadm add-hg-member -g esx-cluster iqn.1998-01.com.vmware:esx01 iqn.1998-01.com.vmware:esx02',
      'stmfadm create-tg tg-vmfs',
      'itadm create-tpg tpg-a 192.168.10.6:3260',
      'itadm create-target -n iqn.2010-09.org.illumos:zfs01:vmfs -l vmfs -t tpg-a',
      'stmfadm offline-target iqn.2010-09.org.illumos:zfs01:vmfs',
      'stmfadm add-tg-member -g tg-vmfs iqn.2010-09.org.illumos:zfs01:vmfs',
      'stmfadm online-target iqn.2010-09.org.illumos:zfs01:vmfs',
      `stmfadm add-view -n 3 -h esx-cluster -t tg-vmfs ${GUID}`,
      `stmfadm list-view -l ${GUID}`,
      'esxcli storage core adapter rescan --all',
      'esxcli storage vmfs snapshot list',
      'esxcli storage vmfs extent list',
    ]);
    expect(plan.steps.find((s) => s.commands[0].startsWith('stmfadm import-lu'))!.note).toMatch(/only when it fails .* does create-lu/);
  });

  it('a target group whose members were not captured is named, and no target is guessed', () => {
    const lu = { ...comstar.lus[0], iqn: null, alias: null, portalGroups: [], targetGroup: { name: 'tg-vmfs', members: [] } };
    const step = buildDrPlan({ ...comstar, lus: [lu] }).steps.find((s) => s.title.startsWith('Re-create'))!;
    expect(step.commands.some((c) => c.startsWith('itadm create-target'))).toBe(false);
    expect(step.note).toMatch(/members of target group tg-vmfs were not captured \(stmfadm list-tg -v\)/);
  });

  it('a replica presented under a new GUID is named, with both ways out', () => {
    const replica = { ...comstar, lus: [{ ...comstar.lus[0], deviceId: 'naa.600144f0aaaabbbb0000cccc00001111' }] };
    const plan = buildDrPlan(replica);
    expect(plan.complete).toBe(false);
    expect(plan.naaChecks).toMatchObject([{ verdict: 'no-lu', headerDeviceId: NAA, luDeviceId: null }]);
    expect(plan.naaChecks[0].message).toMatch(/new GUID/);
    expect(plan.naaChecks[0].message).toMatch(/stmfadm create-lu -p guid=/);
    expect(plan.naaChecks[0].message).toMatch(/resignature \(new VMFS UUID; VMs must be re-registered\)/);
    expect(plan.missing.map((m) => m.link)).toEqual(['storage-lu']);
  });

  it('a LUN that differs from the header is called out, and the view presents the LUN the header expects', () => {
    const plan = buildDrPlan({ ...comstar, lus: [{ ...comstar.lus[0], lun: 7 }] });
    expect(plan.naaChecks[0].message).toMatch(/The LUN differs \(7 ≠ 3\): present it as LUN 3/);
    expect(plan.naaChecks[0].lunMismatch).toBe(true);
    expect(buildDrPlan(comstar).naaChecks[0].lunMismatch).toBe(false);
    // The step the NAA check points at does what it says (it presented the captured LUN 7).
    const view = plan.steps.find((s) => s.title.startsWith('Present the LU'))!;
    expect(view.title).toBe('Present the LU as LUN 3');
    expect(view.commands[0]).toBe(`stmfadm add-view -n 3 -h esx-cluster -t tg-vmfs ${GUID}`);
    expect(view.note).toBe('The capture showed it as LUN 7; the VMFS header expects LUN 3, so it is presented as 3, or ESX sees a snapshot LUN (NAA check).');
    // A saved view without a LUN number takes the header's.
    const unnumbered = buildDrPlan({ ...comstar, lus: [{ ...comstar.lus[0], lun: null }] }).steps.find((s) => s.title.startsWith('Present the LU'))!;
    expect(unnumbered.commands[0]).toBe(`stmfadm add-view -n 3 -h esx-cluster -t tg-vmfs ${GUID}`);
  });

  it("states the step that keeps the NAA and the restore script's check of it on the device", () => {
    const plan = buildDrPlan(comstar);
    expect(plan.naaChecks[0].checkedBy).toBe(`restore.sh --apply reads the LVM header on the device it is about to write and refuses unless it names ${NAA}`);
    const line = renderDrPlanText(plan)
      .split('\n')
      .find((l) => l.startsWith('# NAA check (match)'))!;
    expect(line).toContain(`stmfadm create-lu -p guid=${GUID} keeps that id`);
    expect(line).toContain(`Before writing, restore.sh --apply reads the LVM header on the device it is about to write and refuses unless it names ${NAA}.`);
  });
});

describe('missing links', () => {
  it('names the missing snapshot list and the collector that provides it', () => {
    const plan = buildDrPlan({ ...iscsitgt, snapshots: [] });
    expect(plan.complete).toBe(false);
    expect(plan.missing).toEqual([expect.objectContaining({ link: 'snapshots', deviceId: NAA, collector: expect.stringMatching(/thumper.*zfs list/) })]);
  });

  it('names a volume with no header dump', () => {
    const plan = buildDrPlan({ ...iscsitgt, extents: [] });
    expect(plan.missing.map((m) => m.link)).toEqual(['extent']);
    expect(plan.steps).toEqual([]);
  });
});

describe('hostile names from a collector', () => {
  it('quotes every word so a pasted line runs only the intended command', () => {
    const evil = "lun3'; touch PWNED #";
    const plan = buildDrPlan({
      ...iscsitgt,
      lus: [
        {
          ...iscsitgt.lus[0],
          targetName: evil,
          backingStore: '/dev/zvol/rdsk/tank/$(touch PWNED)',
          initiators: [{ name: '`touch PWNED`', iqn: 'iqn.x\ntouch PWNED' }],
        },
      ],
      at: null,
    });
    const text = renderDrPlanText(plan);
    const dir = spawnSync('mktemp', ['-d']).stdout.toString().trim();
    // In the bundle's directory, where the saved export is: its delete runs only there.
    mkdirSync(join(dir, 'thumper/iscsitgt-smf'), { recursive: true });
    writeFileSync(join(dir, 'thumper/iscsitgt-smf/iscsitgt.xml'), "<service name='system/iscsitgt'/>\n");
    // Each command line run through sh with the tools replaced by `echo`: nothing else may run.
    for (const line of plan.steps.flatMap((s) => s.commands)) {
      const r = spawnSync('sh', [
        '-c',
        `cd ${shellQuote(dir)} && svcadm() { :; }; svccfg() { :; }; iscsitadm() { :; }; esxcli() { :; }; zfs() { :; }; ${line}`,
      ]);
      expect(r.status, line).toBe(0);
    }
    expect(spawnSync('find', [dir, '-name', 'PWNED']).stdout.toString()).toBe('');
    expect(spawnSync('ls', ['-A', dir]).stdout.toString()).toBe('thumper\n');
    // In the text, names with newlines never start a line of their own.
    expect(text.split('\n').some((l) => l.startsWith('touch'))).toBe(false);
  });

  it("the whole plan text pasted into a shell runs only the plan's commands: every other line is a comment", () => {
    const evil = 'x; touch PWNED; echo';
    const plan = buildDrPlan({
      ...iscsitgt,
      label: `ds$(touch PWNED)`,
      extents: [{ ...iscsitgt.extents[0], host: evil }],
      lus: [{ ...iscsitgt.lus[0], storageHost: evil, targetName: evil, source: { ...iscsitgt.lus[0].source, fileName: `a\n${evil}` } }],
      snapshots: [],
    });
    const text = renderDrPlanText(plan);
    for (const line of text.split('\n'))
      expect(line === '' || /^\s*#/.test(line) || plan.steps.some((st) => st.commands.includes(line.trim())), line).toBe(true);
    const dir = spawnSync('mktemp', ['-d']).stdout.toString().trim();
    const stubs = 'svcadm() { :; }; svccfg() { :; }; iscsitadm() { :; }; esxcli() { :; }; zfs() { :; }; stmfadm() { :; }; itadm() { :; };';
    const r = spawnSync('sh', ['-c', `cd ${shellQuote(dir)} && ${stubs}\n${text}`]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(spawnSync('ls', ['-A', dir]).stdout.toString()).toBe('');
  });
});
