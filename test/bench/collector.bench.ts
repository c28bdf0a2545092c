/**
 * The collector against the real catalog (embedded, or Postgres + S3 when CI's
 * TEST_DATABASE_URL and S3_ENDPOINT are set: a fresh database and a fresh bucket): 50 staged LUNs × 20 MiB header regions
 * (mostly zeros, a few unique regions each). Day 1 from empty, day 2 with 4 KiB
 * changed in 5 LUNs, day 3 unchanged; then one 1.5 GiB support-grade dump.
 * Prints wall time, bytes uploaded, PUT requests, the collector's peak RSS, and the
 * ratio of wall time to reading + hashing the same bytes in one pass; also gzip
 * levels on real chunk shapes, `--version` against `node -e 0`, and the bundle size.
 * Run alone: `npx tsx test/bench/collector.bench.ts`. No assertions.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, writeSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { spawnServer } from '../helpers/spawn-server.js';
import { writeVmfsDevice, type Region } from '../fixtures/vmfs-images.js';
import { BUNDLE, buildBundle, freePort } from '../collector/run-collector.js';
import { GZIP_LEVEL } from '../../collector/chunker.js';
import { freshBucket, s3TestConfig } from '../helpers/swift.js';
import { createDatabase } from '../helpers/database.js';

const MiB = 1024 * 1024;
const LUNS = 50;
const LUN_BYTES = 20 * MiB;
const TOKEN = 'collector-bench-bootstrap-token-0123456789';

/** A few unique regions per LUN, like real header dumps: metadata blocks amid zeros. */
function uniqueRegions(i: number): Region[] {
  const regions: Region[] = [];
  for (let k = 0; k < 4; k++) regions.push({ offset: (3 + k * 4) * MiB + i * 8192, bytes: randomBytes(8192 + k * 4096) });
  return regions;
}

interface Run {
  seconds: number;
  report: any;
  peakRssMb: number;
}

/** Runs the bundle under /usr/bin/time to learn its peak RSS. */
function collect(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const timeFile = join(tmpdir(), `collector-bench-time-${process.pid}`);
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%M', '-o', timeFile, process.execPath, BUNDLE, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - start) / 1000;
      try {
        const report = JSON.parse(out);
        resolve({ seconds, report, peakRssMb: Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop()) / 1024 });
      } catch {
        reject(new Error(`collector exited ${code}: ${err}\n${out.slice(0, 500)}`));
      }
    });
  });
}

/** Reads and SHA-256s the first `bytes` of each file in 1 MiB pieces: the floor any collector pays. */
function readAndHash(files: string[], bytes: number): number {
  const buf = Buffer.allocUnsafe(MiB);
  const start = performance.now();
  for (const f of files) {
    const fd = openSync(f, 'r');
    const whole = createHash('sha256');
    for (let off = 0; off < bytes; off += MiB) {
      const n = readSync(fd, buf, 0, Math.min(MiB, bytes - off), off);
      if (n === 0) break;
      const piece = buf.subarray(0, n);
      createHash('sha256').update(piece).digest();
      whole.update(piece);
    }
    whole.digest();
    closeSync(fd);
  }
  return (performance.now() - start) / 1000;
}

function timeCommand(args: string[], runs: number): number {
  execFileSync(process.execPath, args);
  const start = performance.now();
  for (let i = 0; i < runs; i++) execFileSync(process.execPath, args);
  return (performance.now() - start) / runs;
}

function gzipLevels(sample: Buffer[]): void {
  for (const level of [1, 3, 6, 9]) {
    const start = performance.now();
    let out = 0;
    for (let rep = 0; rep < 3; rep++) for (const c of sample) out += gzipSync(c, { level }).length;
    const ms = (performance.now() - start) / 3;
    console.log(`  gzip level ${level}: ${(out / 3 / 1024).toFixed(1)} KiB from ${sample.length} MiB of dump chunks in ${ms.toFixed(1)} ms`);
  }
}

