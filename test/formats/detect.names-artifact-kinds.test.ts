import { describe, expect, it } from 'vitest';
import { detect } from '../../formats/detect.js';
import { buildVhSf, buildVmfsDisk } from '../fixtures/vmfs-images.js';
import * as tf from '../fixtures/text-fixtures.js';

const text = (s: string) => new TextEncoder().encode(s);

const SMF_HEAD = `<?xml version='1.0'?>\n<!DOCTYPE service_bundle SYSTEM '/usr/share/lib/xml/dtd/service_bundle.dtd.1'>\n`;

describe('detect by content', () => {
  it.each([
    ['VMFS3 disk dump, legacy 2 MiB', buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy' }), 'vmfs-header'],
    ['VMFS5 GPT dump through the descriptor', buildVmfsDisk({ lvmMajor: 5 }), 'vmfs-header'],
    ['VMFS6 dump', buildVmfsDisk({ lvmMajor: 6 }), 'vmfs-header'],
    ['partition-relative dump', buildVmfsDisk({ lvmMajor: 5, partitionRelative: true, dumpLength: 'legacy' }), 'vmfs-header'],
    ['wiped table, header at LBA 2048', buildVmfsDisk({ lvmMajor: 5, scheme: 'none', dumpLength: 3 * 1024 * 1024 }), 'vmfs-header'],
    ['first sector with a VMFS MBR entry (part-backup)', buildVmfsDisk({ lvmMajor: 3, dumpLength: 512 }), 'vmfs-header'],
    ['.vh.sf copy', buildVhSf(), 'vh-sf'],
    [
      'iscsitgt export',
      text(
        `${SMF_HEAD}<service_bundle type='profile' name='iscsitgt'>\n<service name='system/iscsitgt' type='service' version='0'>\n</service>\n</service_bundle>\n`,
      ),
      'iscsitgt-smf',
    ],
    [
      'stmf export',
      text(`${SMF_HEAD}<service_bundle type='archive' name='stmf'>\n<service name='system/stmf' type='service' version='0'>\n</service>\n</service_bundle>\n`),
      'stmf-smf',
    ],
    ['stmfadm list-lu -v', text('LU Name: 600144F0C0FFEE00000000000000BEEF\n    Operational Status: Online\n'), 'comstar-listing'],
    ['stmfadm list-view', text('View Entry: 0\n    Host group   : All\n    Target group : All\n    LUN          : 3\n'), 'comstar-listing'],
    ['sbdadm list-lu', text('\nFound 2 LU(s)\n\n\t      GUID                    DATA SIZE           SOURCE\n'), 'comstar-listing'],
    [
      'itadm list-target -v',
      text('TARGET NAME                                                  STATE    SESSIONS \r\niqn.1986-03.com.sun:02:abc   online   1        \r\n'),
      'comstar-listing',
    ],
    [
      'itadm list-tpg -v',
      text('TARGET PORTAL GROUP           PORTAL COUNT\ntpg1                          1\n    portals:\t10.0.0.1:3260\n'),
      'comstar-listing',
    ],
    ['esx.conf', text('/net/pnic/child[0000]/name = "vmnic0"\n/system/uuid = "4a1c3e7f-2b4d6e80-91a2-0050569a1b2c"\n'), 'esx-inventory'],
    ['esxcfg-vmhbadevs -m', text('vmhba1:0:12:1     /dev/sdb1            4a1c3e7f-2b4d6e80-91a2-0050569a1b2c\n'), 'esx-inventory'],
    [
      'esxcli storage vmfs extent list',
      text(
        'Volume Name  VMFS UUID                            Extent Number  Device Name                           Partition\n-----------  -----------------------------------  -------------  ------------------------------------  ---------\n',
      ),
      'esx-inventory',
    ],
    [
      'esxcli storage core device list',
      text(
        'naa.600144f0c0ffee00000000000000beef\n   Display Name: SUN iSCSI Disk\n   Has Settable Display Name: true\n   Devfs Path: /vmfs/devices/disks/naa.600144f0c0ffee00000000000000beef\n',
      ),
      'esx-inventory',
    ],
    ['partedUtil getptbl', text('gpt\n267349 255 63 4294967296\n1 2048 4294967262 AA31E02A400F11DB9590000C2911D1B8 vmfs 0\n'), 'esx-inventory'],
    ['zfs list -H -p', text('tank/iscsi/lun0@daily-1\t1764000000\t123456\ntank/iscsi/lun0@daily-2\t1764086400\t0\n'), 'zfs-snapshots'],
    ['random prose', text('nothing to see here\n'), 'unknown'],
    ['empty', new Uint8Array(0), 'unknown'],
  ] as const)('%s → %s', (_name, bytes, kind) => {
    expect(detect(bytes)).toBe(kind);
  });
});

describe('detect by file name when content says nothing', () => {
  const blank = new Uint8Array(64);
  it.each([
    ['vmfs-header-backup-sdb.hex', 'vmfs-header'],
    ['/var/backups/part-backup-sdc.hex', 'vmfs-header'],
    ['esx01-4a1c3e7f-2b4d6e80-91a2-0050569a1b2c-vh.sf.bu', 'vh-sf'],
    ['.vh.sf', 'vh-sf'],
    ['vmfs-undelete-datastore1.tgz', 'vmfs-undelete'],
    ['iscsitgt-export.xml', 'iscsitgt-smf'],
    ['stmf.xml', 'stmf-smf'],
    ['notes.xml', 'unknown'],
    ['readme.txt', 'unknown'],
  ] as const)('%s → %s', (name, kind) => {
    expect(detect(blank, name)).toBe(kind);
  });

  it('prefers content over a misleading name', () => {
    expect(detect(buildVhSf(), 'vmfs-header-backup-sdb.hex')).toBe('vh-sf');
  });
});

describe('detect on dumps too short for their header', () => {
  it('a 2 MiB legacy dump of a GPT disk is still a vmfs-header (its parse says truncated)', () => {
    expect(detect(buildVmfsDisk({ lvmMajor: 5, dumpLength: 'legacy' }))).toBe('vmfs-header');
  });
});

describe('detect on the composed text fixtures, with their quirks', () => {
  const guid = '600144F0C0FFEE00000000000000BEEF';
  const iqn = 'iqn.1986-03.com.sun:02:7e1b3f0c-target1';
  const quirks = { crlf: true, trailingSpaces: true, tabs: true, stderr: ['stmfadm: warning: something odd'] };
  it.each([
    [
      'iscsitgt export',
      () => tf.iscsitgtExport({ targets: [{ name: 'lun0', iqn, luns: [{ lun: 0, guid: '0' }] }], passwords: true, reverse: true }),
      'iscsitgt-smf',
    ],
    ['stmf export, lower-case GUIDs', () => tf.stmfExport({ lus: [{ guid, views: [{ entry: 0, lun: 3 }] }], lowerCaseGuids: true, crlf: true }), 'stmf-smf'],
    ['stmfadm list-lu -v', () => tf.stmfadmListLu([{ guid }], quirks), 'comstar-listing'],
    ['stmfadm list-view', () => tf.stmfadmListView([{ entry: 0, lun: 3 }], quirks), 'comstar-listing'],
    ['sbdadm list-lu', () => tf.sbdadmListLu([{ guid, sizeBytes: 2 ** 40, source: '/dev/zvol/rdsk/tank/iscsi/lun0' }], quirks), 'comstar-listing'],
    ['itadm list-target -v', () => tf.itadmListTarget([{ iqn }], quirks), 'comstar-listing'],
    ['itadm list-tpg -v', () => tf.itadmListTpg([{ name: 'tpg1', portals: ['10.0.0.1:3260'] }], quirks), 'comstar-listing'],
    ['esxcli device list', () => tf.esxcliDeviceList([{ id: 'naa.' + guid.toLowerCase() }], { crlf: true }), 'esx-inventory'],
    [
      'esxcli extent list',
      () =>
        tf.esxcliExtentList([
          {
            volumeName: 'my datastore',
            vmfsUuid: '4a1c3e7f-2b4d6e80-91a2-0050569a1b2c',
            extentNumber: 0,
            deviceName: 'naa.' + guid.toLowerCase(),
            partition: 1,
          },
        ]),
      'esx-inventory',
    ],
    [
      'esxcfg-vmhbadevs -m',
      () => tf.esxcfgVmhbadevs([{ vmhba: 'vmhba1:0:12:1', devicePath: '/dev/sdb1', vmfsUuid: '4a1c3e7f-2b4d6e80-91a2-0050569a1b2c' }]),
      'esx-inventory',
    ],
    ['esx.conf', () => tf.esxConf('4a1c3e7f-2b4d6e80-91a2-0050569a1b2c', { crlf: true }), 'esx-inventory'],
    [
      'partedUtil getptbl',
      () => tf.partedUtilGetptbl({ scheme: 'gpt', geometry: [267349, 255, 63, 4294967296], partitions: [{ num: 1, start: 2048, end: 4294967262 }] }),
      'esx-inventory',
    ],
    ['zfs list -H -p', () => tf.zfsListSnapshots([{ name: 'tank/iscsi/lun0@daily', creation: 1764000000, used: 4096 }], { crlf: true }), 'zfs-snapshots'],
    [
      'collector file of COMSTAR listings',
      () =>
        tf.collectorFile([
          { command: 'stmfadm list-lu -v', output: '' },
          { command: 'sbdadm list-lu', output: tf.sbdadmListLu([]) },
        ]),
      'comstar-listing',
    ],
    [
      'collector file of esxcli outputs',
      () => tf.collectorFile([{ command: '/sbin/esxcli storage core device list', output: '' }], { crlf: true }),
      'esx-inventory',
    ],
    [
      'collector file of an empty zfs list',
      () => tf.collectorFile([{ command: 'zfs list -H -p -t snapshot -o name,creation,used', output: '' }]),
      'zfs-snapshots',
    ],
  ] as const)('%s → %s', (_name, make, kind) => {
    expect(detect(text(make()))).toBe(kind);
  });
});

describe('detect by the collector file names', () => {
  it.each([
    ['vmfs-header-naa.600144f0c0ffee00000000000000beef.bin', 'vmfs-header'],
    ['4a1c3e7f-2b4d6e80-91a2-0050569a1b2c.vh.sf', 'vh-sf'],
  ] as const)('%s → %s', (name, kind) => {
    expect(detect(new Uint8Array(16), name)).toBe(kind);
  });
});

describe('detect stays linear on degenerate text', () => {
  // Once a file of blank lines took minutes (a \s* at line starts under /m); the test timeout guards it.
  it.each([
    ['64 KiB of newlines', 0x0a],
    ['64 KiB of spaces', 0x20],
    ['64 KiB of TABs', 0x09],
    ['64 KiB of CRs', 0x0d],
  ] as const)('%s → unknown', (_name, byte) => {
    expect(detect(new Uint8Array(64 * 1024).fill(byte))).toBe('unknown');
  });
});
