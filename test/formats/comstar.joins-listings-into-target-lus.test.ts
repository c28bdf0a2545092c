import { describe, expect, test } from 'vitest';
import { parseComstarListing, type ComstarDetails } from '../../formats/comstar.js';
import {
  collectorFile,
  itadmListTarget,
  itadmListTpg,
  sbdadmListLu,
  stmfadmListGroups,
  stmfadmListLu,
  stmfadmListView,
  type Quirks,
} from '../fixtures/text-fixtures.js';

const LU_A = '600144F0C6E7D3B400004F9A2C4E0001';
const LU_B = '600144F0C6E7D3B400004F9A2C4E0002';
const ZVOL_A = '/dev/zvol/rdsk/tank/iscsi/esx-vol0';
const ZVOL_B = '/dev/zvol/rdsk/tank/iscsi/esx-vol1';
const TGT = 'iqn.2010-08.org.illumos:02:0b7f2b8e-6c1d-e611-a2f4-b1c2d3e4f5a6';
const ESX = 'iqn.1998-01.com.vmware:esx01-4a1b2c3d';

function bundle(q: Quirks = {}): string {
  return collectorFile(
    [
      {
        command: 'stmfadm list-lu -v',
        output: stmfadmListLu(
          [
            { guid: LU_A, alias: 'esx-vol0', dataFile: ZVOL_A, sizeBytes: 107374182400, serial: 'A1', viewEntryCount: 2 },
            { guid: LU_B, dataFile: ZVOL_B, sizeBytes: 53687091200, writeProtect: true, writebackCache: false, accessState: 'Standby' },
          ],
          q,
        ),
      },
      {
        command: `stmfadm list-view -l ${LU_A}`,
        output: stmfadmListView(
          [
            { entry: 0, hostGroup: 'esx', targetGroup: 'tg0', lun: 0 },
            { entry: 1, lun: 7 },
          ],
          q,
        ),
      },
      { command: `stmfadm list-view -l ${LU_B}`, output: stmfadmListView([{ entry: 0, hostGroup: 'esx', lun: 1 }], q) },
      {
        command: 'sbdadm list-lu',
        output: sbdadmListLu(
          [
            { guid: LU_A, sizeBytes: 107374182400, source: ZVOL_A },
            { guid: LU_B, sizeBytes: 53687091200, source: ZVOL_B },
          ],
          q,
        ),
      },
      {
        command: 'itadm list-target -v',
        output: itadmListTarget(
          [
            {
              iqn: TGT,
              alias: 'storage-a',
              sessions: 2,
              tpgTags: [{ tpg: 'tpg-a', tag: 2 }],
              chapSecret: 'set',
              chapUser: 'chapuser1',
              auth: 'chap',
              authDefaults: false,
            },
          ],
          q,
        ),
      },
      {
        command: 'itadm list-tpg -v',
        output: itadmListTpg(
          [
            { name: 'tpg-a', portals: ['192.0.2.10:3260', '[2001:db8::10]:3260'] },
            { name: 'tpg-empty', portals: [] },
          ],
          q,
        ),
      },
      { command: 'stmfadm list-hg -v', output: stmfadmListGroups('host', [{ name: 'esx', members: [ESX] }], q) },
      { command: 'stmfadm list-tg -v', output: stmfadmListGroups('target', [{ name: 'tg0', members: [TGT] }], q) },
    ],
    { crlf: q.crlf },
  );
}

function details(text: string | Uint8Array): ComstarDetails {
  const parsed = parseComstarListing(text);
  expect(parsed.kind).toBe('comstar-listing');
  return parsed.details as ComstarDetails;
}

const QUIRKS: [string, Quirks][] = [
  ['clean', {}],
  ['CRLF', { crlf: true }],
  ['trailing spaces and TABs', { trailingSpaces: true }],
  ['stderr mixed in', { stderr: ['stmfadm: STMF service version incorrect', 'itadm: warning: something odd happened'] }],
  ['all quirks', { crlf: true, trailingSpaces: true, stderr: ['sbdadm: resource busy'] }],
];

