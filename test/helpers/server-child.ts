/**
 * `api/server.ts` as ONE child process (node --import tsx), for tests that kill -9 it or
 * need its data dir held. The tsx CLI would run the server in a grandchild that a
 * SIGKILL of the CLI leaves running, still holding the embedded database.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, serverEnv } from './spawn-server.js';

export interface ServerChild {
  url: string;
  pid: number;
  kill(signal: NodeJS.Signals): Promise<number | string>;
}

/** A free loopback port, so PUBLIC_URL (in upload URLs) can name it before the server starts. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Starts the server with `env` (DATA_DIR, PORT, PUBLIC_URL, …) and waits for its listening line. */
export async function startServerChild(env: Record<string, string>): Promise<ServerChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'api/server.ts')], { cwd: ROOT, env: serverEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<number | string>((r) => child.once('exit', (code, signal) => r(signal ?? code ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve(m[1]);
    });
    void exited.then((code) => reject(new Error(`server exited (${code}) before listening: ${err}`)));
  });
  return {
    url,
    pid: child.pid!,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Environment for a server child on a fixed free port with its own data dir and admin token. */
export async function serverChildEnv(dataDir: string, adminToken: string): Promise<Record<string, string>> {
  const port = await freePort();
  return { DATA_DIR: dataDir, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, CATALOG_BOOTSTRAP_TOKEN: adminToken };
}
