import { describe, expect, it } from 'vitest';
import { parseVmfsHeader, planHeaderDump, type VmfsHeaderDetails } from '../../formats/vmfs.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';

describe('a wiped or wrong partition table', () => {
  it.each([
    {
      name: 'wiped table, VMFS3 at LBA 128, legacy dump',
      opts: { lvmMajor: 3 as const, scheme: 'none' as const, startLba: 128, dumpLength: 'legacy' as const },
      lba: 128,
    },
    { name: 'wiped table, VMFS5 at LBA 2048', opts: { lvmMajor: 5 as const, scheme: 'none' as const, startLba: 2048 }, lba: 2048 },
    { name: 'wiped table, VMFS3 at LBA 63', opts: { lvmMajor: 3 as const, scheme: 'none' as const, startLba: 63 }, lba: 63 },
    { name: 'wiped table, VMFS5 at LBA 1024', opts: { lvmMajor: 5 as const, scheme: 'none' as const, startLba: 1024 }, lba: 1024 },
    { name: 'wiped table, VMFS6 at LBA 16384', opts: { lvmMajor: 6 as const, scheme: 'none' as const, startLba: 16384 }, lba: 16384 },
    {
      name: 'MBR pointing at LBA 2048 while VMFS sits at 128',
      opts: { lvmMajor: 3 as const, scheme: 'mbr' as const, startLba: 128, tableStartLba: 2048 },
      lba: 128,
    },
    {
      name: 'GPT pointing at LBA 4096 while VMFS sits at 2048',
      opts: { lvmMajor: 6 as const, scheme: 'gpt' as const, startLba: 2048, tableStartLba: 4096 },
      lba: 2048,
    },
  ])('$name: found by probing, partition marked missing', ({ opts, lba }) => {
    const parsed = parseVmfsHeader(buildVmfsDisk(opts));
    expect(parsed.partition).toEqual({ scheme: 'none', index: 0, type: '', startLba: lba, endLba: 0, missing: true });
    expect(parsed.device?.deviceId).toBe(DEFAULTS.deviceId);
    expect(parsed.vmfs?.segmentUuid).toBe(DEFAULTS.segmentUuid);
    expect((parsed.details as VmfsHeaderDetails).notes.join('\n')).toMatch(new RegExp(`LBA ${lba}`));
  });

  it('an entry at the right place with the wrong type still names the partition', () => {
    const parsed = parseVmfsHeader(buildVmfsDisk({ lvmMajor: 3, partitionType: 0x83 }));
    expect(parsed.partition).toMatchObject({ scheme: 'mbr', index: 1, type: '0x83', startLba: 128, missing: false });
    expect((parsed.details as VmfsHeaderDetails).notes.join('\n')).toMatch(/typed 0x83/);
  });

  it('planHeaderDump plans from the probed start', () => {
    const plan = planHeaderDump(buildVmfsDisk({ lvmMajor: 5, scheme: 'none', startLba: 2048, dumpLength: 3 * 1024 * 1024 }));
    expect(plan.partition?.missing).toBe(true);
    expect(plan.partitionOffset).toBe(2048 * 512);
    expect(plan.needBytes).toBe(2048 * 512 + 0x1100000 + 0x200000 + 4096);
  });
});