describe('COMSTAR listings joined', () => {
  test.each(QUIRKS)('reads LUs, views, targets and TPGs (%s)', (_name, q) => {
    const d = details(bundle(q));
    expect(d.lus).toHaveLength(2);
    expect(d.lus[0]).toEqual({
      guid: LU_A,
      deviceId: `naa.${LU_A.toLowerCase()}`,
      operationalStatus: 'Online',
      provider: 'sbd',
      alias: 'esx-vol0',
      viewEntryCount: 2,
      dataFile: ZVOL_A,
      metaFile: null,
      sizeBytes: 107374182400,
      blockSize: 512,
      managementUrl: null,
      vendor: 'SUN',
      product: 'COMSTAR',
      serial: 'A1',
      writeProtect: false,
      writebackCache: true,
      accessState: 'Active',
    });
    expect(d.lus[1]).toMatchObject({ alias: null, writeProtect: true, writebackCache: false, accessState: 'Standby' });
    expect(d.views).toEqual([
      { guid: LU_A, deviceId: `naa.${LU_A.toLowerCase()}`, entry: 0, hostGroup: 'esx', targetGroup: 'tg0', lun: 0 },
      { guid: LU_A, deviceId: `naa.${LU_A.toLowerCase()}`, entry: 1, hostGroup: null, targetGroup: null, lun: 7 },
      { guid: LU_B, deviceId: `naa.${LU_B.toLowerCase()}`, entry: 0, hostGroup: 'esx', targetGroup: null, lun: 1 },
    ]);
    expect(d.sbd).toEqual([
      { guid: LU_A.toLowerCase(), deviceId: `naa.${LU_A.toLowerCase()}`, sizeBytes: 107374182400, source: ZVOL_A },
      { guid: LU_B.toLowerCase(), deviceId: `naa.${LU_B.toLowerCase()}`, sizeBytes: 53687091200, source: ZVOL_B },
    ]);
    expect(d.targets).toEqual([
      {
        iqn: TGT,
        state: 'online',
        sessions: 2,
        alias: 'storage-a',
        auth: 'chap',
        authFromDefaults: false,
        chapUser: 'chapuser1',
        chapSecretSet: true,
        tpgTags: [{ tpg: 'tpg-a', tag: 2 }],
      },
    ]);
    expect(d.tpgs).toEqual([
      { tag: 'tpg-a', portalCount: 2, portals: ['192.0.2.10:3260', '[2001:db8::10]:3260'] },
      { tag: 'tpg-empty', portalCount: 0, portals: [] },
    ]);
    expect(d.hostGroups).toEqual([{ name: 'esx', members: [ESX] }]);
    expect(d.targetGroups).toEqual([{ name: 'tg0', members: [TGT] }]);
  });

  test('joins LU, view, target and group into TargetLu rows', () => {
    const d = details(bundle());
    const a = `naa.${LU_A.toLowerCase()}`;
    const b = `naa.${LU_B.toLowerCase()}`;
    expect(d.targetLus).toEqual([
      { stack: 'comstar', iqn: TGT, alias: 'storage-a', lun: 0, deviceId: a, backingStore: ZVOL_A, sizeBytes: 107374182400, tpgs: ['tpg-a'], acl: [ESX] },
      { stack: 'comstar', iqn: null, alias: null, lun: 7, deviceId: a, backingStore: ZVOL_A, sizeBytes: 107374182400, tpgs: [], acl: [] },
      { stack: 'comstar', iqn: null, alias: null, lun: 1, deviceId: b, backingStore: ZVOL_B, sizeBytes: 53687091200, tpgs: [], acl: [ESX] },
    ]);
  });

  test('falls back to the sbdadm source and size when list-lu is missing', () => {
    const text = collectorFile([
      { command: `stmfadm list-view -l ${LU_A.toLowerCase()}`, output: stmfadmListView([{ entry: 0, lun: 3 }]) },
      { command: 'sbdadm list-lu', output: sbdadmListLu([{ guid: LU_A, sizeBytes: 1073741824, source: ZVOL_A }]) },
    ]);
    expect(details(text).targetLus).toEqual([
      {
        stack: 'comstar',
        iqn: null,
        alias: null,
        lun: 3,
        deviceId: `naa.${LU_A.toLowerCase()}`,
        backingStore: ZVOL_A,
        sizeBytes: 1073741824,
        tpgs: [],
        acl: [],
      },
    ]);
  });

  test('lists an LU without views with no LUN', () => {
    const d = details(stmfadmListLu([{ guid: LU_B, dataFile: ZVOL_B, sizeBytes: 512 }]));
    expect(d.targetLus).toEqual([
      { stack: 'comstar', iqn: null, alias: null, lun: null, deviceId: `naa.${LU_B.toLowerCase()}`, backingStore: ZVOL_B, sizeBytes: 512, tpgs: [], acl: [] },
    ]);
  });

  test('a named target group whose members were not captured gives an unknown (null) IQN', () => {
    const text = collectorFile([{ command: `stmfadm list-view -l ${LU_A}`, output: stmfadmListView([{ entry: 0, targetGroup: 'tg-unknown', lun: 4 }]) }]);
    expect(details(text).targetLus).toEqual([expect.objectContaining({ iqn: null, lun: 4 })]);
  });
});

