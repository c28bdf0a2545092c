import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, serverProcessesOf } from '../../api/config.js';
import { reportMissingService, type TestCatalog } from '../helpers/catalog.js';
import { createDatabase, PG_TEMPLATE_ENV } from '../helpers/database.js';
import { commit, begin, prepareCapture, remoteCatalog, uploadMissing } from '../helpers/ingest-client.js';
import { freePort } from '../helpers/server-child.js';
import { runNode, SERVER_BUNDLE, spawnServer, type ServerProcess } from '../helpers/spawn-server.js';

const onLinux = existsSync('/proc/self/stat');

/** Live children of `pid` (a zombie is not live), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const [state, ppid] = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(ppid) === pid && state !== 'Z') out.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return out.sort((a, b) => a - b);
}

function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Inodes of the established TCP connections whose local port is `port` (the server's side of each). */
function serverSideSockets(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = Number.parseInt(f[1].split(':')[1], 16);
      if (local === port && f[3] === '01') inodes.add(f[9]);
    }
  }
  return inodes;
}

/** How many of `inodes` the process holds open. */
function socketsHeldBy(pid: number, inodes: Set<string>): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1])) n++;
    } catch {
      /* closed meanwhile */
    }
  }
  return n;
}

async function until<T>(what: string, probe: () => T | undefined | false, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A request on a connection of its own (no keep-alive): consecutive requests reach the workers in turn. */
function freshConnection(url: string, init: RequestInit & { token?: string | null }, adminToken: string): Promise<Response> {
  const { token = adminToken, method = 'GET', body } = init;
  const headers: Record<string, string> = Object.fromEntries(new Headers(init.headers).entries());
  if (token) headers.authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        resolve(new Response(Buffer.concat(parts), { status: res.statusCode ?? 0, headers: h }));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body === undefined || body === null ? undefined : typeof body === 'string' ? body : Buffer.from(body as Uint8Array));
  });
}

/** Opens `n` connections at once, each answered and kept open; returns the function that closes them. */
async function openConnections(url: string, n: number): Promise<() => void> {
  const { Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: n });
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve, reject) => {
          httpRequest(`${url}/healthz`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve());
          })
            .on('error', reject)
            .end();
        }),
    ),
  );
  return () => agent.destroy();
}

const databaseUrl = process.env.TEST_DATABASE_URL;
if (!databaseUrl) reportMissingService('[server processes] PostgreSQL tests not run', 'TEST_DATABASE_URL is not set (CI sets it; see .ci/run)');

