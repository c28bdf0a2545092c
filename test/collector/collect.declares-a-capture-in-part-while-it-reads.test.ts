/**
 * A collector with many new chunks declares its capture in part while it still reads (POST
 * /v1/captures/{id}/partial) and sends those chunks meanwhile; the capture itself then goes as
 * always, under the same id. A catalog without the route (404: an older one) gets the capture
 * as before, from one begin. A run whose capture was declared in part and could not be
 * delivered keeps it spooled, and the next run delivers it under its id.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captures } from '../../db/schema.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { stageFolder } from '../helpers/staged-hosts.js';
import { buildBundle, runJson } from './run-collector.js';
import { startScriptedCatalog, type ScriptedCatalog } from './scripted-catalog.js';

/** Files of one chunk each, 4 KiB random amid zeros: each a new chunk sent through the catalog. */
const FILES = 40;

/** A proxy to `target` that logs each request (method and path) and answers 503 to those `refuse` names. */
async function loggingProxy(target: string) {
  const log: string[] = [];
  const state = { refuse: (_line: string) => false };
  const server: Server = createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const line = `${req.method} ${new URL(req.url!, 'http://x').pathname}`;
    log.push(line);
    if (state.refuse(line)) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      return res.end(JSON.stringify({ error: { code: 'service_unavailable', message: 'busy' } }));
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))) as Record<
      string,
      string
    >;
    const body = parts.length ? Buffer.concat(parts) : undefined;
    const answer = await fetch(`${target}${req.url}`, { method: req.method, headers, body: body as unknown as BodyInit });
    const bytes = Buffer.from(await answer.arrayBuffer());
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, log, state, close: () => new Promise((r) => server.close(r)) };
}

describe('a capture declared in part while it is read', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'in-part-'));
  const env = stageFolder('in-part-env-');
  let catalog: TestCatalog;
  let proxy: Awaited<ReturnType<typeof loggingProxy>>;
  let scripted: ScriptedCatalog;
  const files: string[] = [];
  beforeAll(async () => {
    buildBundle();
    for (let i = 0; i < FILES; i++) {
      const bytes = Buffer.alloc(64 * 1024);
      randomBytes(4096).copy(bytes, 8192);
      files.push(join(dir, `u${i}.tgz`));
      writeFileSync(files[i], bytes);
    }
    catalog = await startTestCatalog('embedded', { listen: true });
    proxy = await loggingProxy(catalog.url);
    scripted = await startScriptedCatalog('scripted-token');
  });
  afterAll(async () => {
    await proxy?.close();
    await scripted?.close();
    await catalog?.close();
    rmSync(dir, { recursive: true, force: true });
    env.cleanup();
  });

  const collect = (url: string, token: string, spool: string) =>
    runJson(
      [
        'collect',
        '--json',
        '--host',
        'esx-in-part',
        '--spool',
        join(dir, spool),
        '--url',
        url,
        '--retries',
        '0',
        ...files.flatMap((f) => ['--file', `vmfs-undelete:${f}`]),
      ],
      { ...env.env, PATH: join(dir, 'no-commands'), CATALOG_TOKEN: token },
    );

  it('declares the artifacts read so far and sends their chunks before the whole capture', async () => {
    proxy.log.length = 0;
    const r = await collect(proxy.url, catalog.adminToken, 'spool-a');
    expect(r.code, r.stderr).toBe(0);
    const [cap] = r.json.captures;
    expect([cap.state, cap.artifacts.length, cap.chunksUploaded, r.json.chunksUploaded]).toEqual(['committed', FILES, FILES, FILES]);
    // One part at 32 new chunks, its batch, then the whole capture under the same id and the rest.
    const whole = proxy.log.indexOf('POST /v1/captures');
    expect(proxy.log.slice(0, whole)).toEqual([`POST /v1/captures/${cap.captureId}/partial`, `PUT /v1/captures/${cap.captureId}/chunks`]);
    expect(proxy.log.slice(whole)).toEqual(['POST /v1/captures', `PUT /v1/captures/${cap.captureId}/chunks`, `POST /v1/captures/${cap.captureId}/commit`]);
  });

  it('a catalog without the route gets the capture from one begin, as before', async () => {
    scripted.log.length = 0;
    const r = await collect(scripted.url, 'scripted-token', 'spool-old');
    expect(r.code, r.stderr).toBe(0);
    const [cap] = r.json.captures;
    expect([cap.state, cap.chunksUploaded]).toEqual(['committed', FILES]);
    // Asked once (404), then never again in the run; the capture went whole.
    expect(scripted.log.filter((l) => l.endsWith('/partial'))).toEqual([`POST /v1/captures/${cap.captureId}/partial`]);
    expect(scripted.log.filter((l) => l === 'POST /v1/captures')).toHaveLength(1);
    expect(scripted.log.at(-1)).toBe(`POST /v1/captures/${cap.captureId}/commit`);
    expect(scripted.chunks.size).toBe(FILES);
  });

  it('keeps a capture declared in part spooled when it cannot go, and the next run delivers it', async () => {
    proxy.log.length = 0;
    proxy.state.refuse = (line) => line === 'POST /v1/captures';
    const first = await collect(proxy.url, catalog.adminToken, 'spool-b');
    expect(first.code, first.stderr).toBe(75);
    const id = first.json.captures[0].captureId;
    expect(first.json.captures[0].state).toBe('spooled');
    expect(proxy.log[0]).toBe(`POST /v1/captures/${id}/partial`);
    const [row] = await catalog.services.db.select().from(captures).where(eq(captures.id, id));
    expect([row.state, (row.request as { partial?: boolean }).partial]).toEqual(['open', true]);

    proxy.state.refuse = () => false;
    const second = await collect(proxy.url, catalog.adminToken, 'spool-b');
    expect(second.code, second.stderr).toBe(0);
    expect(second.json.spool.delivered).toEqual([id]);
    const [after] = await catalog.services.db.select().from(captures).where(eq(captures.id, id));
    expect(after.state).toBe('committed');
  });
});
