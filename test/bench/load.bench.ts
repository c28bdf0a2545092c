/**
 * Ingest under load with the real collector protocol: LOAD_COLLECTORS (default 200, then
 * 500) concurrent clients, each a host of its own, each sending LOAD_CAPTURES small
 * captures (a ZFS snapshot list and a COMSTAR-like text of a few KiB, new bytes every time:
 * begin → send the missing chunks as the collector does → commit) to a catalog server on
 * PostgreSQL (TEST_DATABASE_URL; filesystem store, so the chunk PUTs go through the
 * catalog too). A 503 is back-pressure: the client waits out Retry-After, as the collector
 * does (collector/http.ts), and sends the same step again. Prints commits/s, capture p50 and
 * p99 (from begin to commit, waits included), 503 answers and failed requests (socket
 * errors, other statuses), and /healthz req/s by as many clients as the yardstick.
 * Each collector count runs once per LOAD_PROCESSES setting of the server's SERVER_PROCESSES
 * (default `1,2`: one process, then a primary with two workers; `auto` is what the server
 * starts by default), and prints how many server processes served it.
 * On Linux it also prints where the CPU went during each run (/proc): the catalog server (its
 * primary and workers together, and how much of it was spent in the kernel),
 * the PostgreSQL backends serving it, this process (the simulated collectors) and the whole
 * machine — server, database and clients share its cores, so a commit rate is only read
 * together with the share the server got. Asserts nothing.
 *
 *   npx tsx test/bench/run.ts load
 *   LOAD_COLLECTORS=200,500 LOAD_CAPTURES=5 LOAD_PROCESSES=1,2 LOAD_CLIENT=collector|fetch LOAD_CHUNKS=batch|urls npx tsx test/bench/load.bench.ts
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnServer } from '../helpers/spawn-server.js';
import { createDatabase } from '../helpers/database.js';
import { begin, commit, IngestHttpError, prepareCapture, remoteCatalog, uploadMissing, type PreparedCapture } from '../helpers/ingest-client.js';
import type { TestCatalog } from '../helpers/catalog.js';
import { request as collectorRequest, type HttpRequest } from '../../collector/http.js';
import type { BeginResponse, UploadTarget } from '../../formats/protocol.js';
import postgres from 'postgres';

const COLLECTORS = (process.env.LOAD_COLLECTORS ?? '200,500')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const CAPTURES = Number(process.env.LOAD_CAPTURES ?? 5);
/**
 * The clients' HTTP stack: `collector` (default) sends each request with the collector's own
 * client (collector/http.ts: node:http on the keep-alive agent), as installed collectors do;
 * `fetch` with the test helpers' undici fetch, which costs this process several times the CPU
 * per request — CPU the server, sharing the cores, then lacks.
 */
const CLIENT = process.env.LOAD_CLIENT === 'fetch' ? 'fetch' : 'collector';
/**
 * How the collector's client sends missing chunks: `batch` (default) as the collector does, small
 * ones through `PUT /v1/captures/{id}/chunks`; `urls`: every one to its upload URL, as a
 * collector does against a catalog without that route.
 */
const CHUNKS = process.env.LOAD_CHUNKS === 'urls' ? 'urls' : 'batch';
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

/**
 * The server's SERVER_PROCESSES for each run (`1`, a number, or `auto`): every collector count
 * runs once per setting, one after the other, each on a fresh database and a new server, so
 * the settings are compared in the same run on the same (shared) machine.
 */
const PROCESSES = (process.env.LOAD_PROCESSES ?? '1,2').split(',').filter((p) => p === 'auto' || Number(p) > 0);

/** CPU seconds a process has used (user + system), from /proc; null when unknown. */
function cpuSecondsOf(pid: number): number | null {
  return systemSecondsOf(pid, true);
}

