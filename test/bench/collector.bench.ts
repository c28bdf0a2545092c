/**
 * The daily run, side by side in one run: the same LUN header files (50 × 20 MiB, mostly
 * zeros with a few unique regions each) backed up by restic (its S3 backend) and by the
 * collector's `collect` into the embedded catalog and into PostgreSQL + S3, with the same
 * S3 server for restic and the catalog. Day 1 from empty, day 2 with 4 KiB changed in 5
 * LUNs, day 3 unchanged; each day's wall time is the median of BENCH_RUNS runs (each run
 * starts from empty catalogs, an empty restic repository and empty spools). A "read +
 * SHA-256 once" pass over the same bytes is the yardstick. Bytes over the wire are counted
 * by TCP proxies: collector ↔ catalog at the catalog's port, and everything that reaches
 * the S3 server (restic's uploads; the catalog's own requests and the collector's chunk
 * PUTs to upload URLs), with the S3 requests by kind. Prints ratios; asserts nothing.
 *
 *   npm run bench -- collector                       quick: BENCH_SCALE=0.2 (10 LUNs), 3 runs
 *   BENCH_SCALE=1 npm run bench -- collector         the full 50 × 20 MiB
 *   BENCH_RUNS=5 BENCH_SUPPORT=1 …                   more runs; also a 1.5 GiB support dump
 *   COLLECTOR_BUNDLE=/path/collector.cjs …           another build of the collector (before/after)
 *   BENCH_DAY_LATER=0 …                              days 2–3 within the catalog's trust window (see DAY_LATER)
 *   BENCH_SERVER_LOG=1 …                             print each catalog's stderr after each run
 *   COLLECTOR_NODE_ARGS=… SERVER_NODE_ARGS=…         node options for the collector / the catalog (a CPU profile;
 *                                                    BUILD_MINIFY=0 npm run bench … keeps both builds' names)
 *
 * PostgreSQL + S3 runs when TEST_DATABASE_URL and S3_ENDPOINT (and the AWS_* keys) are set,
 * as in .ci/run or after `source` of infra/swift/start.sh's output. restic comes from the
 * Debian package (installed here with apt-get when missing and we are root); it talks to
 * the S3 server through a TLS front (restic's S3 client signs plain-HTTP uploads with
 * aws-chunked payloads, which Swift's s3api refuses). The repository password is
 * RESTIC_PASSWORD when set.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { writeVmfsDevice, type Region } from '../fixtures/vmfs-images.js';
import { BUNDLE as BUILT_BUNDLE, buildBundle, freePort } from '../collector/run-collector.js';
import { GZIP_LEVEL, gzipChunk } from '../../collector/chunker.js';
import { freshBucket, s3TestConfig, type S3TestConfig } from '../helpers/swift.js';
import { createDatabase } from '../helpers/database.js';

const MiB = 1024 * 1024;
const SCALE = Number(process.env.BENCH_SCALE ?? '0.2');
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? '3'));
const LUNS = Math.max(2, Math.round(50 * SCALE));
const LUN_BYTES = 20 * MiB;
const CHANGED = Math.min(5, LUNS);
const TOKEN = 'collector-bench-bootstrap-token-0123456789';
const BUNDLE = process.env.COLLECTOR_BUNDLE ?? BUILT_BUNDLE;
/** COLLECTOR_NODE_ARGS: node options for each `collect` run, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
const COLLECTOR_NODE_ARGS = (process.env.COLLECTOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
/**
 * Days 2 and 3 come a day after the one before: on PostgreSQL the catalog's record of when
 * it last saw each chunk in the store (`blobs.last_verified`) is moved back a day first, and
 * then the night's maintenance pass lists the chunk keys, as it does every hour
 * (`POST /v1/admin/check`, which makes the same listing; its store traffic is printed on its
 * own, not counted in the day's). The embedded catalog's database lives inside its process
 * and is left as is. BENCH_DAY_LATER=0 turns this off.
 */
