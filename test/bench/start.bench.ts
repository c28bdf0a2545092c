/**
 * Start time of the embedded catalog: from spawning the process to the first 200 from
 * `/healthz`, on a fresh data directory (first start: database created and migrated) and
 * again on the same directory (restart), for the built bundle (`node dist/server.mjs`)
 * and through `npm start` with the build up to date (`infra/build.mjs --if-changed` then
 * checks file sizes and times and runs no esbuild); with BENCH_START_TSX=1 also for
 * `tsx api/server.ts`. A fresh data directory is seeded from the migrated template
 * (db/client.ts), made before the timed runs. Yardstick: a bare `node:http` server
 * answering the same way, started the same way in the same run. Medians of BENCH_RUNS
 * (default 3); prints seconds and ratios, asserts nothing.
 *
 *   npx tsx test/bench/run.ts start
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, serverEnv } from '../helpers/spawn-server.js';
import { freePort } from '../collector/run-collector.js';

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? '3'));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Seconds from spawn to the first 200 from /healthz; the process is then stopped (SIGTERM) and awaited. */
async function timeToHealthy(args: string[], env: Record<string, string>): Promise<number> {
  const port = await freePort();
  const start = performance.now();
  const [file, ...rest] = args[0] === 'npm' ? args : [process.execPath, ...args];
  // Its own process group, so `npm start`'s server child is stopped with it.
  const child = spawn(file, rest, {
    cwd: ROOT,
    env: serverEnv({ ...env, PORT: String(port), HOST: '127.0.0.1' }),
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${err}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        if (res.status === 200) return (performance.now() - start) / 1000;
      } catch {
        /* not listening yet */
      }
      if (performance.now() - start > 120_000) throw new Error(`no /healthz in 120 s: ${err}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* gone */
    }
    await exited;
    // The server lets open connections finish before it exits: wait until it let go of the data dir.
    while (env.DATA_DIR && existsSync(join(env.DATA_DIR, 'catalog.lock'))) await new Promise((r) => setTimeout(r, 20));
  }
}

const BARE = `require('node:http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end('{"status":"ok"}'); }).listen(Number(process.env.PORT), '127.0.0.1')`;

export async function run(): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, 'infra/build.mjs'), '--quiet', '--server', '--if-changed'], { cwd: ROOT, stdio: 'inherit' });
  const ways: Array<[string, string[]]> = [
    ...(process.env.BENCH_START_TSX === '1' ? [['tsx api/server.ts', ['--import', 'tsx', join(ROOT, 'api/server.ts')]] as [string, string[]]] : []),
    ['node dist/server.mjs', [join(ROOT, 'dist/server.mjs')]],
    // What an operator types: npm, then the build's up-to-date check, then the bundle.
    ['npm start', ['npm', 'start', '--silent']],
  ];
  // The template is made by the first start that needs one (initdb + migrations): not timed.
  const warm = mkdtempSync(join(tmpdir(), 'vrc-start-'));
  try {
    await timeToHealthy([join(ROOT, 'dist/server.mjs')], { DATA_DIR: warm, CATALOG_BOOTSTRAP_TOKEN: 'start-bench-token-0123456789abcdef', LOG_LEVEL: 'warn' });
  } finally {
    rmSync(warm, { recursive: true, force: true });
  }
  const bare: number[] = [];
  const results = new Map<string, { first: number[]; again: number[] }>(ways.map(([n]) => [n, { first: [], again: [] }]));
  for (let r = 0; r < RUNS; r++) {
    bare.push(await timeToHealthy(['-e', BARE], {}));
    for (const [name, args] of ways) {
      const dataDir = mkdtempSync(join(tmpdir(), 'vrc-start-'));
      try {
        const env = { DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: 'start-bench-token-0123456789abcdef', LOG_LEVEL: 'warn' };
        results.get(name)!.first.push(await timeToHealthy(args, env));
        results.get(name)!.again.push(await timeToHealthy(args, env));
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }
  const b = median(bare);
  console.log(`embedded catalog to its first /healthz 200, medians of ${RUNS} (bare node:http server ${b.toFixed(2)} s):`);
  for (const [name] of ways) {
    const { first, again } = results.get(name)!;
    const f = median(first);
    const a = median(again);
    console.log(
      `  ${name.padEnd(22)} fresh data dir ${f.toFixed(2)} s (${(f / b).toFixed(1)} × bare)   restart ${a.toFixed(2)} s (${(a / b).toFixed(1)} × bare)`,
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