export async function run(): Promise<void> {
  buildBundle();
  const dir = mkdtempSync(join(tmpdir(), 'collector-bench-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const extra: Record<string, string> = {};
  let flavour = 'embedded (PGlite + filesystem store)';
  let dropDatabase = async () => {};
  const s3 = s3TestConfig();
  if (process.env.TEST_DATABASE_URL && s3) {
    // CI's variables: a fresh database beside TEST_DATABASE_URL's and a fresh bucket.
    const created = await createDatabase(process.env.TEST_DATABASE_URL, 'vrc_bench');
    dropDatabase = created.drop;
    const bucket = await freshBucket(s3, 'bench');
    Object.assign(extra, {
      DATABASE_URL: created.url, S3_ENDPOINT: s3.endpoint, S3_BUCKET: bucket, S3_REGION: s3.region, S3_FORCE_PATH_STYLE: String(s3.forcePathStyle),
      AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    flavour = `Postgres (${new URL(created.url).pathname.slice(1)}) + S3 (${s3.endpoint}, bucket ${bucket})`;
  } else {
    console.log(`Postgres + S3 not run: ${process.env.TEST_DATABASE_URL ? 'S3_ENDPOINT' : 'TEST_DATABASE_URL'} is not set`);
  }
  const server = await spawnServer({ DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: TOKEN, PORT: String(await freePort()), ...extra }, 300_000);
  try {
    const devDir = join(dir, 'root', 'dev');
    mkdirSync(devDir, { recursive: true });
    const files: string[] = [];
    for (let i = 0; i < LUNS; i++) {
      const f = join(devDir, `lun${i}`);
      await writeVmfsDevice(f, { lvmMajor: 5, deviceId: `naa.600144f0c0ffee0000000000000${(0x1000 + i).toString(16)}`, lun: i, noiseSeed: i + 1, extraRegions: uniqueRegions(i) }, LUN_BYTES);
      files.push(f);
    }
    const env = { ...process.env, CATALOG_TOKEN: TOKEN, VMFS_COLLECTOR_CONFIG: join(dir, 'none.json') };
    const args = ['collect', '--json', '--quiet', '--root', join(dir, 'root'), '--host', 'bench', '--spool', join(dir, 'spool'), '--url', server.url, ...files.map((_, i) => `--device=/dev/lun${i}`)];

    console.log(`catalog: ${flavour}; ${LUNS} LUNs × ${LUN_BYTES / MiB} MiB = ${(LUNS * LUN_BYTES) / MiB} MiB per day`);
    const baseline = readAndHash(files, LUN_BYTES);
    console.log(`read + sha256 of the same bytes in one pass: ${baseline.toFixed(2)} s`);
    const line = (day: string, r: Run) =>
      console.log(
        `${day.padEnd(28)} wall ${r.seconds.toFixed(2).padStart(6)} s  (${(r.seconds / baseline).toFixed(2)} × read+hash)  ` +
        `uploaded ${String(r.report.bytesUploaded).padStart(9)} B in ${String(r.report.putRequests).padStart(3)} PUTs  ` +
        `read ${(r.report.bytesRead / MiB).toFixed(0)} MiB  peak RSS ${r.peakRssMb.toFixed(0)} MB  exit ${r.report.exitCode}\n` +
        `${''.padEnd(28)} of which read+hash+stage ${r.report.readSeconds.toFixed(2)} s (${(r.report.readSeconds / baseline).toFixed(2)} × read+hash), ` +
        `catalog round trips (begin, PUTs, commit) ${(r.report.seconds - r.report.readSeconds).toFixed(2)} s, process start ${(r.seconds - r.report.seconds).toFixed(2)} s`,
      );

    line('day 1 (empty catalog)', await collect(args, env));
    for (let i = 0; i < 5; i++) {
      const fd = openSync(files[i * 10], 'r+');
      // Inside a chunk that was all zeros: a change amid dense data re-sends that chunk's dense bytes too.
      writeSync(fd, randomBytes(4096), 0, 4096, 9 * MiB + i * 4096);
      closeSync(fd);
    }
    line('day 2 (4 KiB changed in 5)', await collect(args, env));
    line('day 3 (unchanged)', await collect(args, env));

    // A support-grade dump: 1.5 GiB through the same chunker, memory must stay flat.
    const big = join(devDir, 'support');
    await writeVmfsDevice(big, { lvmMajor: 6, noiseSeed: 99 }, 1536 * MiB);
    const bigRun = await collect(['collect', '--json', '--quiet', '--root', join(dir, 'root'), '--host', 'bench-support', '--spool', join(dir, 'spool'), '--url', server.url, '--device=/dev/support', '--header-bytes', '1536M'], env);
    line('1.5 GiB support dump', bigRun);
    console.log(`  (read + sha256 of 1.5 GiB alone: ${readAndHash([big], 1536 * MiB).toFixed(2)} s)`);

    const sample: Buffer[] = [];
    const fd = openSync(files[0], 'r');
    for (let m = 0; m < 20; m++) {
      const b = Buffer.alloc(MiB);
      readSync(fd, b, 0, MiB, m * MiB);
      sample.push(b);
    }
    closeSync(fd);
    console.log(`gzip levels on one LUN's 20 chunks (the collector uses level ${GZIP_LEVEL}):`);
    gzipLevels(sample);

    const base = timeCommand(['-e', '0'], 15);
    const version = timeCommand([BUNDLE, '--version'], 15);
    console.log(`startup: node -e 0 ${base.toFixed(1)} ms, collector --version ${version.toFixed(1)} ms (${(version / base).toFixed(2)} ×)`);
    console.log(`bundle: dist/collector.cjs ${(statSync(BUNDLE).size / 1024).toFixed(1)} KiB`);
  } finally {
    await server.stop();
    await dropDatabase();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
