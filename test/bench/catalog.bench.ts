/**
 * The catalog at scale, three numbers with their yardsticks:
 * 1. search latency p50/p99 per query type with 100k volumes and 1M artifacts in real
 *    Postgres (TEST_DATABASE_URL; bulk-loaded with generate_series), through the app;
 * 2. commits per second for 20-artifact captures over the real ingest protocol, on
 *    that same loaded database;
 * 3. restore-bundle streaming throughput against reading the same bytes straight
 *    from the store, with the peak RSS growth of each.
 * Prints numbers and ratios; asserts nothing. Sizes: BENCH_VOLUMES, BENCH_ARTIFACTS,
 * BENCH_BUNDLE_MIB, BENCH_COMMITS. Run alone: `npx tsx test/bench/catalog.bench.ts`;
 * BENCH_CATALOG=streaming runs only the third, on the embedded catalog (BENCH_RUNS
 * rounds, default 3, medians).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { createApp } from '../../api/app.js';
import { openServices } from '../../api/boot.js';
import { loadConfig } from '../../api/config.js';
import { createLogger } from '../../api/logger.js';
import { chunkKey } from '../../api/store/types.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { queryRows } from '../../db/client.js';
import type { TestCatalog } from '../helpers/catalog.js';
import { createDatabase } from '../helpers/database.js';
import { ingest } from '../helpers/ingest-client.js';
import { buildVmfsDisk, buildVhSf } from '../fixtures/vmfs-images.js';

const MiB = 1024 * 1024;
const VOLUMES = Number(process.env.BENCH_VOLUMES ?? 100_000);
const ARTIFACTS = Number(process.env.BENCH_ARTIFACTS ?? 1_000_000);
const BUNDLE_MIB = Number(process.env.BENCH_BUNDLE_MIB ?? 256);
const COMMITS = Number(process.env.BENCH_COMMITS ?? 40);
const HOSTS = 1000;
const PER_CAPTURE = 20;

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const uuidOf = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
const volumeUuid = (g: number) => uuidOf(md5(`vol${g}`));
const deviceOf = (g: number, e: number) => `naa.600144f0${md5(`dev${g}-${e}`).slice(0, 24)}`;

/** What the bulk load and the query generator agree on. */
const LABELS = ['prod', 'test', 'dev', 'backup', 'vdi'];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Samples RSS every 20 ms while fn runs; returns its result and the peak growth in MiB. */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ result: T; peakMiB: number }> {
  global.gc?.();
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, peakMiB: (peak - base) / MiB };
  } finally {
    clearInterval(timer);
  }
}

