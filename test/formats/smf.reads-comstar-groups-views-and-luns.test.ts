import { describe, expect, test } from 'vitest';
import { decodeLuNbr, parseStmfSmf, type StmfDetails } from '../../formats/smf.js';
import { bigStmfExport, luNbrHex, stmfExport, type StmfExportSpec } from '../fixtures/text-fixtures.js';

const LU_A = '600144F0C6E7D3B400004F9A2C4E0001';
const LU_B = '600144F0C6E7D3B400004F9A2C4E0002';
const ESX = ['iqn.1998-01.com.vmware:esx01-4a1b2c3d', 'iqn.1998-01.com.vmware:esx02-5e6f7a8b'];
const TARGETS = ['iqn.2010-08.org.illumos:02:storage-a', 'iqn.2010-08.org.illumos:02:storage-b'];

const SPEC: StmfExportSpec = {
  hostGroups: [
    { name: 'esx-cluster', members: ESX },
    { name: 'backup', members: ['iqn.1998-01.com.vmware:bkp'] },
  ],
  targetGroups: [{ name: 'tg-vmware', members: TARGETS }],
  lus: [
    { guid: LU_A, views: [{ entry: 0, hostGroup: 'esx-cluster', targetGroup: 'tg-vmware', lun: 0 }] },
    {
      guid: LU_B,
      views: [
        { entry: 0, lun: 12 },
        { entry: 1, hostGroup: 'backup', lun: 300 },
      ],
    },
  ],
  sbdChunks: 2,
};

function details(xml: string | Uint8Array): StmfDetails {
  const parsed = parseStmfSmf(xml);
  expect(parsed.kind).toBe('stmf-smf');
  return parsed.details as StmfDetails;
}

describe('stmf SMF export', () => {
  test.each([
    ['as exported', stmfExport(SPEC)],
    ['reverse order, lower-case GUIDs, CRLF', stmfExport({ ...SPEC, reverse: true, lowerCaseGuids: true, crlf: true })],
  ])('reads groups, LUs and views (%s)', (_name, xml) => {
    const d = details(xml);
    expect(d.hostGroups).toEqual([
      { name: 'esx-cluster', members: ESX },
      { name: 'backup', members: ['iqn.1998-01.com.vmware:bkp'] },
    ]);
    expect(d.targetGroups).toEqual([{ name: 'tg-vmware', members: TARGETS }]);
    expect(d.lus).toEqual([
      { guid: LU_A, deviceId: `naa.${LU_A.toLowerCase()}`, viewEntryCount: 1, views: [0] },
      { guid: LU_B, deviceId: `naa.${LU_B.toLowerCase()}`, viewEntryCount: 2, views: [0, 1] },
    ]);
    expect(d.views).toEqual([
      {
        guid: LU_A,
        deviceId: `naa.${LU_A.toLowerCase()}`,
        entry: 0,
        allHosts: false,
        allTargets: false,
        hostGroup: 'esx-cluster',
        targetGroup: 'tg-vmware',
        lun: 0,
        luNbr: '0000000000000000',
      },
      {
        guid: LU_B,
        deviceId: `naa.${LU_B.toLowerCase()}`,
        entry: 0,
        allHosts: true,
        allTargets: true,
        hostGroup: null,
        targetGroup: null,
        lun: 12,
        luNbr: '000c000000000000',
      },
      {
        guid: LU_B,
        deviceId: `naa.${LU_B.toLowerCase()}`,
        entry: 1,
        allHosts: false,
        allTargets: true,
        hostGroup: 'backup',
        targetGroup: null,
        lun: 300,
        luNbr: '012c000000000000',
      },
    ]);
    // Provider data stays opaque: only the group and its size.
    expect(d.providerData).toEqual([{ group: 'provider_data_pg_sbd', provider: 'sbd', chunks: 2, bytes: 8000, redacted: false }]);
    expect(JSON.stringify(d)).not.toContain('/dev/zvol/rdsk/tank/iscsi/lun0');
  });

  test('gives one TargetLu per target group member, and a null IQN for all targets', () => {
    const d = details(stmfExport(SPEC));
    const base = { stack: 'comstar', alias: null, backingStore: null, sizeBytes: null, tpgs: [] };
    expect(d.targetLus).toEqual([
      { ...base, iqn: TARGETS[0], lun: 0, deviceId: `naa.${LU_A.toLowerCase()}`, acl: ESX },
      { ...base, iqn: TARGETS[1], lun: 0, deviceId: `naa.${LU_A.toLowerCase()}`, acl: ESX },
      { ...base, iqn: null, lun: 12, deviceId: `naa.${LU_B.toLowerCase()}`, acl: [] },
      { ...base, iqn: null, lun: 300, deviceId: `naa.${LU_B.toLowerCase()}`, acl: ['iqn.1998-01.com.vmware:bkp'] },
    ]);
  });

  test.each([
    ['0000000000000000', 0],
    ['0001000000000000', 1],
    ['4001000000000000', 1],
    ['3fff000000000000', 16383],
    ['00 0c 00 00 00 00 00 00', 12],
    ['8001000000000000', null],
    ['0001000000000001', null],
    ['0001', null],
    ['zz01000000000000', null],
  ])('decodes lu_nbr %s as %s', (hex, lun) => {
    expect(decodeLuNbr(hex)).toBe(lun);
  });

  test('keeps an unusual lu_nbr as hex with no LUN', () => {
    const d = details(stmfExport({ lus: [{ guid: LU_A, views: [{ entry: 0, lun: 0, luNbr: 'C101000000000000' }] }] }));
    expect(d.views[0]).toMatchObject({ lun: null, luNbr: 'c101000000000000' });
    expect(d.targetLus[0]).toMatchObject({ iqn: null, lun: null });
  });

  test('writes the LUN back the way luNbrHex encodes it', () => {
    for (const lun of [0, 1, 255, 256, 1023, 16383]) expect(decodeLuNbr(luNbrHex(lun))).toBe(lun);
  });

  test('reads a large export (about 1 MB)', () => {
    const xml = bigStmfExport(1_000_000);
    expect(xml.length).toBeGreaterThan(900_000);
    const d = details(new TextEncoder().encode(xml));
    expect(d.lus.length).toBeGreaterThan(300);
    expect(d.views.length).toBe(d.lus.length * 2);
  });

  test('accepts groups under an instance as well as under the service', () => {
    const xml = stmfExport({ lus: [] }).replace(
      "<instance name='default' enabled='true'/>",
      `<instance name='default' enabled='true'><property_group name='lu-${LU_A}' type='application'><propval name='ve_cnt' type='count' value='0'/></property_group></instance>`,
    );
    expect(details(xml).lus).toEqual([{ guid: LU_A, deviceId: `naa.${LU_A.toLowerCase()}`, viewEntryCount: 0, views: [] }]);
  });
});