const DAY_LATER = process.env.BENCH_DAY_LATER !== '0';

/**
 * Each LUN its own datastore, as on a real host: its own volume, segment and extent UUIDs. (With
 * the fixture's defaults all 50 were one extent seen on 50 devices, and every day's capture
 * raised device-id-changed and lun-id-changed events a real one would not.)
 */
function lunUuids(i: number): { vmfsUuid: string; segmentUuid: string; extentUuid: string } {
  const n = (0x1000 + i).toString(16);
  return {
    vmfsUuid: `4a1c3e7f-2b4d6e80-${n}-0050569a1b2c`,
    segmentUuid: `4a1c3e7e-11223344-${n}-0050569a1b2c`,
    extentUuid: `4a1c3e7d-aabbccdd-${n}-0050569a1b2c`,
  };
}

/** A few unique regions per LUN, like real header dumps: metadata blocks amid zeros. */
function uniqueRegions(i: number): Region[] {
  const regions: Region[] = [];
  for (let k = 0; k < 4; k++) regions.push({ offset: (3 + k * 4) * MiB + i * 8192, bytes: randomBytes(8192 + k * 4096) });
  return regions;
}

/** A TCP proxy that counts bytes each way (optionally terminating TLS). */
interface Counter {
  port: number;
  up: number;
  down: number;
  /** HTTP requests seen going up (plain HTTP only), by "METHOD area" (area: the key's first segment, or list). */
  requests: Map<string, number>;
  reset(): void;
  close(): void;
}

const REQUEST_LINE = /(GET|PUT|HEAD|POST|DELETE) (\/[^ \r\n]*) HTTP\/1\.1\r\n/g;

/** What an S3 request touches: list, delete (multi-object) or the key's first segment (chunks, staging, manifests). */
function requestArea(path: string): string {
  const [p, q = ''] = path.split('?');
  if (/(^|&)list-type=/.test(q) || (p.split('/').filter(Boolean).length <= 1 && !/delete/.test(q))) return 'list';
  if (/(^|&)delete(=|&|$)/.test(q)) return 'multi-delete';
  const segs = p.split('/').filter(Boolean);
  return segs[1] ?? '?';
}

async function countingProxy(target: { host: string; port: number }, tlsOptions?: tls.TlsOptions): Promise<Counter> {
  const c = {
    port: 0,
    up: 0,
    down: 0,
    requests: new Map(),
    reset: () => {
      c.up = 0;
      c.down = 0;
      c.requests.clear();
    },
    close: () => server.close(),
  } as Counter;
  const sockets = new Set<net.Socket>();
  const handle = (client: net.Socket) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    // Request lines, found across piece boundaries by keeping the tail of the previous piece.
    let tail = '';
    client.on('data', (d: Buffer) => {
      c.up += d.length;
      if (tlsOptions) return;
      const text = tail + d.toString('latin1');
      for (const m of text.matchAll(REQUEST_LINE)) {
        const what = `${m[1]} ${requestArea(m[2])}`;
        c.requests.set(what, (c.requests.get(what) ?? 0) + 1);
      }
      tail = text.slice(-300).replace(/^[\s\S]*\r\n/, '');
    });
    upstream.on('data', (d: Buffer) => {
      c.down += d.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  };
  const server = tlsOptions ? tls.createServer(tlsOptions, handle) : net.createServer(handle);
  c.close = () => {
    for (const s of sockets) s.destroy();
    server.close();
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  c.port = (server.address() as net.AddressInfo).port;
  return c;
}

interface Sample {
  seconds: number;
  /** Bytes collector → catalog and back; bytes to the S3 server and back. */
  catalogUp: number;
  catalogDown: number;
  s3Up: number;
  s3Down: number;
  /** restic's data_added, or the collector's stored bytes uploaded. */
  added: number;
  detail: string;
  /** S3 requests by kind (postgres+s3 only), e.g. "HEAD chunks 12, GET staging 40". */
  s3Requests?: Map<string, number>;
}

function exec(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; out: string; err: string; code: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ seconds: (performance.now() - start) / 1000, out, err, code: code ?? 1 }));
  });
}

