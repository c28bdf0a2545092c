/**
 * Search at scale on PostgreSQL, against a one-lookup baseline measured in the same run.
 *
 * Seed: SEARCH_VOLUMES volumes (default 1,000,000) and SEARCH_ARTIFACTS artifacts (default 3 per
 * volume), with 3 extents, 1 segment, 1 target LU and 3 ZFS snapshots per volume — the rows of
 * the catalog bench's bulk load (test/bench/catalog.bench.ts), so its query generator fits.
 * Loaded the fast way: secondary indexes and the search triggers off, one server-side
 * INSERT … SELECT over generate_series per table (no client stream, so no slower than COPY),
 * then the indexes built in one pass each, the lookup tables filled from their views exactly
 * as the migration backfills them, and VACUUM ANALYZE (the state autovacuum keeps a live
 * catalog in). The seed time is printed.
 *
 * Then SEARCH_CONCURRENCY clients (default 16) send SEARCH_REQUESTS requests (default 2000)
 * per line: to a bare Hono route doing one indexed lookup (`SELECT … FROM luns WHERE
 * device_id = $1` through db.execute, the baseline; the same lookup prepared is shown beside
 * it) on the same pool, to GET /v1/search through the whole app, and to the search code alone
 * behind a bare route — this build, and SEARCH_BEFORE's build when given (then, for a build
 * older than search_names, the trigram indexes it reads are created too, and for one older than
 * the split word-start indexes of db/migrations/0017, the one index it reads). Each query type is warmed first and gets its own
 * baseline run right before it, so a shared machine's changing load moves both sides of a
 * ratio alike. The query types (catalog.bench.ts queryFor) are the ids, a label fragment that
 * starts a word of one or two labels (`test-123456`), and fragments that start a word of many
 * names: `prod-1` (about 22,000 labels), an IQN's middle up to one hex digit (about 62,500
 * IQNs), a label's word (`prod`, 200,000 labels, more than a search ranks) and a zvol path fragment (`rdsk/tank`, every backing store, or `rdsk/tank/vmfs/lun12`).
 * Prints req/s, p50, p99, the ratio to that baseline, and the goals for NAA, vml, UUID
 * (≥ 0.5×, p99 ≤ 10 ms) and label fragments (≥ 0.25×, p99 ≤ 25 ms). Last, what the lookup
 * tables' triggers cost a commit: the child rows of a 20-extent capture inserted in a
 * rolled-back transaction, triggers on
 * vs off. Asserts nothing.
 *
 *   npm run bench -- search                                   1 M volumes / 3 M artifacts
 *   SEARCH_VOLUMES=50000 npm run bench -- search              a quick iteration
 *   SEARCH_TYPES='zvol fragment,iqn fragment' npm run bench -- search   only those lines
 *   SEARCH_BEFORE=/path/to/old/search.ts npm run bench -- search   also an older api/read/search.ts
 *   SEARCH_KEEP=1 npm run bench -- search                     keeps the seeded database and prints its URL
 *   SEARCH_DATABASE_URL=postgres://… npm run bench -- search  reuses one kept earlier: no seed, no trigger
 *                                                             cost (it would add rows); migrations newer
 *                                                             than the seed are applied as on any start
 *
 * Needs TEST_DATABASE_URL (a real PostgreSQL); prints why and stops without it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { sql } from 'drizzle-orm';
import { parseQuery } from '../../formats/ids.js';
import { queryRows } from '../../db/client.js';
import { createDatabase } from '../helpers/database.js';

const VOLUMES = Number(process.env.SEARCH_VOLUMES ?? 1_000_000);
const ARTIFACTS = Number(process.env.SEARCH_ARTIFACTS ?? 3 * VOLUMES);
const CONCURRENCY = Number(process.env.SEARCH_CONCURRENCY ?? 16);
const REQUESTS = Number(process.env.SEARCH_REQUESTS ?? 2000);
const ALL_TYPES = [
  'naa upper case',
  'vml',
  'vmfsUuid',
  'uuid no dashes, upper',
  'label fragment',
  'short label fragment',
  'label word',
  'host name',
  'iqn',
  'iqn fragment',
  'zvol path',
  'zvol fragment',
];
/** SEARCH_TYPES=a,b: only those lines. */
const TYPES = process.env.SEARCH_TYPES ? process.env.SEARCH_TYPES.split(',').map((t) => t.trim()) : ALL_TYPES;
/** The issue's goals: ratio to the baseline and p99 (ms) per query type. */
const GOALS: Record<string, { ratio: number; p99: number }> = {
  'naa upper case': { ratio: 0.5, p99: 10 },
  vml: { ratio: 0.5, p99: 10 },
  vmfsUuid: { ratio: 0.5, p99: 10 },
  'uuid no dashes, upper': { ratio: 0.5, p99: 10 },
  'label fragment': { ratio: 0.25, p99: 25 },
  'short label fragment': { ratio: 0.25, p99: 25 },
};
/** The tables whose triggers keep the lookup tables (volume_labels since db/migrations/0023): off while the seed loads. */
const SEARCH_TABLES = ['extents', 'segments', 'targets', 'volumes', 'volume_labels', 'hosts'];
/** The trigram indexes search read before search_names (db/migrations/0001–0004), for SEARCH_BEFORE. */
const BEFORE_INDEXES = [
  'CREATE INDEX IF NOT EXISTS volumes_label_trgm ON volumes USING gin (label gin_trgm_ops)',
  'CREATE INDEX IF NOT EXISTS hosts_name_trgm ON hosts USING gin (name gin_trgm_ops)',
  'CREATE INDEX IF NOT EXISTS targets_iqn_trgm ON targets USING gin (iqn gin_trgm_ops)',
  'CREATE INDEX IF NOT EXISTS targets_alias_trgm ON targets USING gin (alias gin_trgm_ops)',
  'CREATE INDEX IF NOT EXISTS targets_backing_trgm ON targets USING gin (backing_store gin_trgm_ops)',
];

