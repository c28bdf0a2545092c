/**
 * End to end, the real-host header: a dump whose LVM header holds length 22 at +0x0D
 * (the 16-byte NAA + the first 6 model bytes "COMSTA", as ESX 3.5 writes it on a
 * COMSTAR LU; layout from fox-it/dissect.vmfs dissect/vmfs/c_lvm.py SCSI_DiskId,
 * docs/formats.md §1) is collected through the real API; its bundle's restore.sh
 * finds the device right without --force-device and --apply restores the wiped table.
 * The same with length 16 (the id alone), so neither reading is privileged.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildVmfsDisk, SHORT_DUMP_DATA_OFFSET } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { availableShells, shellsFor, runScript, withIdLength } from './restore-harness.js';

const shells = availableShells();

/** Whether two byte strings are equal: compared byte for byte, not hashed (a dozen hashes of a dump a test). */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

describeEachFlavour('a bundle of a 22-byte device id header', (flavour) => {
  let catalog: TestCatalog;
  const temps: string[] = [];
  const cases = [
    {
      length: 22,
      deviceId: 'naa.600144f0aabbccddeeff001122334466',
      vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1c01',
      segmentUuid: '5a1c3e7e-11223344-5566-0050569a1c01',
    },
    {
      length: 16,
      deviceId: 'naa.600144f0aabbccddeeff001122334477',
      vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1c02',
      segmentUuid: '5a1c3e7e-11223344-5566-0050569a1c02',
    },
  ];
  const dumps = new Map<number, Uint8Array>();

  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    for (const c of cases) {
      // The id length is the point, not the dump's: ~4 MiB at SHORT_DUMP_DATA_OFFSET instead of
      // ~20 MiB (each restore.sh run checks it against SHA256SUMS, each device image copies it).
      const dump = withIdLength(
        buildVmfsDisk({
          lvmMajor: 3,
          scheme: 'mbr',
          vmfsUuid: c.vmfsUuid,
          segmentUuid: c.segmentUuid,
          label: `lun-${c.length}`,
          deviceId: c.deviceId,
          lun: 3,
          vendor: 'SUN',
          model: 'COMSTAR',
          dumpLength: 'descriptor',
          dataOffset: SHORT_DUMP_DATA_OFFSET,
        }),
        c.length,
      );
      dumps.set(c.length, dump);
      await ingest(catalog, {
        host: 'esx35',
        hostKind: 'esx',
        collectedAt: new Date('2026-10-01T02:00:00Z'),
        artifacts: [{ kind: 'vmfs-header', fileName: `${c.deviceId}.hex`, sourcePath: '/dev/sdc', device: '/dev/sdc', bytes: dump }],
      });
    }
  });
  afterAll(async () => {
    await catalog?.close();
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  it.each(cases)('length $length: restore.sh accepts the device and --apply restores the wiped table', async (c) => {
    const res = await catalog.request(`/v1/volumes/${c.vmfsUuid}/restore-bundle`);
    expect(res.status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'vrc-bundle22-'));
    temps.push(dir);
    writeFileSync(join(dir, 'b.tar.gz'), new Uint8Array(await res.arrayBuffer()));
    execFileSync('tar', ['-xzf', join(dir, 'b.tar.gz'), '-C', dir]);
    const root = join(dir, readdirSync(dir).find((n) => n !== 'b.tar.gz')!);
    const manifest = JSON.parse(readFileSync(join(root, 'bundle.json'), 'utf8')) as { extents: Array<{ deviceId: string; expectedIdHex: string }> };
    expect(manifest.extents.map((e) => [e.deviceId, e.expectedIdHex])).toEqual([[c.deviceId, c.deviceId.slice(4)]]);
    const dump = dumps.get(c.length)!;
    for (const shell of shellsFor(flavour, shells)) {
      const disk = join(dir, `disk-${shell.name.replace(/\W/g, '')}`);
      const wiped = new Uint8Array(dump);
      wiped.fill(0, 0, 512);
      writeFileSync(disk, wiped);
      const dry = runScript(shell, join(root, 'restore.sh'), ['--device', disk]);
      expect(dry.code, dry.out).toBe(0);
      expect(dry.out).toContain(`carries ${c.deviceId}: the right device`);
      const applied = runScript(shell, join(root, 'restore.sh'), ['--apply', '--device', disk]);
      expect(applied.code, applied.out).toBe(0);
      expect(applied.out).toContain('sector 0 written and read back');
      expect(same(readFileSync(disk), dump), `${shell.name}: the device holds the dump's bytes`).toBe(true);
    }
  });
});
