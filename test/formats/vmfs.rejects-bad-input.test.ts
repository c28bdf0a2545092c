import { describe, expect, it } from 'vitest';
import { formatUuid, parseVmfsHeader, type VmfsHeaderDetails } from '../../formats/vmfs.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';

const err = (code: string) => expect.objectContaining({ name: 'FormatError', code });

describe('parseVmfsHeader refuses what is not a VMFS header', () => {
  it.each([
    { name: 'empty input', bytes: new Uint8Array(0), code: 'empty' },
    { name: 'a single sector of zeros', bytes: new Uint8Array(512), code: 'truncated' },
    { name: '2 MiB of zeros', bytes: new Uint8Array(2 * 1024 * 1024), code: 'bad_magic' },
    { name: 'a 2 MiB dump of a GPT disk (header at 2 MiB)', bytes: buildVmfsDisk({ lvmMajor: 5, dumpLength: 'legacy' }), code: 'truncated' },
    { name: 'a dump cut inside the LVM header', bytes: buildVmfsDisk({ lvmMajor: 3, dumpLength: 128 * 512 + 0x100000 + 64 }), code: 'truncated' },
  ])('$name → $code', ({ bytes, code }) => {
    expect(() => parseVmfsHeader(bytes)).toThrow(err(code));
  });

  it('says why a 2 MiB dump of a GPT disk names no device, and what its partition table reads', () => {
    // VMFS5 partitions start at LBA 2048 (1 MiB; VMware KB 1036609, "partedUtil" GPT layout) and the
    // LVM header lies 1 MiB into the partition (vmfs-tools vmfs_volume.h VMFS_VOLINFO_BASE 0x100000):
    // at 2 MiB, just past the end of what `dd bs=512 count=4096` kept.
    expect(() => parseVmfsHeader(buildVmfsDisk({ lvmMajor: 5, dumpLength: 'legacy' }))).toThrow(
      /dump ends at 0x200000, before the VMFS partition's LVM header at 0x200000: it names no device; its gpt table holds partition 1 at LBA 2048–\d+; dump again with the collector/,
    );
  });

  it('clamps an impossible u64 with a note instead of rounding it', () => {
    const bytes = buildVmfsDisk({ lvmMajor: 3 });
    const h = 128 * 512 + 0x100000;
    bytes.fill(0xff, h + 0x5e, h + 0x66);
    const parsed = parseVmfsHeader(bytes);
    expect(parsed.device?.sizeBytes).toBe(Number.MAX_SAFE_INTEGER);
    expect((parsed.details as VmfsHeaderDetails).notes.join('\n')).toMatch(/device size 0xffffffffffffffff exceeds 2\^53/);
  });

  it('survives a GPT whose VMFS entry LBAs are garbage by probing', () => {
    const bytes = buildVmfsDisk({ lvmMajor: 5 });
    bytes.fill(0xff, 1024 + 32, 1024 + 48);
    const parsed = parseVmfsHeader(bytes);
    expect(parsed.partition).toMatchObject({ missing: true, startLba: 2048 });
    const details = parsed.details as VmfsHeaderDetails;
    expect(details.notes.join('\n')).toMatch(/GPT entry 1 first LBA 0xffffffffffffffff exceeds 2\^53; entry skipped/);
    expect(details.partitionTable?.entriesCrc?.ok).toBe(false);
  });
});

describe('formatUuid', () => {
  it('prints the docs/formats.md §1 example', () => {
    const b = Uint8Array.from([0x7f, 0x3e, 0x1c, 0x5a, 0x80, 0x6e, 0x4d, 0x2b, 0xa2, 0x91, 0x00, 0x50, 0x56, 0x9a, 0x1b, 0x2c]);
    expect(formatUuid(b)).toBe('5a1c3e7f-2b4d6e80-91a2-0050569a1b2c');
  });
  it('refuses fewer than 16 bytes', () => {
    expect(() => formatUuid(new Uint8Array(15))).toThrow(err('truncated'));
  });
});
