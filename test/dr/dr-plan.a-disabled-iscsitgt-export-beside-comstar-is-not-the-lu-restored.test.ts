/**
 * A storage host moved from the legacy iscsitgt target to COMSTAR keeps its old iscsitgt
 * configuration in SMF, disabled, and `svccfg export iscsitgt` still prints it — so one capture
 * of that host holds the LU twice: in the disabled iscsitgt export (at its old LUN) and in
 * COMSTAR's export and listings (the LU it serves). The DR plan, through the catalog on both
 * flavours, follows COMSTAR and says why; it used to take whichever row came first, and printed
 * `svcadm disable iscsitgt`, `svccfg delete iscsitgt`, the import and `svcadm enable iscsitgt`
 * for a service that does not serve the LU.
 *
 * Format fact: an SMF export writes each instance's state as the `enabled` attribute of
 * `<create_default_instance>` or `<instance>` (service_bundle(4); illumos-gate
 * usr/src/cmd/svc/dtd/service_bundle.dtd.1: `enabled (true | false) #REQUIRED`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIscsitgtSmf } from '../../formats/smf.js';
import { collectorFile, iscsitgtExport, stmfadmListLu, stmfadmListView, stmfExport } from '../fixtures/text-fixtures.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingestComstarEsxVolume, ingestComstarStorageHost } from '../helpers/comstar-captures.js';

const GUID = '600144F0C6E7D3B400004F9A2C4E0042';
const ZVOL = '/dev/zvol/rdsk/tank/iscsi/esx-vol4';
const UUID = '4f9a2c4e-1a2b3c4d-5e6f-001b21c0ff42';
const T0 = new Date('2026-11-20T02:00:00Z');
const enc = (s: string) => new TextEncoder().encode(s);

const legacy = (enabled: boolean) =>
  iscsitgtExport({ enabled, targets: [{ name: 'esx-vol4', iqn: 'iqn.1986-03.com.sun:02:esx-vol4', luns: [{ lun: 0, guid: GUID, backingStore: ZVOL }] }] });

describe('the iscsitgt export says whether its service is enabled', () => {
  it.each([
    [true, true],
    [false, false],
  ])('enabled=%s reads %s', (enabled, read) => {
    expect(parseIscsitgtSmf(legacy(enabled)).details).toMatchObject({ enabled: read });
  });
});

describeEachFlavour('DR plan of a LU a host serves by COMSTAR beside its disabled iscsitgt export', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    await ingestComstarEsxVolume(catalog, { host: 'esx01', collectedAt: T0, guid: GUID, lun: 4, vmfsUuid: UUID, label: 'moved-ds' });
    await ingestComstarStorageHost(catalog, {
      host: 'zfs01',
      collectedAt: new Date(T0.getTime() + 3_600_000),
      listing: collectorFile([
        { command: 'stmfadm list-lu -v', output: stmfadmListLu([{ guid: GUID, alias: 'esx-vol4', dataFile: ZVOL, sizeBytes: 107374182400 }]) },
        { command: `stmfadm list-view -l ${GUID}`, output: stmfadmListView([{ entry: 0, lun: 4 }]) },
      ]),
      listingSource: 'stmfadm',
      stmfExport: stmfExport({ lus: [{ guid: GUID, views: [{ entry: 0, lun: 4 }] }] }),
      more: [{ kind: 'iscsitgt-smf', fileName: 'iscsitgt.xml', sourcePath: 'svccfg export iscsitgt', bytes: enc(legacy(false)) }],
    });
  }, 240_000);
  afterAll(async () => catalog?.close());

  it('follows COMSTAR, names the disabled export, and prints no iscsitgt command', async () => {
    const res = await catalog.request(`/v1/volumes/${UUID}/dr-plan`);
    expect(res.status).toBe(200);
    const plan = (await res.json()) as { naaChecks: Array<{ verdict: string; luLun: number; message: string }>; steps: Array<{ commands: string[] }> };
    const commands = plan.steps.flatMap((s) => s.commands);
    expect(commands.filter((c) => /iscsitgt|iscsitadm/.test(c))).toEqual([]);
    expect(commands).toContain(`stmfadm list-view -l ${GUID}`);
    expect(plan.naaChecks).toMatchObject([{ verdict: 'match', luLun: 4 }]);
    expect(plan.naaChecks[0].message).toContain('(comstar)');
    expect(plan.naaChecks[0].message).toContain("zfs01's iscsitgt export of the same capture holds this LU too, with that service disabled");
    const text = await (await catalog.request(`/v1/volumes/${UUID}/dr-plan?format=text`)).text();
    expect(text).not.toMatch(/^ {3}svcadm enable iscsitgt$/m);
  });
});
