/**
 * One large snapshot listing committed: a `zfs list -H -p -t snapshot -o name,creation,used`
 * of BIGCOMMIT_MIB MiB (default 32, the text cap: some 550,000 snapshots of BIGCOMMIT_ZVOLS
 * zvols, default 2,000, as a storage host with many zvols and frequent snapshots prints it),
 * sent over the real protocol (begin, its chunks gzipped to their upload URLs, commit) to the
 * built server (`dist/server.mjs`), on the embedded database and, with TEST_DATABASE_URL, on
 * PostgreSQL (filesystem store both). While the commit runs, one client asks `GET /healthz` and
 * another `GET /v1/search` of a device id, each one request after the other: their answers
 * during the commit (count, p50, slowest) say how long the rest of the catalog waits for it,
 * beside the same requests' latency before the commit.
 *
 * Baseline, on the same database in the same run: the listing's rows inserted into
 * `zfs_snapshots` by one `INSERT … SELECT FROM unnest(…)` of arrays (one statement for all rows,
 * the table's indexes maintained), in a transaction rolled back — what the rows alone cost the
 * database. On the embedded database it runs after the server stopped (one process at a time
 * opens it). Asserts nothing.
 *
 *   npm run bench -- bigcommit
 *   BIGCOMMIT_MIB=8 BIGCOMMIT_FLAVOURS=embedded,postgres npx tsx test/bench/bigcommit.bench.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { openDb, queryRows, type Db } from '../../db/client.js';
import { parseArtifact } from '../../formats/parse.js';
import { MAX_TEXT_BYTES } from '../../formats/text.js';
import type { ZfsSnapshot } from '../../formats/types.js';
import { createDatabase } from '../helpers/database.js';
import { begin, commit, prepareCapture, remoteCatalog, uploadMissing } from '../helpers/ingest-client.js';
import { spawnServer } from '../helpers/spawn-server.js';

const MIB = Number(process.env.BIGCOMMIT_MIB ?? 32);
const ZVOLS = Number(process.env.BIGCOMMIT_ZVOLS ?? 2000);
const FLAVOURS = (process.env.BIGCOMMIT_FLAVOURS ?? 'embedded,postgres').split(',');
const TOKEN = `bigcommit-bench-${randomBytes(12).toString('hex')}`;

/**
 * The listing: every zvol's snapshots in turn, oldest first (as `zfs list` sorts them), a
 * frequent snapshot every 15 minutes, at most `bytes` (the text cap: a larger text is not parsed).
 */
function zfsListing(bytes: number): { text: Uint8Array; snapshots: number } {
  const perZvol = Math.ceil(bytes / 62 / ZVOLS);
  const lines: string[] = [];
  let size = 0;
  let used = 12345;
  for (let z = 0; z < ZVOLS; z++) {
    for (let s = 0; s < perZvol; s++) {
      const at = 1790000000 + s * 900;
      const stamp = new Date(at * 1000).toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
      used = (used * 1103515245 + 12345) % 2147483648;
      const line = `tank/iscsi/lun${String(z).padStart(4, '0')}@frequent-${stamp}\t${at}\t${used % 50_000_000}\n`;
      if (size + line.length > bytes) return { text: new TextEncoder().encode(lines.join('')), snapshots: lines.length };
      lines.push(line);
      size += line.length;
    }
  }
  return { text: new TextEncoder().encode(lines.join('')), snapshots: lines.length };
}

