import { describe, expect, it } from 'vitest';
import { parseVmfsHeader, type VmfsHeaderDetails } from '../../formats/vmfs.js';
import { buildTwoExtentVolume, DEFAULTS } from '../fixtures/vmfs-images.js';

describe('a volume spanning two devices', () => {
  const { first, second } = buildTwoExtentVolume();
  const a = parseVmfsHeader(first);
  const b = parseVmfsHeader(second);

  it('both extents name the same segment UUID', () => {
    expect(a.vmfs?.segmentUuid).toBe(DEFAULTS.segmentUuid);
    expect(b.vmfs?.segmentUuid).toBe(DEFAULTS.segmentUuid);
  });

  it('only the first extent carries the FS descriptor', () => {
    expect(a.vmfs?.vmfsUuid).toBe(DEFAULTS.vmfsUuid);
    expect(a.vmfs?.label).toBe(DEFAULTS.label);
    expect(b.vmfs?.vmfsUuid).toBeNull();
    expect((b.details as VmfsHeaderDetails).notes.join('\n')).toMatch(/no FS descriptor magic/);
  });

  it('each extent reports its own device, LUN and extent UUID', () => {
    expect(a.device).toMatchObject({ deviceId: DEFAULTS.deviceId, lun: 12 });
    expect(b.device).toMatchObject({ deviceId: 'naa.600144f0c0ffee00000000000000beef', lun: 13, vendor: 'SUN', model: 'COMSTAR' });
    expect(a.device?.extentUuid).not.toBe(b.device?.extentUuid);
  });

  it('the volume table says two extents, the second continuing the PEs of the first', () => {
    const ta = (a.details as VmfsHeaderDetails).volumeTable[0];
    const tb = (b.details as VmfsHeaderDetails).volumeTable[0];
    expect(ta.extentCount).toBe(2);
    expect(tb.extentCount).toBe(2);
    expect(tb.firstPE).toBe(ta.lastPE + 1);
  });
});
