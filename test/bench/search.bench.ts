/**
 * Search at scale on PostgreSQL, against a one-lookup baseline measured in the same run.
 * The catalog bench's bulk load (test/bench/catalog.bench.ts: server-side INSERT … SELECT
 * over generate_series, which PostgreSQL runs at least as fast as COPY and needs no client
 * stream) fills SEARCH_VOLUMES volumes and SEARCH_ARTIFACTS artifacts (plus 3 extents,
 * 1 target LU and 3 ZFS snapshots per volume); then SEARCH_CONCURRENCY clients (default
 * 16) send SEARCH_REQUESTS requests per query type to GET /v1/search, and the same number
 * to a Hono route doing one indexed lookup (`SELECT … FROM luns WHERE device_id = $1`) on
 * the same pool; then the search code alone behind the same kind of bare route (this build, and
 * SEARCH_BEFORE's when given). Prints req/s, p50, p99 and the ratio to the baseline; asserts nothing.
 *
 *   npx tsx test/bench/run.ts search                                       20k volumes / 60k artifacts
 *   SEARCH_VOLUMES=1000000 SEARCH_ARTIFACTS=3000000 npx tsx test/bench/run.ts search   the 1 M / 3 M run
 *   SEARCH_BEFORE=/path/search.ts …    also route searches through another build of api/read/search.ts
 *
 * Needs TEST_DATABASE_URL (a real PostgreSQL); prints why and stops without it.
 */
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { sql } from 'drizzle-orm';
import { parseQuery } from '../../formats/ids.js';
import { queryRows } from '../../db/client.js';
import { createDatabase } from '../helpers/database.js';

const VOLUMES = Number(process.env.SEARCH_VOLUMES ?? 20_000);
const ARTIFACTS = Number(process.env.SEARCH_ARTIFACTS ?? 3 * VOLUMES);
const CONCURRENCY = Number(process.env.SEARCH_CONCURRENCY ?? 16);
const REQUESTS = Number(process.env.SEARCH_REQUESTS ?? 800);
const TYPES = ['naa upper case', 'vml', 'vmfsUuid', 'uuid no dashes, upper', 'label fragment', 'host name', 'iqn', 'zvol path'];

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

interface Run {
  rps: number;
  p50: number;
  p99: number;
  found: number;
}

/** REQUESTS calls of `call(i)` by CONCURRENCY workers (after a warm-up of one round). */
async function load(call: (g: number) => Promise<boolean>): Promise<Run> {
  const pick = () => 1 + Math.floor(Math.random() * VOLUMES);
  await Promise.all(Array.from({ length: CONCURRENCY }, () => call(pick())));
  const times: number[] = [];
  let found = 0;
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) {
        const t = performance.now();
        if (await call(pick())) found++;
        times.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  times.sort((a, b) => a - b);
  return { rps: times.length / seconds, p50: percentile(times, 50), p99: percentile(times, 99), found };
}

export async function run(): Promise<void> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) {
    console.log('search at scale not run: TEST_DATABASE_URL is not set (needs a real PostgreSQL)');
    return;
  }
  // The catalog bench reads its sizes when loaded.
  process.env.BENCH_VOLUMES = String(VOLUMES);
  process.env.BENCH_ARTIFACTS = String(ARTIFACTS);
  const { openCatalog, bulkLoad, queryFor } = await import('./catalog.bench.js');
  const before = process.env.SEARCH_BEFORE ? ((await import(process.env.SEARCH_BEFORE)) as typeof import('../../api/read/search.js')) : null;
  const created = await createDatabase(base, 'vrc_search');
  const catalog = await openCatalog(created.url, { DATABASE_POOL_MAX: String(CONCURRENCY) });
  try {
    console.log(`bulk load: ${VOLUMES} volumes, ${ARTIFACTS} artifacts (PostgreSQL)`);
    const t = performance.now();
    await bulkLoad(catalog);
    console.log(`  total ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const { db } = catalog.services;
    // The yardstick: one indexed lookup behind a bare Hono route, on the same pool.
    const baseline = new Hono().get('/lookup', async (c) => c.json(await queryRows(db, sql`SELECT * FROM luns WHERE device_id = ${c.req.query('d')}`)));
    // Search code alone (no auth, no validation) behind the same bare route: this build, and SEARCH_BEFORE's.
    const { searchCatalog } = await import('../../api/read/search.js');
    const bare = (impl: typeof searchCatalog) => new Hono().get('/search', async (c) => c.json(await impl(db, parseQuery(c.req.query('q')!), 25)));
    const apps: Array<[string, Hono]> = [['  search code alone (this build)', bare(searchCatalog)]];
    if (before) apps.push(['  search code alone (SEARCH_BEFORE)', bare(before.searchCatalog)]);
    const one = await load(async (g) => {
      const res = await baseline.request(`/lookup?d=${encodeURIComponent(queryFor('naa upper case', g).toLowerCase())}`);
      return ((await res.json()) as unknown[]).length > 0;
    });
    console.log(`\n${CONCURRENCY} concurrent clients, ${REQUESTS} requests each line (hits found / requests):`);
    const line = (name: string, r: Run, ratio?: number) =>
      console.log(
        `  ${name.padEnd(30)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  ` +
          `found ${r.found}/${REQUESTS}${ratio === undefined ? '' : `  ${ratio.toFixed(2)} × baseline`}`,
      );
    line('baseline: one indexed lookup', one);
    for (const type of TYPES) {
      const r = await load(async (g) => {
        const res = await catalog.request(`/v1/search?q=${encodeURIComponent(queryFor(type, g))}`);
        return ((await res.json()) as { hits: unknown[] }).hits.length > 0;
      });
      line(`search: ${type}`, r, r.rps / one.rps);
      for (const [name, app] of apps) {
        const b = await load(async (g) => {
          const res = await app.request(`/search?q=${encodeURIComponent(queryFor(type, g))}`);
          return ((await res.json()) as { hits: unknown[] }).hits.length > 0;
        });
        line(name, b, b.rps / one.rps);
      }
    }
  } finally {
    await catalog.close();
    await created.drop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