describe.skipIf(!databaseUrl || !onLinux)('the server as several processes on PostgreSQL', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-processes-'));
  const token = `processes-admin-${randomBytes(16).toString('hex')}`;
  const servers: ServerProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const s of servers) {
      const workers = childrenOf(s.child.pid!);
      await s.stop('SIGKILL');
      for (const w of workers) if (alive(w)) process.kill(w, 'SIGKILL');
    }
    for (const c of cleanups) await c();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(env: Record<string, string>): Promise<ServerProcess> {
    const server = await spawnServer(env);
    servers.push(server);
    return server;
  }

  async function freshEnv(): Promise<Record<string, string>> {
    const created = await createDatabase(databaseUrl!, 'vrc_test', process.env[PG_TEMPLATE_ENV]);
    cleanups.push(created.drop);
    const port = await freePort();
    return {
      DATA_DIR: mkdtempSync(join(dataDir, 'd-')),
      DATABASE_URL: created.url,
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      CATALOG_BOOTSTRAP_TOKEN: token,
      SERVER_PROCESSES: '2',
    };
  }

  // Two servers, started at once: one for the tests that leave it running (the last of them,
  // a worker killed, stops it with SIGTERM), one for the kill -9 of the primary.
  const started = async () => {
    const env = await freshEnv();
    return { env, server: await start(env) };
  };
  let shared: ReturnType<typeof started>;
  let killed: ReturnType<typeof started>;
  beforeAll(async () => {
    shared = started();
    killed = started();
    await Promise.all([shared, killed]);
  }, 300_000);

  it('serves requests from more than one process, and a capture whose steps reach different processes commits', { timeout: 300_000 }, async () => {
    const { env, server } = await shared;
    expect(server.stdout()).toContain('processes: 2');
    // Printed once, by the primary, not once per worker.
    expect(server.stdout().match(/listening on/g)).toHaveLength(1);
    const workers = await until('two workers', () => {
      const w = childrenOf(server.child.pid!);
      return w.length === 2 && w;
    });

    const close = await openConnections(server.url, 8);
    try {
      const inodes = serverSideSockets(Number(env.PORT));
      const held = workers.map((w) => socketsHeldBy(w, inodes));
      // Every connection is a worker's; none stays with the primary, and both workers have some.
      expect(held.reduce((a, b) => a + b, 0)).toBe(8);
      expect(socketsHeldBy(server.child.pid!, inodes)).toBe(0);
      expect(held.every((n) => n >= 1)).toBe(true);
    } finally {
      close();
    }

    // Upload URLs signed by one process are taken by another; the commit finds what they stored.
    const catalog = remoteCatalog(server.url, token);
    const spread = Object.assign(Object.create(catalog) as TestCatalog, {
      request: (path: string, init: RequestInit & { token?: string | null } = {}) => freshConnection(server.url + path, init, token),
    });
    for (let i = 0; i < 4; i++) {
      const prepared = prepareCapture({
        host: `esx-processes-${i}`,
        artifacts: [{ kind: 'unknown', fileName: 'notes.txt', bytes: randomBytes(3000 + i) }],
      });
      await uploadMissing(spread, prepared, await begin(spread, prepared.request));
      const done = await commit(spread, prepared.request.captureId);
      expect(done.state).toBe('committed');
    }
    const hosts = await (await catalog.request('/v1/hosts')).json();
    expect(JSON.stringify(hosts)).toContain('esx-processes-3');
  });

  it('a revocation takes effect at once in every process, not after the verified-token memory runs out', { timeout: 300_000 }, async () => {
    const { env, server } = await shared;
    const workers = await until('two workers', () => {
      const w = childrenOf(server.child.pid!);
      return w.length === 2 && w;
    });
    const made = await freshConnection(
      `${server.url}/v1/tokens`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ role: 'operator', name: 'revoked-at-once' }) },
      token,
    );
    expect(made.status).toBe(201);
    const { id, token: secret } = (await made.json()) as { id: string; token: string };
    // Used on connections that reach both workers: each remembers the token (VERIFIED_TOKEN_MS, 5 s).
    const use = () => Promise.all(Array.from({ length: 8 }, () => freshConnection(`${server.url}/v1/hosts`, {}, secret).then((r) => r.status)));
    const close = await openConnections(server.url, 8);
    const held = workers.map((w) => socketsHeldBy(w, serverSideSockets(Number(env.PORT))));
    close();
    expect(held.every((n) => n >= 1)).toBe(true);
    expect(await use()).toEqual(Array(8).fill(200));
    const revoked = await freshConnection(`${server.url}/v1/tokens/${id}`, { method: 'DELETE' }, token);
    expect(revoked.status).toBeLessThan(300);
    // Within the 5 s a worker would otherwise still take it: refused everywhere.
    expect(await use()).toEqual(Array(8).fill(401));
  });

  it('a kill -9 of the primary leaves no process behind and the port free; a restart answers at once', { timeout: 300_000 }, async () => {
    const { env, server: first } = await killed;
    const workers = await until('two workers', () => {
      const w = childrenOf(first.child.pid!);
      return w.length === 2 && w;
    });
    expect(await first.stop('SIGKILL')).toBe('SIGKILL');
    await until('the workers to exit', () => workers.every((w) => !alive(w)), 30_000);
    // The port is free: nothing listens on it any more.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(Number(env.PORT), '127.0.0.1', () => resolve()));
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const second = await start(env);
    expect(second.url).toBe(`http://127.0.0.1:${env.PORT}`);
    const res = await remoteCatalog(second.url, token).request('/v1/hosts');
    expect(res.status).toBe(200);
  });

  it('a worker that dies is replaced, with a log line; SIGTERM stops every process', { timeout: 300_000 }, async () => {
    const { env, server } = await shared;
    const primary = server.child.pid!;
    const workers = await until('two workers', () => {
      const w = childrenOf(primary);
      return w.length === 2 && w;
    });
    process.kill(workers[0], 'SIGKILL');
    const replaced = await until('a replacement worker', () => {
      const now = childrenOf(primary);
      return now.length === 2 && !now.includes(workers[0]) && now;
    });
    expect(replaced).toContain(workers[1]);
    await until('the log line', () => server.stderr().includes('server process exited; starting another'));
    const line = server
      .stderr()
      .split('\n')
      .find((l) => l.includes('server process exited; starting another'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 'warn', pid: workers[0], signal: 'SIGKILL' });
    // The replacement serves: once it listens, new connections reach it as well as the other worker.
    const newcomer = replaced.find((w) => w !== workers[1])!;
    const end = Date.now() + 60_000;
    for (;;) {
      const close = await openConnections(server.url, 8);
      const held = socketsHeldBy(newcomer, serverSideSockets(Number(env.PORT)));
      close();
      if (held >= 1) break;
      if (Date.now() > end) throw new Error('the replacement worker took no connection');
      await new Promise((r) => setTimeout(r, 200));
    }

    expect(await server.stop('SIGTERM')).toBe(0);
    await until('every worker to exit', () => replaced.every((w) => !alive(w)), 30_000);
  });
});

describe('the embedded database and SERVER_PROCESSES', () => {
  it('refuses more than one process with one line naming the setting', { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vrc-processes-embedded-'));
    try {
      const run = await runNode([SERVER_BUNDLE], { DATA_DIR: dataDir, PORT: '0', SERVER_PROCESSES: '2' }, 60_000);
      expect(run.status).toBe(78);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        'catalog: invalid configuration: SERVER_PROCESSES: 2 needs PostgreSQL (DATABASE_URL or DATABASE_SECRET_ARN); the embedded database allows one process\n',
      );
      // Refused before the database was opened: no lock, no database made.
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('SERVER_PROCESSES=auto', () => {
  const pg = { DATABASE_URL: 'postgres://catalog@db/catalog' };
  it('is one fewer than the cores on PostgreSQL, at least 1 and at most 4; 1 on the embedded database', () => {
    const auto = (env: Record<string, string>, cores: number) => serverProcessesOf(loadConfig(env), cores);
    expect([1, 2, 3, 4, 5, 8, 64].map((cores) => auto(pg, cores))).toEqual([1, 1, 2, 3, 4, 4, 4]);
    expect([1, 2, 8].map((cores) => auto({}, cores))).toEqual([1, 1, 1]);
    expect(auto({ ...pg, SERVER_PROCESSES: '6' }, 2)).toBe(6);
    expect(auto({ SERVER_PROCESSES: '1' }, 8)).toBe(1);
    expect(() => auto({ SERVER_PROCESSES: '2' }, 8)).toThrow(ConfigError);
    expect(() => loadConfig({ SERVER_PROCESSES: '0' })).toThrow(ConfigError);
  });
});
