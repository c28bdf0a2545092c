/**
 * A begin's `collectedAt` is an ISO 8601 time with an offset, and the latest such time of year
 * 9999 with a negative offset (`9999-12-31T23:59:59.999-14:00`) is in year 10000 in UTC, which
 * the catalog stores as `+010000-01-01T13:59:59.999Z`: PostgreSQL refuses that spelling
 * (22009, time zone displacement out of range), and the begin of any collector token was a
 * 500. It is now a 400 naming the field, as a time before year 1 in UTC is; the last instant of
 * year 9999 in UTC is taken (and stored at receipt, as any clock far ahead).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { collectorTokens, commit, prepareCapture } from '../helpers/ingest-client.js';

describeEachFlavour('captures: a collectedAt past year 9999 in UTC is 400', (flavour) => {
  let catalog: TestCatalog;
  let token: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    ({ 'esx-far': token } = await collectorTokens(catalog, ['esx-far']));
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const beginAt = (collectedAt: string) => {
    const { request } = prepareCapture({ host: 'esx-far', artifacts: [] });
    return catalog.request('/v1/captures', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...request, collectedAt }),
    });
  };

  it('refuses a time of year 9999 that is in year 10000 in UTC with 400 naming collectedAt', async () => {
    for (const at of ['9999-12-31T23:59:59.999-14:00', '9999-12-31T20:00:00-04:00']) {
      const res = await beginAt(at);
      const body = await res.text();
      expect(res.status, `${at}: ${body}`).toBe(400);
      const error = JSON.parse(body).error;
      expect(error.code).toBe('bad_request');
      expect(error.message).toContain('collectedAt');
      expect(error.message).toContain('year 9999');
    }
  });

  it('takes the last instant of year 9999 in UTC, and commits it at its receipt', async () => {
    for (const at of ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999+14:00']) {
      const res = await beginAt(at);
      const body = await res.text();
      expect(res.status, `${at}: ${body}`).toBe(200);
      const done = await commit(catalog, JSON.parse(body).captureId, token);
      expect(done.clockSkew?.collectedAt).toBe(new Date(at).toISOString());
    }
  });
});
