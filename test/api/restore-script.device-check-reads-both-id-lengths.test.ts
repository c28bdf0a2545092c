/**
 * restore.sh's device check reads the LVM device header the way real hosts write it.
 *
 * Layout (fox-it/dissect.vmfs, dissect/vmfs/c_lvm.py, struct SCSI_DiskId at
 * LVM_DevMetadata + 0x0C): +0x0C u8 id type, +0x0D u8 length, +0x0E u16 LUN,
 * +0x1A model[16], +0x2E id[44]. The 44-byte id field holds the device id bytes
 * followed by the first 6 bytes of the model. An ESX 3.5 host on a COMSTAR LU writes
 * length 22 there (16-byte NAA + "COMSTA"): the `vml.` id esxcfg-scsidevs prints for
 * such a LU is `vml.02000300` + `00` + the 32 NAA hex digits + `434f4d535441`, the same
 * 22 bytes (docs/formats.md §1, §3). Other writers count the id alone (16).
 *
 * So the script compares the id under both readings with the expected NAA, case-
 * insensitively; a recorded path that is a FIFO or a terminal is never read (it would wait);
 * `--force-device` overrides any failed check for the device it names;
 * and `--apply` with nothing to write says so and exits 3. Every case runs under dash,
 * busybox sh and ksh (whichever are installed; a missing one is printed).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectedIdHex, type RestoreExtent, type RestorePlan } from '../../api/bundle/restore-script.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { availableShells, runScriptAsync, sha256, withIdLength, writeBundle } from './restore-harness.js';

const NAA = 'naa.600144f0aabbccddeeff001122334455';
const OTHER_NAA = 'naa.600144f0000000000000000000000001';
const NAA8 = 'naa.5000c500a1b2c3d4';
const HEADER_FILE = 'esx01/vmfs-header/lun3.hex';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

function extent(over: Partial<RestoreExtent> = {}): RestoreExtent {
  return {
    number: 1,
    host: 'esx01',
    deviceId: NAA,
    vml: null,
    lun: 3,
    devicePath: `/vmfs/devices/disks/${NAA}`,
    headerFile: HEADER_FILE,
    headerCollectedAt: '2026-10-01T02:00:00.000Z',
    partition: { scheme: 'mbr', index: 1, startLba: 128, endLba: 209715199, type: '0xfb', missing: false },
    expectedIdHex: NAA.slice(4),
    ...over,
  };
}

const plan = (extents: RestoreExtent[]): RestorePlan => ({
  vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c',
  label: 'prod',
  at: '2026-10-01T03:00:00.000Z',
  generatedAt: '2026-10-02T00:00:00.000Z',
  extents,
});

/**
 * A 2 MiB dump from LBA 0 of an ESX 3.5 extent on a COMSTAR LU (MBR, VMFS partition at LBA 128).
 * Built once for each id and length: every test and shell only reads it (the device images are copies).
 */
const dumps = new Map<string, Uint8Array>();
const dumpOf = (deviceId: string, idLength: number) => {
  const key = `${deviceId}/${idLength}`;
  if (!dumps.has(key))
    dumps.set(
      key,
      withIdLength(
        buildVmfsDisk({ lvmMajor: 3, scheme: 'mbr', deviceId, lun: 3, vendor: 'SUN', model: 'COMSTAR', dumpLength: 'legacy', noiseSeed: 1 }),
        idLength,
      ),
    );
  return dumps.get(key)!;
};

/** The disk after the accident: sector 0 zeroed. */
function wipedDevice(dump: Uint8Array): string {
  const d = new Uint8Array(dump);
  d.fill(0, 0, 512);
  const path = join(tempDir('vrc-dev-'), 'disk');
  writeFileSync(path, d);
  return path;
}

describe('expectedIdHex reads the seed-spelling vml', () => {
  it('vml.0200030000 + NAA + "COMSTA" gives the NAA bytes', () => {
    expect(expectedIdHex(null, `vml.0200030000${NAA.slice(4)}434f4d535441`)).toBe(NAA.slice(4));
  });
});