/** The word-start index over all kinds (db/migrations/0012) a build before 0017 reads, for SEARCH_BEFORE. */
const BEFORE_WORDS_INDEX = 'CREATE INDEX IF NOT EXISTS search_names_words ON search_names USING gin (search_name_words(name)) WITH (fastupdate = off)';

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const seconds = (t: number) => `${((performance.now() - t) / 1000).toFixed(1).padStart(6)} s`;

interface Run {
  rps: number;
  p50: number;
  p99: number;
  found: number;
}

/** REQUESTS calls of `call(g)` by CONCURRENCY workers (after a warm-up of one round). */
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
  const elapsed = (performance.now() - start) / 1000;
  times.sort((a, b) => a - b);
  return { rps: times.length / elapsed, p50: percentile(times, 50), p99: percentile(times, 99), found };
}

type Admin = import('postgres').Sql;

/** Seeds the catalog bench's rows with indexes and search triggers off, then builds both and the lookup tables. */
async function seed(admin: Admin, bulkLoad: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  const indexes = await admin<{ name: string; def: string }[]>`
    SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
      JOIN pg_class c ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid
     WHERE i.schemaname = 'public' AND NOT x.indisprimary AND NOT x.indisunique`;
  for (const { name } of indexes) await admin.unsafe(`DROP INDEX "${name}"`);
  for (const table of SEARCH_TABLES) await admin.unsafe(`ALTER TABLE "${table}" DISABLE TRIGGER USER`);
  await bulkLoad();
  let t = performance.now();
  for (const { def } of indexes) await admin.unsafe(def);
  console.log(`  built ${indexes.length} secondary indexes             ${seconds(t)}`);
  for (const table of SEARCH_TABLES) await admin.unsafe(`ALTER TABLE "${table}" ENABLE TRIGGER USER`);
  // The migration's backfill (db/migrations/0009_search_lookup_tables.sql), each index built after its table is full.
  const fill = async (what: string, statements: string[]) => {
    const t = performance.now();
    for (const s of statements) await admin.unsafe(s);
    const [{ n }] = await admin.unsafe<{ n: string }[]>(`SELECT count(*) AS n FROM ${what}`);
    console.log(`  filled ${what} (${n} rows)`.padEnd(46) + seconds(t));
  };
  await fill('search_keys', [
    'TRUNCATE search_keys',
    'DROP INDEX search_keys_key',
    'INSERT INTO search_keys (key, kind, ref) SELECT DISTINCT key, kind, ref FROM search_key_sources',
    'CREATE INDEX search_keys_key ON search_keys USING btree (key, kind, ref)',
  ]);
  await fill('search_names', [
    // Its label and host word starts are filled from their view below, each index after.
    'ALTER TABLE search_names DISABLE TRIGGER search_name_starts_insert',
    'TRUNCATE search_names',
    'DROP INDEX search_names_ref',
    'DROP INDEX search_names_name_trgm',
    'DROP INDEX search_names_words_volume_host',
    'DROP INDEX search_names_words_target',
    'INSERT INTO search_names (kind, name, ref) SELECT DISTINCT kind, name, ref FROM search_name_sources',
    'CREATE INDEX search_names_ref ON search_names USING btree (kind, ref, name)',
    'CREATE INDEX search_names_name_trgm ON search_names USING gin (name gin_trgm_ops) WITH (fastupdate = off)',
  ]);
  // The word-start indexes (db/migrations/0012, 0017), timed on their own: their build is the seed's longest step.
  await fill('search_names', [
    "CREATE INDEX search_names_words_volume_host ON search_names USING gin (search_name_words(name)) WITH (fastupdate = off) WHERE kind IN ('label', 'host')",
    "CREATE INDEX search_names_words_target ON search_names USING gin (search_name_words(name)) WITH (fastupdate = off) WHERE kind IN ('iqn', 'alias', 'backingStore')",
  ]);
  // The labels' and hosts' word starts in btree order (db/migrations/0018).
  await fill('search_name_starts', [
    'ALTER TABLE search_names ENABLE TRIGGER search_name_starts_insert',
    'TRUNCATE search_name_starts',
    'DROP INDEX search_name_starts_word',
    'DROP INDEX search_name_starts_trigrams',
    'DROP INDEX search_name_starts_ref',
    'INSERT INTO search_name_starts (kind, word, trigrams, name, ref) SELECT kind, word, trigrams, name, ref FROM search_name_start_sources',
    'CREATE INDEX search_name_starts_word ON search_name_starts USING btree (word text_pattern_ops) INCLUDE (kind, name, ref)',
    'CREATE INDEX search_name_starts_trigrams ON search_name_starts USING btree (trigrams, word text_pattern_ops) INCLUDE (kind, name, ref)',
    'CREATE INDEX search_name_starts_ref ON search_name_starts USING btree (ref, kind)',
  ]);
  t = performance.now();
  await admin.unsafe('VACUUM ANALYZE');
  console.log(`  VACUUM ANALYZE                                ${seconds(t)}`);
  console.log(`  seed total                                    ${seconds(t0)}`);
}

