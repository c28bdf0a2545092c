import { describe, expect, it } from 'vitest';
import { parseVmfsHeader, type VmfsHeaderDetails } from '../../formats/vmfs.js';
import { buildVmfsDisk, DEFAULTS, GPT_VMFS, type VmfsImageOptions } from '../fixtures/vmfs-images.js';

const TiB = 1024 ** 4;

interface Case {
  name: string;
  opts: VmfsImageOptions;
  partition: { scheme: string; index: number; type: string; startLba: number } | null;
  layout: 'disk' | 'partition';
  version: string;
  descriptor: boolean;
  volumeTableOffset: number;
}

const cases: Case[] = [
  {
    name: 'VMFS3 on MBR at LBA 128, legacy 2 MiB dump',
    opts: { lvmMajor: 3, dumpLength: 'legacy' },
    partition: { scheme: 'mbr', index: 1, type: '0xfb', startLba: 128 },
    layout: 'disk',
    version: 'VMFS-3',
    descriptor: false,
    volumeTableOffset: 128 * 512 + 0x100200,
  },
  {
    name: 'VMFS3 on MBR at LBA 128, dump through the FS descriptor',
    opts: { lvmMajor: 3, blockSize: 8 * 1024 * 1024, label: 'prod-vmfs3' },
    partition: { scheme: 'mbr', index: 1, type: '0xfb', startLba: 128 },
    layout: 'disk',
    version: 'VMFS-3.31',
    descriptor: true,
    volumeTableOffset: 128 * 512 + 0x100200,
  },
  {
    name: 'VMFS3 on MBR at LBA 63 (hand-made partition)',
    opts: { lvmMajor: 3, startLba: 63 },
    partition: { scheme: 'mbr', index: 1, type: '0xfb', startLba: 63 },
    layout: 'disk',
    version: 'VMFS-3.31',
    descriptor: true,
    volumeTableOffset: 63 * 512 + 0x100200,
  },
  {
    name: 'VMFS5 on GPT at LBA 2048',
    opts: { lvmMajor: 5, label: 'gold-5' },
    partition: { scheme: 'gpt', index: 1, type: GPT_VMFS, startLba: 2048 },
    layout: 'disk',
    version: 'VMFS-5.81',
    descriptor: true,
    volumeTableOffset: 2048 * 512 + 0x100200,
  },
  {
    name: 'VMFS6 on GPT: volume table at mdAlignment',
    opts: { lvmMajor: 6, label: 'vsphere7-ds' },
    partition: { scheme: 'gpt', index: 1, type: GPT_VMFS, startLba: 2048 },
    layout: 'disk',
    version: 'VMFS-6.82',
    descriptor: true,
    volumeTableOffset: 2048 * 512 + 0x100000 + 0x1000,
  },
  {
    name: 'VMFS6 with a 64 KiB mdAlignment',
    opts: { lvmMajor: 6, mdAlignment: 0x10000 },
    partition: { scheme: 'gpt', index: 1, type: GPT_VMFS, startLba: 2048 },
    layout: 'disk',
    version: 'VMFS-6.82',
    descriptor: true,
    volumeTableOffset: 2048 * 512 + 0x100000 + 0x10000,
  },
  {
    name: 'partition-relative VMFS3 dump, 2 MiB',
    opts: { lvmMajor: 3, partitionRelative: true, dumpLength: 'legacy' },
    partition: null,
    layout: 'partition',
    version: 'VMFS-3',
    descriptor: false,
    volumeTableOffset: 0x100200,
  },
  {
    name: 'partition-relative VMFS5 dump through the descriptor',
    opts: { lvmMajor: 5, partitionRelative: true },
    partition: null,
    layout: 'partition',
    version: 'VMFS-5.81',
    descriptor: true,
    volumeTableOffset: 0x100200,
  },
];

