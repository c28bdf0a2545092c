import { describe, expect, it } from 'vitest';
import { parsePartitionTable, crc32 } from '../../formats/partition.js';
import { FormatError } from '../../formats/errors.js';
import { buildVmfsDisk, GPT_OSDATA, GPT_VMFS, GPT_VMKDIAG, GPT_VMWARE_RESERVED, GPT_VSAN } from '../fixtures/vmfs-images.js';

const firstSectors = (opts: Parameters<typeof buildVmfsDisk>[0]) => buildVmfsDisk({ ...opts, dumpLength: 34 * 512 });

describe('parsePartitionTable', () => {
  it('reads the four MBR slots: boot flag, type, start, sector count', () => {
    const t = parsePartitionTable(
      firstSectors({ lvmMajor: 3, deviceSizeBytes: 100 * 2 ** 30, extraPartitions: [{ type: 0xfc, startLba: 1000, endLba: 1999 }] }),
    );
    expect(t.scheme).toBe('mbr');
    expect(t.mbr?.signature).toBe(true);
    expect(t.mbr?.protective).toBe(false);
    expect(t.entries).toEqual([
      { index: 1, type: '0xfb', typeName: 'VMFS', startLba: 128, endLba: (100 * 2 ** 30) / 512 - 1, sectors: (100 * 2 ** 30) / 512 - 128, bootable: false },
      { index: 2, type: '0xfc', typeName: 'vmkDiagnostic', startLba: 1000, endLba: 1999, sectors: 1000, bootable: false },
    ]);
  });

  it('recognises a protective MBR and reads GPT header and entries', () => {
    const t = parsePartitionTable(firstSectors({ lvmMajor: 5 }));
    expect(t.scheme).toBe('gpt');
    expect(t.mbr?.protective).toBe(true);
    expect(t.gpt).toMatchObject({ revision: '1.0', headerSize: 92, currentLba: 1, firstUsableLba: 34, entriesLba: 2, entryCount: 128, entrySize: 128 });
    expect(t.gpt?.headerCrc.ok).toBe(true);
    expect(t.gpt?.entriesCrc?.ok).toBe(true);
    expect(t.entries[0]).toMatchObject({ index: 1, type: GPT_VMFS, typeName: 'VMFS', startLba: 2048 });
  });

  it('names the VMware partition type GUIDs', () => {
    const t = parsePartitionTable(
      firstSectors({
        lvmMajor: 6,
        extraPartitions: [
          { type: GPT_VMKDIAG, startLba: 100, endLba: 199, name: 'diag' },
          { type: GPT_VMWARE_RESERVED, startLba: 200, endLba: 299 },
          { type: GPT_VSAN, startLba: 300, endLba: 399 },
          { type: GPT_OSDATA, startLba: 400, endLba: 499 },
        ],
      }),
    );
    expect(t.entries.map((e) => e.typeName)).toEqual(['VMFS', 'vmkDiagnostic', 'VMware reserved', 'vSAN', 'OSDATA']);
    expect(t.entries[1].name).toBe('diag');
  });

  it('reports a header CRC mismatch without failing', () => {
    const t = parsePartitionTable(firstSectors({ lvmMajor: 5, corruptGptHeaderCrc: true }));
    expect(t.scheme).toBe('gpt');
    expect(t.gpt?.headerCrc.ok).toBe(false);
    expect(t.gpt?.headerCrc.stored).not.toBe(t.gpt?.headerCrc.computed);
    expect(t.gpt?.entriesCrc?.ok).toBe(true);
    expect(t.notes).toContain('GPT header CRC mismatch');
    expect(t.entries[0].startLba).toBe(2048);
  });

  it('reports an entry-array CRC mismatch without failing', () => {
    const t = parsePartitionTable(firstSectors({ lvmMajor: 5, corruptGptEntriesCrc: true }));
    expect(t.gpt?.headerCrc.ok).toBe(true);
    expect(t.gpt?.entriesCrc?.ok).toBe(false);
    expect(t.notes).toContain('GPT entry array CRC mismatch');
  });

  it('leaves the entry CRC unchecked when the dump ends inside the array', () => {
    const t = parsePartitionTable(firstSectors({ lvmMajor: 5 }).subarray(0, 4 * 512));
    expect(t.gpt?.entriesCrc).toBeNull();
    expect(t.entries[0].type).toBe(GPT_VMFS);
  });

  it('says none for a wiped first sector', () => {
    const t = parsePartitionTable(new Uint8Array(4096));
    expect(t.scheme).toBe('none');
    expect(t.entries).toEqual([]);
  });

  it('notes a protective MBR whose GPT header is missing', () => {
    const t = parsePartitionTable(firstSectors({ lvmMajor: 5 }).subarray(0, 512));
    expect(t.scheme).toBe('mbr');
    expect(t.mbr?.protective).toBe(true);
    expect(t.notes.join()).toMatch(/before the GPT header/);
  });

  it('refuses less than a sector', () => {
    expect(() => parsePartitionTable(new Uint8Array(100))).toThrowError(FormatError);
    expect(() => parsePartitionTable(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'empty' }));
  });

  it('computes the IEEE CRC-32', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});
