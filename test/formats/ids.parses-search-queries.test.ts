import { describe, expect, it } from 'vitest';
import { parseQuery, type SearchQuery } from '../../formats/ids.js';

/** A query without its raw term, kept per union member. */
type Expected = SearchQuery extends infer Q ? (Q extends unknown ? Omit<Q, 'raw'> : never) : never;

const cases: [string, Expected][] = [
  ['5a1c3e7f-2b4d6e80-91a2-0050569a1b2c', { type: 'vmfsUuid', vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c' }],
  ['  5A1C3E7F-2B4D6E80-91A2-0050569A1B2C  ', { type: 'vmfsUuid', vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c' }],
  ['5a1c3e7f', { type: 'uuidPrefix', prefix: '5a1c3e7f' }],
  ['5A1C3E7F-2B4D', { type: 'uuidPrefix', prefix: '5a1c3e7f-2b4d' }],
  ['5a1c3e7f2b4d6e8091', { type: 'uuidPrefix', prefix: '5a1c3e7f-2b4d6e80-91' }],
  ['5a1c3e7f-2b4d6e80-91a2-0050', { type: 'uuidPrefix', prefix: '5a1c3e7f-2b4d6e80-91a2-0050' }],
  ['naa.600144F0C0FFEE00000000000000BEEF', { type: 'deviceId', deviceId: 'naa.600144f0c0ffee00000000000000beef' }],
  ['EUI.0025385B71B04A2F', { type: 'deviceId', deviceId: 'eui.0025385b71b04a2f' }],
  ['mpx.vmhba32:C0:T0:L0', { type: 'deviceId', deviceId: 'mpx.vmhba32:C0:T0:L0' }],
  ['5000C50012345678', { type: 'deviceId', deviceId: 'naa.5000c50012345678' }],
  [
    'vml.02000c00006006016012345678abcdef0123456789565241494420',
    { type: 'vml', vml: 'vml.02000c00006006016012345678abcdef0123456789565241494420', deviceId: 'naa.6006016012345678abcdef0123456789', lun: 12 },
  ],
  [
    '600144F0C0FFEE00000000000000BEEF',
    { type: 'hex', hex: '600144f0c0ffee00000000000000beef', vmfsUuid: '600144f0-c0ffee00-0000-00000000beef', deviceId: 'naa.600144f0c0ffee00000000000000beef' },
  ],
  [
    '5a1c3e7f2b4d6e8091a20050569a1b2c',
    { type: 'hex', hex: '5a1c3e7f2b4d6e8091a20050569a1b2c', vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c', deviceId: null },
  ],
  ['iqn.1986-03.com.sun:02:7e1b3f0c-Target1', { type: 'iqn', iqn: 'iqn.1986-03.com.sun:02:7e1b3f0c-target1' }],
  ['/dev/zvol/rdsk/tank/iscsi/lun0', { type: 'backingStore', path: '/dev/zvol/rdsk/tank/iscsi/lun0', dataset: 'tank/iscsi/lun0' }],
  ['/dev/zvol/dsk/tank/vmfs01', { type: 'backingStore', path: '/dev/zvol/dsk/tank/vmfs01', dataset: 'tank/vmfs01' }],
  ['/export/luns/lu0.img', { type: 'backingStore', path: '/export/luns/lu0.img', dataset: null }],
  ['tank/iscsi/lun0', { type: 'backingStore', path: 'tank/iscsi/lun0', dataset: 'tank/iscsi/lun0' }],
  ['tank/iscsi/lun0@daily-2026-11-25', { type: 'backingStore', path: 'tank/iscsi/lun0@daily-2026-11-25', dataset: 'tank/iscsi/lun0' }],
  ['datastore1', { type: 'text', text: 'datastore1' }],
  ['esx01.example.com', { type: 'text', text: 'esx01.example.com' }],
  ['Prod LUN 3', { type: 'text', text: 'Prod LUN 3' }],
  ['naa.123', { type: 'text', text: 'naa.123' }],
  ['vml.zz', { type: 'text', text: 'vml.zz' }],
  ['5a1c', { type: 'text', text: '5a1c' }],
  ['5a1c-3e7f-2b4d', { type: 'text', text: '5a1c-3e7f-2b4d' }],
  // Spellings copied from vSphere and array tools (VMware's datastore URL `ds:///vmfs/volumes/<uuid>/`
  // and datastore path `[datastore] folder/file.vmx`, as the vSphere Web Services API reference
  // documents DatastoreSummary.url and a VirtualMachine's files; a WWN in colon-separated bytes as
  // SAN switches print it).
  [
    'ds:///vmfs/volumes/5a1c3e7f-2b4d6e80-91a2-0050569a1b2c/',
    { type: 'backingStore', path: '/vmfs/volumes/5a1c3e7f-2b4d6e80-91a2-0050569a1b2c/', dataset: null },
  ],
  ['[prod-ds01] vm01/vm01.vmx', { type: 'text', text: 'prod-ds01' }],
  ['[prod-ds01]', { type: 'text', text: 'prod-ds01' }],
  [
    '60:01:44:F0:C0:FF:EE:00:00:00:00:00:00:00:BE:EF',
    { type: 'hex', hex: '600144f0c0ffee00000000000000beef', vmfsUuid: '600144f0-c0ffee00-0000-00000000beef', deviceId: 'naa.600144f0c0ffee00000000000000beef' },
  ],
  ['50:01:43:80:12:34:56:78', { type: 'deviceId', deviceId: 'naa.5001438012345678' }],
  ['[]', { type: 'text', text: '[]' }],
  ['60:01:44', { type: 'text', text: '60:01:44' }],
  // A Linux host's spellings (udev's /dev/disk/by-id names, lsscsi -w, multipath -ll and
  // scsi_id: a leading 3 is the designator type NAA), and a GUID's 8-4-4-4-12: the same id.
  ...[
    '0x600144f0c0ffee00000000000000beef',
    'wwn-0x600144f0c0ffee00000000000000beef',
    '/dev/disk/by-id/wwn-0x600144f0c0ffee00000000000000beef',
    'scsi-3600144f0c0ffee00000000000000beef',
    '/dev/disk/by-id/dm-uuid-mpath-3600144f0c0ffee00000000000000beef',
    '3600144f0c0ffee00000000000000beef',
    '600144F0-C0FF-EE00-0000-00000000BEEF',
  ].map((term): [string, Expected] => [
    term,
    { type: 'hex', hex: '600144f0c0ffee00000000000000beef', vmfsUuid: '600144f0-c0ffee00-0000-00000000beef', deviceId: 'naa.600144f0c0ffee00000000000000beef' },
  ]),
  ['wwn-0x5001438012345678', { type: 'deviceId', deviceId: 'naa.5001438012345678' }],
  ['scsi-35001438012345678', { type: 'deviceId', deviceId: 'naa.5001438012345678' }],
  // Not those: a bare 3 before 16 digits stays a VMFS UUID prefix; a 0x before other lengths is text.
  ['35001438012345678', { type: 'uuidPrefix', prefix: '35001438-01234567-8' }],
  ['0x5001438012', { type: 'text', text: '0x5001438012' }],
];

describe('parseQuery', () => {
  it.each(cases)('%j', (term, expected) => {
    expect(parseQuery(term)).toEqual({ ...expected, raw: term });
  });

  it.each(['', '   ', '\t\n'])('refuses the empty term %j', (term) => {
    expect(() => parseQuery(term)).toThrow(expect.objectContaining({ name: 'FormatError', code: 'empty' }));
  });
});