describe('parseVmfsHeader reads each layout', () => {
  it.each(cases)('$name', (c) => {
    const parsed = parseVmfsHeader(buildVmfsDisk(c.opts));
    const details = parsed.details as VmfsHeaderDetails;
    expect(parsed.kind).toBe('vmfs-header');
    if (c.partition) expect(parsed.partition).toMatchObject({ ...c.partition, missing: false });
    else expect(parsed.partition).toBeNull();
    expect(details.layout).toBe(c.layout);
    expect(parsed.device).toMatchObject({
      deviceId: DEFAULTS.deviceId,
      vml: 'vml.02000c0000' + '6006016012345678abcdef0123456789' + '565241494420',
      lun: 12,
      vendor: 'DGC',
      model: 'VRAID',
      revision: '0326',
      extentUuid: DEFAULTS.extentUuid,
    });
    expect(parsed.vmfs?.version).toBe(c.version);
    expect(parsed.vmfs?.segmentUuid).toBe(DEFAULTS.segmentUuid);
    expect(details.volumeTable).toHaveLength(1);
    expect(details.volumeTable[0]).toMatchObject({ offset: c.volumeTableOffset, segmentUuid: DEFAULTS.segmentUuid, stateName: 'normal', extentCount: 1 });
    expect(details.lvm.dataOffset).toBe(0x1100000);
    if (c.descriptor) {
      expect(parsed.vmfs).toMatchObject({ vmfsUuid: DEFAULTS.vmfsUuid, label: c.opts.label ?? DEFAULTS.label, blockSize: c.opts.blockSize ?? 1024 * 1024 });
      expect(details.fsDescriptor?.segmentUuid).toBe(DEFAULTS.segmentUuid);
    } else {
      expect(parsed.vmfs).toMatchObject({ vmfsUuid: null, label: null, blockSize: null });
      expect(details.fsDescriptor).toBeNull();
      expect(details.notes.join('\n')).toMatch(/ends before the FS descriptor/);
    }
  });

  it('decodes creation time and creator MAC from the VMFS UUID', () => {
    const parsed = parseVmfsHeader(buildVmfsDisk({ vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c' }));
    expect(parsed.vmfs?.createdAt).toBe(new Date(0x5a1c3e7f * 1000).toISOString());
    expect(parsed.vmfs?.creatorMac).toBe('00:50:56:9a:1b:2c');
  });

  it('reads device sizes past 2 TiB from all 8 bytes', () => {
    const size = 3 * TiB + 5 * 2 ** 30;
    const parsed = parseVmfsHeader(buildVmfsDisk({ lvmMajor: 5, deviceSizeBytes: size }));
    const expected = size - 2048 * 512 - 33 * 512;
    expect(parsed.device?.sizeBytes).toBe(expected);
    expect(parsed.device!.sizeBytes).toBeGreaterThan(2 ** 32 * 256);
    expect(parsed.partition?.endLba).toBe(size / 512 - 34);
  });

  it.each([
    ['with-model-prefix', 22],
    ['id-then-model', 16],
  ] as const)('decodes LVM header fields (length at +0x0D read as %s)', (layout, storedLength) => {
    const details = parseVmfsHeader(
      buildVmfsDisk({
        lvmMajor: 5,
        lun: 300,
        vendor: 'SUN',
        model: 'COMSTAR',
        revision: '1.0',
        deviceId: 'naa.600144F0C0FFEE00000000000000BEEF',
        deviceIdLayout: layout,
      }),
    ).details as VmfsHeaderDetails;
    expect(details.notes).toEqual([]);
    expect(details.lvm).toMatchObject({
      majorVersion: 5,
      deviceIdType: 2,
      deviceIdLength: storedLength,
      deviceIdLayout: layout,
      vendorHex: Buffer.from('SUN     ').toString('hex'),
      deviceIdFieldHex: '600144f0c0ffee00000000000000beef' + Buffer.from('COMSTA').toString('hex') + '00'.repeat(22),
      lun: 300,
      scsiDeviceType: 0,
      vendor: 'SUN',
      model: 'COMSTAR',
      revision: '1.0',
      deviceIdHex: '600144f0c0ffee00000000000000beef',
      modelPrefix: 'COMSTA',
      diskBlockSize: 512,
      numVolumes: 1,
      generation: 7,
      dataOffset: 0x1100000,
      initTime: '2009-05-26T19:10:00.000Z',
      vmfsL: false,
    });
  });

  it('rebuilds the vml id with the LUN low byte first', () => {
    const parsed = parseVmfsHeader(buildVmfsDisk({ lun: 0x0102, deviceId: '5000c50012345678', model: 'ST3000' }));
    expect(parsed.device?.deviceId).toBe('naa.5000c50012345678');
    expect(parsed.device?.vml).toBe('vml.0200020100' + '5000c50012345678' + '535433303030');
  });
});

describe('4Kn disks', () => {
  it('finds the GPT header at byte 4096 and the partition at LBA × 4096', () => {
    const parsed = parseVmfsHeader(buildVmfsDisk({ lvmMajor: 6, sectorSize: 4096 }));
    expect(parsed.partition).toMatchObject({ scheme: 'gpt', index: 1, type: GPT_VMFS, startLba: 256, missing: false });
    const details = parsed.details as VmfsHeaderDetails;
    expect(details.partitionOffset).toBe(256 * 4096);
    expect(details.partitionTable).toMatchObject({ sectorSize: 4096, headerCrc: { ok: true }, entriesCrc: { ok: true } });
    expect(parsed.vmfs?.vmfsUuid).toBe(DEFAULTS.vmfsUuid);
  });
});

describe('fixture noise', () => {
  it('makes legacy dumps of different devices differ without disturbing the parse', () => {
    const a = buildVmfsDisk({ dumpLength: 'legacy', noiseSeed: 1 });
    const b = buildVmfsDisk({ dumpLength: 'legacy', noiseSeed: 2 });
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).not.toBe(0);
    expect(parseVmfsHeader(a).device).toEqual(parseVmfsHeader(b).device);
  });
});
