/**
 * Ingest under load with the real collector protocol: LOAD_COLLECTORS (default 200, then
 * 500) concurrent clients, each a host of its own, each sending LOAD_CAPTURES small
 * captures (a ZFS snapshot list and a COMSTAR-like text of a few KiB, new bytes every time:
 * begin → PUT the missing chunks to their upload URLs → commit) to a catalog server on
 * PostgreSQL (TEST_DATABASE_URL; filesystem store, so the chunk PUTs go through the
 * catalog too). A 503 is back-pressure: the client waits out Retry-After, as the collector
 * does (collector/http.ts), and sends the same step again. Prints commits/s, capture p50 and
 * p99 (from begin to commit, waits included), 503 answers and failed requests (socket
 * errors, other statuses), and /healthz req/s by as many clients as the yardstick.
 * Asserts nothing.
 *
 *   npx tsx test/bench/run.ts load
 *   LOAD_COLLECTORS=200,500 LOAD_CAPTURES=5 npx tsx test/bench/load.bench.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnServer } from '../helpers/spawn-server.js';
import { createDatabase } from '../helpers/database.js';
import { begin, commit, IngestHttpError, prepareCapture, remoteCatalog, uploadMissing } from '../helpers/ingest-client.js';
import type { TestCatalog } from '../helpers/catalog.js';

const COLLECTORS = (process.env.LOAD_COLLECTORS ?? '200,500')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const CAPTURES = Number(process.env.LOAD_CAPTURES ?? 5);
const TOKEN = `load-bench-${randomBytes(12).toString('hex')}`;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Tally {
  busy: number;
  failed: number;
  failures: Map<string, number>;
}

/** Runs `step` until it is not answered 503, waiting out Retry-After between tries. */
async function withBackPressure<T>(tally: Tally, step: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await step();
    } catch (e) {
      if (e instanceof IngestHttpError && e.status === 503) {
        tally.busy++;
        await sleep(1000 * Math.min(60, Number((e.body as { retryAfter?: number })?.retryAfter ?? 0) || 30));
        continue;
      }
      throw e;
    }
  }
}

async function oneRun(catalog: TestCatalog, collectors: number): Promise<void> {
  const tally: Tally = { busy: 0, failed: 0, failures: new Map() };
  const times: number[] = [];
  let commits = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: collectors }, async (_, i) => {
      const host = `load-${collectors}-${i}`;
      for (let c = 0; c < CAPTURES; c++) {
        const zfs = `tank/vmfs/lun${i}@daily-${c}\t${1790000000 + c}\t${randomBytes(4).readUInt32BE()}\n`.repeat(40);
        const stmf = `LU Name: 600144F0${randomBytes(12).toString('hex').toUpperCase()}\n    Data File: /dev/zvol/rdsk/tank/vmfs/lun${i}\n`.repeat(20);
        const prepared = prepareCapture({
          host,
          hostKind: 'solaris',
          artifacts: [
            { kind: 'zfs-snapshots', fileName: 'zfs-list.txt', bytes: new TextEncoder().encode(zfs) },
            { kind: 'unknown', fileName: 'stmfadm-list-lu.txt', bytes: new TextEncoder().encode(stmf) },
          ],
        });
        const t = performance.now();
        try {
          const answer = await withBackPressure(tally, () => begin(catalog, prepared.request));
          await withBackPressure(tally, () => uploadMissing(catalog, prepared, answer));
          await withBackPressure(tally, () => commit(catalog, prepared.request.captureId));
          commits++;
          times.push(performance.now() - t);
        } catch (e) {
          tally.failed++;
          const key =
            e instanceof IngestHttpError
              ? `HTTP ${e.status}`
              : `${(e as Error).name}: ${((e as Error).cause as Error | undefined)?.message ?? (e as Error).message}`;
          tally.failures.set(key, (tally.failures.get(key) ?? 0) + 1);
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  times.sort((a, b) => a - b);
  console.log(
    `  ${String(collectors).padStart(4)} collectors × ${CAPTURES} captures: ${commits} commits in ${seconds.toFixed(1)} s = ${(commits / seconds).toFixed(1)} commits/s, ` +
      `capture p50 ${(percentile(times, 50) / 1000).toFixed(2)} s p99 ${(percentile(times, 99) / 1000).toFixed(2)} s; 503 answers ${tally.busy}, failed captures ${tally.failed}` +
      (tally.failures.size ? ` (${[...tally.failures].map(([k, n]) => `${n}× ${k}`).join(', ')})` : ''),
  );
}

async function healthRate(url: string, clients: number): Promise<number> {
  let n = 0;
  const until = performance.now() + 3000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        await (await fetch(`${url}/healthz`)).arrayBuffer();
        n++;
      }
    }),
  );
  return n / 3;
}

export async function run(): Promise<void> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) {
    console.log('ingest under load not run: TEST_DATABASE_URL is not set (the goal is stated for PostgreSQL)');
    return;
  }
  const created = await createDatabase(base, 'vrc_load');
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-load-'));
  const server = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: created.url, CATALOG_BOOTSTRAP_TOKEN: TOKEN, LOG_LEVEL: 'error' });
  try {
    const catalog = remoteCatalog(server.url, TOKEN);
    console.log(`catalog server on PostgreSQL (filesystem store); small captures of 2 artifacts, 1 chunk each, new bytes each time:`);
    for (const n of COLLECTORS) {
      await oneRun(catalog, n);
      console.log(`       yardstick: GET /healthz by ${n} clients ${(await healthRate(server.url, n)).toFixed(0)} req/s`);
    }
  } finally {
    await server.stop();
    await created.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
