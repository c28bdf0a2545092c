/**
 * The header a real ESX 3.5 host writes on a COMSTAR LU, end to end with the collector
 * bundle over a real socket, on both catalog flavours: its LVM device-id length byte
 * (+0x0D) is 0x16 = 22, the 16-byte NAA followed by the model's first six bytes "COMSTA";
 * ESX prints the device as `naa.<32 hex>` and `vml.0200030000<32 hex>434f4d535441`
 * (VMware KB 2078730 describes the vml layout: type, device type, LUN low byte first,
 * a reserved byte, then those id bytes). The capture is inspected, imported, found by
 * every spelling an operator pastes, and its bundle's restore.sh accepts the device and
 * puts a wiped partition table back byte for byte.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildVhSf, buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ROOT } from '../helpers/spawn-server.js';

const run = promisify(execFile);
const NAA_HEX = '600144f0c0ffee00000049a1b2c3d4e5';
const VML = `vml.0200030000${NAA_HEX}434f4d535441`;
const UUID = '49a1b2c3-5d2e1f00-1a2b-001b21c0ffee';
const LABEL = 'esx35-comstar-ds';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// A 2 MiB legacy dump (MBR, VMFS3 partition at LBA 128), NUL-padded SCSI text as real hosts write it.
const dump = buildVmfsDisk({
  scheme: 'mbr',
  startLba: 128,
  lvmMajor: 3,
  dumpLength: 'legacy',
  deviceId: `naa.${NAA_HEX}`,
  lun: 3,
  vendor: 'SUN',
  model: 'COMSTAR',
  revision: '1.0',
  scsiTextPad: 0x00,
  vmfsUuid: UUID,
  label: LABEL,
});
const vhsf = buildVhSf({ vmfsUuid: UUID, label: LABEL, lvmMajor: 3 });

describeEachFlavour('a real ESX 3.5 / COMSTAR header, end to end', (flavour) => {
  const work = mkdtempSync(join(tmpdir(), 'vrc-realhdr-'));
  let catalog: TestCatalog;
  const collector = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, [join(ROOT, 'dist/collector.cjs'), ...args], { env: { ...process.env, ...env }, maxBuffer: 16 << 20 });

  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    writeFileSync(join(work, 'vmfs-header-backup-sdb.hex'), dump);
    writeFileSync(join(work, 'esx35-comstar-ds.vh.sf.bu'), vhsf);
  }, 240_000);
  afterAll(async () => {
    await catalog?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('the dump holds the length real hosts write: 22 at LVM header + 0x0D', () => {
    // MBR partition at LBA 128 → partition at 0x10000, LVM header at partition + 0x100000.
    const h = 128 * 512 + 0x100000;
    expect(dump[h + 0x0d]).toBe(22);
    expect(Buffer.from(dump.subarray(h + 0x2e, h + 0x2e + 22)).toString('hex')).toBe(`${NAA_HEX}434f4d535441`);
  });

  it('inspect prints the NAA and the vml ESX prints', async () => {
    const { stdout } = await collector(['inspect', '--json', join(work, 'vmfs-header-backup-sdb.hex')]);
    const text = JSON.stringify(JSON.parse(stdout));
    expect(text).toContain(`"naa.${NAA_HEX}"`);
    expect(text).toContain(`"${VML}"`);
    const human = (await collector(['inspect', join(work, 'vmfs-header-backup-sdb.hex')])).stdout;
    expect(human).toContain(`naa.${NAA_HEX}`);
    expect(human).toContain(VML);
  });

  it('imported through the catalog, it is found by NAA, vml, naa.…:1, vml.…:1 and label', async () => {
    const env = { CATALOG_URL: catalog.url, CATALOG_TOKEN: catalog.adminToken };
    await collector(
      [
        'import',
        '--json',
        '--host',
        'esx35',
        '--spool',
        join(work, 'spool'),
        join(work, 'vmfs-header-backup-sdb.hex'),
        join(work, 'esx35-comstar-ds.vh.sf.bu'),
      ],
      env,
    );
    for (const q of [`naa.${NAA_HEX.toUpperCase()}`, NAA_HEX, VML, `naa.${NAA_HEX}:1`, `${VML}:1`, LABEL, 'comstar-ds']) {
      const res = await catalog.request(`/v1/search?q=${encodeURIComponent(q)}`);
      expect(res.status, q).toBe(200);
      const body = (await res.json()) as { hits: Array<{ vmfsUuid?: string; deviceId?: string }> };
      expect(
        body.hits.some((h) => h.vmfsUuid === UUID || h.deviceId === `naa.${NAA_HEX}`),
        q,
      ).toBe(true);
    }
    const lun = (await (await catalog.request(`/v1/luns/naa.${NAA_HEX}`)).json()) as { lun: number; vml: string };
    expect(lun).toMatchObject({ lun: 3, vml: VML });
  });

  it("its bundle's restore.sh accepts the device and restores a wiped partition table", async () => {
    const res = await catalog.request(`/v1/volumes/${UUID}/restore-bundle`);
    expect(res.status).toBe(200);
    const out = join(work, `bundle-${flavour}`);
    mkdirSync(out);
    writeFileSync(join(out, 'b.tar.gz'), new Uint8Array(await res.arrayBuffer()));
    await run('tar', ['xzf', join(out, 'b.tar.gz'), '-C', out]);
    const top = join(out, readdirSync(out).find((d) => d.startsWith('vmfs-restore-'))!);
    const disk = join(work, `lun3-${flavour}.img`);
    const wiped = new Uint8Array(dump);
    wiped.fill(0, 0, 512);
    writeFileSync(disk, wiped);
    // No --force-device: the device's own header must satisfy the check.
    const applied = await run('sh', [join(top, 'restore.sh'), '--apply', '--device', `1=${disk}`]);
    expect(applied.stdout).toContain('sector 0 written and read back');
    expect(sha(readFileSync(disk))).toBe(sha(dump));
  });
});
