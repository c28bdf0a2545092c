import { describe, expect, it } from 'vitest';
import { buildVml, canonicalDeviceId, canonicalVmfsUuid, deviceIdOf, parseVml } from '../../formats/ids.js';

const err = (code: string) => expect.objectContaining({ name: 'FormatError', code });

describe('canonicalDeviceId', () => {
  it.each([
    ['naa.6006016012345678ABCDEF0123456789', 'naa.6006016012345678abcdef0123456789'],
    ['NAA.600144F0C0FFEE00000000000000BEEF', 'naa.600144f0c0ffee00000000000000beef'],
    ['  naa.5000c50012345678 ', 'naa.5000c50012345678'],
    ['600144F0C0FFEE00000000000000BEEF', 'naa.600144f0c0ffee00000000000000beef'],
    ['5000C50012345678', 'naa.5000c50012345678'],
    ['EUI.0025385B71B04A2F', 'eui.0025385b71b04a2f'],
    ['T10.ATA_____WDC_WD2003FZEX2D00Z4SA0_________________________WD2DWMC130E5', 't10.ATA_____WDC_WD2003FZEX2D00Z4SA0_________________________WD2DWMC130E5'],
    ['MPX.vmhba32:C0:T0:L0', 'mpx.vmhba32:C0:T0:L0'],
  ])('%s → %s', (input, expected) => {
    expect(canonicalDeviceId(input)).toBe(expected);
  });

  it.each(['naa.12345', 'naa.zz06016012345678abcdef0123456789', 'eui.12', 't10.', 'mpx. ', 'hello', '', '6006016012345678abcdef012345678'])(
    'refuses %j',
    (input) => {
      expect(() => canonicalDeviceId(input)).toThrow(err('malformed'));
    },
  );
});

describe('deviceIdOf', () => {
  it.each([
    ['NAA.600144F0C0FFEE00000000000000BEEF', 'naa.600144f0c0ffee00000000000000beef'],
    ['naa.600144f0c0ffee00000000000000beef:1', 'naa.600144f0c0ffee00000000000000beef'],
    [' 5000C50012345678:12 ', 'naa.5000c50012345678'],
    ['MPX.vmhba32:C0:T0:L0', 'mpx.vmhba32:C0:T0:L0'],
  ])('%s → %s', (input, expected) => {
    expect(deviceIdOf(input)).toBe(expected);
  });

  it.each([
    'nope',
    'naa.zz:1',
    'naa.600144f0c0ffee00000000000000beef:',
    'naa.600144f0c0ffee00000000000000beef:x',
    'naa.600144f0c0ffee00000000000000beef:1:1',
    'naa.600144f0c0ffee00000000000000beef:1234',
    '',
  ])('refuses %j', (input) => {
    expect(() => deviceIdOf(input)).toThrow(err('malformed'));
  });
});

describe('parseVml', () => {
  it('decodes the docs/formats.md §3 example', () => {
    expect(parseVml('vml.02000c00006006016012345678abcdef0123456789565241494420')).toEqual({
      vml: 'vml.02000c00006006016012345678abcdef0123456789565241494420',
      deviceId: 'naa.6006016012345678abcdef0123456789',
      lun: 12,
      idType: 2,
      deviceType: 0,
      modelPrefix: 'VRAID ',
    });
  });

  it('reads the LUN low byte first and accepts upper case', () => {
    const v = parseVml('VML.0200FF01005000C50012345678535433303030');
    expect(v.lun).toBe(0x01ff);
    expect(v.deviceId).toBe('naa.5000c50012345678');
    expect(v.vml).toBe('vml.0200ff01005000c50012345678535433303030');
  });

  it('accepts a vml printed without its model tail', () => {
    expect(parseVml('vml.02000000006006016012345678abcdef0123456789').deviceId).toBe('naa.6006016012345678abcdef0123456789');
  });

  it('reads serial ids as t10 text', () => {
    const serial = Buffer.from('WD-WMC130E5', 'ascii').toString('hex');
    expect(parseVml(`vml.0100000000${serial}${Buffer.from('WDC WD', 'ascii').toString('hex')}`).deviceId).toBe('t10.WD-WMC130E5');
  });

  it.each([
    ['naa.6006016012345678abcdef0123456789', 'malformed'],
    ['vml.xyz', 'malformed'],
    ['vml.020', 'malformed'],
    ['vml.0200', 'truncated'],
    ['vml.0200000000', 'truncated'],
    ['vml.02000c0000aabbcc565241494420', 'malformed'],
    ['vml.' + '00'.repeat(200), 'too_large'],
  ])('refuses %j (%s)', (input, code) => {
    expect(() => parseVml(input)).toThrow(err(code));
  });
});

describe('buildVml', () => {
  it('rebuilds the docs/formats.md §3 example and round-trips through parseVml', () => {
    const deviceIdBytes = Buffer.from('6006016012345678abcdef0123456789', 'hex');
    const vml = buildVml({ idType: 2, deviceType: 0, lun: 12, deviceIdBytes, model: 'VRAID' });
    expect(vml).toBe('vml.02000c00006006016012345678abcdef0123456789565241494420');
    expect(parseVml(vml)).toMatchObject({ lun: 12, deviceId: 'naa.6006016012345678abcdef0123456789' });
  });

  it('truncates the model to 6 bytes', () => {
    expect(buildVml({ idType: 2, deviceType: 0, lun: 256, deviceIdBytes: Buffer.from('5000c50012345678', 'hex'), model: 'COMSTAR' })).toBe(
      'vml.02000001005000c50012345678434f4d535441',
    );
  });
});

describe('canonicalVmfsUuid', () => {
  it.each([
    ['5a1c3e7f-2b4d6e80-91a2-0050569a1b2c', '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c'],
    ['5A1C3E7F-2B4D6E80-91A2-0050569A1B2C', '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c'],
    ['5a1c3e7f2b4d6e8091a20050569a1b2c', '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c'],
    [' 5a1c3e7f2b4d6e8091a20050569a1b2c\n', '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c'],
  ])('%j → %s', (input, expected) => {
    expect(canonicalVmfsUuid(input)).toBe(expected);
  });
  it.each(['5a1c3e7f', 'zz1c3e7f2b4d6e8091a20050569a1b2c', '', 'naa.6006016012345678abcdef0123456789'])('%j → null', (input) => {
    expect(canonicalVmfsUuid(input)).toBeNull();
  });
});
