import { describe, expect, test } from 'vitest';
import { parseEsxInventory, type EsxDetails } from '../../formats/esx.js';
import {
  collectorFile,
  esxcfgScsidevsM,
  esxcfgVmhbadevs,
  esxcliDeviceList,
  esxcliExtentList,
  esxConf,
  partedUtilGetptbl,
  type Quirks,
} from '../fixtures/text-fixtures.js';

const NAA = 'naa.600144f0c6e7d3b400004f9a2c4e0001';
const VML = 'vml.0200000000600144f0c6e7d3b400004f9a2c4e0001434f4d535441';
const VMFS = '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c';
const HOST = '5a1c3d00-8e2b7c41-0c3d-0050569a1b2c';

function inventory(q: Quirks = {}): string {
  return collectorFile(
    [
      {
        command: 'esxcli storage core device list',
        output: esxcliDeviceList(
          [
            { id: NAA.toUpperCase().replace('NAA.', 'naa.'), vml: VML.toUpperCase().replace('VML.', 'vml.'), sizeMb: 102400 },
            {
              id: 'mpx.vmhba32:C0:T0:L0',
              displayName: 'Local USB Direct-Access (mpx.vmhba32:C0:T0:L0)',
              sizeMb: 7680,
              vendor: 'SanDisk',
              model: 'Cruzer Fit',
              revision: '1.00',
              vml: 'vml.0000000000766d68626133323a303a30',
            },
          ],
          q,
        ),
      },
      {
        command: 'esxcli storage vmfs extent list',
        output: esxcliExtentList(
          [
            { volumeName: 'Production Datastore 01', vmfsUuid: VMFS.toUpperCase(), extentNumber: 0, deviceName: NAA, partition: 1 },
            { volumeName: 'Production Datastore 01', vmfsUuid: VMFS, extentNumber: 1, deviceName: 'naa.600144f0c6e7d3b400004f9a2c4e0002', partition: 1 },
            { volumeName: 'ds', vmfsUuid: '4f9a2c4e-1b2c3d4e-5f60-0050569a1b2c', extentNumber: 0, deviceName: 'mpx.vmhba32:C0:T0:L0', partition: 3 },
          ],
          q,
        ),
      },
      { command: 'grep /system/uuid /etc/vmware/esx.conf', output: esxConf(HOST, q) },
      {
        command: `partedUtil getptbl /vmfs/devices/disks/${NAA}`,
        output: partedUtilGetptbl({ scheme: 'gpt', geometry: [13054, 255, 63, 209715200], partitions: [{ num: 1, start: 2048, end: 209715166 }] }, q),
      },
    ],
    { crlf: q.crlf },
  );
}

function details(text: string | Uint8Array): EsxDetails {
  const parsed = parseEsxInventory(text);
  expect(parsed.kind).toBe('esx-inventory');
  return parsed.details as EsxDetails;
}

const QUIRKS: [string, Quirks][] = [
  ['clean', {}],
  ['CRLF', { crlf: true }],
  ['trailing spaces', { trailingSpaces: true }],
  ['stderr mixed in', { stderr: ['Error: Unknown command or namespace storage core', 'WARNING: something'] }],
  ['CRLF, trailing spaces and stderr', { crlf: true, trailingSpaces: true, stderr: ['stderr line'] }],
];

