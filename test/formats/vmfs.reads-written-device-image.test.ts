import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseVmfsHeader, planHeaderDump } from '../../formats/vmfs.js';
import { DEFAULTS, writeVmfsDevice } from '../fixtures/vmfs-images.js';

const MiB = 1024 * 1024;
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('writeVmfsDevice device images', () => {
  it.each([
    { name: 'VMFS3 on MBR, 20 MiB LUN', opts: { lvmMajor: 3 as const }, size: 20 * MiB, offset: 128 * 512 },
    { name: 'VMFS5 on GPT, 24 MiB LUN', opts: { lvmMajor: 5 as const }, size: 24 * MiB, offset: 2048 * 512 },
  ])('$name: the plan from its first 3 MiB reaches the FS descriptor', async ({ opts, size, offset }) => {
    const dir = await mkdtemp(join(tmpdir(), 'vmfs-image-'));
    dirs.push(dir);
    const path = join(dir, 'lun.img');
    const layout = await writeVmfsDevice(path, opts, size);
    expect((await stat(path)).size).toBe(size);
    const image = new Uint8Array(await readFile(path));
    const plan = planHeaderDump(image.subarray(0, 3 * MiB));
    expect(plan.partitionOffset).toBe(offset);
    expect(plan.needBytes).toBe(layout.fsDescriptorOffset + 4096);
    expect(plan.needBytes).toBeLessThanOrEqual(size);
    const parsed = parseVmfsHeader(image.subarray(0, plan.needBytes));
    expect(parsed.vmfs?.vmfsUuid).toBe(DEFAULTS.vmfsUuid);
    expect(parsed.device?.sizeBytes).toBe(Number(layout.partitionSizeBytes));
  });
});
