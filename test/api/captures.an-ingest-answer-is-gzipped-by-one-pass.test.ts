/**
 * The ingest answers' gzip middleware was registered for `/v1/captures` and `/v1/captures/*`,
 * and Hono's `/v1/captures/*` matches `/v1/captures` too: every begin ran it twice — its
 * answer read whole and built again a second time (a begin under 1 KiB, most of a day's runs).
 * Each ingest request now passes it once.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const passes: string[] = [];
vi.mock('../../api/http/content-encoding.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../api/http/content-encoding.js')>();
  return {
    ...real,
    gzipAnswers: (c: Parameters<typeof real.gzipAnswers>[0], next: Parameters<typeof real.gzipAnswers>[1]) => {
      passes.push(`${c.req.method} ${c.req.path}`);
      return real.gzipAnswers(c, next);
    },
  };
});

let catalog: TestCatalog;
beforeAll(async () => {
  catalog = await startTestCatalog('embedded');
});
afterAll(async () => {
  await catalog?.close();
});

it('a begin, its uploads and its commit each pass the gzip middleware once', async () => {
  await ingest(catalog, {
    host: 'esx01',
    artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: new TextEncoder().encode('tank/a@x\t1793491200\t1\n') }],
  });
  const counts = new Map<string, number>();
  for (const p of passes) counts.set(p, (counts.get(p) ?? 0) + 1);
  // One request to each path in this ingest: each passed once.
  expect(counts.get('POST /v1/captures')).toBe(1);
  expect([...counts.entries()].filter(([p]) => p.endsWith('/commit'))).toEqual([[expect.stringMatching(/^POST \/v1\/captures\/[^/]+\/commit$/), 1]]);
  expect(Math.max(...counts.values())).toBe(1);
});
