/**
 * Runs the collector the way a user does: `node dist/collector.cjs …` (built once per test
 * run by test/helpers/build-once.ts), spawned asynchronously (an in-process server may
 * have to answer).
 */
import { runProcess } from '../helpers/spawn-server.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BUNDLE = join(ROOT, 'dist', 'collector.cjs');

/** The bundle the run's global setup built; a clear failure when a suite runs outside vitest's setup. */
export function buildBundle(): void {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run the tests with vitest (its globalSetup builds it) or \`npm run build\``);
}

/** This process's environment without the catalog and collector settings of the one running the tests, and `config` as the config file. */
export function isolatedEnv(config: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(CATALOG_|COLLECTOR_)/.test(k)) env[k] = v;
  return { ...env, VMFS_COLLECTOR_CONFIG: config };
}

export interface CollectorRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Spawns the bundle with args and env; resolves when it exits. */
export async function runCollector(args: string[], env: NodeJS.ProcessEnv = process.env, cwd: string = ROOT): Promise<CollectorRun> {
  const r = await runProcess(process.execPath, [BUNDLE, ...args], { env, cwd });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
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

/**
 * A catalog that holds nothing, on a real socket: every request is answered 404 in the JSON
 * error shape (a restore asks once and is told so), and the Authorization header each sent is
 * kept in `seen`, for the tests of what token a collector sends.
 */
export async function emptyCatalog(): Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
  const { createServer } = await import('node:http');
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(String(req.headers.authorization));
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'no volume', requestId: 'r' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as import('node:net').AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * A catalog's app on a real socket of its own (127.0.0.1, a free port), for a collector to
 * reach: `before`, when given, sees each request first (to count it, or to hold it a while).
 */
export async function serveApp(
  app: { fetch: (req: Request, env: unknown) => Response | Promise<Response> },
  before?: (req: Request) => unknown,
): Promise<{ url: string; close: () => Promise<void> }> {
  const { serve } = await import('@hono/node-server');
  const server = serve({
    fetch: async (req: Request, env: unknown) => {
      await before?.(req);
      return app.fetch(req, env);
    },
    port: 0,
    hostname: '127.0.0.1',
  });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const { port } = server.address() as import('node:net').AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
