/**
 * The collector sends the chunks it stores in at most 256 KiB through the catalog, in
 * batches (one request for many chunks), and the larger ones to their upload URLs; a
 * catalog without that route (404 or 405: an older one) gets every chunk by URL.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts } from '../../db/schema.js';
import { chunkKey } from '../../api/store/types.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { stageFolder } from '../helpers/staged-hosts.js';
import { buildVhSf } from '../fixtures/vmfs-images.js';
import { buildBundle, runJson } from './run-collector.js';
import { startScriptedCatalog, type ScriptedCatalog } from './scripted-catalog.js';

const MiB = 1024 * 1024;

describe('small chunks go through the catalog', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'small-chunks-'));
  const env = stageFolder('small-chunks-env-');
  let catalog: TestCatalog;
  let scripted: ScriptedCatalog;
  /** 4 chunks: two mostly zeros (a few KiB gzipped), two random (stored past 256 KiB). */
  const file = join(dir, 'a-vh.sf.bu');
  beforeAll(async () => {
    buildBundle();
    const bytes = Buffer.alloc(3 * MiB + MiB / 2);
    Buffer.from(buildVhSf({ lvmMajor: 3, label: 'ds-small' })).copy(bytes, 0, 0, MiB);
    randomBytes(100).copy(bytes, MiB + 4096);
    randomBytes(MiB + MiB / 2).copy(bytes, 2 * MiB);
    writeFileSync(file, bytes);
    catalog = await startTestCatalog('embedded', { listen: true });
    scripted = await startScriptedCatalog('scripted-token');
  });
  afterAll(async () => {
    await catalog?.close();
    await scripted?.close();
    rmSync(dir, { recursive: true, force: true });
    env.cleanup();
  });

  const send = (url: string, token: string, spool: string) =>
    runJson(['import', '--json', '--host', 'esx-small', '--spool', join(dir, spool), '--url', url, '--retries', '0', file], {
      ...env.env,
      CATALOG_TOKEN: token,
    });

  it('one request for the small chunks, an upload URL for each large one', async () => {
    const store = catalog.services.store as typeof catalog.services.store & { writeVerified: (...a: unknown[]) => Promise<void> };
    const urlUploads: string[] = [];
    const routed: string[] = [];
    const { writeVerified, putIfAbsent } = store;
    store.writeVerified = (key: unknown, ...rest: unknown[]) => {
      urlUploads.push(String(key));
      return writeVerified.call(store, key, ...rest);
    };
    store.putIfAbsent = (key, ...rest) => {
      if (key.startsWith('chunks/')) routed.push(key);
      return putIfAbsent.call(store, key, ...rest);
    };
    try {
      const r = await send(catalog.url, catalog.adminToken, 'spool-a');
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.captures[0].state).toBe('committed');
      expect([r.json.chunksUploaded, r.json.putRequests]).toEqual([4, 3]);
      expect(urlUploads).toHaveLength(2);
      expect(urlUploads.every((k) => k.startsWith('staging/'))).toBe(true);
      // The two small chunks went straight to their keys; the two large ones were published by the
      // commit, and with them the artifact's chunk list (a chunk of its own, manifest format 3).
      const [artifact] = await catalog.services.db
        .select({ list: artifacts.chunkList })
        .from(artifacts)
        .where(eq(artifacts.captureId, r.json.captures[0].captureId));
      expect(routed.filter((k) => k !== chunkKey(artifact.list!))).toHaveLength(4);
      expect(routed).toContain(chunkKey(artifact.list!));
    } finally {
      store.writeVerified = writeVerified;
      store.putIfAbsent = putIfAbsent;
    }
  });

  for (const status of [404, 405] as const) {
    it(`a catalog that answers ${status} to the route gets every chunk by URL`, async () => {
      scripted.log.length = 0;
      scripted.chunks.clear();
      scripted.mode.answer = ({ method, path }) =>
        method === 'PUT' && path.endsWith('/chunks') ? { status, body: { error: { code: 'not_found', message: 'no such route' } } } : undefined;
      try {
        const r = await send(scripted.url, 'scripted-token', `spool-${status}`);
        expect(r.code, r.stderr).toBe(0);
        expect([r.json.chunksUploaded, r.json.putRequests]).toEqual([4, 4]);
        expect(scripted.chunks.size).toBe(4);
        expect(scripted.log.filter((l) => l.endsWith('/chunks'))).toHaveLength(1);
        expect(scripted.log.at(-1)).toMatch(/\/commit$/);
      } finally {
        scripted.mode.answer = undefined;
      }
    });
  }
});