/** CPU seconds (user + system) of a process, from /proc; null where there is none. */
function cpuSeconds(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** CPU seconds of the PostgreSQL backends serving `databaseUrl` (other than the asking one), by pid. */
async function backendSeconds(databaseUrl: string): Promise<Map<number, number>> {
  const { default: postgres } = await import('postgres');
  const q = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await q<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
    return new Map(rows.map((r) => [r.pid, cpuSeconds(r.pid) ?? 0]));
  } finally {
    await q.end({ timeout: 1 });
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);

/** One client asking `path` one request after the other until stopped: each answer's start and time. */
function prober(url: string, path: string, token?: string) {
  const answers: Array<{ at: number; took: number; status: number }> = [];
  let stopping = false;
  const running = (async () => {
    while (!stopping) {
      const at = performance.now();
      // A socket the server closed under a waiting request (its keep-alive timeout) counts as status 0.
      const status = await fetch(url + path, token ? { headers: { authorization: `Bearer ${token}` } } : {})
        .then(async (res) => {
          await res.arrayBuffer();
          return res.status;
        })
        .catch(() => 0);
      answers.push({ at, took: performance.now() - at, status });
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    answers,
    stop: async () => {
      stopping = true;
      await running;
    },
  };
}

/** Count, p50 and slowest of the answers to requests sent between `from` and `to`. */
function during(answers: Array<{ at: number; took: number; status: number }>, from: number, to: number): string {
  const t = answers
    .filter((a) => a.at >= from && a.at < to)
    .map((a) => a.took)
    .sort((a, b) => a - b);
  const bad = answers.filter((a) => a.at >= from && a.at < to && a.status !== 200).length;
  return t.length ? `${t.length} answers, p50 ${ms(percentile(t, 50))}, slowest ${ms(t[t.length - 1])}${bad ? ` (${bad} not 200)` : ''}` : 'no answer';
}

/** Text of a PostgreSQL array literal of `values` (sent as one parameter, cast by the statement). */
function arrayLiteral(values: Array<string | number>): string {
  return `{${values.map((v) => (typeof v === 'number' ? String(v) : `"${v.replace(/[\\"]/g, '\\$&')}"`)).join(',')}}`;
}

/** Milliseconds and CPU seconds (this process's, or the PostgreSQL backend's) of one INSERT … SELECT FROM unnest of the snapshots' rows, rolled back. */
async function unnestInsert(databaseUrl: string | undefined, dataDir: string, snapshots: ZfsSnapshot[]): Promise<{ ms: number; cpu: number }> {
  const { db, close } = await openDb({ databaseUrl, dataDir, migrate: false });
  let took = { ms: 0, cpu: 0 };
  try {
    await db
      .transaction(async (tx) => {
        const [{ pid }] = (await queryRows<{ pid: number }>(tx as unknown as Db, sql`SELECT pg_backend_pid() AS pid`)) as Array<{ pid: number }>;
        const cpu = () => (databaseUrl ? (cpuSeconds(Number(pid)) ?? 0) : (process.cpuUsage().user + process.cpuUsage().system) / 1e6);
        const c = cpu();
        const t = performance.now();
        await tx.execute(sql`
          INSERT INTO zfs_snapshots (artifact_id, capture_id, host, dataset, snapshot, name, created_at, used_bytes)
          SELECT 'baseline', 'baseline', 'baseline', d, s, n, c, u
            FROM unnest(${arrayLiteral(snapshots.map((x) => x.dataset))}::text[], ${arrayLiteral(snapshots.map((x) => x.snapshot))}::text[],
                        ${arrayLiteral(snapshots.map((x) => x.name))}::text[], ${arrayLiteral(snapshots.map((x) => x.createdAt))}::timestamptz[],
                        ${arrayLiteral(snapshots.map((x) => x.usedBytes))}::bigint[]) AS r(d, s, n, c, u)`);
        took = { ms: performance.now() - t, cpu: cpu() - c };
        tx.rollback();
      })
      .catch((e: unknown) => {
        if (!/rollback/i.test(String((e as Error).message))) throw e;
      });
  } finally {
    await close();
  }
  return took;
}