/** CPU seconds a process has used in the kernel (or, `all`, in all: user + system), from /proc; null when unknown. */
function systemSecondsOf(pid: number, all = false): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((all ? Number(fields[11]) : 0) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

/** The pid and its children (the server's primary and its workers), from /proc. */
function processTree(pid: number): number[] {
  const tree = [pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (ppid === pid) tree.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return tree;
}

/** Busy and total CPU seconds of the whole machine, summed over its cores, from /proc/stat. */
function machineSeconds(): { busy: number; total: number } {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1, 9).map(Number);
  return { busy: (user + nice + system + irq + softirq + steal) / 100, total: (user + nice + system + idle + iowait + irq + softirq + steal) / 100 };
}

/** Where the CPU goes during a run: the server, its database backends, this process, the machine. */
interface CpuMeter {
  start(): Promise<void>;
  report(commits: number): Promise<string>;
}

function cpuMeter(serverPid: number, databaseUrl: string): CpuMeter | null {
  if (!existsSync('/proc/stat') || cpuSecondsOf(serverPid) === null) return null;
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const backends = async () =>
    (await sql<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).map((r) => r.pid);
  // Transactions the database committed (the statistics lag by up to a second: read after a pause).
  const transactions = async () => {
    await sleep(1100);
    const [row] = await sql<{ n: string }[]>`SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()`;
    return Number(row?.n ?? 0);
  };
  // Server processes (the primary and its workers) as of the start; one replaced meanwhile loses its share.
  let servers: number[] = [];
  const serverSeconds = () => servers.reduce((n, p) => n + (cpuSecondsOf(p) ?? 0), 0);
  // The server's share spent in the kernel: its files' creates, syncs and socket calls.
  const serverSystemSeconds = () => servers.reduce((n, p) => n + (systemSecondsOf(p) ?? 0), 0);
  let at: {
    server: number;
    serverSystem: number;
    primary: number;
    transactions: number;
    own: NodeJS.CpuUsage;
    machine: { busy: number; total: number };
    backends: Map<number, number>;
  };
  return {
    async start() {
      const pids = await backends();
      servers = processTree(serverPid);
      const committed = await transactions();
      at = {
        transactions: committed,
        server: serverSeconds(),
        serverSystem: serverSystemSeconds(),
        primary: cpuSecondsOf(serverPid) ?? 0,
        own: process.cpuUsage(),
        machine: machineSeconds(),
        backends: new Map(pids.map((p) => [p, cpuSecondsOf(p) ?? 0])),
      };
    },
    async report(commits) {
      const server = serverSeconds() - at.server;
      const serverSystem = serverSystemSeconds() - at.serverSystem;
      const primary = (cpuSecondsOf(serverPid) ?? 0) - at.primary;
      const own = process.cpuUsage(at.own);
      const clients = (own.user + own.system) / 1e6;
      // Backends opened during the run count whole; the pool keeps its connections open.
      let database = 0;
      for (const p of await backends()) database += (cpuSecondsOf(p) ?? 0) - (at.backends.get(p) ?? 0);
      const now = machineSeconds();
      const xacts = (await transactions()) - at.transactions;
      const busy = now.busy - at.machine.busy;
      const total = now.total - at.machine.total;
      await sql.end({ timeout: 1 });
      const perCommit = (s: number) => (commits > 0 ? `${((1000 * s) / commits).toFixed(1)} ms/commit` : '-');
      return (
        `       cpu: server ${server.toFixed(1)} s (${perCommit(server)}, ${perCommit(serverSystem).replace('/commit', '')} of it in the kernel${servers.length > 1 ? `; its primary ${primary.toFixed(1)} s` : ''}), PostgreSQL ${database.toFixed(1)} s (${perCommit(database)}; ${commits > 0 ? (xacts / commits).toFixed(1) : '-'} transactions/commit), ` +
        `collectors (this process) ${clients.toFixed(1)} s (${perCommit(clients)}); the server got ${((100 * server) / total).toFixed(0)}% of ` +
        `the machine's ${availableParallelism()} cores, which were ${((100 * busy) / total).toFixed(0)}% busy (${((100 * (busy - server - database - clients)) / total) | 0}% by other processes)`
      );
    },
  };
}

/** begin → PUT the missing chunks → commit with the collector's HTTP client; errors as the test helpers throw them. */
function collectorSteps(url: string, token: string) {
  const send = async (step: string, req: HttpRequest) => {
    const res = await collectorRequest(req);
    const text = res.body.toString('utf8');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* keep text */
    }
    if (res.status < 200 || res.status > 299) throw new IngestHttpError(step, res.status, body);
    return body;
  };
  const auth = { authorization: `Bearer ${token}` };
  return {
    begin: async (prepared: PreparedCapture) =>
      (await send('begin', {
        method: 'POST',
        url: `${url}/v1/captures`,
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(prepared.request),
      })) as BeginResponse,
    upload: async (prepared: PreparedCapture, answer: BeginResponse) => {
      const bytesOf = (t: UploadTarget) => Buffer.from(prepared.variants.get(t.sha256)?.[t.encoding] ?? prepared.stored.get(t.sha256)!);
      // As the collector sends them (collector/deliver.ts): a chunk stored in at most 131,036 bytes
      // through the catalog, 32 a request; a larger one to its upload URL. LOAD_CHUNKS=urls sends all by URL.
      const small = CHUNKS === 'batch' ? answer.missing.filter((t) => bytesOf(t).length <= 131036) : [];
      for (let i = 0; i < small.length; i += 32) {
        const body = Buffer.concat(
          small.slice(i, i + 32).flatMap((t) => {
            const d = bytesOf(t);
            return [Buffer.from(`${t.sha256}${d.length.toString(16).padStart(8, '0')}`, 'hex'), d];
          }),
        );
        await send('PUT chunks', {
          method: 'PUT',
          url: `${url}/v1/captures/${prepared.request.captureId}/chunks`,
          headers: { ...auth, 'content-type': 'application/octet-stream' },
          body,
        });
      }
      for (const target of answer.missing) {
        if (small.includes(target)) continue;
        await send(`PUT chunk ${target.sha256}`, { method: target.method, url: target.url, headers: target.headers, body: bytesOf(target) });
      }
    },
    commit: (prepared: PreparedCapture) => send('commit', { method: 'POST', url: `${url}/v1/captures/${prepared.request.captureId}/commit`, headers: auth }),
  };
}

