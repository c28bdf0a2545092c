/**
 * Runs the real server as ONE child process — `dist/server.mjs`, the file `npm start`
 * runs, built once per test run by test/helpers/build-once.ts — on a free
 * port, and waits for its "listening" line. Used by tests that kill -9 it, restart it,
 * or drive it with the collector bundle.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** The environment a server child gets: ours, minus anything that would switch it off the embedded default. */
export function serverEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(DATABASE_URL|S3_|CATALOG_|PUBLIC_URL|PORT$|HOST$|DATA_DIR$)/.test(k)) continue;
    env[k] = v;
  }
  // No maintenance pass of its own a minute in (a listing, a scrub): a test or benchmark that
  // wants one asks for it, or passes MAINTENANCE_SCHEDULED=true.
  return { ...env, LOG_LEVEL: 'warn', MAINTENANCE_SCHEDULED: 'false', ...extra };
}

/** What a process run to its end (runNode) printed and exited with. */
export interface NodeRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `command args` run to its end asynchronously (so tests may run several at once), its output
 * and exit status; killed with SIGKILL after `timeoutMs` when given; `spawned` is handed the
 * child, for a test that must be able to kill it early.
 */
export function runProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; spawned?: (child: ChildProcess) => void } = {},
): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    options.spawned?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** `node args` from the repository root with serverEnv(env), run to its end (runProcess). */
export function runNode(args: string[], env: Record<string, string>, timeoutMs: number, spawned?: (child: ChildProcess) => void): Promise<NodeRun> {
  return runProcess(process.execPath, args, { env: serverEnv(env), cwd: ROOT, timeoutMs, spawned });
}

/** The built server `npm start` runs (test/helpers/build-once.ts builds it before any suite). */
export const SERVER_BUNDLE = join(ROOT, 'dist/server.mjs');

/** Starts `node dist/server.mjs` with the given env (DATA_DIR required) on PORT=0 unless given. */
/** `as`: the user to run it as (uid and gid; the test must be root). */
export async function spawnServer(env: Record<string, string>, timeoutMs = 120_000, as?: { uid: number; gid: number }): Promise<ServerProcess> {
  // SERVER_NODE_ARGS: node options for the server only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" in a benchmark.
  const nodeArgs = (process.env.SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, SERVER_BUNDLE], {
    cwd: ROOT,
    env: serverEnv({ PORT: '0', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...as,
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`)), timeoutMs);
    const check = () => {
      const m = /listening on (http:\/\/[\d.:[\]]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  return {
    child,
    url,
    exited,
    stdout: () => out,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