/** A catalog on the given database (or the embedded one), fs store in a temp dir. */
export async function openCatalog(databaseUrl: string | undefined, env: Record<string, string> = {}): Promise<TestCatalog> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-bench-'));
  const adminToken = `bench-admin-${randomBytes(16).toString('hex')}`;
  const config = loadConfig({
    DATA_DIR: dataDir,
    CATALOG_BOOTSTRAP_TOKEN: adminToken,
    LOG_LEVEL: 'silent',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...env,
  });
  const opened = await openServices(config, { logger: createLogger('silent') });
  const app = createApp(opened.services);
  const request = async (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const { token = adminToken, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    return app.request(path, { ...rest, headers });
  };
  return {
    flavour: databaseUrl ? 'postgres-s3' : 'embedded',
    app,
    services: opened.services,
    url: '',
    adminToken,
    dataDir,
    request,
    close: async () => {
      await opened.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Bulk load with generate_series: hosts, captures, artifacts, volumes and everything that links them. */
export async function bulkLoad(catalog: TestCatalog): Promise<void> {
  const { db } = catalog.services;
  const captures = Math.ceil(ARTIFACTS / PER_CAPTURE);
  const steps: Array<[string, ReturnType<typeof sql>]> = [
    [
      'hosts',
      sql`INSERT INTO hosts (name, kind, first_seen, last_seen, last_capture_id)
      SELECT 'esx' || lpad(g::text, 4, '0'), 'esxi', now() - interval '400 days', now(), NULL FROM generate_series(1, ${HOSTS}) g`,
    ],
    [
      'captures',
      sql`INSERT INTO captures (id, host, state, collected_at, received_at, committed_at, collector_version, request)
      SELECT 'cap-' || g, 'esx' || lpad((g % ${HOSTS} + 1)::text, 4, '0'), 'committed', now() - make_interval(mins => g), now() - make_interval(mins => g),
             now() - make_interval(mins => g), 'bench', '{}'::jsonb FROM generate_series(1, ${captures}) g`,
    ],
    [
      'artifacts',
      sql`INSERT INTO artifacts (id, capture_id, host, collected_at, kind, file_name, source_path, device, size, sha256, chunks, parse_status)
      SELECT 'art-' || g, 'cap-' || ((g - 1) / ${PER_CAPTURE} + 1), 'esx' || lpad((((g - 1) / ${PER_CAPTURE}) % ${HOSTS} + 1)::text, 4, '0'),
             now() - make_interval(mins => (g - 1) / ${PER_CAPTURE} + 1),
             (ARRAY['vmfs-header','vh-sf','esx-inventory','iscsitgt-smf','zfs-snapshots'])[g % 5 + 1],
             'file-' || g, '/source/' || (g % 5000), NULL, 2097152, md5(g::text) || md5((g + 1)::text), '[]'::jsonb, 'ok'
        FROM generate_series(1, ${ARTIFACTS}) g`,
    ],
    [
      'volumes',
      sql`INSERT INTO volumes (vmfs_uuid, label, version, block_size, first_seen, last_seen)
      SELECT substr(h, 1, 8) || '-' || substr(h, 9, 8) || '-' || substr(h, 17, 4) || '-' || substr(h, 21, 12),
             'ds-' || (ARRAY['prod','test','dev','backup','vdi'])[g % 5 + 1] || '-' || g, 'VMFS-5.81', 1048576, now() - interval '300 days', now()
        FROM (SELECT g, md5('vol' || g) AS h FROM generate_series(1, ${VOLUMES}) g) x`,
    ],
    ['volume_labels', sql`INSERT INTO volume_labels (vmfs_uuid, label, first_seen, last_seen) SELECT vmfs_uuid, label, first_seen, last_seen FROM volumes`],
    [
      'segments',
      sql`INSERT INTO segments (artifact_id, segment_uuid, vmfs_uuid, seen_at)
      SELECT 'art-' || (g * 10 % ${ARTIFACTS} + 1), substr(s, 1, 8) || '-' || substr(s, 9, 8) || '-' || substr(s, 17, 4) || '-' || substr(s, 21, 12),
             substr(h, 1, 8) || '-' || substr(h, 9, 8) || '-' || substr(h, 17, 4) || '-' || substr(h, 21, 12), now()
        FROM (SELECT g, md5('vol' || g) AS h, md5('seg' || g) AS s FROM generate_series(1, ${VOLUMES}) g) x`,
    ],
    [
      'extents (header, 2 per volume)',
      sql`INSERT INTO extents (artifact_id, capture_id, host, source, segment_uuid, device_id, vml, lun, vendor, model,
        partition_scheme, partition_index, partition_start, partition_end, partition_type, seen_at)
      SELECT 'art-' || ((g * 10 + e) % ${ARTIFACTS} + 1), 'cap-1', 'esx' || lpad((g % ${HOSTS} + 1)::text, 4, '0'), 'header',
             substr(s, 1, 8) || '-' || substr(s, 9, 8) || '-' || substr(s, 17, 4) || '-' || substr(s, 21, 12),
             'naa.600144f0' || substr(d, 1, 24), 'vml.0200' || lpad(to_hex(g % 256), 2, '0') || '0000600144f0' || substr(d, 1, 24) || '434f4d535441',
             g % 256, 'SUN', 'COMSTAR', 'gpt', 1, 2048, 2147483614, 'AA31E02A-400F-11DB-9590-000C2911D1B8', now()
        FROM (SELECT g, e, md5('seg' || g) AS s, md5('dev' || g || '-' || e) AS d FROM generate_series(1, ${VOLUMES}) g, generate_series(0, 1) e) x`,
    ],
    [
      'extents (inventory)',
      sql`INSERT INTO extents (artifact_id, capture_id, host, source, vmfs_uuid, device_id, lun, partition_index, seen_at)
      SELECT 'art-' || ((g * 10 + 2) % ${ARTIFACTS} + 1), 'cap-1', 'esx' || lpad((g % ${HOSTS} + 1)::text, 4, '0'), 'inventory',
             substr(h, 1, 8) || '-' || substr(h, 9, 8) || '-' || substr(h, 17, 4) || '-' || substr(h, 21, 12),
             'naa.600144f0' || substr(md5('dev' || g || '-0'), 1, 24), g % 256, 1, now()
        FROM (SELECT g, md5('vol' || g) AS h FROM generate_series(1, ${VOLUMES}) g) x`,
    ],
    [
      'luns',
      sql`INSERT INTO luns (device_id, lun, vml, vendor, model, size_bytes, last_seen)
      SELECT DISTINCT ON (device_id) device_id, lun, vml, vendor, model, 1099511627776, now() FROM extents WHERE source = 'header' AND device_id IS NOT NULL`,
    ],
    [
      'targets',
      sql`INSERT INTO targets (artifact_id, capture_id, storage_host, stack, iqn, alias, lun, device_id, backing_store, size_bytes, tpgs, acl, seen_at)
      SELECT 'art-' || ((g * 10 + 3) % ${ARTIFACTS} + 1), 'cap-1', 'sol' || lpad((g % 50 + 1)::text, 2, '0'), 'comstar',
             'iqn.1986-03.com.sun:02:' || md5('iqn' || g), 'lu-' || g, g % 256, 'naa.600144f0' || substr(md5('dev' || g || '-0'), 1, 24),
             '/dev/zvol/rdsk/tank/vmfs/lun' || g, 1099511627776, '[]'::jsonb, '[]'::jsonb, now()
        FROM generate_series(1, ${VOLUMES}) g`,
    ],
    [
      'zfs snapshots (3 per zvol)',
      sql`INSERT INTO zfs_snapshots (artifact_id, capture_id, host, dataset, snapshot, name, created_at, used_bytes)
      SELECT 'art-' || ((g * 10 + 4) % ${ARTIFACTS} + 1), 'cap-1', 'sol' || lpad((g % 50 + 1)::text, 2, '0'), 'tank/vmfs/lun' || g, 'daily-' || d,
             'tank/vmfs/lun' || g || '@daily-' || d, now() - make_interval(days => d), 1048576
        FROM generate_series(1, ${VOLUMES}) g, generate_series(1, 3) d`,
    ],
  ];
  for (const [name, statement] of steps) {
    const t = performance.now();
    await queryRows(db, statement);
    console.log(`  loaded ${name.padEnd(32)} ${((performance.now() - t) / 1000).toFixed(1).padStart(6)} s`);
  }
  await queryRows(db, sql`ANALYZE`);
}

/** One query term per type, for volume number g. */
export function queryFor(type: string, g: number): string {
  const uuid = volumeUuid(g);
  const dev = deviceOf(g, 0);
  switch (type) {
    case 'vmfsUuid':
      return uuid;
    case 'uuid no dashes, upper':
      return uuid.replace(/-/g, '').toUpperCase();
    case 'uuid prefix (8)':
      return uuid.slice(0, 8);
    case 'naa upper case':
      return dev.toUpperCase();
    case 'vml':
      return `vml.0200${(g % 256).toString(16).padStart(2, '0')}0000${dev.slice(4)}434f4d535441`;
    case 'label fragment':
      return `${LABELS[g % 5]}-${g}`;
    case 'host name':
      return `esx${String((g % HOSTS) + 1).padStart(4, '0')}`;
    case 'iqn':
      return `iqn.1986-03.com.sun:02:${md5(`iqn${g}`)}`;
    case 'zvol path':
      return `/dev/zvol/rdsk/tank/vmfs/lun${g}`;
    // Fragments that start a word of many names: half 'rdsk/tank' (every backing store), half 'rdsk/tank/vmfs/lun12' (about 11,000).
    case 'zvol fragment':
      return g % 2 ? 'rdsk/tank' : `rdsk/tank/vmfs/lun${String(g).slice(0, 2)}`;
    // From inside the IQN, up to one hex digit of its unique part: about 62,500 IQNs hold it.
    case 'iqn fragment':
      return `n.1986-03.com.sun:02:${md5(`iqn${g}`).slice(0, 1)}`;
    // 'prod-1': about 22,000 labels start a word with it.
    case 'short label fragment':
      return `${LABELS[g % 5]}-${String(g).slice(0, 1)}`;
    // 'prod': 200,000 labels start a word with it (more than a search ranks: the answer is capped).
    case 'label word':
      return LABELS[g % 5];
    default:
      throw new Error(type);
  }
}

async function benchSearch(catalog: TestCatalog): Promise<void> {
  const types = ['vmfsUuid', 'uuid no dashes, upper', 'uuid prefix (8)', 'naa upper case', 'vml', 'label fragment', 'host name', 'iqn', 'zvol path'];
  const iterations = 200;
  console.log(`\nsearch latency through the app (${iterations} random terms per type, after 20 warm-up):`);
  const all: number[] = [];
  for (const type of types) {
    const times: number[] = [];
    let found = 0;
    for (let i = 0; i < iterations + 20; i++) {
      const g = 1 + Math.floor(Math.random() * VOLUMES);
      const t = performance.now();
      const res = await catalog.request(`/v1/search?q=${encodeURIComponent(queryFor(type, g))}`);
      const body = (await res.json()) as { hits: unknown[] };
      const ms = performance.now() - t;
      if (i >= 20) {
        times.push(ms);
        if (body.hits.length > 0) found++;
      }
    }
    times.sort((a, b) => a - b);
    all.push(...times);
    console.log(
      `  ${type.padEnd(24)} p50 ${percentile(times, 50).toFixed(2).padStart(7)} ms   p99 ${percentile(times, 99).toFixed(2).padStart(7)} ms   hits found ${found}/${iterations}`,
    );
  }
  all.sort((a, b) => a - b);
  console.log(`  ${'all types'.padEnd(24)} p50 ${percentile(all, 50).toFixed(2).padStart(7)} ms   p99 ${percentile(all, 99).toFixed(2).padStart(7)} ms`);
  // Yardstick: the cheapest authenticated route, to show what is search and what is HTTP + auth.
  const base: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await (await catalog.request('/v1/events?limit=1')).json();
    base.push(performance.now() - t);
  }
  base.sort((a, b) => a - b);
  console.log(
    `  ${'yardstick /v1/events?limit=1'.padEnd(24)} p50 ${percentile(base, 50).toFixed(2).padStart(7)} ms   search p50 / yardstick p50 = ${(percentile(all, 50) / percentile(base, 50)).toFixed(1)}`,
  );
}

async function benchCommits(catalog: TestCatalog): Promise<void> {
  // 20 artifacts like a storage host's daily capture: 2 MiB header dumps (mostly zeros) and small text files.
  const header = (seed: number) =>
    buildVmfsDisk({ lvmMajor: 5, dumpLength: 'legacy', noiseSeed: seed, deviceId: `naa.600144f0${md5(`commit${seed}`).slice(0, 24)}`, lun: seed % 256 });
  const text = (i: number, c: number) => new TextEncoder().encode(`tank/vmfs/lun${i}@daily-${c}\t${1790000000 + c}\t1024\n`.repeat(50));
  const times: number[] = [];
  const commitOnly: number[] = [];
  const host = 'bench-commit-host';
  const start = performance.now();
  for (let c = 0; c < COMMITS; c++) {
    const artifacts = Array.from({ length: PER_CAPTURE }, (_, i) =>
      i < 8
        ? { kind: 'vmfs-header' as const, fileName: `lun${i}.hex`, device: null, bytes: header(i + c * 1000), gzip: true }
        : { kind: 'zfs-snapshots' as const, fileName: `zfs-${i}.txt`, bytes: text(i, c) },
    );
    const t = performance.now();
    const res = await ingest(catalog, { host, hostKind: 'solaris', collectedAt: new Date(Date.now() - (COMMITS - c) * 60_000), artifacts });
    times.push(performance.now() - t);
    if (res.artifacts.length !== PER_CAPTURE) throw new Error('commit summary is short');
  }
  const elapsed = (performance.now() - start) / 1000;
  // Commit alone (verify, parse, index, manifest): re-run a capture whose chunks are all present.
  for (let c = 0; c < Math.min(10, COMMITS); c++) {
    const artifacts = Array.from({ length: PER_CAPTURE }, (_, i) => ({ kind: 'zfs-snapshots' as const, fileName: `again-${i}.txt`, bytes: text(i, c) }));
    const { prepareCapture, begin, uploadMissing, commit } = await import('../helpers/ingest-client.js');
    const prepared = prepareCapture({ host, hostKind: 'solaris', artifacts, collectedAt: new Date() });
    await uploadMissing(catalog, prepared, await begin(catalog, prepared.request));
    const t = performance.now();
    await commit(catalog, prepared.request.captureId);
    commitOnly.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  commitOnly.sort((a, b) => a - b);
  console.log(`\ncommits of ${PER_CAPTURE}-artifact captures (8 × 2 MiB gzip header dumps + 12 text lists), begin → PUT → commit, sequential:`);
  console.log(
    `  ${COMMITS} captures in ${elapsed.toFixed(1)} s = ${(COMMITS / elapsed).toFixed(2)} captures/s   p50 ${percentile(times, 50).toFixed(0)} ms   p99 ${percentile(times, 99).toFixed(0)} ms`,
  );
  console.log(
    `  commit call alone (chunks already stored): p50 ${percentile(commitOnly, 50).toFixed(0)} ms = ${(1000 / percentile(commitOnly, 50)).toFixed(1)} commits/s`,
  );
}

async function benchBundle(catalog: TestCatalog): Promise<void> {
  const { store } = catalog.services;
  // A support-grade dump: BUNDLE_MIB of chunks, each 64 KiB of noise then zeros (header dumps are mostly zeros).
  const bytes = new Uint8Array(BUNDLE_MIB * MiB);
  for (let off = 0; off < bytes.length; off += CHUNK_SIZE) bytes.set(randomBytes(64 * 1024), off);
  bytes.set(
    buildVmfsDisk({
      lvmMajor: 3,
      scheme: 'mbr',
      dumpLength: 'legacy',
      deviceId: 'naa.600144f0beefbeefbeefbeefbeef0001',
      lun: 1,
      vmfsUuid: '5b000000-11111111-2222-001b21000001',
      segmentUuid: '5b000000-11111111-2222-001b21000002',
    }),
    0,
  );
  const vhsf = buildVhSf({
    lvmMajor: 3,
    vmfsUuid: '5b000000-11111111-2222-001b21000001',
    segmentUuid: '5b000000-11111111-2222-001b21000002',
    label: 'bench-bundle',
  });
  const res = await ingest(catalog, {
    host: 'bench-bundle-host',
    collectedAt: new Date(),
    artifacts: [
      { kind: 'vmfs-header', fileName: 'support-grade.hex', device: 'naa.600144f0beefbeefbeefbeefbeef0001', bytes, gzip: true },
      { kind: 'vh-sf', fileName: 'bench.vh.sf', bytes: vhsf },
    ],
  });
  const dumpId = res.artifacts[0].id;
  const [row] = await queryRows<{ chunks: Array<{ sha256: string }> }>(catalog.services.db, sql`SELECT chunks FROM artifacts WHERE id = ${dumpId}`);
  const total = bytes.length + vhsf.length;
  const drain = async (body: ReadableStream<Uint8Array> | null): Promise<number> => {
    let n = 0;
    for await (const part of body as unknown as AsyncIterable<Uint8Array>) n += part.length;
    return n;
  };
  const rate = (b: number, ms: number) => `${(b / MiB / (ms / 1000)).toFixed(0).padStart(5)} MiB/s`;

  const directRead = async () => {
    const t = performance.now();
    let n = 0;
    for (const c of row.chunks) for await (const part of await store.getStream(chunkKey(c.sha256))) n += (part as Uint8Array).length;
    return { ms: performance.now() - t, n };
  };
  const readAndGunzip = async () => {
    const t = performance.now();
    let n = 0;
    for (const c of row.chunks) {
      const gunzip = createGunzip({ chunkSize: 128 * 1024 });
      (await store.getStream(chunkKey(c.sha256))).pipe(gunzip);
      for await (const part of gunzip) n += (part as Uint8Array).length;
    }
    return { ms: performance.now() - t, n };
  };
  const get = (path: string) => async () => {
    const t = performance.now();
    const r = await catalog.request(path);
    const n = await drain(r.body);
    return { ms: performance.now() - t, n };
  };
  const ways = {
    direct: directRead,
    inflated: readAndGunzip,
    content: get(`/v1/artifacts/${dumpId}/content`),
    bundle: get('/v1/volumes/5b000000-11111111-2222-001b21000001/restore-bundle'),
  };
  // Rounds interleave the four, so a busy machine slows each about alike; medians of the times, the highest RSS peak.
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? '3'));
  const seen = Object.fromEntries(Object.keys(ways).map((k) => [k, { ms: [] as number[], n: 0, peakMiB: 0 }])) as Record<
    keyof typeof ways,
    { ms: number[]; n: number; peakMiB: number }
  >;
  for (let r = 0; r < runs; r++) {
    for (const [name, fn] of Object.entries(ways) as Array<[keyof typeof ways, () => Promise<{ ms: number; n: number }>]>) {
      const { result, peakMiB } = await withPeakRss(fn);
      seen[name].ms.push(result.ms);
      seen[name].n = result.n;
      seen[name].peakMiB = Math.max(seen[name].peakMiB, peakMiB);
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
  const [direct, inflated, content, bundle] = (['direct', 'inflated', 'content', 'bundle'] as const).map((k) => ({
    result: { ms: median(seen[k].ms), n: seen[k].n },
    peakMiB: seen[k].peakMiB,
  }));
  console.log(`\nstreaming a ${BUNDLE_MIB} MiB artifact (gzip-stored chunks) out of the ${store.kind} store, medians of ${runs}:`);
  console.log(
    `  store, chunk objects as stored   ${rate(direct.result.n, direct.result.ms)}   ${(direct.result.n / MiB).toFixed(0)} MiB stored   peak RSS +${direct.peakMiB.toFixed(0)} MiB`,
  );
  console.log(
    `  store + gunzip (the same bytes)   ${rate(inflated.result.n, inflated.result.ms)}   ${(inflated.result.n / MiB).toFixed(0)} MiB out      peak RSS +${inflated.peakMiB.toFixed(0)} MiB   ← yardstick`,
  );
  console.log(
    `  GET /content (inflate + verify)  ${rate(content.result.n, content.result.ms)}   ${(content.result.n / MiB).toFixed(0)} MiB out      peak RSS +${content.peakMiB.toFixed(0)} MiB   time / yardstick ${(content.result.ms / inflated.result.ms).toFixed(2)}`,
  );
  console.log(
    `  GET /restore-bundle (tar + gzip) ${rate(total, bundle.result.ms)}   ${(bundle.result.n / MiB).toFixed(0)} MiB .tar.gz  peak RSS +${bundle.peakMiB.toFixed(0)} MiB   time / yardstick ${(bundle.result.ms / inflated.result.ms).toFixed(2)}   (rate over the ${(total / MiB).toFixed(0)} MiB of artifacts)`,
  );
}

/** Runs every catalog benchmark and prints the numbers. */
export async function run(): Promise<void> {
  const base = process.env.TEST_DATABASE_URL;
  if (process.env.BENCH_CATALOG === 'streaming') {
    // The dump is committed inline (the test ingest client does not poll a commit job).
    const catalog = await openCatalog(undefined, { COMMIT_INLINE_MAX_BYTES: String(2 * BUNDLE_MIB * MiB) });
    try {
      await benchBundle(catalog);
    } finally {
      await catalog.close();
    }
    return;
  }
  if (!base) {
    console.log('search at scale: skipped — TEST_DATABASE_URL is not set (needs a real Postgres; CI sets it in .ci/run)');
    console.log('commits and bundle streaming: on the embedded database instead');
    const catalog = await openCatalog(undefined);
    try {
      await benchCommits(catalog);
      await benchBundle(catalog);
    } finally {
      await catalog.close();
    }
    return;
  }
  const created = await createDatabase(base, 'vrc_bench');
  const catalog = await openCatalog(created.url);
  try {
    console.log(`bulk load: ${VOLUMES} volumes, ${ARTIFACTS} artifacts, ${HOSTS} hosts (Postgres, fs store)`);
    const t = performance.now();
    await bulkLoad(catalog);
    console.log(`  total ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await benchSearch(catalog);
    await benchCommits(catalog);
    await benchBundle(catalog);
  } finally {
    await catalog.close();
    await created.drop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  run().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