/** The same three steps with the test helpers (undici fetch). */
function fetchSteps(catalog: TestCatalog) {
  return {
    begin: (prepared: PreparedCapture) => begin(catalog, prepared.request),
    upload: (prepared: PreparedCapture, answer: BeginResponse) => uploadMissing(catalog, prepared, answer),
    commit: (prepared: PreparedCapture) => commit(catalog, prepared.request.captureId),
  };
}

async function oneRun(catalog: TestCatalog, collectors: number, meter: CpuMeter | null): Promise<void> {
  const steps = CLIENT === 'fetch' ? fetchSteps(catalog) : collectorSteps(catalog.url, catalog.adminToken);
  const tally: Tally = { busy: 0, failed: 0, failures: new Map() };
  const times: number[] = [];
  let commits = 0;
  await meter?.start();
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
          const answer = await withBackPressure(tally, () => steps.begin(prepared));
          await withBackPressure(tally, () => steps.upload(prepared, answer));
          await withBackPressure(tally, () => steps.commit(prepared));
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
  if (meter) console.log(await meter.report(commits));
}

/**
 * CPU microseconds a file create costs beside the data directory (in the directory it was made
 * in, with the same filesystem's state): a small commit creates five objects and a staging
 * directory, and where creates are dear (ext4 without a journal, among other work's deletions:
 * it reads the inode table entry of each recently freed inode it passes) they are most of the
 * server's time in the kernel. The files stay until the run is over (createsDir), as the data
 * directory does: removing them now would free inodes the run's creates then pass.
 */
function createMicros(dataDir: string, files = 200): number {
  const dir = createsDir(dataDir);
  mkdirSync(dir);
  const before = process.cpuUsage();
  for (let i = 0; i < files; i++) closeSync(openSync(join(dir, String(i)), 'wx'));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / files;
}

/** Where createMicros makes its files: beside the data directory, removed with it. */
const createsDir = (dataDir: string) => join(dataDir, '..', `${basename(dataDir)}-creates`);

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
  console.log(
    `catalog server on PostgreSQL (filesystem store); small captures of 2 artifacts, 1 chunk each, new bytes each time; clients send with ${CLIENT === 'fetch' ? 'undici fetch, chunks by URL' : `the collector's HTTP client (node:http), ${CHUNKS === 'batch' ? 'small chunks through the catalog as the collector sends them' : 'chunks by URL'}`}; SERVER_PROCESSES ${PROCESSES.join(', then ')}, each run on a fresh database:`,
  );
  for (const n of COLLECTORS) {
    for (const processes of PROCESSES) {
      const created = await createDatabase(base, 'vrc_load');
      const dataDir = mkdtempSync(join(tmpdir(), 'vrc-load-'));
      const server = await spawnServer({
        DATA_DIR: dataDir,
        DATABASE_URL: created.url,
        CATALOG_BOOTSTRAP_TOKEN: TOKEN,
        LOG_LEVEL: 'error',
        SERVER_PROCESSES: processes,
      });
      try {
        const count = /processes: (\d+)/.exec(server.stdout())?.[1] ?? '?';
        console.log(
          `  SERVER_PROCESSES=${processes}: ${count} server process${count === '1' ? '' : 'es'}; a file create in its data directory's filesystem costs ${createMicros(dataDir).toFixed(0)} µs of CPU (TMPDIR moves it)`,
        );
        await oneRun(remoteCatalog(server.url, TOKEN), n, cpuMeter(server.child.pid!, created.url));
        console.log(`       yardstick: GET /healthz by ${n} clients ${(await healthRate(server.url, n)).toFixed(0)} req/s`);
      } finally {
        await server.stop();
        await created.drop();
        rmSync(dataDir, { recursive: true, force: true });
        rmSync(createsDir(dataDir), { recursive: true, force: true });
      }
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
