/**
 * The DR plan for a COMSTAR LU whose view is for all targets (`stmfadm add-view -h esx -n 3 GUID`,
 * no target group), from real-format captures through the catalog: the plan brings the LU
 * back with `stmfadm import-lu` first and `create-lu` with the GUID and the captured block
 * size, write-back cache setting and alias only when the import fails; re-creates every
 * target `itadm list-target -v` showed, each with its portal groups (`itadm create-tpg`, then
 * `create-target -t`); never prints a CHAP secret; and quotes what came from a capture so a
 * hostile alias or IQN runs nothing when the plan is pasted into sh.
 *
 * Golden facts: illumos-gate usr/src/man/man8/stmfadm.8 (create-lu `-p property=value`
 * repeated, properties `blk` (default 512), `wcd=true|false` (write-back cache disable),
 * `alias` (up to 255 characters), `guid`; import-lu re-loads an LU from its lu-file; add-view
 * without -t makes the LU "available through all targets"); usr/src/cmd/stmfadm/stmfadm.c
 * (createLuFunc takes each -p in turn; setLuPropFromInput splits it with strtok at '=', so a
 * value holding '=' is cut there); illumos-gate usr/src/man/man8/itadm.8 (`create-tpg tpg_name
 * IP-address[:port]...`, `create-target -n node-name -l alias -t tpg-name[,tpg-name]`; a target
 * on the default TPG uses INADDR_ANY:3260).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shellQuote } from '../../api/dr/plan.js';
import { collectorFile, itadmListTarget, itadmListTpg, stmfadmListGroups, stmfadmListLu, stmfadmListView, stmfExport } from '../fixtures/text-fixtures.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingestComstarEsxVolume, ingestComstarStorageHost } from '../helpers/comstar-captures.js';

const T0 = new Date('2026-11-20T02:00:00Z');
const ESX = 'iqn.1998-01.com.vmware:esx02-1';
const SECRET = 'supersecret123';
/** A blank to sh without a blank in the name: a name captured from itadm's whitespace-separated columns holds none. */
const IFS = '$' + '{IFS}';

interface Volume {
  guid: string;
  uuid: string;
  label: string;
  lun: number;
  zvol: string;
  luAlias: string;
  targets: { iqn: string; alias?: string; tpgTags?: { tpg: string; tag: number }[]; chapSecret?: string }[];
  tpgs: { name: string; portals: string[] }[];
}

/** An ESX host's header dump and .vh.sf of the volume, then the storage host's stmf export and COMSTAR listings. */
async function ingestVolume(catalog: TestCatalog, v: Volume, esxHost: string, storageHost: string): Promise<void> {
  await ingestComstarEsxVolume(catalog, { host: esxHost, collectedAt: T0, guid: v.guid, lun: v.lun, vmfsUuid: v.uuid, label: v.label });
  const listing = collectorFile([
    {
      command: 'stmfadm list-lu -v',
      output: stmfadmListLu([{ guid: v.guid, dataFile: v.zvol, sizeBytes: 3299070688768, blockSize: 4096, alias: v.luAlias, writebackCache: false }]),
    },
    // `stmfadm add-view -h esx -n <LUN> <GUID>`: no -t, so the target group is All.
    { command: `stmfadm list-view -l ${v.guid}`, output: stmfadmListView([{ entry: 0, hostGroup: 'esx', lun: v.lun }]) },
    { command: 'itadm list-target -v', output: itadmListTarget(v.targets) },
    { command: 'itadm list-tpg -v', output: itadmListTpg(v.tpgs) },
    { command: 'stmfadm list-hg -v', output: stmfadmListGroups('host', [{ name: 'esx', members: [ESX] }]) },
  ]);
  await ingestComstarStorageHost(catalog, {
    host: storageHost,
    collectedAt: new Date(T0.getTime() + 3_600_000),
    listing,
    listingSource: 'stmfadm/itadm',
    stmfExport: stmfExport({
      hostGroups: [{ name: 'esx', members: [ESX] }],
      lus: [{ guid: v.guid, views: [{ entry: 0, hostGroup: 'esx', lun: v.lun }] }],
      sbdChunks: 1,
      iscsitSecret: true,
    }),
  });
}

type Plan = { complete: boolean; naaChecks: Array<{ guaranteedBy: string }>; steps: Array<{ title: string; commands: string[]; note: string | null }> };