// Each test has its own bundle and device image: the tests of all shells run side by side.
describe.concurrent.each(availableShells())('restore.sh device check under $name', (shell) => {
  const bundle = (extents: RestoreExtent[], dump: Uint8Array) => writeBundle(tempDir('vrc-bundle-'), plan(extents), { [HEADER_FILE]: dump });

  it.each([
    ['22 (NAA + the first 6 model bytes, as ESX 3.5 on COMSTAR writes it)', NAA, 22],
    ['16 (the NAA alone)', NAA, 16],
    ['14 (an 8-byte NAA + 6 model bytes)', NAA8, 14],
    ['8 (an 8-byte NAA alone)', NAA8, 8],
  ])('a header whose id length is %s is the right device, and --apply restores it', async (_name, deviceId, length) => {
    const dump = dumpOf(deviceId, length);
    const dev = wipedDevice(dump);
    const script = bundle([extent({ deviceId, devicePath: dev, expectedIdHex: deviceId.slice(4) })], dump);
    const dry = await runScriptAsync(shell, script, []);
    expect(dry.code, dry.out).toBe(0);
    expect(dry.out).toContain(`LVM header at sector 2176 carries ${deviceId}: the right device`);
    const applied = await runScriptAsync(shell, script, ['--apply']);
    expect(applied.code, applied.out).toBe(0);
    expect(applied.out).not.toContain('--force-device');
    expect(sha256(readFileSync(dev))).toBe(sha256(dump));
  });

  it('a recorded device path that is a FIFO is not read: the dry run ends and says so', async () => {
    const dump = dumpOf(NAA, 22);
    const fifo = join(tempDir('vrc-fifo-'), 'pipe');
    execFileSync('mkfifo', [fifo]);
    const dry = await runScriptAsync(shell, bundle([extent({ devicePath: fifo })], dump), []);
    expect(dry.code, dry.out).toBe(0);
    expect(dry.out).toContain('is not readable here');
  });

  it('compares case-insensitively (an expected id in upper case, as stmfadm prints GUIDs)', async () => {
    const dump = dumpOf(NAA, 22);
    const dev = wipedDevice(dump);
    const script = bundle([extent({ devicePath: dev, expectedIdHex: NAA.slice(4).toUpperCase() })], dump);
    const applied = await runScriptAsync(shell, script, ['--apply']);
    expect(applied.code, applied.out).toBe(0);
    expect(sha256(readFileSync(dev))).toBe(sha256(dump));
  });

  it('another NAA in a 22-byte header is the wrong device (shown without the model bytes); --force-device overrides it', async () => {
    const dump = dumpOf(NAA, 22);
    const otherDisk = dumpOf(OTHER_NAA, 22);
    const dev = wipedDevice(otherDisk);
    const before = sha256(readFileSync(dev));
    const script = bundle([extent({ devicePath: dev })], dump);
    const refused = await runScriptAsync(shell, script, ['--apply']);
    expect(refused.code, refused.out).toBe(2);
    expect(refused.out).toContain(`carries id ${OTHER_NAA.slice(4)}, expected ${NAA.slice(4)}: WRONG DEVICE`);
    expect(refused.out).toContain(`re-run with --force-device ${dev}`);
    expect(sha256(readFileSync(dev))).toBe(before);
    const forced = await runScriptAsync(shell, script, ['--apply', '--force-device', dev]);
    expect(forced.code, forced.out).toBe(0);
    expect(forced.out).toContain('writing without a matching header');
    expect(Buffer.compare(readFileSync(dev).subarray(0, 512), Buffer.from(dump.subarray(0, 512)))).toBe(0);
  });

  it('an extent whose expected id is unknown is refused without --force-device and written with it', async () => {
    const dump = dumpOf(NAA, 22);
    const dev = wipedDevice(dump);
    const script = bundle([extent({ deviceId: null, devicePath: dev, expectedIdHex: null })], dump);
    expect((await runScriptAsync(shell, script, ['--apply'])).code).toBe(2);
    const forced = await runScriptAsync(shell, script, ['--apply', '--force-device', dev]);
    expect(forced.code, forced.out).toBe(0);
    expect(sha256(readFileSync(dev))).toBe(sha256(dump));
  });

  it('--apply with nothing to write says so and exits 3; the dry run of the same bundle exits 0', async () => {
    const dump = dumpOf(NAA, 22);
    const noTable = extent({ partition: { scheme: 'none', index: 0, startLba: 2048, endLba: 0, type: '', missing: true } });
    const script = bundle([noTable], dump);
    const applied = await runScriptAsync(shell, script, ['--apply']);
    expect(applied.code, applied.out).toBe(3);
    expect(applied.out).toContain('nothing to write');
    expect((await runScriptAsync(shell, script, [])).code).toBe(0);
    const empty = writeBundle(tempDir('vrc-bundle-'), plan([]), {});
    const none = await runScriptAsync(shell, empty, ['--apply']);
    expect(none.code, none.out).toBe(3);
    expect(none.out).toContain('nothing to write');
  });

  it('--extent naming no extent of the bundle is an error, before anything is read', async () => {
    const dump = dumpOf(NAA, 22);
    const script = bundle([extent({ devicePath: wipedDevice(dump) })], dump);
    const r = await runScriptAsync(shell, script, ['--apply', '--extent', '9']);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain('no extent 9 in this bundle (it has 1)');
  });
});
