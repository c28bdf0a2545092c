/**
 * GET /v1/hosts and /v1/hosts/{name}: every host with its last committed capture;
 * stale when that capture is older than STALE_AFTER_HOURS by the injected clock.
 * The detail adds captures, the last capture's artifacts, the volumes the host saw,
 * the LUs it presents and its events.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { EXTENT1, EXTENT2, HOUR, IQN, PROD, SCRATCH, T0, seedDatacenter } from './read-side-seed.js';

interface Json {
  [k: string]: any;
}

describeEachFlavour('GET /v1/hosts', (flavour) => {
  let catalog: TestCatalog;
  // The clock the catalog reads; the seed's captures are at T0 … T0+2h.
  let now = new Date(T0.getTime() + 30 * HOUR);
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => now, env: { STALE_AFTER_HOURS: '36' } });
    await seedDatacenter(catalog);
  });
  afterAll(async () => catalog?.close());

  const get = async (path: string) => {
    const res = await catalog.request(path);
    return { status: res.status, body: (await res.json()) as Json };
  };

  it('lists every host with its last capture, fresh within STALE_AFTER_HOURS', async () => {
    now = new Date(T0.getTime() + 30 * HOUR);
    const { status, body } = await get('/v1/hosts');
    expect(status).toBe(200);
    expect(body.staleAfterHours).toBe(36);
    expect(body.hosts.map((h: Json) => h.name)).toEqual(['esx01', 'esx02', 'sol01']);
    const esx01 = body.hosts[0];
    expect(esx01).toMatchObject({ kind: 'esxi', stale: false, hoursSinceLastCapture: 30 });
    expect(esx01.lastCapture).toMatchObject({ collectedAt: T0.toISOString(), artifactCount: 4, collectorVersion: 'test-0' });
    expect(body.hosts[2]).toMatchObject({ name: 'sol01', kind: 'solaris', stale: false, hoursSinceLastCapture: 29 });
  });

  it('reports a host stale once its last capture is older than STALE_AFTER_HOURS', async () => {
    now = new Date(T0.getTime() + 37.5 * HOUR);
    const { body } = await get('/v1/hosts');
    const byName = Object.fromEntries(body.hosts.map((h: Json) => [h.name, h]));
    expect(byName.esx01.stale).toBe(true); // 37.5 h
    expect(byName.sol01.stale).toBe(true); // 36.5 h
    expect(byName.esx02.stale).toBe(false); // 35.5 h
  });

  it('GET /v1/hosts/{name} adds captures, artifacts, volumes seen and events', async () => {
    now = new Date(T0.getTime() + 3 * HOUR);
    const { status, body } = await get('/v1/hosts/esx01');
    expect(status).toBe(200);
    expect(body).toMatchObject({ name: 'esx01', stale: false });
    expect(body.captures).toHaveLength(1);
    expect(body.artifacts.map((a: Json) => a.kind).sort()).toEqual(['esx-inventory', 'vh-sf', 'vmfs-header', 'vmfs-header']);
    expect(body.volumes).toEqual([{ vmfsUuid: PROD.vmfsUuid, label: PROD.label, lastSeen: T0.toISOString() }]);
    expect(body.targets).toEqual([]);
    expect(Array.isArray(body.events)).toBe(true);
    const esx02 = await get('/v1/hosts/esx02');
    expect(esx02.body.volumes.map((v: Json) => v.vmfsUuid)).toEqual([SCRATCH.vmfsUuid]);
  });

  it('a storage host lists the LUs it presents', async () => {
    const { body } = await get('/v1/hosts/sol01');
    expect(body.targets.map((t: Json) => [t.iqn, t.lun, t.deviceId, t.stack])).toEqual([
      [IQN, EXTENT1.lun, EXTENT1.deviceId, 'iscsitgt'],
      [IQN, EXTENT2.lun, EXTENT2.deviceId, 'iscsitgt'],
    ]);
  });

  it('404 for an unknown host', async () => {
    const { status, body } = await get('/v1/hosts/no-such-host');
    expect(status).toBe(404);
    expect(body.error.code).toBe('not_found');
  });
});