describe('COMSTAR bare outputs, recognised by content', () => {
  test('stmfadm list-lu -v from an older build without the last properties, placeholders null', () => {
    const d = details(stmfadmListLu([{ guid: LU_A }], { oldBuild: true, lowerCaseGuids: true }));
    expect(d.lus).toEqual([
      expect.objectContaining({
        guid: LU_A,
        deviceId: `naa.${LU_A.toLowerCase()}`,
        dataFile: null,
        metaFile: null,
        sizeBytes: null,
        managementUrl: null,
        serial: null,
        writeProtect: null,
        writebackCache: null,
        accessState: null,
      }),
    ]);
    expect(d.sections).toEqual([{ command: null, kind: 'list-lu', line: 1 }]);
  });

  test('prop unavailable in standby reads as null', () => {
    const text = stmfadmListLu([{ guid: LU_A, dataFile: 'prop unavailable in standby', metaFile: '<error retrieving property>' }]);
    expect(details(text).lus[0]).toMatchObject({ dataFile: null, metaFile: null });
  });

  test('stmfadm list-view without its command line has no GUID', () => {
    const d = details(stmfadmListView([{ entry: 0, lun: 5 }]));
    expect(d.views).toEqual([{ guid: null, deviceId: null, entry: 0, hostGroup: null, targetGroup: null, lun: 5 }]);
    expect(d.targetLus).toEqual([]);
  });

  test('sbdadm list-lu', () => {
    const d = details(sbdadmListLu([{ guid: LU_A, sizeBytes: 10737418240, source: '/var/lun files/with space.img' }]));
    expect(d.sbd).toEqual([
      { guid: LU_A.toLowerCase(), deviceId: `naa.${LU_A.toLowerCase()}`, sizeBytes: 10737418240, source: '/var/lun files/with space.img' },
    ]);
  });

  test('itadm list-target -v with a name longer than its column and default tags', () => {
    const long = 'iqn.2010-08.org.illumos:02:0b7f2b8e-6c1d-e611-a2f4-b1c2d3e4f5a6-with-a-long-suffix';
    const d = details(itadmListTarget([{ iqn: long, state: 'offline', alias: undefined }]));
    expect(d.targets).toEqual([
      { iqn: long, state: 'offline', sessions: 0, alias: null, auth: 'none', authFromDefaults: true, chapUser: null, chapSecretSet: false, tpgTags: [] },
    ]);
  });

  test('itadm list-tpg -v', () => {
    expect(details(itadmListTpg([{ name: 'a-very-long-target-portal-group-name', portals: ['192.0.2.1:3260'] }])).tpgs).toEqual([
      { tag: 'a-very-long-target-portal-group-name', portalCount: 1, portals: ['192.0.2.1:3260'] },
    ]);
  });

  test('headers with no rows are fine', () => {
    const text = collectorFile([
      { command: 'itadm list-target -v', output: '' },
      { command: 'sbdadm list-lu', output: '\n' },
      { command: 'itadm list-tpg -v', output: 'TARGET PORTAL GROUP           PORTAL COUNT\n' },
    ]);
    const d = details(text);
    expect(d.targets).toEqual([]);
    expect(d.tpgs).toEqual([]);
    expect(d.sections.map((s) => s.kind)).toEqual(['list-target', 'sbdadm-list-lu', 'list-tpg']);
  });

  test('sections for commands it does not read are listed and skipped', () => {
    const text = collectorFile([
      { command: 'stmfadm list-state', output: 'Operational Status: online\n' },
      { command: 'stmfadm list-lu -v', output: stmfadmListLu([{ guid: LU_A }]) },
    ]);
    const d = details(text);
    expect(d.sections).toEqual([
      { command: 'stmfadm list-state', kind: null, line: 1 },
      { command: 'stmfadm list-lu -v', kind: 'list-lu', line: 3 },
    ]);
    expect(d.lus).toHaveLength(1);
  });
});
