/**
 * `api/server.ts` as one child process on a port chosen up front (so PUBLIC_URL can
 * name it), for tests that kill -9 it or need its data dir held.
 */
import { createServer } from 'node:net';
import { spawnServer } from './spawn-server.js';

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
  const server = await spawnServer(env);
  return { url: server.url, pid: server.child.pid!, kill: (signal) => server.stop(signal) };
}

/** Environment for a server child on a fixed free port with its own data dir and admin token. */
export async function serverChildEnv(dataDir: string, adminToken: string): Promise<Record<string, string>> {
  const port = await freePort();
  return { DATA_DIR: dataDir, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, CATALOG_BOOTSTRAP_TOKEN: adminToken };
}