describeEachFlavour('DR plan for a COMSTAR LU with a view for all targets', (flavour) => {
  let catalog: TestCatalog;
  const v: Volume = {
    guid: '600144F0AAAABBBBCCCCDDDD00001111',
    uuid: '5a1c3e7f-1a2b3c4d-5e6f-001b21c0ffee',
    label: 'lun3-ds',
    lun: 3,
    zvol: '/dev/zvol/rdsk/tank/iscsi/lun3',
    luAlias: 'vmware-lun3',
    targets: [
      { iqn: 'iqn.2010-08.org.illumos:02:storage01', alias: 'storage01', tpgTags: [{ tpg: 'tpg1', tag: 2 }], chapSecret: SECRET },
      { iqn: 'iqn.2010-08.org.illumos:02:storage02' },
    ],
    tpgs: [
      { name: 'tpg1', portals: ['10.0.0.5:3260'] },
      { name: 'tpg-backup', portals: ['10.0.9.5:3260'] },
    ],
  };
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    await ingestVolume(catalog, v, 'esx02', 'zfs01');
  }, 240_000);
  afterAll(async () => catalog?.close());

  it('imports the LU first, else creates it with the captured properties, and re-creates every target with its portal group', async () => {
    const res = await catalog.request(`/v1/volumes/${v.uuid}/dr-plan`);
    expect(res.status).toBe(200);
    const plan = (await res.json()) as Plan;
    expect(plan.naaChecks[0].guaranteedBy).toBe(`stmfadm import-lu (the zvol's LU metadata carries the GUID), else stmfadm create-lu -p guid=${v.guid}`);
    const storage = plan.steps.filter((s) => !s.commands[0].startsWith('esxcli')).flatMap((s) => s.commands);
    expect(storage).toEqual([
      `stmfadm import-lu ${v.zvol} || stmfadm create-lu -p guid=${v.guid} -p blk=4096 -p wcd=true -p alias=vmware-lun3 ${v.zvol}`,
      `stmfadm list-lu -v ${v.guid}`,
      'stmfadm create-hg esx',
      `stmfadm add-hg-member -g esx ${ESX}`,
      'itadm create-tpg tpg1 10.0.0.5:3260',
      'itadm create-target -n iqn.2010-08.org.illumos:02:storage01 -l storage01 -t tpg1',
      'itadm create-target -n iqn.2010-08.org.illumos:02:storage02',
      `stmfadm add-view -n 3 -h esx ${v.guid}`,
      `stmfadm list-view -l ${v.guid}`,
    ]);
    const targets = plan.steps.find((s) => s.title.startsWith('Re-create'))!;
    expect(targets.note).toMatch(/view is for all targets/);
    expect(targets.note).toMatch(/default portal group/);
    expect(targets.note).toMatch(/tpg-backup \(10\.0\.9\.5:3260\)/);
    expect(targets.note).toMatch(/CHAP was configured/);
    const lu = plan.steps[0];
    expect(lu.note).toMatch(/only when it fails .* does create-lu make the LU with the saved GUID and the captured blk=4096, wcd=true, alias/);
    expect(JSON.stringify(plan)).not.toContain(SECRET);
  });

  it('prints the same commands, in the same order, in the text plan, and no secret', async () => {
    const json = (await (await catalog.request(`/v1/volumes/${v.uuid}/dr-plan`)).json()) as Plan;
    const text = await (await catalog.request(`/v1/volumes/${v.uuid}/dr-plan?format=text`)).text();
    const lines = text
      .split('\n')
      .filter((l) => l !== '' && !/^\s*#/.test(l))
      .map((l) => l.trim());
    expect(lines).toEqual(json.steps.flatMap((s) => s.commands));
    expect(text).not.toContain(SECRET);
  });
});

