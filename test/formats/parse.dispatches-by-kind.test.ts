import { describe, expect, it } from 'vitest';
import { parseArtifact } from '../../formats/parse.js';
import { buildVhSf, buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';

describe('parseArtifact', () => {
  it('parses a vmfs-header', () => {
    const parsed = parseArtifact('vmfs-header', buildVmfsDisk({ lvmMajor: 5 }));
    expect(parsed.kind).toBe('vmfs-header');
    expect(parsed.vmfs?.vmfsUuid).toBe(DEFAULTS.vmfsUuid);
  });

  it('parses a vh-sf', () => {
    expect(parseArtifact('vh-sf', buildVhSf()).vmfs?.label).toBe(DEFAULTS.label);
  });

  it('keeps vmfs-undelete opaque', () => {
    expect(parseArtifact('vmfs-undelete', new Uint8Array(1234))).toEqual({
      kind: 'vmfs-undelete',
      partition: null,
      device: null,
      vmfs: null,
      details: { opaque: true, size: 1234 },
    });
  });

  it('refuses unknown with FormatError unrecognized', () => {
    expect(() => parseArtifact('unknown', new Uint8Array(10))).toThrow(expect.objectContaining({ name: 'FormatError', code: 'unrecognized' }));
  });

  it('passes parser refusals through as FormatError', () => {
    expect(() => parseArtifact('vh-sf', new Uint8Array(10))).toThrow(expect.objectContaining({ name: 'FormatError', code: 'truncated' }));
    expect(() => parseArtifact('vmfs-header', new Uint8Array(0))).toThrow(expect.objectContaining({ name: 'FormatError', code: 'empty' }));
  });

  it('routes text kinds to their parsers and lets only FormatError out', () => {
    for (const kind of ['iscsitgt-smf', 'stmf-smf', 'comstar-listing', 'esx-inventory', 'zfs-snapshots'] as const) {
      try {
        const parsed = parseArtifact(kind, new TextEncoder().encode('\u0000not this kind\u0000'));
        expect(parsed.kind).toBe(kind);
      } catch (e) {
        expect(e).toMatchObject({ name: 'FormatError' });
      }
    }
  });
});
