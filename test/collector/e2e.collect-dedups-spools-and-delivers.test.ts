/**
 * The collector bundle against the real catalog (the app `npm start` serves, embedded flavour,
 * opened in this process on its own data dir and port, so it can be stopped and started again
 * there; the collector is the process under test):
 * a staged ESXi host is captured; a second run uploads no chunk bytes; 4 KiB changed
 * in one device uploads exactly one chunk; with the catalog down the capture is spooled
 * (exit 75) and the next run delivers it once. A second, empty catalog (in this process: only
 * what it holds matters there) has the spool re-read chunks it believed delivered.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readdirSync, rmSync, writeSync, closeSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '@hono/node-server';
import { createApp } from '../../api/app.js';
import { openServices } from '../../api/boot.js';
import { loadConfig } from '../../api/config.js';
import { createLogger } from '../../api/logger.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { MiB, stageEsxiHost, type EsxiHost } from '../helpers/staged-hosts.js';
import { buildBundle, freePort, runJson } from './run-collector.js';

const TOKEN = 'collector-e2e-bootstrap-token-0123456789';
/** A fresh embedded catalog can take long on a loaded machine. */
const SERVER_START_MS = 180_000;

/** The catalog of `dataDir` served on 127.0.0.1:`port` from this process, as `npm start` serves it. */
async function serveCatalog(dataDir: string, port: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const url = `http://127.0.0.1:${port}`;
  const config = loadConfig({ DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: TOKEN, PORT: port, PUBLIC_URL: url, LOG_LEVEL: 'silent' });
  const opened = await openServices(config, { logger: createLogger('silent') });
  const server = serve({ fetch: createApp(opened.services).fetch, port: Number(port), hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  let stopped: Promise<void> | undefined;
  return {
    url,
    stop: () =>
      (stopped ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
        await opened.close();
      })()),
  };
}

describe('collect against the real catalog', { timeout: 120_000 }, () => {
  let dataDir: string;
  let server: Awaited<ReturnType<typeof serveCatalog>>;
  let other: TestCatalog;
  let host: EsxiHost;
  let spool: string;
  let port: string;

  const collect = (extra: string[] = []) =>
    runJson(
      ['collect', '--json', '--root', host.root, '--host', 'esxi-e2e', '--spool', spool, '--url', `http://127.0.0.1:${port}`, '--retries', '1', ...extra],
      { ...host.env, CATALOG_TOKEN: TOKEN },
    );

  const manifests = () => {
    const dir = join(dataDir, 'blobs', 'manifests', 'esxi-e2e');
    return existsSync(dir)
      ? readdirSync(dir)
          .filter((n) => n.endsWith('.json.gz'))
          .sort()
      : [];
  };

  beforeAll(async () => {
    buildBundle();
    dataDir = mkdtempSync(join(tmpdir(), 'collector-e2e-data-'));
    port = String(await freePort());
    // At once: the server, the second catalog and the staged host.
    [server, other, host] = await Promise.all([
      serveCatalog(dataDir, port),
      startTestCatalog('embedded', { listen: true, env: { CATALOG_BOOTSTRAP_TOKEN: TOKEN } }),
      stageEsxiHost([
        { deviceId: 'naa.6006016012345678abcdef0123450001', index: 1, sizeBytes: 48 * MiB },
        { deviceId: 'naa.6006016012345678abcdef0123450002', index: 2, sizeBytes: 48 * MiB },
      ]),
    ]);
    spool = join(host.dir, 'spool');
  }, SERVER_START_MS + 60_000);

  afterAll(async () => {
    await server?.stop();
    await other?.close();
    host?.cleanup();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('captures every extent, volume and the inventory, and the catalog parses them all', async () => {
    const r = await collect();
    expect(r.code, r.stderr).toBe(0);
    const [c] = r.json.captures;
    expect(c.state).toBe('committed');
    expect(c.hostKind).toBe('esxi');
    expect(c.artifacts.map((a: any) => a.kind).sort()).toEqual(['esx-inventory', 'vh-sf', 'vh-sf', 'vmfs-header', 'vmfs-header']);
    for (const a of c.artifacts) expect([a.kind, a.status, a.parseStatus]).toEqual([a.kind, 'ok', 'ok']);
    expect(r.json.chunksUploaded).toBeGreaterThan(0);
    // Mostly-zero dumps go up compressed: far fewer bytes than were read.
    expect(r.json.bytesUploaded).toBeLessThan(r.json.bytesRead / 20);
    expect(manifests()).toEqual([`${c.captureId}.json.gz`]);
  });

  it('uploads no chunk bytes the second time', async () => {
    const r = await collect();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.captures[0].state).toBe('committed');
    expect(r.json.bytesUploaded).toBe(0);
    expect(r.json.putRequests).toBe(0);
    expect(r.json.chunks).toBeGreaterThan(40);
  });

  it('uploads exactly one chunk after 4 KiB changed in one device', async () => {
    const fd = openSync(join(host.root, host.devices[0].path), 'r+');
    writeSync(fd, randomBytes(4096), 0, 4096, 9 * MiB + 12345);
    closeSync(fd);
    const r = await collect();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.chunksUploaded).toBe(1);
    expect(r.json.putRequests).toBe(1);
  });

  it('spools the capture while the catalog is down (exit 75) and delivers it once when it is back', { timeout: SERVER_START_MS + 120_000 }, async () => {
    const before = manifests();
    await server.stop();
    const down = await collect();
    expect(down.code, down.stderr).toBe(75);
    expect(down.json.captures[0].state).toBe('spooled');
    const spooledId = down.json.captures[0].captureId;
    expect(readdirSync(join(spool, 'captures'))).toEqual([`${spooledId}.json`]);

    server = await serveCatalog(dataDir, port);
    const up = await collect();
    expect(up.code, up.stderr).toBe(0);
    expect(up.json.spool).toEqual({ delivered: [spooledId], pending: 0, rejected: [], setAside: 0 });
    expect(readdirSync(join(spool, 'captures'))).toEqual([]);
    // Nothing changed on the host: neither capture needed a chunk upload.
    expect(up.json.bytesUploaded).toBe(0);
    const after = manifests();
    expect(after.length).toBe(before.length + 2);
    expect(after).toContain(`${spooledId}.json.gz`);
    expect(new Set(after).size).toBe(after.length);
  });

  it('re-reads and re-declares chunks a catalog lacks although the spool believes it holds them', { timeout: SERVER_START_MS + 120_000 }, async () => {
    // A second, empty catalog: every chunk in the spool's known list is stale there.
    const r = await runJson(['collect', '--json', '--root', host.root, '--host', 'esxi-e2e', '--spool', spool, '--url', other.url, '--retries', '1'], {
      ...host.env,
      CATALOG_TOKEN: TOKEN,
    });
    expect(r.code, r.stderr + JSON.stringify(r.json.captures[0]?.error)).toBe(0);
    const [c] = r.json.captures;
    expect(c.state).toBe('committed');
    for (const a of c.artifacts) expect([a.kind, a.parseStatus]).toEqual([a.kind, 'ok']);
    expect(r.json.chunksUploaded).toBeGreaterThan(5);
    // Re-read chunks went up compressed too.
    expect(r.json.bytesUploaded).toBeLessThan(r.json.bytesRead / 20);
  });
});
