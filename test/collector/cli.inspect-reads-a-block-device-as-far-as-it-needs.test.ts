/**
 * `inspect /dev/sdX`: a block device has no size in stat (st_size is 0), so inspect read
 * nothing of it and said "empty". It now reads a device as far as its parser needs and no
 * further than the device's end, as `collect --device` does, and says what the same bytes
 * say as a file.
 *
 * The device is a loop device over a VMFS disk image, which needs root and /dev/loop*.
 * Where no loop device can be made (an unprivileged run, a container without loop
 * devices) the device test is skipped — a regular file cannot stand in, since a file's
 * stat has its size — and only the file side runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { buildBundle, runCollector, runJson } from './run-collector.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'inspect-device-'));
const image = join(dir, 'naa.600144f0c0ffee0000004a1c3e7f0009');
// A whole 32 MiB disk: the dump the parser needs (~20 MiB, past the first 3 MiB read) and more.
const disk = Buffer.alloc(32 * MiB);
disk.set(buildVmfsDisk({ lvmMajor: 5 }));
writeFileSync(image, disk);
const attached = spawnSync('losetup', ['--find', '--show', '--read-only', image], { encoding: 'utf8' });
const loop = attached.status === 0 ? attached.stdout.trim() : null;

beforeAll(() => buildBundle());
afterAll(() => {
  if (loop) spawnSync('losetup', ['--detach', loop]);
  rmSync(dir, { recursive: true, force: true });
});

const strip = (x: { file?: string }) => ({ ...x, file: undefined });

it('parses the disk image as a file', async () => {
  const r = await runJson(['inspect', '--json', image]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.json[0]).toMatchObject({ kind: 'vmfs-header', ok: true, vmfs: { vmfsUuid: expect.any(String) } });
});

it.skipIf(!loop)('parses the same disk as a block device, as the file', async () => {
  const [file, device] = await Promise.all([runJson(['inspect', '--json', image]), runJson(['inspect', '--json', loop!])]);
  expect(device.code, device.stderr).toBe(0);
  expect(device.json[0].file).toBe(loop);
  expect(device.json[0]).toMatchObject({ kind: 'vmfs-header', ok: true });
  expect(strip(device.json[0])).toEqual(strip(file.json[0]));
});

it('says in inspect --help that a FILE may be a device', async () => {
  expect((await runCollector(['inspect', '--help'])).stdout).toContain('A FILE may be a device (/dev/sdb)');
});
