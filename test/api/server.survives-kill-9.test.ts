/**
 * What a commit acknowledged survives kill -9: the capture is written in one
 * transaction on PGlite with relaxed durability off. The real `api/server.ts` runs as
 * a child on a temp data dir, takes a capture, is killed with SIGKILL and restarted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { ROOT, serverEnv } from '../helpers/spawn-server.js';
import { begin, ingest, prepareCapture, remoteCatalog } from '../helpers/ingest-client.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';

/** A free loopback port, so PUBLIC_URL (in upload URLs) can name it before the server starts. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface Child { url: string; kill(signal: NodeJS.Signals): Promise<number | string> }

/**
 * `api/server.ts` as ONE process (node --import tsx): the tsx CLI would run the server
 * in a grandchild that a SIGKILL of the CLI leaves running, holding the data dir.
 */
async function startServer(env: Record<string, string>): Promise<Child> {
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
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

describe('the server after kill -9', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-kill9-'));
  const token = `kill9-admin-${randomBytes(16).toString('hex')}`;
  const servers: Child[] = [];
  afterAll(async () => {
    for (const s of servers) await s.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps a committed capture', { timeout: 300_000 }, async () => {
    const port = await freePort();
    const env = { DATA_DIR: dataDir, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, CATALOG_BOOTSTRAP_TOKEN: token };
    const first = await startServer(env);
    servers.push(first);
    const catalog = remoteCatalog(first.url, token);
    const bytes = buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 41 });
    const done = await ingest(catalog, { host: 'esx-kill9', artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes }] });
    expect(done.state).toBe('committed');

    expect(await first.kill('SIGKILL')).toBe('SIGKILL');

    const second = await startServer(env);
    servers.push(second);
    const again = remoteCatalog(second.url, token);
    const artifact = await again.request(`/v1/artifacts/${done.artifacts[0].id}`);
    expect(artifact.status).toBe(200);
    expect(await artifact.json()).toMatchObject({ id: done.artifacts[0].id, sha256: expect.any(String) });
    const repeat = await begin(again, prepareCapture({ host: 'esx-kill9', captureId: done.captureId, artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes }] }).request);
    expect(repeat).toMatchObject({ state: 'committed', missing: [] });
    const search = await again.request(`/v1/search?q=${encodeURIComponent(DEFAULTS.deviceId.toUpperCase())}`);
    expect(search.status).toBe(200);
    expect(JSON.stringify(await search.json())).toContain(DEFAULTS.deviceId);
    await second.kill('SIGTERM');
  });
});
