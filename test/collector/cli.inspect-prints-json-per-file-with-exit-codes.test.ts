/**
 * `inspect` as issue 2 §3 specifies it: one JSON object per file in argument order,
 * exit 0 when all parsed, 2 when any did not (JSON still printed), 64 for bad usage;
 * an unreadable file is an error for that file, not a crash.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVhSf, buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { iscsitgtExport, FIXTURE_SECRETS, zfsListSnapshots } from '../fixtures/text-fixtures.js';
import { buildBundle, runCollector, runJson } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'inspect-'));
const SEED_NAA = '600144f0c0ffee0000004a1c3e7f0003';
/** vml. + type 02, disk 00, LUN 03 00, reserved 00, the NAA, "COMSTA" (VMware KB 2078730 layout). */
const SEED_VML = `vml.0200030000${SEED_NAA}434f4d535441`;
const f = (name: string) => join(dir, name);

beforeAll(() => {
  buildBundle();
  writeFileSync(f('gpt-vmfs5.bin'), buildVmfsDisk({ lvmMajor: 5 }));
  writeFileSync(f('legacy-2mib.hex'), buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy' }));
  writeFileSync(f('ds.vh.sf'), buildVhSf({ lvmMajor: 5 }));
  writeFileSync(
    f('iscsitgt.xml'),
    iscsitgtExport({
      targets: [{ name: 't0', iqn: 'iqn.1986-03.com.sun:02:t0', luns: [{ lun: 0, guid: DEFAULTS.deviceId.slice(4), backingStore: '/dev/zvol/rdsk/tank/t0' }] }],
      passwords: true,
    }),
  );
  writeFileSync(f('snapshots.txt'), zfsListSnapshots([{ name: 'tank/t0@a', creation: 1700000000, used: 1 }]));
  writeFileSync(f('garbage.bin'), Buffer.alloc(4096, 0x41));
  // What an ESX 3.5 host on a COMSTAR LU writes: length byte 22 (NAA + "COMSTA"), NUL-padded text.
  writeFileSync(
    f('comstar-lun3.hdr'),
    buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', lun: 3, vendor: 'SUN', model: 'COMSTAR', revision: '1.0', deviceId: SEED_NAA, scsiTextPad: 0x00 }),
  );
  // The same header with a length byte no layout explains: the NAA is still read, with a note.
  const odd = buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', lun: 3, vendor: 'SUN', model: 'COMSTAR', deviceId: SEED_NAA });
  odd[128 * 512 + 0x100000 + 0x0d] = 30;
  writeFileSync(f('odd-length.hdr'), odd);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('inspect', () => {
  it('prints one object per file, in argument order, with the issue 2 §3 keys', async () => {
    const files = [f('gpt-vmfs5.bin'), f('legacy-2mib.hex'), f('ds.vh.sf'), f('iscsitgt.xml'), f('snapshots.txt')];
    const r = await runJson(['inspect', '--json', ...files]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.map((x: any) => [x.file, x.kind, x.ok])).toEqual([
      [files[0], 'vmfs-header', true],
      [files[1], 'vmfs-header', true],
      [files[2], 'vh-sf', true],
      [files[3], 'iscsitgt-smf', true],
      [files[4], 'zfs-snapshots', true],
    ]);
    for (const x of r.json) expect(Object.keys(x)).toEqual(['file', 'kind', 'ok', 'error', 'partition', 'device', 'vmfs', 'details']);
    const [gpt, legacy, vhsf] = r.json;
    expect(gpt.partition).toMatchObject({ scheme: 'gpt', index: 1, startLba: 2048 });
    expect(gpt.device).toMatchObject({ deviceId: DEFAULTS.deviceId, lun: DEFAULTS.lun, vendor: 'DGC', model: 'VRAID' });
    expect(gpt.vmfs).toMatchObject({ vmfsUuid: DEFAULTS.vmfsUuid, label: DEFAULTS.label });
    // A 2 MiB legacy dump does not reach the FS descriptor: no UUID, but the device.
    expect(legacy.vmfs.vmfsUuid).toBeNull();
    expect(legacy.device.deviceId).toBe(DEFAULTS.deviceId);
    expect(vhsf.vmfs.label).toBe(DEFAULTS.label);
    expect(JSON.stringify(r.json)).not.toContain(FIXTURE_SECRETS.targetChap);
  });

  it("exits 2 when any file fails, still printing every result; an unreadable file is that file's error", async () => {
    const r = await runJson(['inspect', '--json', f('garbage.bin'), f('does-not-exist'), f('gpt-vmfs5.bin')]);
    expect(r.code).toBe(2);
    expect(r.json.map((x: any) => [x.ok, x.error?.code ?? null])).toEqual([
      [false, expect.any(String)],
      [false, 'unreadable'],
      [true, null],
    ]);
    expect(r.json[1].error.message).toMatch(/ENOENT/);
  });

  it('parses as the kind given with --kind', async () => {
    const r = await runJson(['inspect', '--json', '--kind', 'vh-sf', f('gpt-vmfs5.bin')]);
    expect(r.json[0].kind).toBe('vh-sf');
  });

  it('prints a readable summary without --json', async () => {
    const r = await runCollector(['inspect', f('gpt-vmfs5.bin')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(DEFAULTS.vmfsUuid);
    expect(r.stdout).toContain(DEFAULTS.deviceId);
    expect(r.stdout).toContain('gpt #1');
  });

  it('shows the NAA, the vml, the LUN and the id layout of a real-host header, in JSON and in the summary', async () => {
    const r = await runJson(['inspect', '--json', f('comstar-lun3.hdr')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json[0].device).toMatchObject({ deviceId: `naa.${SEED_NAA}`, vml: SEED_VML, lun: 3, vendor: 'SUN', model: 'COMSTAR', revision: '1.0' });
    expect(r.json[0].details.lvm).toMatchObject({ deviceIdLength: 22, deviceIdLayout: 'with-model-prefix', deviceIdHex: SEED_NAA });
    expect(r.stdout).not.toMatch(/\\u0000/);
    const human = await runCollector(['inspect', f('comstar-lun3.hdr')]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`naa.${SEED_NAA}  LUN 3  SUN COMSTAR 1.0`);
    expect(human.stdout).toContain(SEED_VML);
    expect(human.stdout).toContain('id length byte 22 read as with-model-prefix');
  });

  it('prints the parser notes in the summary', async () => {
    const human = await runCollector(['inspect', f('odd-length.hdr')]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`naa.${SEED_NAA}`);
    expect(human.stdout).toMatch(/note +device id length 30 fits neither layout; NAA type 6 read as 16 bytes/);
  });

  it('exits 64 for bad usage', async () => {
    expect((await runCollector(['inspect'])).code).toBe(64);
    expect((await runCollector(['inspect', '--kind', 'nonsense', f('gpt-vmfs5.bin')])).code).toBe(64);
    const unknownFlag = await runCollector(['inspect', '--frobnicate', f('gpt-vmfs5.bin')]);
    expect(unknownFlag.code).toBe(64);
    expect(unknownFlag.stderr.trim().split('\n')).toHaveLength(1);
  });
});
