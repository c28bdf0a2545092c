/**
 * GET /v1/events lists drift events newest first, filtered by type, severity, host,
 * volume or device (any spelling), time, and paged by id; the volume and LUN views
 * carry the events of their devices.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { EXTENT1, EXTENT2, HOUR, PROD, T0, extent1Dump, seedDatacenter, vmlOf } from './read-side-seed.js';

interface Json {
  [k: string]: any;
}

describeEachFlavour('GET /v1/events', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    await seedDatacenter(catalog);
    // Drift on extent 1: re-presented as LUN 9, then its partition table wiped.
    const header = (collectedAt: Date, bytes: Uint8Array) =>
      ingest(catalog, {
        host: 'esx01',
        hostKind: 'esxi',
        collectedAt,
        artifacts: [
          { kind: 'vmfs-header', fileName: `${EXTENT1.deviceId}.hex`, sourcePath: `/vmfs/devices/disks/${EXTENT1.deviceId}`, device: EXTENT1.deviceId, bytes },
        ],
      });
    await header(new Date(T0.getTime() + 24 * HOUR), extent1Dump({ lun: 9 }));
    await header(new Date(T0.getTime() + 48 * HOUR), extent1Dump({ lun: 9, scheme: 'none', startLba: 128 }));
  });
  afterAll(async () => catalog?.close());

  const events = async (query = '') => {
    const res = await catalog.request(`/v1/events${query}`);
    return { status: res.status, body: (await res.json()) as Json };
  };

  it('lists the drift, newest first', async () => {
    const { status, body } = await events();
    expect(status).toBe(200);
    const types = body.events.map((e: Json) => e.type);
    expect(types).toContain('lun-id-changed');
    expect(types).toContain('partition-missing');
    expect(types.indexOf('partition-missing')).toBeLessThan(types.indexOf('lun-id-changed'));
    const ids = body.events.map((e: Json) => e.id);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
  });

  it('filters by type, severity, host, device id in any spelling, volume and time', async () => {
    const lun = await events('?type=lun-id-changed');
    expect(lun.body.events.length).toBeGreaterThan(0);
    expect(lun.body.events.every((e: Json) => e.type === 'lun-id-changed' && e.deviceId === EXTENT1.deviceId)).toBe(true);
    expect((await events('?severity=critical')).body.events.every((e: Json) => e.severity === 'critical')).toBe(true);
    expect((await events('?host=sol01')).body.events).toEqual([]);
    for (const spelling of [EXTENT1.deviceId.toUpperCase(), EXTENT1.deviceId.slice(4), vmlOf(EXTENT1.deviceId, EXTENT1.lun)]) {
      const { body } = await events(`?deviceId=${encodeURIComponent(spelling)}`);
      expect(body.events.length, spelling).toBeGreaterThan(0);
      expect(body.events.every((e: Json) => e.deviceId === EXTENT1.deviceId)).toBe(true);
    }
    expect((await events(`?deviceId=${EXTENT2.deviceId}`)).body.events).toEqual([]);
    // created_at is when the catalog raised the event (commit time).
    expect((await events('?since=2100-01-01T00:00:00Z')).body.events).toEqual([]);
    expect((await events('?until=2000-01-01T00:00:00Z')).body.events).toEqual([]);
    expect((await events('?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z')).body.events.length).toBeGreaterThan(1);
    // A volume's events: those raised on it and on its devices, the set its page lists.
    const vol = await events(`?vmfsUuid=${PROD.vmfsUuid.replace(/-/g, '').toUpperCase()}`);
    const page = (await catalog.request(`/v1/volumes/${PROD.vmfsUuid}`).then((r) => r.json())) as Json;
    const devices = new Set(page.extents.map((x: Json) => x.deviceId));
    expect(vol.body.events.every((e: Json) => e.vmfsUuid === PROD.vmfsUuid || devices.has(e.deviceId))).toBe(true);
    expect(vol.body.events.map((e: Json) => e.id).sort()).toEqual(page.events.map((e: Json) => e.id).sort());
    expect(vol.body.events.some((e: Json) => e.type === 'lun-id-changed')).toBe(true);
  });

  it('pages by id with before/nextBefore', async () => {
    const all = (await events()).body.events.map((e: Json) => e.id);
    const first = await events('?limit=1');
    expect(first.body.events.map((e: Json) => e.id)).toEqual([all[0]]);
    expect(first.body.nextBefore).toBe(all[0]);
    const second = await events(`?limit=1&before=${first.body.nextBefore}`);
    expect(second.body.events.map((e: Json) => e.id)).toEqual([all[1]]);
  });

  it("the volume and LUN views carry their devices' events", async () => {
    const vol = (await catalog.request(`/v1/volumes/${PROD.vmfsUuid}`).then((r) => r.json())) as Json;
    expect(vol.events.map((e: Json) => e.type)).toContain('partition-missing');
    const lun = (await catalog.request(`/v1/luns/${EXTENT1.deviceId}`).then((r) => r.json())) as Json;
    expect(lun.events.map((e: Json) => e.type)).toContain('lun-id-changed');
    expect(lun.lun).toBe(9);
  });

  it('400 for a malformed filter', async () => {
    // An unknown type is refused like an unknown severity or status: a typo (lun-changed) found nothing, answered as if no such event were open.
    for (const q of ['?since=yesterday', '?vmfsUuid=xyz', '?deviceId=naa.zz', '?severity=loud', '?limit=0', '?type=bogus', '?type=lun-changed']) {
      const { status, body } = await events(q);
      expect(status, q).toBe(400);
      expect(body.error.code).toBe('bad_request');
    }
  });
});