describe('ESX inventory', () => {
  test.each(QUIRKS)('reads devices, extents, the system UUID and the partition table (%s)', (_name, q) => {
    const d = details(inventory(q));
    expect(d.systemUuid).toBe(HOST);
    expect(d.devices).toEqual([
      {
        deviceId: NAA,
        vml: VML,
        displayName: `SUN iSCSI Disk (${NAA.toUpperCase().replace('NAA.', 'naa.')})`,
        vendor: 'SUN',
        model: 'COMSTAR',
        revision: '1.0',
        sizeBytes: 102400 * 1048576,
        devfsPath: `/vmfs/devices/disks/${NAA.toUpperCase().replace('NAA.', 'naa.')}`,
      },
      {
        deviceId: 'mpx.vmhba32:C0:T0:L0',
        vml: 'vml.0000000000766d68626133323a303a30',
        displayName: 'Local USB Direct-Access (mpx.vmhba32:C0:T0:L0)',
        vendor: 'SanDisk',
        model: 'Cruzer Fit',
        revision: '1.00',
        sizeBytes: 7680 * 1048576,
        devfsPath: '/vmfs/devices/disks/mpx.vmhba32:C0:T0:L0',
      },
    ]);
    expect(d.extents).toEqual([
      { volumeName: 'Production Datastore 01', vmfsUuid: VMFS, extentNumber: 0, deviceId: NAA, devicePath: null, vmhba: null, partition: 1 },
      {
        volumeName: 'Production Datastore 01',
        vmfsUuid: VMFS,
        extentNumber: 1,
        deviceId: 'naa.600144f0c6e7d3b400004f9a2c4e0002',
        devicePath: null,
        vmhba: null,
        partition: 1,
      },
      {
        volumeName: 'ds',
        vmfsUuid: '4f9a2c4e-1b2c3d4e-5f60-0050569a1b2c',
        extentNumber: 0,
        deviceId: 'mpx.vmhba32:C0:T0:L0',
        devicePath: null,
        vmhba: null,
        partition: 3,
      },
    ]);
    expect(d.partitionTables).toEqual([
      {
        disk: `/vmfs/devices/disks/${NAA}`,
        deviceId: NAA,
        scheme: 'gpt',
        geometry: { cylinders: 13054, heads: 255, sectors: 63, totalSectors: 209715200 },
        partitions: [{ num: 1, start: 2048, end: 209715166, typeGuid: 'AA31E02A-400F-11DB-9590-000C2911D1B8', typeName: 'vmfs', mbrType: null, attr: 0 }],
      },
    ]);
  });

  test('reads an extent list whose padding became TABs by the row around its UUID', () => {
    const text = esxcliExtentList([{ volumeName: 'Datastore With Spaces', vmfsUuid: VMFS, extentNumber: 0, deviceName: NAA, partition: 1 }], { tabs: true });
    expect(text).toContain('\t');
    expect(details(text).extents).toEqual([
      { volumeName: 'Datastore With Spaces', vmfsUuid: VMFS, extentNumber: 0, deviceId: NAA, devicePath: null, vmhba: null, partition: 1 },
    ]);
  });

  test('ESX 3: esxcfg-vmhbadevs with and without -m', () => {
    const text = collectorFile([
      {
        command: 'esxcfg-vmhbadevs',
        output: esxcfgVmhbadevs([
          { vmhba: 'vmhba0:0:0', devicePath: '/dev/sda' },
          { vmhba: 'vmhba1:0:12', devicePath: '/dev/sdb' },
        ]),
      },
      {
        command: 'esxcfg-vmhbadevs -m',
        output: esxcfgVmhbadevs([{ vmhba: 'vmhba1:0:12:1', devicePath: '/dev/sdb1', vmfsUuid: '48858DBF-0F36AB44-8E1C-001A6467A6DE' }]),
      },
      { command: 'cat /etc/vmware/esx.conf', output: esxConf('48858dbf-1a2b3c4d-5e6f-001a6467a6de') },
    ]);
    const d = details(text);
    expect(d.vmhbaDevices).toEqual([
      { vmhba: 'vmhba0:0:0', devicePath: '/dev/sda' },
      { vmhba: 'vmhba1:0:12', devicePath: '/dev/sdb' },
    ]);
    expect(d.extents).toEqual([
      {
        volumeName: null,
        vmfsUuid: '48858dbf-0f36ab44-8e1c-001a6467a6de',
        extentNumber: null,
        deviceId: '/dev/sdb',
        devicePath: '/dev/sdb1',
        vmhba: 'vmhba1:0:12',
        partition: 1,
      },
    ]);
    expect(d.systemUuid).toBe('48858dbf-1a2b3c4d-5e6f-001a6467a6de');
  });

  test('ESX 4+: esxcfg-scsidevs -m, bare and as a section', () => {
    const out = esxcfgScsidevsM(
      [
        { device: NAA, partition: 1, vmfsUuid: VMFS, extentNumber: 0, volumeName: 'Production Datastore 01' },
        { device: 'mpx.vmhba32:C0:T0:L0', partition: 3, vmfsUuid: '4f9a2c4e-1b2c3d4e-5f60-0050569a1b2c', extentNumber: 0, volumeName: 'datastore1' },
      ],
      { trailingSpaces: true },
    );
    const expected = [
      {
        volumeName: 'Production Datastore 01',
        vmfsUuid: VMFS,
        extentNumber: 0,
        deviceId: NAA,
        devicePath: `/vmfs/devices/disks/${NAA}:1`,
        vmhba: null,
        partition: 1,
      },
      {
        volumeName: 'datastore1',
        vmfsUuid: '4f9a2c4e-1b2c3d4e-5f60-0050569a1b2c',
        extentNumber: 0,
        deviceId: 'mpx.vmhba32:C0:T0:L0',
        devicePath: '/vmfs/devices/disks/mpx.vmhba32:C0:T0:L0:3',
        vmhba: null,
        partition: 3,
      },
    ];
    expect(details(out).extents).toEqual(expected);
    expect(details(collectorFile([{ command: 'esxcfg-scsidevs -m', output: out }])).extents).toEqual(expected);
  });

  test('an MBR partition table from partedUtil', () => {
    const text = partedUtilGetptbl({
      scheme: 'msdos',
      geometry: [1044, 255, 63, 16777216],
      partitions: [{ num: 1, start: 128, end: 16771859, mbrType: 251, attr: 0 }],
    });
    expect(details(text).partitionTables).toEqual([
      {
        disk: null,
        deviceId: null,
        scheme: 'msdos',
        geometry: { cylinders: 1044, heads: 255, sectors: 63, totalSectors: 16777216 },
        partitions: [{ num: 1, start: 128, end: 16771859, typeGuid: null, typeName: '0xfb', mbrType: 251, attr: 0 }],
      },
    ]);
  });

  test('a bare esx.conf line is enough', () => {
    expect(details(`/system/uuid = "${HOST.toUpperCase()}"\n`).systemUuid).toBe(HOST);
  });

  test('a bare device list is recognised by its layout', () => {
    expect(details(esxcliDeviceList([{ id: NAA, vml: VML }])).devices.map((x) => x.deviceId)).toEqual([NAA]);
  });

  test('sections for commands it does not read are skipped', () => {
    const text = collectorFile([
      { command: 'esxcli system version get', output: '   Product: VMware ESXi\n   Version: 6.7.0\n' },
      { command: 'esxcli storage vmfs extent list', output: esxcliExtentList([]) },
    ]);
    const d = details(text);
    expect(d.sections.map((s) => s.kind)).toEqual([null, 'extent-list']);
    expect(d.extents).toEqual([]);
  });

  test('a partition line it cannot read is malformed with its line', () => {
    const text = 'gpt\n13054 255 63 209715200\n1 2048 209715166 NOTAGUID vmfs 0\n';
    expect(() => parseEsxInventory(text)).toThrow(expect.objectContaining({ code: 'malformed', line: 3 }));
  });
});
