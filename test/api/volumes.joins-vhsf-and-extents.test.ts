/**
 * The volume view joins, through the segment UUID, a `.vh.sf` (label, version) with
 * header dumps of two extents that never saw the FS descriptor, adds the ESX
 * inventory's view of them, the storage host's LUs through the device id (NAA = LU
 * GUID), the zvols' snapshots, the artifacts and events. The LUN view is the same
 * join seen from one device, in any spelling.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { EXTENT1, EXTENT2, IQN, PROD, SCRATCH, T0, seedDatacenter, vmlOf, type Seeded } from './read-side-seed.js';

interface Json {
  [k: string]: any;
}

describeEachFlavour('GET /v1/volumes/{vmfsUuid}', (flavour) => {
  let catalog: TestCatalog;
  let seeded: Seeded;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    seeded = await seedDatacenter(catalog);
  });
  afterAll(async () => catalog?.close());

  const get = async (path: string) => {
    const res = await catalog.request(path);
    return { status: res.status, body: (await res.json()) as Json };
  };

  it('joins the .vh.sf and the header dumps of both extents through the segment UUID', async () => {
    const { status, body } = await get(`/v1/volumes/${PROD.vmfsUuid}`);
    expect(status).toBe(200);
    expect(body.vmfsUuid).toBe(PROD.vmfsUuid);
    expect(body.label).toBe(PROD.label);
    expect(body.version).toMatch(/^VMFS-3/);
    expect(body.blockSize).toBeGreaterThan(0);
    expect(body.segmentUuids).toContain(PROD.segmentUuid);
    const headers = body.extents.filter((e: Json) => e.source === 'header');
    expect(headers.map((e: Json) => e.deviceId).sort()).toEqual([EXTENT1.deviceId, EXTENT2.deviceId].sort());
    const first = headers.find((e: Json) => e.deviceId === EXTENT1.deviceId);
    expect(first).toMatchObject({
      lun: EXTENT1.lun,
      vendor: 'SUN',
      model: 'COMSTAR',
      segmentUuid: PROD.segmentUuid,
      host: 'esx01',
      vml: vmlOf(EXTENT1.deviceId, EXTENT1.lun),
      seenAt: T0.toISOString(),
      partition: { scheme: 'mbr', index: 1, startLba: 128, missing: false },
    });
    // The legacy dump ends before the FS descriptor: the link is the segment UUID alone.
    expect(first.vmfsUuid).toBeNull();
    const inventory = body.extents.filter((e: Json) => e.source === 'inventory');
    expect(inventory.map((e: Json) => e.deviceId).sort()).toEqual([EXTENT1.deviceId, EXTENT2.deviceId].sort());
  });

  it("adds the storage host's LUs through the device id, and their zvols' snapshots", async () => {
    const { body } = await get(`/v1/volumes/${PROD.vmfsUuid}`);
    expect(body.targets).toHaveLength(2);
    const lu3 = body.targets.find((t: Json) => t.lun === EXTENT1.lun);
    expect(lu3).toMatchObject({ storageHost: 'sol01', stack: 'iscsitgt', iqn: IQN, alias: 'prod-ds', deviceId: EXTENT1.deviceId, backingStore: EXTENT1.zvol });
    expect(lu3.sizeBytes).toBe(0xc800000 * 512);
    expect(body.snapshots.map((s: Json) => s.name).sort()).toEqual([
      `${EXTENT1.dataset}@daily-2026-09-30`,
      `${EXTENT1.dataset}@daily-2026-10-01`,
      `${EXTENT2.dataset}@daily-2026-10-01`,
    ]);
  });

  it('lists the artifacts behind the view with their hashes and sizes', async () => {
    const { body } = await get(`/v1/volumes/${PROD.vmfsUuid}`);
    const kinds = body.artifacts.map((a: Json) => a.kind).sort();
    expect(kinds).toEqual(['esx-inventory', 'iscsitgt-smf', 'vh-sf', 'vmfs-header', 'vmfs-header', 'zfs-snapshots']);
    const ids = new Set(body.artifacts.map((a: Json) => a.id));
    for (const a of [...seeded.esx01.artifacts, ...seeded.sol01.artifacts]) expect(ids.has(a.id)).toBe(true);
    const vh = body.artifacts.find((a: Json) => a.kind === 'vh-sf');
    expect(vh).toMatchObject({ host: 'esx01', fileName: 'prod-datastore-01.vh.sf', size: 4 * 1024 * 1024, collectedAt: T0.toISOString() });
    expect(vh.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Nothing of the unrelated volume.
    expect(body.artifacts.some((a: Json) => a.host === 'esx02')).toBe(false);
  });

  it('accepts any spelling of the UUID', async () => {
    for (const spelling of [PROD.vmfsUuid.replace(/-/g, ''), PROD.vmfsUuid.toUpperCase(), PROD.vmfsUuid.replace(/-/g, '').toUpperCase()]) {
      const { status, body } = await get(`/v1/volumes/${spelling}`);
      expect(status).toBe(200);
      expect(body.vmfsUuid).toBe(PROD.vmfsUuid);
    }
  });

  it('answers 404 for an unknown volume and 400 for a malformed id, in the error shape', async () => {
    const missing = await get('/v1/volumes/00000000-00000000-0000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'not_found' });
    expect(typeof missing.body.error.requestId).toBe('string');
    const bad = await get('/v1/volumes/not-a-uuid');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('bad_request');
  });

  it('a volume whose dump reached the FS descriptor stands on its own', async () => {
    const { status, body } = await get(`/v1/volumes/${SCRATCH.vmfsUuid}`);
    expect(status).toBe(200);
    expect(body.label).toBe(SCRATCH.label);
    expect(body.extents).toHaveLength(1);
    expect(body.extents[0]).toMatchObject({
      deviceId: SCRATCH.deviceId,
      vmfsUuid: SCRATCH.vmfsUuid,
      host: 'esx02',
      partition: { scheme: 'gpt', startLba: 2048 },
    });
    expect(body.targets).toEqual([]);
  });

  it('GET /v1/luns/{deviceId} shows the same join from one device, in any spelling', async () => {
    const spellings = [EXTENT1.deviceId, EXTENT1.deviceId.toUpperCase(), EXTENT1.deviceId.slice(4).toUpperCase(), vmlOf(EXTENT1.deviceId, EXTENT1.lun)];
    for (const s of spellings) {
      const { status, body } = await get(`/v1/luns/${encodeURIComponent(s)}`);
      expect(status, s).toBe(200);
      expect(body.deviceId).toBe(EXTENT1.deviceId);
      expect(body.lun).toBe(EXTENT1.lun);
      expect(body.volumes).toEqual([{ vmfsUuid: PROD.vmfsUuid, label: PROD.label, version: expect.stringMatching(/^VMFS-3/) }]);
      expect(body.targets.map((t: Json) => t.iqn)).toEqual([IQN]);
      expect(body.snapshots.every((x: Json) => x.dataset === EXTENT1.dataset)).toBe(true);
    }
    expect((await get('/v1/luns/naa.60000000000000000000000000000001')).status).toBe(404);
    expect((await get('/v1/luns/naa.xyz')).status).toBe(400);
  });
});
