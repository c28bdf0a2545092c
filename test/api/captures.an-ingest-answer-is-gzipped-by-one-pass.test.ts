/**
 * The ingest answers' gzip middleware was registered for `/v1/captures` and `/v1/captures/*`,
 * and Hono's `/v1/captures/*` matches `/v1/captures` too: every begin ran it twice — its
 * answer read whole and built again a second time (a begin under 1 KiB, most of a day's runs).
 * Each ingest request now passes it once.
 *
 * Counted on the app's own registrations of the middleware (its route table), each given to a
 * Hono app of the same version as a counter, so Hono's own matching says how many a request
 * passes — not by mocking the middleware's module: test files share their worker's modules
 * (vitest.config.ts, isolate off), so such a mock came too late for an app built by another
 * file's import, and counted nothing.
 */
import { Hono } from 'hono';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gzipAnswers } from '../../api/http/content-encoding.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

let catalog: TestCatalog;
beforeAll(async () => {
  catalog = await startTestCatalog('embedded');
});
afterAll(async () => {
  await catalog?.close();
});

it('a begin, its uploads and its commit each pass the gzip middleware once', async () => {
  const registered = catalog.app.routes.filter((r) => r.handler === gzipAnswers);
  expect(registered.length).toBeGreaterThan(0);
  let passes = 0;
  const probe = new Hono();
  for (const r of registered) {
    const count = async (_c: unknown, next: () => Promise<void>) => {
      passes++;
      await next();
    };
    if (r.method === 'ALL') probe.use(r.path, count);
    else probe.on(r.method, r.path, count);
  }
  probe.all('*', (c) => c.text('ok'));
  // The paths of a real ingest, as the catalog answers them.
  const ingestPaths: string[] = [];
  const done = await ingest(
    {
      ...catalog,
      request: (path, init) => {
        ingestPaths.push(`${init?.method ?? 'GET'} ${path.split('?')[0]}`);
        return catalog.request(path, init);
      },
    },
    { host: 'esx01', artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: new TextEncoder().encode('tank/a@x\t1793491200\t1\n') }] },
  );
  expect(done).toBeTruthy();
  expect(ingestPaths).toContain('POST /v1/captures');
  expect(ingestPaths.some((p) => /^POST \/v1\/captures\/[^/]+\/commit$/.test(p))).toBe(true);
  for (const p of ingestPaths) {
    const [method, path] = p.split(' ');
    passes = 0;
    await probe.request(path, { method });
    expect(passes, p).toBe(1);
  }
});