describeEachFlavour('DR plan for a COMSTAR LU whose captured alias and target names are hostile', (flavour) => {
  let catalog: TestCatalog;
  const hostile: Volume = {
    guid: '600144F0AAAABBBBCCCCDDDD00002222',
    uuid: '6b2d4f80-2b3c4d5e-6f70-001b21c0ffee',
    label: 'evil-ds',
    lun: 4,
    zvol: '/dev/zvol/rdsk/tank/iscsi/lun4',
    luAlias: `x'; touch PWNED-alias; echo '$(touch PWNED-sub)\`touch PWNED-tick\``,
    // itadm prints names in whitespace-separated columns, so a hostile name captured there holds no blank.
    targets: [
      {
        iqn: `iqn.2010-08.org.illumos:02:evil';touch${IFS}PWNED-iqn;'`,
        alias: '$(touch PWNED-talias)',
        tpgTags: [{ tpg: `tpg;touch${IFS}PWNED-tpg`, tag: 2 }],
      },
    ],
    tpgs: [{ name: `tpg;touch${IFS}PWNED-tpg`, portals: [`10.0.0.6:3260\`touch${IFS}PWNED-portal\``] }],
  };
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    await ingestVolume(catalog, hostile, 'esx03', 'zfs02');
  }, 240_000);
  afterAll(async () => catalog?.close());

  it('every command, and the whole text plan pasted into sh, runs only the tools it names', async () => {
    const plan = (await (await catalog.request(`/v1/volumes/${hostile.uuid}/dr-plan`)).json()) as Plan;
    const commands = plan.steps.flatMap((s) => s.commands);
    // The alias reaches create-lu as one quoted word.
    expect(commands[0]).toBe(
      `stmfadm import-lu ${hostile.zvol} || stmfadm create-lu -p guid=${hostile.guid} -p blk=4096 -p wcd=true -p ${shellQuote(`alias=${hostile.luAlias}`)} ${hostile.zvol}`,
    );
    expect(commands).toContain(
      `itadm create-target -n ${shellQuote(hostile.targets[0].iqn)} -l ${shellQuote('$(touch PWNED-talias)')} -t ${shellQuote(`tpg;touch${IFS}PWNED-tpg`)}`,
    );
    expect(commands).toContain(`itadm create-tpg ${shellQuote(`tpg;touch${IFS}PWNED-tpg`)} ${shellQuote(`10.0.0.6:3260\`touch${IFS}PWNED-portal\``)}`);
    const text = await (await catalog.request(`/v1/volumes/${hostile.uuid}/dr-plan?format=text`)).text();
    const dir = spawnSync('mktemp', ['-d']).stdout.toString().trim();
    // The tools replaced by functions that record their arguments; import-lu "fails" so create-lu runs too.
    const stubs =
      'stmfadm() { printf "%s\\n" "$*" >> ../calls; [ "$1" != import-lu ]; }; itadm() { printf "%s\\n" "$*" >> ../calls; }; esxcli() { :; }; zfs() { :; };';
    for (const script of [...commands, text]) {
      const r = spawnSync('sh', ['-c', `cd ${shellQuote(dir)} && mkdir -p w && cd w && ${stubs}\n${script}`]);
      expect(r.status, r.stderr.toString()).toBe(0);
      expect(spawnSync('ls', ['-A', `${dir}/w`]).stdout.toString(), script).toBe('');
    }
    const calls = spawnSync('cat', [`${dir}/calls`]).stdout.toString();
    expect(calls).toContain(`create-lu -p guid=${hostile.guid} -p blk=4096 -p wcd=true -p alias=${hostile.luAlias} ${hostile.zvol}`);
  });
});

describe('an alias stmfadm cannot take back', () => {
  it('is left out of create-lu and named in the note', async () => {
    const { buildDrPlan } = await import('../../api/dr/plan.js');
    const src = { artifactId: 'a', kind: 'comstar-listing', host: 'zfs01', fileName: 'comstar.txt', collectedAt: T0.toISOString(), bundlePath: null };
    const naa = 'naa.600144f0aaaabbbbccccdddd00003333';
    const plan = buildDrPlan({
      vmfsUuid: 'u',
      label: null,
      at: null,
      extents: [{ deviceId: naa, lun: 5, vml: null, host: 'esx01', source: src }],
      lus: [
        {
          stack: 'comstar',
          storageHost: 'zfs01',
          deviceId: naa,
          lun: 5,
          iqn: null,
          alias: null,
          backingStore: '/dev/zvol/rdsk/tank/lun5',
          sizeBytes: null,
          portalGroups: [],
          initiators: [],
          chap: false,
          luAlias: 'a=b',
          blockSize: 512,
          writebackCacheDisabled: false,
          source: src,
        },
      ],
      snapshots: [],
    });
    expect(plan.steps[0].commands[0]).toBe(
      'stmfadm import-lu /dev/zvol/rdsk/tank/lun5 || stmfadm create-lu -p guid=600144F0AAAABBBBCCCCDDDD00003333 -p blk=512 /dev/zvol/rdsk/tank/lun5',
    );
    expect(plan.steps[0].note).toMatch(/Left out of create-lu: the LU alias "a=b"/);
  });
});
