/**
 * What a commit acknowledged survives kill -9: the capture is written in one
 * transaction on PGlite with relaxed durability off. The real `api/server.ts` runs as
 * a child on a temp data dir, takes a capture, is killed with SIGKILL and restarted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { serverChildEnv, startServerChild, type ServerChild } from '../helpers/server-child.js';
import { begin, ingest, prepareCapture, remoteCatalog } from '../helpers/ingest-client.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';

describe('the server after kill -9', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-kill9-'));
  const token = `kill9-admin-${randomBytes(16).toString('hex')}`;
  const servers: ServerChild[] = [];
  afterAll(async () => {
    for (const s of servers) await s.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps a committed capture', { timeout: 300_000 }, async () => {
    const env = await serverChildEnv(dataDir, token);
    const first = await startServerChild(env);
    servers.push(first);
    const catalog = remoteCatalog(first.url, token);
    const bytes = buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 41 });
    const collectedAt = new Date().toISOString();
    const done = await ingest(catalog, {
      host: 'esx-kill9',
      collectedAt,
      artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes }],
    });
    expect(done.state).toBe('committed');

    expect(await first.kill('SIGKILL')).toBe('SIGKILL');

    const second = await startServerChild(env);
    servers.push(second);
    const again = remoteCatalog(second.url, token);
    const artifact = await again.request(`/v1/artifacts/${done.artifacts[0].id}`);
    expect(artifact.status).toBe(200);
    expect(await artifact.json()).toMatchObject({ id: done.artifacts[0].id, sha256: expect.any(String) });
    const repeat = await begin(
      again,
      prepareCapture({
        host: 'esx-kill9',
        captureId: done.captureId,
        collectedAt,
        artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes }],
      }).request,
    );
    expect(repeat).toMatchObject({ state: 'committed', missing: [] });
    const search = await again.request(`/v1/search?q=${encodeURIComponent(DEFAULTS.deviceId.toUpperCase())}`);
    expect(search.status).toBe(200);
    expect(JSON.stringify(await search.json())).toContain(DEFAULTS.deviceId);
    await second.kill('SIGTERM');
  });
});