/**
 * What the lookup tables' triggers add to a commit: the child rows a capture of 20 header dumps
 * and a target listing writes (20 extents, 20 segments, 20 target rows), inserted and rolled
 * back `rounds` times with the triggers on and off — for devices already known (a daily
 * capture) and for new ones (a first capture).
 */
async function triggerCost(admin: Admin, rounds: number): Promise<void> {
  const capture = async (known: boolean, round: number) => {
    const id = known ? '(g * 7919 + r * 104729) % 100 + 1' : `${VOLUMES} + r * 20 + g`;
    const statements = [
      `INSERT INTO extents (artifact_id, capture_id, host, source, segment_uuid, extent_uuid, device_id, vml, lun, seen_at)
       SELECT 'art-t', 'cap-t', 'esx0001', 'header', 'seg-' || (${id}), 'ext-' || (${id}), 'naa.t' || (${id}), 'vml.t' || (${id}), 1, now()
         FROM generate_series(1, 20) g, (SELECT ${round} AS r) rr`,
      `INSERT INTO segments (artifact_id, segment_uuid, vmfs_uuid, seen_at)
       SELECT 'art-t' || g, 'seg-' || (${id}), 'vol-' || (${id}), now() FROM generate_series(1, 20) g, (SELECT ${round} AS r) rr`,
      `INSERT INTO targets (artifact_id, capture_id, storage_host, stack, iqn, alias, lun, device_id, backing_store, tpgs, acl, seen_at)
       SELECT 'art-t', 'cap-t', 'sol01', 'comstar', 'iqn.t:' || (${id}), 'lu-t' || (${id}), g, 'naa.t' || (${id}), '/dev/zvol/rdsk/t/' || (${id}), '[]', '[]', now()
         FROM generate_series(1, 20) g, (SELECT ${round} AS r) rr`,
    ];
    const t = performance.now();
    await admin
      .begin(async (tx) => {
        for (const s of statements) await tx.unsafe(s);
        throw new RolledBack();
      })
      .catch((e) => {
        if (!(e instanceof RolledBack)) throw e;
      });
    return performance.now() - t;
  };
  // The "known" devices exist: one capture of them committed first.
  await admin.unsafe(`INSERT INTO extents (artifact_id, capture_id, host, source, segment_uuid, extent_uuid, device_id, vml, lun, seen_at)
    SELECT 'art-k', 'cap-k', 'esx0001', 'header', 'seg-' || g, 'ext-' || g, 'naa.t' || g, 'vml.t' || g, 1, now() FROM generate_series(1, 100) g`);
  await admin.unsafe(
    `INSERT INTO segments (artifact_id, segment_uuid, vmfs_uuid, seen_at) SELECT 'art-k' || g, 'seg-' || g, 'vol-' || g, now() FROM generate_series(1, 100) g`,
  );
  await admin.unsafe(`INSERT INTO targets (artifact_id, capture_id, storage_host, stack, iqn, alias, lun, device_id, backing_store, tpgs, acl, seen_at)
    SELECT 'art-k', 'cap-k', 'sol01', 'comstar', 'iqn.t:' || g, 'lu-t' || g, 1, 'naa.t' || g, '/dev/zvol/rdsk/t/' || g, '[]', '[]', now() FROM generate_series(1, 100) g`);
  const measure = async (known: boolean) => {
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) times.push(await capture(known, r));
    times.sort((a, b) => a - b);
    return percentile(times, 50);
  };
  console.log(`\nwhat the search triggers cost a commit (60 child rows in one transaction, median of ${rounds}, rolled back):`);
  for (const known of [true, false]) {
    const on = await measure(known);
    for (const table of SEARCH_TABLES) await admin.unsafe(`ALTER TABLE "${table}" DISABLE TRIGGER USER`);
    const off = await measure(known);
    for (const table of SEARCH_TABLES) await admin.unsafe(`ALTER TABLE "${table}" ENABLE TRIGGER USER`);
    console.log(
      `  ${(known ? 'devices already known' : 'new devices').padEnd(22)} triggers on ${on.toFixed(2).padStart(6)} ms  off ${off.toFixed(2).padStart(6)} ms  (+${(on - off).toFixed(2)} ms)`,
    );
  }
}

