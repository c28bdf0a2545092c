/** Drift detection is a pure function: (previous, current) observation → events. Table-driven. */
import { describe, expect, it } from 'vitest';
import { detectDrift, type Observation } from '../../api/pipeline/drift.js';
import type { PartitionInfo } from '../../formats/types.js';

const gpt: PartitionInfo = { scheme: 'gpt', index: 1, type: 'AA31E02A-400F-11DB-9590-000C2911D1B8', startLba: 2048, endLba: 4194270, missing: false };
const wiped: PartitionInfo = { scheme: 'none', index: 0, type: '', startLba: 2048, endLba: 0, missing: true };
const base: Observation = {
  deviceId: 'naa.6006016012345678abcdef0123456789',
  extentUuid: '4a1c3e7d-aabbccdd-eeff-0050569a1b2c',
  vmfsUuid: '4a1c3e7f-2b4d6e80-91a2-0050569a1b2c',
  segmentUuid: '4a1c3e7e-11223344-5566-0050569a1b2c',
  lun: 12,
  label: 'datastore1',
  version: 'VMFS-5.81',
  blockSize: 1048576,
  sizeBytes: 2147483648,
  vendor: 'DGC',
  model: 'VRAID',
  partition: gpt,
};

const cases: Array<{ name: string; previous: Observation | null; current: Observation; types: string[] }> = [
  { name: 'nothing changed', previous: base, current: { ...base }, types: [] },
  { name: 'first sighting of a healthy extent', previous: null, current: base, types: [] },
  { name: 'LUN re-presented under another id', previous: base, current: { ...base, lun: 13 }, types: ['lun-id-changed'] },
  {
    name: 'header names another device than before',
    previous: base,
    current: { ...base, deviceId: 'naa.600144f0c0ffee00000000000000beef' },
    types: ['device-id-changed'],
  },
  {
    name: 'read from a device whose id differs from its header',
    previous: null,
    current: { ...base, sourceDeviceId: 'naa.600144f0c0ffee00000000000000beef' },
    types: ['device-id-changed'],
  },
  { name: 'read from the device its header names', previous: null, current: { ...base, sourceDeviceId: base.deviceId }, types: [] },
  { name: 'partition table wiped', previous: base, current: { ...base, partition: wiped }, types: ['partition-missing'] },
  { name: 'still wiped: no repeat', previous: { ...base, partition: wiped }, current: { ...base, partition: wiped }, types: [] },
  { name: 'first sighting already wiped', previous: null, current: { ...base, partition: wiped }, types: ['partition-missing'] },
  { name: 'partition moved', previous: base, current: { ...base, partition: { ...gpt, startLba: 128 } }, types: ['partition-changed'] },
  { name: 'GUID case is not a change', previous: base, current: { ...base, partition: { ...gpt, type: gpt.type.toLowerCase() } }, types: [] },
  { name: 'label renamed', previous: base, current: { ...base, label: 'datastore-renamed' }, types: ['label-changed'] },
  { name: 'volume grown / header rewritten', previous: base, current: { ...base, sizeBytes: 4294967296, version: 'VMFS-5.82' }, types: ['header-changed'] },
  { name: 'unknown fields are not changes', previous: { ...base, label: null, lun: null }, current: base, types: [] },
  {
    name: 'parse error',
    previous: base,
    current: { deviceId: null, vmfsUuid: null, parseError: { code: 'bad_magic', message: 'no LVM header' } },
    types: ['parse-error'],
  },
  {
    name: 'previous could not be parsed',
    previous: { deviceId: null, vmfsUuid: null, parseError: { code: 'empty', message: 'empty' } },
    current: base,
    types: [],
  },
  {
    name: 'several at once',
    previous: base,
    current: { ...base, lun: 1, label: 'x', partition: wiped },
    types: ['partition-missing', 'lun-id-changed', 'label-changed'],
  },
];

describe('detectDrift', () => {
  for (const c of cases) {
    it(c.name, () => {
      const events = detectDrift(c.previous, c.current);
      expect(events.map((e) => e.type)).toEqual(c.types);
      for (const e of events) {
        expect(e.message.length).toBeGreaterThan(0);
        expect(['info', 'warning', 'critical']).toContain(e.severity);
      }
    });
  }

  it('names the volume and device on each event, falling back to the previous ones', () => {
    const [e] = detectDrift(base, { ...base, lun: 1 });
    expect(e).toMatchObject({ vmfsUuid: base.vmfsUuid, deviceId: base.deviceId, severity: 'critical', details: { previous: 12, current: 1 } });
    const [p] = detectDrift(base, { deviceId: null, vmfsUuid: null, parseError: { code: 'x', message: 'y' } });
    expect(p).toMatchObject({ vmfsUuid: base.vmfsUuid, deviceId: base.deviceId });
  });

  it('rates the accidents the product exists for as critical', () => {
    expect(detectDrift(base, { ...base, partition: wiped })[0].severity).toBe('critical');
    expect(detectDrift(null, { ...base, sourceDeviceId: 'naa.600144f0c0ffee00000000000000beef' })[0].severity).toBe('critical');
    expect(detectDrift(base, { ...base, label: 'z' })[0].severity).toBe('info');
  });
});
