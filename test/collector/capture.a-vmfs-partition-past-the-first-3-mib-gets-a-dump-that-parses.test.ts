/**
 * A VMFS partition whose LVM header lies past the first 3 MiB read to plan (LBA 4096
 * and later; on ESXi a boot disk's datastore starts GiBs in) still gets its planned
 * dump: from byte 0 while that ends within the catalog's 64 MiB parse window, else
 * from the partition's start. Either way the catalog's parser finds the volume.
 * A table pointing past the device's end or at an absurd offset keeps the first
 * 3 MiB, says so in one line on stderr, and does not hang.
 *
 * Golden offsets (glandium/vmfs-tools): the LVM device header sits 0x100000 into
 * the partition (libvmfs/vmfs_volume.h VMFS_VOLINFO_BASE); the FS descriptor
 * 0x200000 into the volume (libvmfs/vmfs_fs.h VMFS_FSINFO_BASE), whose byte 0 is
 * dataOffset into the partition (0x1100000 as ESX writes it: VMFS_VOLINFO_BASE +
 * 0x1000000); a dump holds 4 KiB past the descriptor's start.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { captureArtifact, PLAN_BYTES } from '../../collector/capture.js';
import { ChunkStager } from '../../collector/chunker.js';
import { LocalAccess } from '../../collector/host-access.js';
import type { PlannedArtifact } from '../../collector/discover.js';
import { parseArtifact } from '../../formats/parse.js';
import { writeVmfsDevice } from '../fixtures/vmfs-images.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const DATA_OFFSET = 0x1100000;
const root = mkdtempSync(join(tmpdir(), 'capture-late-'));
mkdirSync(join(root, 'dev'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const plan = (name: string): PlannedArtifact => ({
  kind: 'vmfs-header',
  fileName: `${name}.bin`,
  sourcePath: `/dev/${name}`,
  device: null,
  why: 'test',
  read: { path: `/dev/${name}`, length: 'header' },
});

function bytesAt(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(length);
    return b.subarray(0, readSync(fd, b, 0, length, offset));
  } finally {
    closeSync(fd);
  }
}

async function capture(name: string) {
  const warnings: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    warnings.push(String(s));
    return true;
  });
  const r = await captureArtifact(new LocalAccess(root), plan(name), new ChunkStager(null, new Set()), { headerBytes: null });
  vi.restoreAllMocks();
  return { r, warnings };
}

describe('a VMFS partition past the planning read', () => {
  for (const [startLba, totalBytes] of [
    [2048, 64 * MiB],
    [4096, 64 * MiB],
    [8192, 64 * MiB],
  ] as const) {
    it(`at LBA ${startLba} is dumped from byte 0 through its FS descriptor, and parses`, async () => {
      const file = join(root, 'dev', `lba${startLba}`);
      const layout = await writeVmfsDevice(file, { scheme: 'gpt', lvmMajor: 5, startLba, noiseSeed: 5 }, totalBytes);
      const { r, warnings } = await capture(`lba${startLba}`);
      expect(r.status, r.error ?? '').toBe('ok');
      expect(warnings).toEqual([]);
      expect(layout.partitionOffset).toBe(startLba * 512);
      expect(r.size).toBe(startLba * 512 + DATA_OFFSET + 0x200000 + 4096);
      expect(r.size).toBe(layout.descriptorDumpLength);
      expect(r.source?.offset).toBe(0);
      const dump = bytesAt(file, 0, r.size);
      expect(r.sha256).toBe(createHash('sha256').update(dump).digest('hex'));
      const parsed = parseArtifact('vmfs-header', new Uint8Array(dump));
      expect(parsed.partition).toMatchObject({ scheme: 'gpt', startLba, missing: false });
      expect(parsed.vmfs?.vmfsUuid).toBe('4a1c3e7f-2b4d6e80-91a2-0050569a1b2c');
      expect((parsed.details as { volumeTable: unknown[] }).volumeTable.length).toBeGreaterThan(0);
    });
  }

  it('at 6 GiB (a sparse 8 GiB disk) is dumped from the partition start, and parses', async () => {
    const startLba = (6 * GiB) / 512;
    const file = join(root, 'dev', 'far');
    const layout = await writeVmfsDevice(file, { scheme: 'gpt', lvmMajor: 5, startLba, noiseSeed: 6 }, 8 * GiB);
    const { r, warnings } = await capture('far');
    expect(r.status, r.error ?? '').toBe('ok');
    expect(warnings).toEqual([]);
    expect(r.source?.offset).toBe(6 * GiB);
    expect(r.size).toBe(DATA_OFFSET + 0x200000 + 4096);
    expect(r.size).toBe(layout.descriptorDumpLength - layout.partitionOffset);
    expect(r.note).toMatch(/from byte 6442450944 /);
    const dump = bytesAt(file, 6 * GiB, r.size);
    expect(r.sha256).toBe(createHash('sha256').update(dump).digest('hex'));
    const parsed = parseArtifact('vmfs-header', new Uint8Array(dump));
    expect((parsed.details as { layout: string }).layout).toBe('partition');
    expect(parsed.vmfs?.vmfsUuid).toBe('4a1c3e7f-2b4d6e80-91a2-0050569a1b2c');
    expect(parsed.device?.deviceId).toBe('naa.6006016012345678abcdef0123456789');
  });

  for (const [what, tableStartLba] of [
    ['past the device end', (1 * GiB) / 512],
    ['at an absurd offset', 2 ** 50],
  ] as const) {
    it(`named by a garbage table entry ${what} keeps the first 3 MiB and warns once`, async () => {
      const name = `garbage${tableStartLba}`;
      // The VMFS really is at LBA 4096 (no probed start), the table says elsewhere.
      await writeVmfsDevice(join(root, 'dev', name), { scheme: 'gpt', lvmMajor: 5, startLba: 4096, tableStartLba }, 32 * MiB);
      const { r, warnings } = await capture(name);
      expect(r.status, r.error ?? '').toBe('ok');
      expect(r.size).toBe(PLAN_BYTES);
      expect(r.source?.offset).toBe(0);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(new RegExp(`^warning: /dev/${name}: no VMFS layout to plan from \\(.+\\); kept the first ${PLAN_BYTES} bytes\\n$`));
    });
  }
});
