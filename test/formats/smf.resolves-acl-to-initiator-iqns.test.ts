import { describe, expect, test } from 'vitest';
import { parseIscsitgtSmf, type IscsitgtDetails } from '../../formats/smf.js';
import { FIXTURE_SECRETS, iscsitgtExport, type IscsitgtExportSpec } from '../fixtures/text-fixtures.js';

const GUID = '600144f0c6e7d3b400004f9a2c4e0001';
const SPEC: IscsitgtExportSpec = {
  targets: [
    {
      name: 'esx.vol:0',
      iqn: 'iqn.1986-03.com.sun:02:7c1a2b3c-esx-vol0',
      alias: 'esx-vol0',
      acl: ['esx01', 'esx02'],
      tpgts: ['1', '2'],
      luns: [
        { lun: 0, guid: GUID, backingStore: '/dev/zvol/rdsk/tank/iscsi/lun0', blocks: 0x6400000, vid: 'SUN', pid: 'SOLARIS', dtype: 'disk' },
        { lun: 1, guid: '0', backingStore: '/dev/zvol/rdsk/tank/iscsi/lun1', blocks: 0x200000 },
      ],
    },
    { name: 'scratch_disk', iqn: 'iqn.1986-03.com.sun:02:scratch', luns: [{ lun: 0, guid: '600144F0C6E7D3B400004F9A2C4E00FF', blocks: 2048 }] },
  ],
  initiators: [
    { name: 'esx01', iqn: 'iqn.1998-01.com.vmware:esx01-4a1b2c3d' },
    { name: 'esx02', iqn: 'iqn.1998-01.com.vmware:esx02-5e6f7a8b' },
  ],
  tpgts: [
    { tag: '1', addresses: ['192.0.2.10'] },
    { tag: '2', addresses: ['192.0.2.11', '198.51.100.11'] },
  ],
  passwords: true,
};

function details(xml: string): IscsitgtDetails {
  const parsed = parseIscsitgtSmf(xml);
  expect(parsed.kind).toBe('iscsitgt-smf');
  expect(parsed.partition).toBeNull();
  expect(parsed.device).toBeNull();
  expect(parsed.vmfs).toBeNull();
  return parsed.details as IscsitgtDetails;
}

