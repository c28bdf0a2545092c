/**
 * A malformed percent escape in a volume or LUN id (`%ZZ`) is a bad request, not a
 * server error: the router has already decoded the parameter once (leaving an invalid
 * escape as is), so the id parsers must not decode it again. Also: an id that only
 * becomes valid after a second decode (`%2541` → `%41` → `A`) is not accepted.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

describeEachFlavour('malformed volume and LUN ids', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => catalog?.close());

  const routes = [
    '/v1/volumes/%ZZ',
    '/v1/volumes/%ZZ/restore-bundle',
    '/v1/luns/%ZZ',
    '/v1/luns/%ZZ/restore-bundle',
    '/v1/luns/naa.%E0%A4%A',
    '/v1/events?vmfsUuid=%25ZZ',
    '/v1/events?deviceId=%25ZZ',
  ];

  for (const path of routes) {
    it(`GET ${path} → 400 bad_request with the error shape`, async () => {
      const res = await catalog.request(path);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
      expect(body.error.code).toBe('bad_request');
      expect(typeof body.error.message).toBe('string');
      expect(body.error.requestId).toBeTruthy();
    });
  }

  it('does not decode a second time: a doubly encoded UUID is refused', async () => {
    // %2530 is "%30" after the router's decode; a second decode would make it "0".
    const res = await catalog.request(`/v1/volumes/${'%2530'.repeat(32)}`);
    expect(res.status).toBe(400);
  });
});
