import { describe, expect, it } from 'vitest';
import { parseVhSf } from '../../formats/vmfs.js';
import { buildVhSf, DEFAULTS } from '../fixtures/vmfs-images.js';

describe('parseVhSf', () => {
  it.each([
    { fsMajor: 3 as const, version: 'VMFS-3.31', blockSize: 4 * 1024 * 1024 },
    { fsMajor: 5 as const, version: 'VMFS-5.81', blockSize: 1024 * 1024 },
    { fsMajor: 6 as const, version: 'VMFS-6.82', blockSize: 1024 * 1024 },
  ])('reads the FS descriptor of a $version copy', ({ fsMajor, version, blockSize }) => {
    const parsed = parseVhSf(buildVhSf({ fsMajor, blockSize, label: 'Datastore Ünïcode' }));
    expect(parsed.kind).toBe('vh-sf');
    expect(parsed.partition).toBeNull();
    expect(parsed.device).toBeNull();
    expect(parsed.vmfs).toEqual({
      vmfsUuid: DEFAULTS.vmfsUuid,
      label: 'Datastore Ünïcode',
      version,
      blockSize,
      segmentUuid: DEFAULTS.segmentUuid,
      createdAt: '2009-05-26T19:09:51.000Z',
      creatorMac: '00:50:56:9a:1b:2c',
    });
  });

  it('reads a copy cut right after the descriptor', () => {
    expect(parseVhSf(buildVhSf({ length: 0x200000 + 512 })).vmfs?.label).toBe(DEFAULTS.label);
  });

  it('refuses a copy without the descriptor magic', () => {
    expect(() => parseVhSf(new Uint8Array(0x300000))).toThrow(expect.objectContaining({ name: 'FormatError', code: 'bad_magic', offset: 0x200000 }));
  });

  it('refuses a copy that ends before 0x200000', () => {
    expect(() => parseVhSf(new Uint8Array(0x1000))).toThrow(expect.objectContaining({ code: 'truncated' }));
  });
});