describe('iscsitgt SMF export', () => {
  const variants: [string, string][] = [
    ['as exported', iscsitgtExport(SPEC)],
    ['groups in reverse order', iscsitgtExport({ ...SPEC, reverse: true })],
    ['CRLF line ends', iscsitgtExport({ ...SPEC, crlf: true })],
    ['as bytes', iscsitgtExport(SPEC)],
  ];

  test.each(variants)('resolves targets, ACLs and LUs (%s)', (_name, xml) => {
    const d = details(xml);
    expect(d.service).toBe('system/iscsitgt');
    const vol = d.targets.find((t) => t.iqn === 'iqn.1986-03.com.sun:02:7c1a2b3c-esx-vol0');
    // `__1`/`__2` in the group name decode back to `.` and `:`.
    expect(vol?.name).toBe('esx.vol:0');
    expect(vol?.alias).toBe('esx-vol0');
    expect(vol?.aclNames).toEqual(['esx01', 'esx02']);
    expect(vol?.acl).toEqual(['iqn.1998-01.com.vmware:esx01-4a1b2c3d', 'iqn.1998-01.com.vmware:esx02-5e6f7a8b']);
    expect(vol?.unresolvedAcl).toEqual([]);
    expect(vol?.tpgts).toEqual(['1', '2']);
    expect(vol?.luns).toEqual([0, 1]);
    expect(d.tpgts).toEqual(
      expect.arrayContaining([
        { tag: '1', addresses: ['192.0.2.10'] },
        { tag: '2', addresses: ['192.0.2.11', '198.51.100.11'] },
      ]),
    );

    const lu0 = d.lus.find((l) => l.target === 'esx.vol:0' && l.lun === 0);
    expect(lu0).toMatchObject({
      deviceId: `naa.${GUID}`,
      backingStore: '/dev/zvol/rdsk/tank/iscsi/lun0',
      sizeBytes: 0x6400000 * 512,
      vid: 'SUN',
      pid: 'SOLARIS',
      dtype: 'disk',
      targetKnown: true,
    });
    // guid exported as the count 0: the LU never came online, so no device id.
    const lu1 = d.lus.find((l) => l.target === 'esx.vol:0' && l.lun === 1);
    expect(lu1).toMatchObject({ guid: '0', deviceId: null, sizeBytes: 0x200000 * 512 });
    // Upper-case GUID in the export still yields the canonical lower-case id; `_` in a target name survives the last-`_` split.
    expect(d.lus.find((l) => l.target === 'scratch_disk')?.deviceId).toBe('naa.600144f0c6e7d3b400004f9a2c4e00ff');

    const rows = d.targetLus.filter((r) => r.iqn === 'iqn.1986-03.com.sun:02:7c1a2b3c-esx-vol0');
    expect(rows).toEqual([
      {
        stack: 'iscsitgt',
        iqn: 'iqn.1986-03.com.sun:02:7c1a2b3c-esx-vol0',
        alias: 'esx-vol0',
        lun: 0,
        deviceId: `naa.${GUID}`,
        backingStore: '/dev/zvol/rdsk/tank/iscsi/lun0',
        sizeBytes: 53687091200,
        tpgs: ['1', '2'],
        acl: ['iqn.1998-01.com.vmware:esx01-4a1b2c3d', 'iqn.1998-01.com.vmware:esx02-5e6f7a8b'],
      },
      {
        stack: 'iscsitgt',
        iqn: 'iqn.1986-03.com.sun:02:7c1a2b3c-esx-vol0',
        alias: 'esx-vol0',
        lun: 1,
        deviceId: null,
        backingStore: '/dev/zvol/rdsk/tank/iscsi/lun1',
        sizeBytes: 0x200000 * 512,
        tpgs: ['1', '2'],
        acl: ['iqn.1998-01.com.vmware:esx01-4a1b2c3d', 'iqn.1998-01.com.vmware:esx02-5e6f7a8b'],
      },
    ]);
  });

  test('accepts bytes as well as text', () => {
    const d = parseIscsitgtSmf(new TextEncoder().encode(iscsitgtExport(SPEC))).details as IscsitgtDetails;
    expect(d.targets).toHaveLength(2);
  });

  test('names the passwords group in redacted and never returns a secret', () => {
    const parsed = parseIscsitgtSmf(iscsitgtExport(SPEC));
    const d = parsed.details as IscsitgtDetails;
    expect(d.redacted).toEqual(expect.arrayContaining(['passwords/main', 'passwords/radius', 'passwords/I_esx01', 'passwords/I_esx02']));
    expect(d.redacted).not.toContain('passwords/read_authorization');
    const json = JSON.stringify(parsed);
    for (const secret of Object.values(FIXTURE_SECRETS)) {
      expect(json).not.toContain(secret);
      expect(json).not.toContain(Buffer.from(secret).toString('base64'));
    }
  });

  test('keeps an ACL entry it cannot resolve and says so', () => {
    const d = details(iscsitgtExport({ ...SPEC, targets: [{ ...SPEC.targets[0], acl: ['esx01', 'ghost'] }], initiators: SPEC.initiators }));
    expect(d.targets[0].acl).toEqual(['iqn.1998-01.com.vmware:esx01-4a1b2c3d', 'ghost']);
    expect(d.targets[0].unresolvedAcl).toEqual(['ghost']);
  });

  test('reads a single-valued list exported as a propval, and a guid as astring or count', () => {
    const xml = `<?xml version='1.0'?>
<!DOCTYPE service_bundle SYSTEM '/usr/share/lib/xml/dtd/service_bundle.dtd.1'>
<service_bundle type='manifest' name='export'>
  <service name='system/iscsitgt' type='service' version='0'>
    <property_group name='param_t1_3' type='parameter'>
      <propval name='size' type='astring' value='0x800'/>
      <propval name='guid' type='astring' value='0x600144F0C6E7D3B400004F9A2C4E0003'/>
      <propval name='backing-store' type='astring' value='/dev/zvol/rdsk/tank/a&amp;b'/>
    </property_group>
    <unknown_element><nested/></unknown_element>
    <property_group name='target_t1' type='configuration'>
      <propval name='iscsi-name' type='astring' value='iqn.2001-04.com.example:t1'/>
      <propval name='lun-list' type='astring' value='3'/>
      <propval name='acl-list' type='astring' value='iqn.1998-01.com.vmware:direct'/>
    </property_group>
  </service>
</service_bundle>`;
    const d = details(xml);
    expect(d.targetLus).toEqual([
      {
        stack: 'iscsitgt',
        iqn: 'iqn.2001-04.com.example:t1',
        alias: null,
        lun: 3,
        deviceId: 'naa.600144f0c6e7d3b400004f9a2c4e0003',
        backingStore: '/dev/zvol/rdsk/tank/a&b',
        sizeBytes: 0x800 * 512,
        tpgs: [],
        acl: ['iqn.1998-01.com.vmware:direct'],
      },
    ]);
  });

  test('keeps LUs of a param group whose target is gone out of targetLus but in lus', () => {
    const xml = iscsitgtExport({ targets: [] }).replace(
      '</service>',
      `<property_group name='param_orphan_0' type='parameter'><propval name='guid' type='astring' value='${GUID}'/></property_group></service>`,
    );
    const d = details(xml);
    expect(d.lus).toEqual([expect.objectContaining({ target: 'orphan', lun: 0, deviceId: `naa.${GUID}`, targetKnown: false })]);
    expect(d.targetLus).toEqual([]);
  });
});
