/**
 * Runs the collector the way a user does: `node dist/collector.cjs …`, built once
 * per test process, spawned asynchronously (an in-process server may have to answer).
 */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BUNDLE = join(ROOT, 'dist', 'collector.cjs');

let built = false;

/** Builds dist/collector.cjs (once per process). */
export function buildBundle(): void {
  if (built) return;
  execFileSync(process.execPath, [join(ROOT, 'infra', 'build.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' });
  built = true;
}

export interface CollectorRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Spawns the bundle with args and env; resolves when it exits. */
export function runCollector(args: string[], env: NodeJS.ProcessEnv = process.env, cwd: string = ROOT): Promise<CollectorRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUNDLE, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Runs with `--json` already in args and parses stdout. */
export async function runJson<T = any>(args: string[], env?: NodeJS.ProcessEnv, cwd?: string): Promise<CollectorRun & { json: T }> {
  const r = await runCollector(args, env, cwd);
  let json: T;
  try {
    json = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`collector ${args.join(' ')} exited ${r.code} without JSON on stdout\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return { ...r, json };
}

/** A TCP port free right now on 127.0.0.1 (the catalog builds its upload URLs from PORT, so 0 will not do). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
