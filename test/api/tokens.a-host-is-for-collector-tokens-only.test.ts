/**
 * A host is refused for an admin or operator token (POST /v1/tokens, the console's form,
 * `npm run catalog -- tokens create`): only a collector's writes are scoped by it, so an
 * operator token "for esx01" was kept and listed with that host while it read every host.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ROOT, serverEnv } from '../helpers/spawn-server.js';

describeEachFlavour('tokens: a host only for collector tokens', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const create = (body: object) =>
    catalog.request('/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('refuses an admin or operator token with a host, and creates nothing', async () => {
    for (const role of ['admin', 'operator']) {
      const res = await create({ role, host: 'esx01', name: `${role}-esx01` });
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(body.error.message).toBe(`an ${role} token reaches every host: a host is for collector tokens only (leave it out)`);
    }
    const list = (await (await catalog.request('/v1/tokens')).json()) as { tokens: { name: string }[] };
    expect(list.tokens.map((t) => t.name)).not.toContain('operator-esx01');
  });

  it('still takes them without a host, and a collector token with one', async () => {
    expect((await create({ role: 'operator', name: 'op' })).status).toBe(201);
    expect((await create({ role: 'collector', host: 'esx01', name: 'esx01' })).status).toBe(201);
  });
});

it('npm run catalog -- tokens create --role operator --host esx01 is a usage error (64, one line)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-cli-host-'));
  try {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/catalog.mjs'), 'tokens', 'create', '--role', 'operator', '--host', 'esx01', '--name', 'x'], {
      env: serverEnv({ DATA_DIR: dataDir }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(64);
    expect(r.stderr).toBe('catalog: an operator token reaches every host: --host is for collector tokens only\n');
    expect(readdirSync(dataDir)).toEqual([]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