class RolledBack extends Error {}

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
  const reused = process.env.SEARCH_DATABASE_URL;
  const created = reused ? { url: reused, drop: async () => {} } : await createDatabase(base, 'vrc_search');
  const catalog = await openCatalog(created.url, { DATABASE_POOL_MAX: String(CONCURRENCY) });
  const { default: postgres } = await import('postgres');
  const admin = postgres(created.url, { max: 1, onnotice: () => {}, connection: { maintenance_work_mem: '512MB' } });
  try {
    if (reused) {
      const [{ n }] = await admin.unsafe<{ n: string }[]>('SELECT count(*) AS n FROM volumes');
      console.log(`reusing ${reused.replace(/^.*\//, '')}: ${n} volumes (SEARCH_VOLUMES must match the seed)`);
    } else {
      console.log(`seed: ${VOLUMES} volumes, ${ARTIFACTS} artifacts (PostgreSQL)`);
      await seed(admin, () => bulkLoad(catalog));
      if (process.env.SEARCH_KEEP) console.log(`  kept: SEARCH_DATABASE_URL=${created.url}`);
    }
    // A build older than search_names reads the tables' own trigram indexes: those are made for it.
    const beforeSource = before ? readFileSync(process.env.SEARCH_BEFORE!, 'utf8') : '';
    if (before && !beforeSource.includes('search_names')) {
      const t = performance.now();
      for (const def of BEFORE_INDEXES) await admin.unsafe(def);
      console.log(`  trigram indexes for SEARCH_BEFORE               ${seconds(t)}`);
    }
    // One older than the split word-start indexes (db/migrations/0017) reads the one index over all kinds.
    if (before && beforeSource.includes('search_name_words') && !beforeSource.includes('VOLUME_HOST_KINDS')) {
      const t = performance.now();
      await admin.unsafe(BEFORE_WORDS_INDEX);
      console.log(`  word-start index for SEARCH_BEFORE              ${seconds(t)}`);
    }
    const { db } = catalog.services;
    // The yardstick: one indexed lookup behind a bare Hono route, on the same pool.
    const baseline = new Hono().get('/lookup', async (c) => c.json(await queryRows(db, sql`SELECT * FROM luns WHERE device_id = ${c.req.query('d')}`)));
    // Search code alone (no auth, no validation) behind the same bare route: this build, and SEARCH_BEFORE's.
    const { searchCatalog } = await import('../../api/read/search.js');
    const bare = (impl: typeof searchCatalog) => new Hono().get('/search', async (c) => c.json(await impl(db, parseQuery(c.req.query('q')!), 25)));
    const apps: Array<[string, Hono]> = [['  search code alone (this build)', bare(searchCatalog)]];
    if (before) apps.push(['  search code alone (SEARCH_BEFORE)', bare(before.searchCatalog)]);
    const lookup = async (g: number) => {
      const res = await baseline.request(`/lookup?d=${encodeURIComponent(queryFor('naa upper case', g).toLowerCase())}`);
      return ((await res.json()) as unknown[]).length > 0;
    };
    // The same lookup as a prepared statement, as search's statements run (api/read/prepared.ts): shown beside, for comparison.
    const { queryPrepared } = await import('../../api/read/prepared.js');
    const preparedBaseline = new Hono().get('/lookup', async (c) =>
      c.json(await queryPrepared(db, sql`SELECT * FROM luns WHERE device_id = ${c.req.query('d')}`)),
    );
    const lookupPrepared = async (g: number) => {
      const res = await preparedBaseline.request(`/lookup?d=${encodeURIComponent(queryFor('naa upper case', g).toLowerCase())}`);
      return ((await res.json()) as unknown[]).length > 0;
    };
    const viaApp = (type: string) => async (g: number) => {
      const res = await catalog.request(`/v1/search?q=${encodeURIComponent(queryFor(type, g))}`);
      return ((await res.json()) as { hits: unknown[] }).hits.length > 0;
    };
    const viaBare = (app: Hono, type: string) => async (g: number) => {
      const res = await app.request(`/search?q=${encodeURIComponent(queryFor(type, g))}`);
      return ((await res.json()) as { hits: unknown[] }).hits.length > 0;
    };
    await load(lookup); // warms the pool and the baseline's pages
    console.log(`\n${CONCURRENCY} concurrent clients, ${REQUESTS} requests each line (hits found / requests).`);
    console.log('Each query type: its pages warmed first, then a baseline right before it (the machine is shared; the ratio is to that baseline):');
    const line = (name: string, r: Run, ratio?: number) =>
      console.log(
        `  ${name.padEnd(34)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  ` +
          `found ${r.found}/${REQUESTS}${ratio === undefined ? '' : `  ${ratio.toFixed(2)} × baseline`}`,
      );
    const summary: string[] = [];
    for (const type of TYPES) {
      await load(viaApp(type));
      for (const [, app] of apps) await load(viaBare(app, type));
      const one = await load(lookup);
      line(`baseline before ${type}`, one);
      const onePrepared = await load(lookupPrepared);
      line('  (the lookup prepared)', onePrepared, onePrepared.rps / one.rps);
      const r = await load(viaApp(type));
      line(`search: ${type}`, r, r.rps / one.rps);
      const goal = GOALS[type];
      if (goal) {
        const met = r.rps / one.rps >= goal.ratio && r.p99 <= goal.p99;
        summary.push(
          `  ${type.padEnd(24)} ${(r.rps / one.rps).toFixed(2)} × (goal ≥ ${goal.ratio}; ${(r.rps / onePrepared.rps).toFixed(2)} × the prepared lookup), p99 ${r.p99.toFixed(1)} ms (goal ≤ ${goal.p99}; baseline p99 ${one.p99.toFixed(1)} ms): ${met ? 'met' : 'NOT met'}`,
        );
      }
      for (const [name, app] of apps) {
        const b = await load(viaBare(app, type));
        line(name, b, b.rps / one.rps);
      }
    }
    console.log('\ngoals (GET /v1/search through the whole app vs the baseline):');
    for (const s of summary) console.log(s);
    if (!reused) await triggerCost(admin, 30);
  } finally {
    await admin.end();
    await catalog.close();
    if (!reused && !process.env.SEARCH_KEEP) await created.drop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
