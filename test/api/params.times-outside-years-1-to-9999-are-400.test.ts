/**
 * A time query parameter JavaScript reads but PostgreSQL cannot store (a signed year:
 * `-000001-01-01T00:00:00Z`, `+010000-…`) is a 400 naming the parameter, on every route
 * that takes one; it reached the query and came back a 500. So is a day the month lacks
 * (`2026-02-30`), which Date rolled over into another day (2026-03-02) and answered for that.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const VOLUME = '4a1c3e7f-2b4d6e80-91a2-0050569a1b2c';
const DEVICE = 'naa.6006016012345678abcdef0123456789';

describeEachFlavour('params: times outside years 1–9999', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    await ingest(catalog, {
      host: 'esx01',
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: new TextEncoder().encode('tank/a@x\t1793491200\t1\n') }],
    });
  });
  afterAll(async () => {
    await catalog?.close();
  });

  for (const raw of [
    '-000001-01-01T00:00:00Z',
    '-271821-04-20T00:00:00Z',
    '+010000-01-01T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-04-31',
    '2027-02-29T12:00:00+02:00',
  ]) {
    it(`answers 400 for ${raw}`, async () => {
      const t = encodeURIComponent(raw);
      for (const [name, path] of [
        ['at', `/v1/volumes/${VOLUME}/restore-bundle?at=${t}`],
        ['at', `/v1/luns/${DEVICE}/restore-bundle?at=${t}`],
        ['at', `/v1/volumes/${VOLUME}/dr-plan?at=${t}`],
        ['since', `/v1/events?since=${t}`],
        ['until', `/v1/events?until=${t}`],
      ]) {
        const res = await catalog.request(path);
        const text = await res.text();
        expect(res.status, `${path}: ${text}`).toBe(400);
        const body = JSON.parse(text) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('bad_request');
        expect(body.error.message).toMatch(new RegExp(`^${name}: `));
      }
    });
  }

  it('still takes a time inside them', async () => {
    expect((await catalog.request('/v1/events?since=0001-01-01T00:00:00Z&until=9999-12-31T23:59:59Z')).status).toBe(200);
    expect((await catalog.request(`/v1/volumes/${VOLUME}/restore-bundle?at=2001-01-01T00:00:00Z`)).status).toBe(404);
    // A leap day, and a day written in an offset whose UTC day is the next.
    expect((await catalog.request('/v1/events?since=2028-02-29T00:00:00Z&until=2026-12-31T23:30:00-05:00')).status).toBe(200);
  });
});
