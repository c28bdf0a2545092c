/**
 * The selection as a pure function of typed rows and the time (api/bundle/select.ts
 * `composeSelection`), as tables: what a volume bundle and a LUN bundle are called and
 * say about their volume, when the rows hold nothing (the route's 404), a bundle with no
 * header dump, and descriptor copies reduced to the newest of each series.
 */
import { describe, expect, it } from 'vitest';
import { composeSelection } from '../../api/bundle/select.js';
import type { BundleRows, BundleSubject } from '../../api/bundle/types.js';
import { descriptor, header, hoursAfterT0, inventoryExtent, rows, snapshot, target, wiped } from './rows-fixture.js';

const VOL = '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c';
const VOL2 = '61a2b3c4-5d6e7f80-1234-001b21aabbcc';
const DEV3 = 'naa.600144f0aabbccddeeff001122334455';
const AT = new Date('2026-10-01T05:00:00Z');
const NOW = new Date('2026-10-02T00:00:00.123Z');

describe('composeSelection', () => {
  const nothing: Array<{ name: string; r: BundleRows; subject: BundleSubject }> = [
    { name: 'volume, no rows', r: rows(), subject: { vmfsUuid: VOL } },
    { name: 'LUN, no rows', r: rows(), subject: { deviceId: DEV3 } },
    { name: 'volume whose only rows are snapshots', r: rows({ volumes: [VOL], snapshots: [snapshot()] }), subject: { vmfsUuid: VOL } },
  ];
  it.each(nothing)('nothing known → null (the route answers 404): $name', ({ r, subject }) => {
    expect(composeSelection(r, subject, AT, NOW)).toBeNull();
  });

  const something: Array<{ name: string; r: BundleRows }> = [
    { name: 'a header dump', r: rows({ extents: [header()] }) },
    { name: 'a descriptor copy only', r: rows({ descriptors: [descriptor(VOL)] }) },
    { name: 'an LU only', r: rows({ targets: [target()] }) },
    { name: 'an inventory row only', r: rows({ extents: [inventoryExtent('esx01', DEV3)] }) },
  ];
  it.each(something)('any of these is enough for a bundle: $name', ({ r }) => {
    expect(composeSelection(r, { vmfsUuid: VOL }, AT, NOW)).not.toBeNull();
  });

  type Naming = {
    name: string;
    subject: BundleSubject;
    volumes: string[];
    vmfsUuid: string | null;
    deviceId: string | null;
    root: string;
    label: string | null;
  };
  const naming: Naming[] = [
    {
      name: 'volume bundle',
      subject: { vmfsUuid: VOL },
      volumes: [VOL],
      vmfsUuid: VOL,
      deviceId: null,
      root: `vmfs-restore-${VOL}-20261001T050000Z`,
      label: 'prod',
    },
    {
      name: 'LUN bundle of a device holding one volume: that volume',
      subject: { deviceId: DEV3 },
      volumes: [VOL],
      vmfsUuid: VOL,
      deviceId: DEV3,
      root: `vmfs-restore-${DEV3}-20261001T050000Z`,
      label: 'prod',
    },
    {
      name: 'LUN bundle of a device holding two volumes: none named',
      subject: { deviceId: DEV3 },
      volumes: [VOL, VOL2],
      vmfsUuid: null,
      deviceId: DEV3,
      root: `vmfs-restore-${DEV3}-20261001T050000Z`,
      label: null,
    },
    {
      name: 'LUN bundle of a device holding no volume',
      subject: { deviceId: DEV3 },
      volumes: [],
      vmfsUuid: null,
      deviceId: DEV3,
      root: `vmfs-restore-${DEV3}-20261001T050000Z`,
      label: null,
    },
  ];
  it.each(naming)('$name', ({ subject, volumes, vmfsUuid, deviceId, root, label }) => {
    const volume = volumes.length === 1 ? { label: 'prod', version: 'VMFS-3.31' } : null;
    const sel = composeSelection(rows({ volumes, extents: [header()], volume }), subject, AT, NOW)!;
    expect(sel).toMatchObject({ vmfsUuid, deviceId, root, label, version: volume?.version ?? null, volumes });
    expect([sel.at, sel.generatedAt]).toEqual(['2026-10-01T05:00:00.000Z', '2026-10-02T00:00:00.123Z']);
    expect(sel.plan).toMatchObject({ vmfsUuid, label, at: sel.at, generatedAt: sel.generatedAt });
  });

  it('no header dump: files from the rest, no extents to restore', () => {
    const sel = composeSelection(rows({ volumes: [VOL], descriptors: [descriptor(VOL)], targets: [target()] }), { vmfsUuid: VOL }, AT, NOW)!;
    expect(sel.files.map((f) => f.kind)).toEqual(['vh-sf']);
    expect(sel.plan.extents).toEqual([]);
    expect(sel.targets).toEqual([target()]);
  });

  it('a wiped series: both dumps travel, the extent points at the intact one', () => {
    const before = header({ artifact: { collectedAt: hoursAfterT0(0) } });
    const after = wiped({ artifact: { collectedAt: hoursAfterT0(3) } });
    const sel = composeSelection(rows({ volumes: [VOL], extents: [after, before] }), { vmfsUuid: VOL }, AT, NOW)!;
    expect(sel.files.map((f) => f.artifactId)).toEqual([after.artifact.id, before.artifact.id]);
    expect(sel.plan.extents).toHaveLength(1);
    expect(sel.plan.extents[0].headerFile).toBe(sel.files[1].path);
  });

  it('descriptor copies: the newest of each series, in first-seen order', () => {
    const old = descriptor(VOL, { collectedAt: hoursAfterT0(0) });
    const newer = descriptor(VOL, { collectedAt: hoursAfterT0(2) });
    const other = descriptor(VOL, { host: 'esx02', collectedAt: hoursAfterT0(1) });
    const sel = composeSelection(rows({ volumes: [VOL], descriptors: [old, other, newer] }), { vmfsUuid: VOL }, AT, NOW)!;
    expect(sel.files.map((f) => f.artifactId)).toEqual([newer.artifact.id, other.artifact.id]);
  });

  it('is a function of its arguments: the same rows and times give the same selection', () => {
    const r = rows({ volumes: [VOL], extents: [header(), inventoryExtent('esx02', DEV3)], targets: [target()], snapshots: [snapshot()] });
    expect(composeSelection(r, { vmfsUuid: VOL }, AT, NOW)).toEqual(composeSelection(r, { vmfsUuid: VOL }, AT, NOW));
  });
});
