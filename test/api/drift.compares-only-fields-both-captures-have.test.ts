/**
 * Drift compares like with like. A 2 MiB header dump stops before the FS descriptor, so it
 * knows the VMFS version only from the LVM major (`VMFS-3`) and has no block size or label;
 * a longer dump of the same extent reads `VMFS-3.31` from the descriptor. Neither order of
 * the two is a header change; a real change still is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { events } from '../../db/schema.js';
import { detectDrift, sameVersion, type Observation } from '../../api/pipeline/drift.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';

const full: Observation = {
  deviceId: DEFAULTS.deviceId,
  extentUuid: DEFAULTS.extentUuid,
  vmfsUuid: DEFAULTS.vmfsUuid,
  segmentUuid: DEFAULTS.segmentUuid,
  lun: 12,
  label: 'datastore1',
  version: 'VMFS-3.31',
  blockSize: 1048576,
  sizeBytes: 644245028864,
  vendor: 'DGC',
  model: 'VRAID',
  partition: null,
};
/** The same extent from a dump that ends before the FS descriptor. */
const short: Observation = { ...full, vmfsUuid: null, label: null, version: 'VMFS-3', blockSize: null };

const cases: Array<{ name: string; previous: Observation; current: Observation; changed: string[] }> = [
  { name: 'short dump after a full one', previous: full, current: short, changed: [] },
  { name: 'full dump after a short one', previous: short, current: full, changed: [] },
  { name: 'two short dumps', previous: short, current: { ...short }, changed: [] },
  { name: 'major changed, short vs full', previous: full, current: { ...short, version: 'VMFS-5' }, changed: ['version'] },
  { name: 'minor changed, both full', previous: full, current: { ...full, version: 'VMFS-3.33' }, changed: ['version'] },
  { name: 'empty vendor is not a value', previous: full, current: { ...short, vendor: '' }, changed: [] },
  { name: 'a field both have still counts', previous: full, current: { ...short, sizeBytes: 1 }, changed: ['sizeBytes'] },
  { name: 'block size only on one side', previous: { ...full, blockSize: 8 * 1048576 }, current: short, changed: [] },
];

describe('header-changed compares only fields present on both sides', () => {
  for (const c of cases) {
    it(c.name, () => {
      const e = detectDrift(c.previous, c.current).filter((x) => x.type === 'header-changed');
      expect(e.flatMap((x) => Object.keys(x.details.changed as object))).toEqual(c.changed);
    });
  }
  it('sameVersion: equal at the precision both have', () => {
    expect(sameVersion('VMFS-3.31', 'VMFS-3')).toBe(true);
    expect(sameVersion('VMFS-5', 'VMFS-5.81')).toBe(true);
    expect(sameVersion('VMFS-3.31', 'VMFS-3.33')).toBe(false);
    expect(sameVersion('VMFS-3', 'VMFS-5.54')).toBe(false);
  });
});

describeEachFlavour('drift through ingest: short and full dumps of one extent', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('raises no header-changed between a dump through the FS descriptor and a 2 MiB one', async () => {
    // A small data offset keeps the dump that reaches the FS descriptor (LV + 2 MiB) near 4 MiB.
    const opts = { lvmMajor: 3 as const, dataOffset: 0x200000 };
    const long = buildVmfsDisk({ ...opts, dumpLength: 'descriptor' });
    const legacy = buildVmfsDisk({ ...opts, dumpLength: 'legacy' });
    const day = (d: number) => new Date(Date.UTC(2026, 10, d, 3));
    const a = await ingest(catalog, { host: 'esx35', collectedAt: day(1), artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.bin', bytes: long }] });
    expect(a.artifacts[0].found.vmfsUuid).toEqual([DEFAULTS.vmfsUuid]);
    const b = await ingest(catalog, { host: 'esx35', collectedAt: day(2), artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.bin', bytes: legacy }] });
    expect(b.artifacts[0].found.vmfsUuid).toBeUndefined();
    const c = await ingest(catalog, {
      host: 'esx35',
      collectedAt: day(3),
      artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.bin', bytes: buildVmfsDisk({ ...opts, dumpLength: 'descriptor', noiseSeed: 9 }) }],
    });
    const { db } = catalog.services;
    for (const capture of [b, c]) {
      const rows = await db
        .select()
        .from(events)
        .where(and(eq(events.captureId, capture.captureId), eq(events.type, 'header-changed')));
      expect(
        rows.map((r) => r.message),
        capture.captureId,
      ).toEqual([]);
    }
    // A header that really changed its major is still reported.
    const d = await ingest(catalog, {
      host: 'esx35',
      collectedAt: day(4),
      artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.bin', bytes: buildVmfsDisk({ ...opts, lvmMajor: 5, scheme: 'mbr', dumpLength: 'legacy' }) }],
    });
    const changed = await db
      .select()
      .from(events)
      .where(and(eq(events.captureId, d.captureId), eq(events.type, 'header-changed')));
    expect(changed).toHaveLength(1);
    expect(changed[0].details).toMatchObject({ changed: { version: { previous: 'VMFS-3.31', current: 'VMFS-5' } } });
  });
});
