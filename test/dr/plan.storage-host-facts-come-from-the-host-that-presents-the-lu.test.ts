/**
 * The DR plan takes storage facts from the storage host that presents the LU, and says so when
 * more than one does:
 * - a point-in-time clone comes from that host's own snapshot list: pool and dataset names repeat
 *   across arrays (`tank/iscsi/…`), and another host's snapshot cannot be cloned where the LU lives;
 * - the iscsitgt property group is named as iscsitgtd writes it into SMF, `:` as `__2` and `.` as
 *   `__1` (illumos-gate usr/src/cmd/iscsi/iscsitgtd/mgmt_scf.c, pgname_encode, applied by create_pg
 *   to the whole group name); a decoded name (`param_tgt.prod:1_4`) names no group;
 * - svccfg joins its arguments and lexes them again, so a value holding a blank must reach it in
 *   svccfg's own double quotes, `\` and `"` escaped (Oracle Solaris 11 "Managing System Services",
 *   svccfg setprop, "Setting a Value that Contains Embedded Spaces");
 * - two storage hosts' captures presenting one NAA make the plan incomplete, naming both;
 * - text from a capture in a comment line is shown as restore.sh shows it: no raw newline or bidi override.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildDrPlan, renderDrPlanText, type DrPlanInput, type PlanLu, type PlanSource } from '../../api/dr/plan.js';

const NAA = 'naa.600144f0bbbb0000000000000000b001';
const UUID = '5b2d4f80-3c5e7f91-a2b3-0050569a1b2d';

function src(kind: string, fileName: string, host: string, collectedAt: string): PlanSource {
  return { artifactId: `${kind}-${host}-${collectedAt}`, kind, host, fileName, collectedAt, bundlePath: `${host}/${kind}/${fileName}` };
}

const lu = (over: Partial<PlanLu>): PlanLu => ({
  stack: 'iscsitgt',
  storageHost: 'sol02',
  deviceId: NAA,
  lun: 4,
  iqn: 'iqn.1986-03.com.sun:02:tgt.prod:1',
  alias: null,
  backingStore: '/dev/zvol/rdsk/tank/iscsi/vol b',
  sizeBytes: 1 << 30,
  targetName: 'tgt.prod:1',
  portalGroups: [],
  initiators: [],
  chap: false,
  source: src('iscsitgt-smf', 'iscsitgt.xml', 'sol02', '2026-11-30T02:00:00.000Z'),
  ...over,
});

const base: DrPlanInput = {
  vmfsUuid: UUID,
  label: 'prod-ds1',
  at: '2026-12-01T12:00:00.000Z',
  extents: [{ deviceId: NAA, lun: 4, vml: null, host: 'esx02', source: src('vmfs-header', 'h.bin', 'esx02', '2026-11-30T02:00:00.000Z') }],
  lus: [lu({})],
  snapshots: [
    // The LU's own host: an older snapshot.
    {
      host: 'sol02',
      dataset: 'tank/iscsi/vol b',
      snapshot: 'snap-1',
      createdAt: '2026-11-29T22:00:00.000Z',
      source: src('zfs-snapshots', 'zfs.txt', 'sol02', '2026-11-30T02:00:00.000Z'),
    },
    // Another array with the same pool and dataset name: newer, and not where the LU lives.
    {
      host: 'sol01',
      dataset: 'tank/iscsi/vol b',
      snapshot: 'auto',
      createdAt: '2026-11-29T23:00:00.000Z',
      source: src('zfs-snapshots', 'zfs.txt', 'sol01', '2026-11-30T02:00:00.000Z'),
    },
  ],
};

const commands = (input: DrPlanInput) => buildDrPlan(input).steps.flatMap((s) => s.commands);

describe('DR plan: storage facts from the host that presents the LU', () => {
  it("clones the LU's own host's snapshot, not a newer one of the same dataset name on another host, and says on which host", () => {
    const plan = buildDrPlan(base);
    const clone = plan.steps.find((s) => s.stage === 'zfs')!;
    expect(clone.commands).toContain("zfs clone 'tank/iscsi/vol b@snap-1' tank/clones/vol_b-snap-1");
    expect(clone.title).toMatch(/^On sol02: /);
    expect(clone.from.map((f) => f.host)).toEqual(['sol02']);
    // Only another host's list: nothing to clone, and the missing link names the LU's host.
    const other = buildDrPlan({ ...base, snapshots: base.snapshots.filter((s) => s.host === 'sol01') });
    expect(other.steps.some((s) => s.stage === 'zfs')).toBe(false);
    expect(other.missing).toMatchObject([{ link: 'snapshots', message: expect.stringContaining('on sol02') }]);
  });

  it("names the iscsitgt property group as SMF holds it and quotes a backing store with a blank for svccfg's own lexer", () => {
    const set = commands({ ...base, at: null }).find((c) => c.includes('setprop'))!;
    expect(set).toBe(`svccfg -s iscsitgt setprop param_tgt__1prod__21_4/backing-store = astring: '"/dev/zvol/rdsk/tank/iscsi/vol b"'`);
    // What svccfg gets from sh: the group as exported and the value in svccfg's double quotes, one word each.
    const argv = spawnSync('sh', ['-c', `svccfg() { printf '%s\\n' "$@"; }; ${set}`])
      .stdout.toString()
      .split('\n');
    expect(argv.slice(0, 7)).toEqual([
      '-s',
      'iscsitgt',
      'setprop',
      'param_tgt__1prod__21_4/backing-store',
      '=',
      'astring:',
      '"/dev/zvol/rdsk/tank/iscsi/vol b"',
    ]);
    // A `"` or `\` in the value is escaped inside svccfg's quotes.
    const odd = commands({ ...base, at: null, lus: [lu({ backingStore: '/dev/zvol/rdsk/tank/a"b\\c' })] }).find((c) => c.includes('setprop'))!;
    expect(odd.endsWith(`astring: '"/dev/zvol/rdsk/tank/a\\"b\\\\c"'`)).toBe(true);
  });

  it('marks the plan incomplete and names every storage host whose captures present the NAA', () => {
    const claimed = lu({
      storageHost: 'esx01',
      targetName: 'evil',
      backingStore: '/dev/zvol/rdsk/tank/iscsi/other-customer',
      source: src('iscsitgt-smf', 'evil.xml', 'esx01', '2026-12-01T09:00:00.000Z'),
    });
    const plan = buildDrPlan({ ...base, at: null, lus: [lu({}), claimed] });
    expect(plan.complete).toBe(false);
    expect(plan.naaChecks[0].presenters).toEqual([
      { host: 'esx01', stack: 'iscsitgt', collectedAt: '2026-12-01T09:00:00.000Z' },
      { host: 'sol02', stack: 'iscsitgt', collectedAt: '2026-11-30T02:00:00.000Z' },
    ]);
    expect(plan.naaChecks[0].message).toMatch(/Captures from 2 storage hosts present .*esx01.*sol02.*confirm which host really serves this LU/);
    expect(renderDrPlanText(plan)).toContain(
      '# The plan is NOT complete: more than one storage host presents an NAA (confirm which serves it); missing: snapshots.',
    );
    // One host: no presenters, complete.
    const one = buildDrPlan({ ...base, at: null });
    expect(one.naaChecks[0].presenters).toBeUndefined();
    expect(one.complete).toBe(true);
  });

  it('shows a label with a newline or a bidi override escaped in the plan text, as restore.sh does', () => {
    const text = renderDrPlanText(buildDrPlan({ ...base, label: 'x\nzfs destroy -r tank\u2028y\u202e' }));
    const head = text.split('\n')[0];
    expect(head).toBe(`# DR plan for ${UUID} (x\\x0azfs destroy -r tank\\u2028y\\u202e) as of 2026-12-01T12:00:00.000Z`);
    expect(text).not.toMatch(/[\u202a-\u202e\u2028\u2029\u2066-\u2069]/);
    expect(text.split('\n').filter((l) => l.includes('zfs destroy'))).toEqual([head]);
  });
});

describe('DR plan: iscsitgt secrets after the import', () => {
  it('makes re-setting the CHAP secrets a step of its own, not one that only applies when addresses differ, and says why', () => {
    const plan = buildDrPlan({ ...base, at: null, lus: [lu({ chap: true, initiators: [{ name: 'esx01', iqn: 'iqn.1998-01.com.vmware:esx01' }] })] });
    const chap = plan.steps.find((s) => s.title.startsWith('Set the CHAP secrets again'))!;
    expect(chap.commands).toEqual(['iscsitadm modify admin -C', 'iscsitadm modify initiator -C esx01']);
    expect(chap.note).toContain('placeholder REDACTED');
    const optional = plan.steps.find((s) => s.title.startsWith('Re-create portal groups'))!;
    expect(optional.commands.some((c) => c.includes(' -C '))).toBe(false);
    const restore = plan.steps.find((s) => s.title.startsWith('Restore the iscsitgt configuration'))!;
    expect(restore.note).toContain('holds the placeholder REDACTED');
    expect(restore.note).not.toContain('not in the export');
  });
});

describe('DR plan: a COMSTAR point in time on the host that still serves the LU', () => {
  // stmfadm(8) (illumos-gate usr/src/man/man8/stmfadm.8, usr/src/cmd/stmfadm/stmfadm.c): delete-lu
  // deregisters an LU, its data left intact; -k (--keep-views) keeps its view entries. A zfs clone
  // holds its origin's data, the LU metadata with its GUID among it.
  const comstar = lu({ stack: 'comstar', targetName: null, backingStore: '/dev/zvol/rdsk/tank/iscsi/vol-b', storageHost: 'omni01' });
  const snaps = [{ ...base.snapshots[0], host: 'omni01', dataset: 'tank/iscsi/vol-b' }];

  it('takes the registered LU off (keeping its views) before importing the clone, whose metadata carries the same GUID', () => {
    const plan = buildDrPlan({ ...base, lus: [comstar], snapshots: snaps });
    const cmds = plan.steps.flatMap((s) => s.commands);
    const off = cmds.indexOf('stmfadm delete-lu -k 600144F0BBBB0000000000000000B001');
    const imp = cmds.findIndex((c) => c.startsWith('stmfadm import-lu /dev/zvol/rdsk/tank/clones/'));
    expect(off).toBeGreaterThan(cmds.indexOf('zfs clone tank/iscsi/vol-b@snap-1 tank/clones/vol-b-snap-1'));
    expect(imp).toBeGreaterThan(off);
    const step = plan.steps.find((s) => s.commands.includes(cmds[off]))!;
    expect(step.title).toMatch(/^Only if omni01 still serves LU 600144F0BBBB0000000000000000B001/);
    expect(step.note).toContain('stmfadm import-lu /dev/zvol/rdsk/tank/iscsi/vol-b');
    // The latest state (no clone): nothing is deleted.
    expect(commands({ ...base, at: null, lus: [comstar], snapshots: snaps }).some((c) => c.includes('delete-lu'))).toBe(false);
  });
});