async function oneFlavour(flavour: string, listing: { text: Uint8Array; snapshots: number }, snapshots: ZfsSnapshot[]): Promise<void> {
  const base = process.env.TEST_DATABASE_URL;
  if (flavour === 'postgres' && !base) {
    console.log('  postgres: not run (TEST_DATABASE_URL is not set)');
    return;
  }
  const created = flavour === 'postgres' ? await createDatabase(base!, 'vrc_bigcommit') : null;
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-bigcommit-'));
  try {
    const server = await spawnServer({
      DATA_DIR: dataDir,
      CATALOG_BOOTSTRAP_TOKEN: TOKEN,
      LOG_LEVEL: 'error',
      ...(created ? { DATABASE_URL: created.url } : {}),
    });
    let commitMs = 0;
    let cpuUsed: number | null = null;
    let outcome = '';
    try {
      const catalog = remoteCatalog(server.url, TOKEN);
      const prepared = prepareCapture({
        host: 'zfs-bench-01',
        hostKind: 'solaris',
        artifacts: [{ kind: 'zfs-snapshots', fileName: 'zfs-list-snapshots.txt', sourcePath: 'zfs list -H -p -t snapshot', bytes: listing.text, gzip: true }],
      });
      await uploadMissing(catalog, prepared, await begin(catalog, prepared.request));
      const health = prober(server.url, '/healthz');
      const search = prober(server.url, '/v1/search?q=naa.600144f0000000000000000000000001', TOKEN);
      await new Promise((r) => setTimeout(r, 1500));
      const serverCpu = cpuSeconds(server.child.pid!);
      const backends = created ? await backendSeconds(created.url) : null;
      const t = performance.now();
      // A 202 hands the commit to a worker: asked again until it answers 200, as the collector does.
      for (;;) {
        const res = await catalog.request(`/v1/captures/${prepared.request.captureId}/commit`, { method: 'POST' });
        if (res.status !== 202) {
          const body = (await res.json()) as { artifacts?: Array<{ parseStatus: string; found: Record<string, string[]> }> };
          if (res.status !== 200) throw new Error(`commit answered ${res.status}: ${JSON.stringify(body)}`);
          const a = body.artifacts![0];
          outcome = `${a.parseStatus}, ${a.found.dataset?.length ?? 0} datasets`;
          break;
        }
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 200));
      }
      commitMs = performance.now() - t;
      const end = performance.now();
      const serverUsed = serverCpu === null ? null : (cpuSeconds(server.child.pid!) ?? 0) - serverCpu;
      let databaseUsed: number | null = null;
      if (backends) {
        databaseUsed = 0;
        for (const [pid, now] of await backendSeconds(created!.url)) databaseUsed += now - (backends.get(pid) ?? 0);
      }
      cpuUsed = created ? databaseUsed : serverUsed;
      await Promise.all([health.stop(), search.stop()]);
      const cpu = [
        serverUsed === null ? '' : `the server's CPU ${serverUsed.toFixed(1)} s`,
        databaseUsed === null ? '' : `PostgreSQL's ${databaseUsed.toFixed(1)} s`,
      ]
        .filter(Boolean)
        .join(', ');
      console.log(`  ${flavour}: commit ${ms(commitMs)} (${outcome})${cpu ? `; ${cpu}` : ''}`);
      console.log(`     GET /healthz before the commit: ${during(health.answers, 0, t)}; during it: ${during(health.answers, t, end)}`);
      console.log(`     GET /v1/search before the commit: ${during(search.answers, 0, t)}; during it: ${during(search.answers, t, end)}`);
      // A repeated commit answers from the rows (the collector's retry, a poll).
      const r = performance.now();
      await commit(catalog, prepared.request.captureId);
      console.log(`     the same commit repeated: ${ms(performance.now() - r)}`);
    } finally {
      await server.stop();
    }
    const baseline = await unnestInsert(created?.url, dataDir, snapshots);
    console.log(
      `     baseline: the ${snapshots.length} rows by one unnest INSERT on the same database ${ms(baseline.ms)}, ${baseline.cpu.toFixed(1)} s of ${created ? "its backend's" : "the embedded database's"} CPU: the commit is ${(commitMs / baseline.ms).toFixed(1)}× it` +
        (cpuUsed === null ? '' : `, its CPU ${(cpuUsed / baseline.cpu).toFixed(1)}× (${created ? "PostgreSQL's" : "the server's"})`),
    );
  } finally {
    await created?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const listing = zfsListing(Math.min(MAX_TEXT_BYTES, MIB * 1024 * 1024));
  const parsed = parseArtifact('zfs-snapshots', listing.text, {});
  const snapshots = (parsed.details as { snapshots: ZfsSnapshot[] }).snapshots;
  console.log(
    `one zfs snapshot listing of ${(listing.text.length / 1024 / 1024).toFixed(1)} MiB (${listing.snapshots} snapshots of ${ZVOLS} zvols) committed to the built server, filesystem store:`,
  );
  for (const flavour of FLAVOURS) await oneFlavour(flavour, listing, snapshots);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
