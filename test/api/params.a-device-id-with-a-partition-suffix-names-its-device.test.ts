/**
 * `esxcfg-scsidevs -m` and `esxcli storage vmfs extent list` name a VMFS extent as the device
 * and its partition, `naa.…:1`. Pasted into `/v1/luns/{deviceId}` (or `collector restore
 * --device naa.…:1`), it was a 400 "not a device id", where the search box takes it; now the
 * suffix names the device's partition and the device is answered: its page, its restore
 * bundle. Anything else after the colon is still a 400.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { EXTENT1, seedDatacenter } from './read-side-seed.js';

describeEachFlavour('params: a device id with a partition suffix', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    await seedDatacenter(catalog);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it.each([`${EXTENT1.deviceId}:1`, `${EXTENT1.deviceId.toUpperCase()}:1`, `${EXTENT1.deviceId}:12`])('GET /v1/luns/%s answers the device', async (id) => {
    const res = await catalog.request(`/v1/luns/${encodeURIComponent(id)}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { deviceId: string }).deviceId).toBe(EXTENT1.deviceId);
  });

  it('its restore bundle too', async () => {
    const res = await catalog.request(`/v1/luns/${encodeURIComponent(`${EXTENT1.deviceId}:1`)}/restore-bundle`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain(`vmfs-restore-${EXTENT1.deviceId}-`);
    await res.arrayBuffer();
  });

  it.each([`${EXTENT1.deviceId}:`, `${EXTENT1.deviceId}:x`, `${EXTENT1.deviceId}:1:1`, 'naa.zz:1'])('%s is still a 400', async (id) => {
    const res = await catalog.request(`/v1/luns/${encodeURIComponent(id)}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^not a device id: /);
  });
});
