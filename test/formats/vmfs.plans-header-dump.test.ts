import { describe, expect, it } from 'vitest';
import { planHeaderDump } from '../../formats/vmfs.js';
import { buildVmfsDisk, GPT_VMFS } from '../fixtures/vmfs-images.js';

const FIRST = 3 * 1024 * 1024;

describe('planHeaderDump', () => {
  it.each([
    { name: 'VMFS3 on MBR at 128', opts: { lvmMajor: 3 as const }, partition: { scheme: 'mbr', startLba: 128, type: '0xfb' }, offset: 128 * 512 },
    { name: 'VMFS5 on GPT at 2048', opts: { lvmMajor: 5 as const }, partition: { scheme: 'gpt', startLba: 2048, type: GPT_VMFS }, offset: 2048 * 512 },
    { name: 'VMFS6 on GPT at 2048', opts: { lvmMajor: 6 as const }, partition: { scheme: 'gpt', startLba: 2048, type: GPT_VMFS }, offset: 2048 * 512 },
    { name: 'a partition (no table)', opts: { lvmMajor: 5 as const, partitionRelative: true }, partition: null, offset: 0 },
  ])('$name', ({ opts, partition, offset }) => {
    const plan = planHeaderDump(buildVmfsDisk({ ...opts, dumpLength: FIRST }));
    if (partition) expect(plan.partition).toMatchObject({ ...partition, missing: false });
    else expect(plan.partition).toBeNull();
    expect(plan.partitionOffset).toBe(offset);
    expect(plan.dataOffset).toBe(0x1100000);
    expect(plan.needBytes).toBe(offset + 0x1100000 + 0x200000 + 4096);
  });

  it('follows a non-default dataOffset', () => {
    const plan = planHeaderDump(buildVmfsDisk({ lvmMajor: 6, dataOffset: 0x2100000, dumpLength: FIRST }));
    expect(plan.needBytes).toBe(2048 * 512 + 0x2100000 + 0x200000 + 4096);
  });

  it('throws FormatError when no VMFS is there', () => {
    expect(() => planHeaderDump(new Uint8Array(FIRST))).toThrow(expect.objectContaining({ name: 'FormatError', code: 'bad_magic' }));
  });

  it('throws truncated when the bytes stop before the header the table points at', () => {
    expect(() => planHeaderDump(buildVmfsDisk({ lvmMajor: 5, dumpLength: 0x180000 }))).toThrow(expect.objectContaining({ code: 'truncated' }));
  });
});
