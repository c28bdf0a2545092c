/**
 * Two things a DR plan said nothing of, or said as all is well:
 * - One capture of a storage host shows an LU both in an iscsitgt export and in COMSTAR, and
 *   the export does not say whether iscsitgt was enabled (a capture parsed before the catalog
 *   read the SMF `enabled` attribute, until `catalog reindex`; or an export that names no
 *   instance). The plan picked a stack by tie-break (the one naming a backing store) with no
 *   note: it could print `svcadm enable iscsitgt` for a service a host moved to COMSTAR no
 *   longer runs. It now follows COMSTAR (a host moved from iscsitgt to COMSTAR still exports its
 *   old configuration) and the NAA check says which, why, and how to make it certain.
 * - A plan whose LU is presented at another LUN than captured (its VMFS header's) headed
 *   "The chain is complete and every NAA matches." — the first line read said nothing to watch,
 *   while a step must move the LUN before the rescan or ESX sees a snapshot LUN (VMware KB
 *   1011387). The headline, of DR-PLAN.txt and of RESTORE.md, now says so beside "complete".
 *
 * Format fact: an SMF export writes each instance's state as the `enabled` attribute of
 * `<create_default_instance>` or `<instance>` (illumos-gate usr/src/cmd/svc/dtd/service_bundle.dtd.1).
 */
import { describe, expect, it } from 'vitest';
import { buildDrPlan, renderDrPlanText, type DrPlanInput, type PlanLu, type PlanSource } from '../../api/dr/plan.js';

const UUID = '4f9a2c4e-1a2b3c4d-5e6f-001b21c0ff42';
const GUID = '600144F0C6E7D3B400004F9A2C4E0042';
const NAA = `naa.${GUID.toLowerCase()}`;
const AT = '2026-11-20T03:00:00.000Z';
const src = (kind: string, fileName: string, host: string): PlanSource => ({
  artifactId: `${kind}-${host}`,
  kind,
  host,
  fileName,
  collectedAt: AT,
  bundlePath: `${host}/${kind}/${fileName}`,
});
const base = {
  storageHost: 'zfs01',
  deviceId: NAA,
  lun: 4,
  iqn: 'iqn.1986-03.com.sun:02:esx-vol4',
  alias: null,
  sizeBytes: 1 << 30,
  portalGroups: [],
  initiators: [],
  chap: false,
};
const iscsitgt = (state: Partial<Pick<PlanLu, 'serviceEnabled' | 'serviceDisabled'>>): PlanLu => ({
  ...base,
  stack: 'iscsitgt',
  backingStore: '/dev/zvol/rdsk/tank/iscsi/esx-vol4',
  targetName: 'esx-vol4',
  source: src('iscsitgt-smf', 'iscsitgt.xml', 'zfs01'),
  ...state,
});
// COMSTAR's export names no data file (opaque provider data): no backing store on this row, so the old tie-break took iscsitgt's.
const comstar: PlanLu = {
  ...base,
  stack: 'comstar',
  backingStore: null,
  hostGroup: null,
  targetGroup: null,
  targetName: null,
  source: src('stmf-smf', 'stmf.xml', 'zfs01'),
};
const extent = (lun: number) => ({ deviceId: NAA, lun, vml: null, host: 'esx01', source: src('vmfs-header', 'vmfs-header.bin', 'esx01') });
const snapshots = [
  { host: 'zfs01', dataset: 'tank/iscsi/esx-vol4', snapshot: 'daily-1', createdAt: AT, source: src('zfs-snapshots', 'zfs-list.txt', 'zfs01') },
];
const input = (lus: PlanLu[], lun = 4): DrPlanInput => ({ vmfsUuid: UUID, label: null, at: null, extents: [extent(lun)], lus, snapshots });
const commands = (i: DrPlanInput) => buildDrPlan(i).steps.flatMap((s) => s.commands);

describe('one capture shows the LU in iscsitgt and COMSTAR', () => {
  it('iscsitgt state not read yet: the steps follow COMSTAR, and the NAA check says which, why, and to reindex', () => {
    const plan = buildDrPlan(input([iscsitgt({}), comstar]));
    expect(plan.naaChecks[0].message).toContain('(comstar)');
    expect(plan.naaChecks[0].message).toContain(
      "zfs01's capture of 2026-11-20T03:00:00.000Z holds this LU in both an iscsitgt export and COMSTAR, and the iscsitgt export was parsed before the catalog read whether that service was enabled (run `catalog reindex` to read it and make this certain): the steps follow COMSTAR, as a host moved from iscsitgt to COMSTAR still exports its old configuration; check which one serves it on zfs01 (svcs iscsitgt stmf) before running them.",
    );
    expect(commands(input([iscsitgt({}), comstar])).filter((c) => /iscsitgt|iscsitadm/.test(c))).toEqual([]);
    expect(renderDrPlanText(plan)).toMatch(/^# NAA check \(match\): .*run `catalog reindex` to read it/m);
  });

  it('an export that names no instance: said as not known, without reindex', () => {
    const message = buildDrPlan(input([iscsitgt({ serviceEnabled: null }), comstar])).naaChecks[0].message;
    expect(message).toContain('the iscsitgt export names no instance, so whether that service was enabled is not known: the steps follow COMSTAR');
    expect(message).not.toContain('reindex');
  });

  it.each([
    ['enabled', { serviceEnabled: true }],
    ['disabled', { serviceEnabled: false, serviceDisabled: true }],
  ] as const)('iscsitgt %s (known): no such note', (_, state) => {
    expect(buildDrPlan(input([iscsitgt(state), comstar])).naaChecks[0].message).not.toContain('holds this LU in both');
  });

  it('iscsitgt alone, its state not read: no note (there is no other stack to choose)', () => {
    expect(buildDrPlan(input([iscsitgt({})])).naaChecks[0].message).not.toContain('holds this LU in both');
  });
});

describe('the headline of a complete plan', () => {
  it('says the LUN move beside "complete"', () => {
    const plan = buildDrPlan(input([iscsitgt({ serviceEnabled: true })], 5));
    expect(plan.complete).toBe(true);
    expect(renderDrPlanText(plan).split('\n')[1]).toBe(
      `# The chain is complete and every NAA matches, but ${NAA} moves from LUN 4 to LUN 5 (its VMFS header's; a step below does it: run it before the rescan, or ESX sees a snapshot LUN).`,
    );
  });

  it('with nothing moved, says complete alone', () => {
    expect(renderDrPlanText(buildDrPlan(input([iscsitgt({ serviceEnabled: true })]))).split('\n')[1]).toBe('# The chain is complete and every NAA matches.');
  });
});