/** CPU seconds (user + system) a live process has used so far, from /proc (NaN where there is none). */
function cpuSecondsOf(pid: number | undefined): number {
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}
const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds /usr/bin/time wrote for a process it ran (`-f '%U %S'`), NaN when it could not. */
function timedCpuSeconds(file: string): number {
  try {
    const [user, sys] = readFileSync(file, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return user + sys;
  } catch {
    return NaN;
  }
}

/** Reads each file in 1 MiB pieces and SHA-256s it once: the floor any collector pays. */
function readAndHash(files: string[], bytes: number): number {
  const buf = Buffer.allocUnsafe(MiB);
  const start = performance.now();
  for (const f of files) {
    const fd = openSync(f, 'r');
    const whole = createHash('sha256');
    for (let off = 0; off < bytes; off += MiB) {
      const n = readSync(fd, buf, 0, Math.min(MiB, bytes - off), off);
      if (n === 0) break;
      whole.update(buf.subarray(0, n));
    }
    whole.digest();
    closeSync(fd);
  }
  return (performance.now() - start) / 1000;
}

/** restic from PATH, installed with apt-get when missing (as root); null with the reason printed. */
function findRestic(): string | null {
  const which = () => spawnSync('sh', ['-c', 'command -v restic'], { encoding: 'utf8' }).stdout.trim() || null;
  let path = which();
  if (!path && process.getuid?.() === 0) {
    console.log('restic not found: apt-get install -y restic …');
    spawnSync('sh', ['-c', 'apt-get install -y -qq restic >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq restic >/dev/null 2>&1)'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    path = which();
  }
  if (!path) console.log('restic not run: it is not installed and could not be installed with apt-get (not root, or no package source)');
  return path;
}

/** A self-signed certificate for 127.0.0.1, for restic's TLS front; null when openssl is missing. */
function selfSignedCert(dir: string): { key: string; cert: string; certFile: string } | null {
  const key = join(dir, 'tls-key.pem');
  const certFile = join(dir, 'tls-cert.pem');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  if (r.status !== 0) return null;
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function gzipLevels(sample: Buffer[]): Promise<void> {
  const line = (name: string, bytes: number, ms: number) =>
    console.log(`  ${name}: ${(bytes / 1024).toFixed(1)} KiB from ${sample.length} MiB of dump chunks in ${ms.toFixed(1)} ms`);
  for (const level of [1, 3, 6, 9]) {
    const start = performance.now();
    let out = 0;
    for (let rep = 0; rep < 3; rep++) for (const c of sample) out += gzipSync(c, { level }).length;
    line(`gzip level ${level}`, out / 3, (performance.now() - start) / 3);
  }
  // What the collector stores: zero pages run-length coded (encodings cached by run length, as in a run), the rest at GZIP_LEVEL.
  const start = performance.now();
  let out = 0;
  for (let rep = 0; rep < 3; rep++) for (const c of sample) out += (await gzipChunk(c, GZIP_LEVEL)).length;
  line(`sparse, level ${GZIP_LEVEL}`, out / 3, (performance.now() - start) / 3);
}

function timeCommand(args: string[], runs: number): number {
  execFileSync(process.execPath, args);
  const start = performance.now();
  for (let i = 0; i < runs; i++) execFileSync(process.execPath, args);
  return (performance.now() - start) / runs;
}

const fmtBytes = (n: number) => (n >= 10 * MiB ? `${(n / MiB).toFixed(1)} MiB` : n >= 10 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${Math.round(n)} B`);

/** One flavour of catalog for one run: a fresh server, spool, and the proxy in front of it. */
interface Flavour {
  name: string;
  server: ServerProcess;
  proxy: Counter;
  spool: string;
  drop: () => Promise<void>;
  /** Moves the catalog's records a day into the past (PostgreSQL only; see DAY_LATER). */
  dayPasses: () => Promise<void>;
}

async function startFlavour(name: string, dir: string, s3Proxy: Counter | null, s3: S3TestConfig | null): Promise<Flavour> {
  const dataDir = mkdtempSync(join(dir, `${name}-data-`));
  // The proxy goes first and is the catalog's public URL, so upload URLs it hands out lead through it too.
  const port = await freePort();
  const proxy = await countingProxy({ host: '127.0.0.1', port });
  const env: Record<string, string> = { DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: TOKEN, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${proxy.port}` };
  let drop = async () => {};
  let dayPasses = async () => {};
  if (name === 'postgres+s3') {
    const created = await createDatabase(process.env.TEST_DATABASE_URL!, 'vrc_bench');
    drop = created.drop;
    dayPasses = async () => {
      const { default: postgres } = await import('postgres');
      const sql = postgres(created.url, { max: 1, onnotice: () => {} });
      await sql`UPDATE blobs SET last_verified = last_verified - interval '1 day'`;
      await sql.end();
    };
    const bucket = await freshBucket(s3!, 'bench');
    Object.assign(env, {
      DATABASE_URL: created.url,
      S3_ENDPOINT: `http://127.0.0.1:${s3Proxy!.port}`,
      S3_BUCKET: bucket,
      S3_REGION: s3!.region,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: s3!.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3!.secretAccessKey,
    });
  }
  const server = await spawnServer(env, 300_000);
  return { name, server, proxy, spool: mkdtempSync(join(dir, `${name}-spool-`)), drop, dayPasses };
}

export async function run(): Promise<void> {
  if (!process.env.COLLECTOR_BUNDLE) buildBundle();
  const dir = mkdtempSync(join(tmpdir(), 'collector-bench-'));
  const s3 = s3TestConfig();
  const withPostgres = Boolean(process.env.TEST_DATABASE_URL && s3);
  if (!withPostgres) console.log(`PostgreSQL + S3 not run: ${process.env.TEST_DATABASE_URL ? 'S3_ENDPOINT' : 'TEST_DATABASE_URL'} is not set`);
  let restic = s3 ? findRestic() : null;
  if (!s3) console.log('restic not run: S3_ENDPOINT is not set (restic is measured against the same S3 server as the catalog)');
  const cert = restic ? selfSignedCert(dir) : null;
  if (restic && !cert) {
    console.log('restic not run: openssl is missing (restic needs a TLS front to upload to this S3 server)');
    restic = null;
  }
  const s3Target = s3 ? { host: new URL(s3.endpoint).hostname, port: Number(new URL(s3.endpoint).port || 80) } : null;
  const s3Proxy = s3Target ? await countingProxy(s3Target) : null;
  const s3TlsProxy = s3Target && cert ? await countingProxy(s3Target, { key: cert.key, cert: cert.cert }) : null;
  const resticPassword = process.env.RESTIC_PASSWORD ?? `bench-${randomBytes(6).toString('hex')}`;

  const devDir = join(dir, 'root', 'dev');
  mkdirSync(devDir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < LUNS; i++) {
    const f = join(devDir, `lun${i}`);
    await writeVmfsDevice(
      f,
      {
        lvmMajor: 5,
        deviceId: `naa.600144f0c0ffee0000000000000${(0x1000 + i).toString(16)}`,
        lun: i,
        noiseSeed: i + 1,
        extraRegions: uniqueRegions(i),
        ...lunUuids(i),
      },
      LUN_BYTES,
    );
    files.push(f);
  }
  // Day 2's change: 4 KiB inside a chunk that was all zeros (a change amid dense data re-sends that chunk's dense bytes too).
  const changedAt = (i: number) => 9 * MiB + i * 4096;
  const setDay2 = (on: boolean) => {
    for (let i = 0; i < CHANGED; i++) {
      const fd = openSync(files[Math.floor((i * LUNS) / CHANGED)], 'r+');
      writeSync(fd, on ? randomBytes(4096) : Buffer.alloc(4096), 0, 4096, changedAt(i));
      closeSync(fd);
    }
  };

  const tools = ['read + SHA-256 once', ...(restic ? ['restic'] : []), 'collect, embedded', ...(withPostgres ? ['collect, postgres+s3'] : [])];
  const samples = new Map<string, Sample[][]>(tools.map((t) => [t, [[], [], []]]));
  console.log(
    `${LUNS} LUNs × ${LUN_BYTES / MiB} MiB = ${(LUNS * LUN_BYTES) / MiB} MiB read a day; day 2 changes 4 KiB in ${CHANGED}; ${RUNS} run(s) (BENCH_SCALE=${SCALE}, BENCH_RUNS=${RUNS}); ` +
      `collector ${BUNDLE}`,
  );

  try {
    for (let r = 0; r < RUNS; r++) {
      setDay2(false);
      const flavours = [await startFlavour('embedded', dir, null, null)];
      if (withPostgres) flavours.push(await startFlavour('postgres+s3', dir, s3Proxy, s3));
      const repo = restic ? `s3:https://127.0.0.1:${s3TlsProxy!.port}/vrc-bench-restic-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}` : '';
      const resticEnv = {
        ...process.env,
        RESTIC_PASSWORD: resticPassword,
        AWS_ACCESS_KEY_ID: s3?.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3?.secretAccessKey,
        RESTIC_CACHE_DIR: mkdtempSync(join(dir, 'restic-cache-')),
      };
      const resticArgs = (...a: string[]) => ['-r', repo, '--cacert', cert!.certFile, '-o', `s3.region=${s3!.region}`, ...a];
      if (restic) {
        const init = await exec(restic, resticArgs('init', '--repository-version', '2'), resticEnv);
        if (init.code !== 0) throw new Error(`restic init failed: ${init.err}`);
      }
      try {
        for (let day = 1; day <= 3; day++) {
          if (day === 2) setDay2(true);
          const put = (tool: string, s: Sample) => samples.get(tool)![day - 1].push(s);
          put('read + SHA-256 once', { seconds: readAndHash(files, LUN_BYTES), catalogUp: 0, catalogDown: 0, s3Up: 0, s3Down: 0, added: 0, detail: '' });
          if (restic) {
            s3TlsProxy!.reset();
            const b = await exec(restic, resticArgs('backup', '--json', '--host', 'bench', join(dir, 'root')), resticEnv);
            const summary = b.out
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l) as { message_type: string; data_added: number; files_new: number; files_changed: number; files_unmodified: number })
              .find((m) => m.message_type === 'summary');
            if (b.code !== 0 || !summary) throw new Error(`restic backup exited ${b.code}: ${b.err}`);
            put('restic', {
              seconds: b.seconds,
              catalogUp: 0,
              catalogDown: 0,
              s3Up: s3TlsProxy!.up,
              s3Down: s3TlsProxy!.down,
              added: summary.data_added,
              detail: `files new/changed/unmodified ${summary.files_new}/${summary.files_changed}/${summary.files_unmodified}`,
            });
          }
          for (const f of flavours) {
            let night = '';
            if (day > 1 && DAY_LATER) {
              await f.dayPasses();
              if (f.name === 'postgres+s3') {
                // The night's maintenance listed the chunk keys (api/maintenance.ts), as it does
                // hourly: `check` makes that listing. Its store traffic is the store's, not the run's.
                s3Proxy!.reset();
                const res = await fetch(`${f.server.url}/v1/admin/check?read_data_subset=0`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
                if (res.status !== 200) throw new Error(`check answered ${res.status}: ${await res.text()}`);
                const listing = ((await res.json()) as { listing: { vouched: number } }).listing;
                const asked = [...s3Proxy!.requests.values()].reduce((n, k) => n + k, 0);
                night = `; the night's check before it (not counted): ${asked} S3 requests, ↑${fmtBytes(s3Proxy!.up)} ↓${fmtBytes(s3Proxy!.down)}, ${listing.vouched} chunks vouched for`;
              }
            }
            f.proxy.reset();
            s3Proxy?.reset();
            const args = [
              'collect',
              '--json',
              '--quiet',
              '--root',
              join(dir, 'root'),
              '--host',
              'bench',
              '--spool',
              f.spool,
              '--url',
              `http://127.0.0.1:${f.proxy.port}`,
              ...files.map((_, i) => `--device=/dev/lun${i}`),
            ];
            // CPU time of each side (the machine's two cores are shared): the collector's from
            // /usr/bin/time when it is there, the catalog's from /proc before and after.
            const timeFile = join(dir, 'collector-time');
            const timed = statSync('/usr/bin/time', { throwIfNoEntry: false }) ? ['/usr/bin/time', '-f', '%U %S', '-o', timeFile] : [];
            rmSync(timeFile, { force: true });
            const serverCpu = cpuSecondsOf(f.server.child.pid);
            const c = await exec(
              timed[0] ?? process.execPath,
              [...timed.slice(1), ...(timed.length ? [process.execPath] : []), ...COLLECTOR_NODE_ARGS, BUNDLE, ...args],
              {
                ...process.env,
                CATALOG_TOKEN: TOKEN,
                VMFS_COLLECTOR_CONFIG: join(dir, 'none.json'),
              },
            );
            const cpu = { collector: timedCpuSeconds(timeFile), catalog: cpuSecondsOf(f.server.child.pid) - serverCpu };
            const report = JSON.parse(c.out || 'null');
            if (!report || report.exitCode !== 0) throw new Error(`collect (${f.name}) exited ${c.code}: ${c.err}\n${c.out.slice(0, 500)}`);
            put(`collect, ${f.name}`, {
              seconds: c.seconds,
              catalogUp: f.proxy.up,
              catalogDown: f.proxy.down,
              s3Up: f.name === 'embedded' ? 0 : s3Proxy!.up,
              s3Down: f.name === 'embedded' ? 0 : s3Proxy!.down,
              added: report.bytesUploaded,
              s3Requests: f.name === 'embedded' ? undefined : new Map(s3Proxy!.requests),
              detail:
                `read+hash+stage ${report.readSeconds.toFixed(2)} s, catalog round trips ${(report.seconds - report.readSeconds).toFixed(2)} s, ` +
                `CPU collector ${cpu.collector.toFixed(2)} s, catalog ${cpu.catalog.toFixed(2)} s, ${report.putRequests} PUTs, read ${(report.bytesRead / MiB).toFixed(0)} MiB${night}`,
            });
          }
        }
      } finally {
        for (const f of flavours) {
          if (process.env.BENCH_SERVER_LOG) console.log(`--- ${f.name} server stderr\n${f.server.stderr()}`);
          f.proxy.close();
          await f.server.stop();
          await f.drop();
        }
      }
      console.log(`run ${r + 1}/${RUNS} done`);
    }

    for (let day = 1; day <= 3; day++) {
      const label = ['day 1 (empty)', `day 2 (4 KiB changed in ${CHANGED})`, 'day 3 (unchanged)'][day - 1];
      const med = (tool: string, k: keyof Sample) => median(samples.get(tool)![day - 1].map((s) => s[k] as number));
      const yard = med('read + SHA-256 once', 'seconds');
      const base = restic ? med('restic', 'seconds') : NaN;
      console.log(`\n${label}, medians of ${RUNS}:`);
      for (const tool of tools) {
        const t = med(tool, 'seconds');
        const ratios = tool.startsWith('read')
          ? ''
          : `  ${(t / yard).toFixed(2)} × read+hash${restic && tool !== 'restic' ? `  ${(t / base).toFixed(2)} × restic` : ''}`;
        const wire = tool.startsWith('read')
          ? ''
          : `  wire ${fmtBytes(median(samples.get(tool)![day - 1].map((s) => s.catalogUp + s.catalogDown + s.s3Up + s.s3Down)))}: ` +
            `catalog ↑${fmtBytes(med(tool, 'catalogUp'))} ↓${fmtBytes(med(tool, 'catalogDown'))}, S3 ↑${fmtBytes(med(tool, 's3Up'))} ↓${fmtBytes(med(tool, 's3Down'))}; ` +
            `${tool === 'restic' ? 'data_added (before compression)' : 'chunk bytes uploaded'} ${fmtBytes(med(tool, 'added'))}`;
        const last = samples.get(tool)![day - 1].at(-1)!;
        console.log(
          `  ${tool.padEnd(22)} ${t.toFixed(2).padStart(6)} s${ratios}${wire}${last.detail ? `\n  ${''.padEnd(22)} (last run: ${last.detail})` : ''}`,
        );
        if (last.s3Requests) {
          const all = [...last.s3Requests.entries()].sort((a, b) => b[1] - a[1]);
          const total = all.reduce((n, [, k]) => n + k, 0);
          console.log(`  ${''.padEnd(22)} (last run: ${total} S3 requests: ${all.map(([k, n]) => `${k} ${n}`).join(', ')})`);
        }
      }
    }

    if (process.env.BENCH_SUPPORT === '1') {
      // A support-grade dump: 1.5 GiB through the same chunker, memory must stay flat.
      const f = await startFlavour('embedded', dir, null, null);
      try {
        const big = join(devDir, 'support');
        await writeVmfsDevice(big, { lvmMajor: 6, noiseSeed: 99 }, 1536 * MiB);
        const timeFile = join(dir, 'time');
        const c = await exec(
          '/usr/bin/time',
          [
            '-f',
            '%M',
            '-o',
            timeFile,
            process.execPath,
            BUNDLE,
            'collect',
            '--json',
            '--quiet',
            '--root',
            join(dir, 'root'),
            '--host',
            'bench-support',
            '--spool',
            f.spool,
            '--url',
            f.server.url,
            '--device=/dev/support',
            '--header-bytes',
            '1536M',
          ],
          { ...process.env, CATALOG_TOKEN: TOKEN, VMFS_COLLECTOR_CONFIG: join(dir, 'none.json') },
        );
        const rss = Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop()) / 1024;
        console.log(
          `\n1.5 GiB support dump: ${c.seconds.toFixed(2)} s, peak RSS ${rss.toFixed(0)} MB (read + SHA-256 once alone: ${readAndHash([big], 1536 * MiB).toFixed(2)} s)`,
        );
        rmSync(big, { force: true });
      } finally {
        f.proxy.close();
        await f.server.stop();
      }
    }

    const sample: Buffer[] = [];
    const fd = openSync(files[0], 'r');
    for (let m = 0; m < 20; m++) {
      const b = Buffer.alloc(MiB);
      readSync(fd, b, 0, MiB, m * MiB);
      sample.push(b);
    }
    closeSync(fd);
    console.log(`\ngzip levels on one LUN's 20 chunks (the collector stores the sparse encoding):`);
    await gzipLevels(sample);
    const base = timeCommand(['-e', '0'], 15);
    const version = timeCommand([BUNDLE, '--version'], 15);
    console.log(`startup: node -e 0 ${base.toFixed(1)} ms, collector --version ${version.toFixed(1)} ms (${(version / base).toFixed(2)} ×)`);
    console.log(`bundle: ${BUNDLE} ${statSync(BUNDLE).size} bytes`);
  } finally {
    s3Proxy?.close();
    s3TlsProxy?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
