/**
 * The 44-byte id field at LVM header +0x2E and its length at +0x0D
 * (docs/formats.md "LVM device header"; SCSI_DiskId in fox-it/dissect.vmfs
 * c_lvm.py). Real ESX 3.5 hosts count the 6 model bytes after the id in the
 * length; the older reading counts the id alone. Both must give the device.
 */
import { describe, expect, it } from 'vitest';
import { parseVmfsHeader, type VmfsHeaderDetails } from '../../formats/vmfs.js';
import { parseArtifact } from '../../formats/parse.js';
import { buildVmfsDisk, type VmfsImageOptions } from '../fixtures/vmfs-images.js';

const LVM = 128 * 512 + 0x100000; // MBR disk, VMFS3 partition at LBA 128.
const ascii = (s: string) => Buffer.from(s, 'latin1');
const hexOf = (s: string) => ascii(s).toString('hex');

/** A VMFS3 dump whose LVM header bytes at +off are overwritten. */
function withHeaderBytes(patches: [number, Uint8Array | number[]][], opts: VmfsImageOptions = {}): Uint8Array {
  return buildVmfsDisk({
    lvmMajor: 3,
    dumpLength: 'legacy',
    ...opts,
    extraRegions: patches.map(([off, bytes]) => ({ offset: LVM + off, bytes: Uint8Array.from(bytes) })),
  });
}

const lvmOf = (bytes: Uint8Array) => {
  const parsed = parseVmfsHeader(bytes);
  const details = parsed.details as VmfsHeaderDetails;
  return { device: parsed.device!, lvm: details.lvm, notes: details.notes };
};

describe('both layouts give the same device', () => {
  it.each([
    ['with-model-prefix', 'naa.600144f0c0ffee00000000000000beef', 22],
    ['id-then-model', 'naa.600144f0c0ffee00000000000000beef', 16],
    ['with-model-prefix', 'naa.5000c50012345678', 14],
    ['id-then-model', 'naa.5000c50012345678', 8],
  ] as const)('%s, %s (length byte %i)', (layout, deviceId, lengthByte) => {
    const { device, lvm, notes } = lvmOf(buildVmfsDisk({ deviceIdLayout: layout, deviceId, lun: 3, model: 'COMSTAR', dumpLength: 'legacy' }));
    expect(lvm).toMatchObject({ deviceIdLength: lengthByte, deviceIdLayout: layout, deviceIdHex: deviceId.slice(4) });
    expect(device.deviceId).toBe(deviceId);
    expect(device.vml).toBe(`vml.0200030000${deviceId.slice(4)}${hexOf('COMSTA')}`);
    expect(notes.filter((n) => /device id|model/.test(n))).toEqual([]);
  });

  it('pads a model shorter than 6 bytes with spaces in the vml, also when the header pads with NUL', () => {
    const { device } = lvmOf(buildVmfsDisk({ model: 'VRAID', scsiTextPad: 0x00, lun: 12, dumpLength: 'legacy' }));
    expect(device.vml).toBe('vml.02000c00006006016012345678abcdef0123456789565241494420');
    expect(device.model).toBe('VRAID');
  });
});

describe('a header that carries an NAA never yields an empty device id', () => {
  const naa = '600144f0c0ffee00000000000000beef';

  it.each([0, 5, 30, 44, 200])('length byte %i: the NAA type nibble (6 → 16 bytes) gives the id, with a note', (lengthByte) => {
    const { device, lvm, notes } = lvmOf(withHeaderBytes([[0x0d, [lengthByte]]], { deviceId: naa, model: 'COMSTAR' }));
    expect(device.deviceId).toBe(`naa.${naa}`);
    expect(device.vml).toBe(`vml.02000c0000${naa}${hexOf('COMSTA')}`);
    expect(lvm.deviceIdLayout).toBe('naa-designator');
    expect(notes.join('\n')).toMatch(new RegExp(`device id length ${lengthByte} fits neither layout; NAA type 6 read as 16 bytes`));
  });

  it('length 22 whose last 6 bytes are not the model: still the 16-byte NAA, and a note says so', () => {
    const { device, lvm, notes } = lvmOf(withHeaderBytes([[0x2e + 16, ascii('XXXXXX')]], { deviceId: naa, model: 'COMSTAR' }));
    expect(device.deviceId).toBe(`naa.${naa}`);
    expect(device.vml).toBe(`vml.02000c0000${naa}${hexOf('XXXXXX')}`);
    expect(lvm.deviceIdLayout).toBe('with-model-prefix');
    expect(notes.join('\n')).toMatch(/6 bytes after the device id .* are not the model's first 6/);
  });

  it('an id field holding no NAA at all gives an empty id and a note, not an exception', () => {
    const { device, notes } = lvmOf(
      withHeaderBytes([
        [0x0d, [22]],
        [0x2e, new Uint8Array(44)],
      ]),
    );
    expect(device.deviceId).toBe('');
    expect(notes.join('\n')).toMatch(/device id not decodable/);
  });
});

describe('an ambiguous header', () => {
  // Serial-type (1) ids are text, so both readings of length 12 decode:
  // with-model-prefix → id "ABCDEF" + tail "123456"; id-then-model → id "ABCDEF123456" + tail "WXYZ12".
  const field = ascii('ABCDEF123456WXYZ12');
  const bytes = () =>
    withHeaderBytes(
      [
        [0x0c, [1, 12]],
        [0x2e, field],
      ],
      { model: 'QQQQQQQ' },
    );
  const idThenModelVml = `vml.01000c0000${hexOf('ABCDEF123456')}${hexOf('WXYZ12')}`;

  it('is read as the real-host layout and noted', () => {
    const { device, lvm, notes } = lvmOf(bytes());
    expect(lvm.deviceIdLayout).toBe('with-model-prefix');
    expect(device.deviceId).toBe('t10.ABCDEF');
    expect(notes.join('\n')).toMatch(/device id length 12 reads as both layouts; taken as with-model-prefix/);
  });

  it.each([idThenModelVml, `/vmfs/devices/disks/${idThenModelVml}:1`, `${idThenModelVml.toUpperCase().replace('VML', 'vml')}.hdr`])(
    'is settled by the device name it was read from: %s',
    (deviceName) => {
      const parsed = parseArtifact('vmfs-header', bytes(), { deviceName });
      const lvm = (parsed.details as VmfsHeaderDetails).lvm;
      expect(lvm.deviceIdLayout).toBe('id-then-model');
      expect(parsed.device?.deviceId).toBe('t10.ABCDEF123456');
      expect(parsed.device?.vml).toBe(idThenModelVml);
      expect((parsed.details as VmfsHeaderDetails).notes.join('\n')).not.toMatch(/both layouts/);
    },
  );

  it('a device name that matches neither reading changes nothing', () => {
    const parsed = parseArtifact('vmfs-header', bytes(), { deviceName: 'naa.6006016012345678abcdef0123456789:1' });
    expect((parsed.details as VmfsHeaderDetails).lvm.deviceIdLayout).toBe('with-model-prefix');
  });
});
