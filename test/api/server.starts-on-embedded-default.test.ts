/**
 * `npm start` on a machine with no services: PGlite + filesystem store, a bootstrap
 * admin token printed once and kept 0600, and a bad setting named on stderr.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SERVER_BUNDLE, serverEnv, spawnServer } from '../helpers/spawn-server.js';
import { prepareCapture } from '../helpers/ingest-client.js';

describe('npm start (dist/server.mjs) on the embedded default', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('creates, prints once and keeps the bootstrap admin token; answers health and readiness', { timeout: 240_000 }, async () => {
    const first = await spawnServer({ DATA_DIR: dataDir });
    try {
      const printed = /^\s+(vrc_\S+)$/m.exec(first.stdout())?.[1];
      expect(printed).toBeDefined();
      const file = join(dataDir, 'bootstrap-token');
      expect(readFileSync(file, 'utf8').trim()).toBe(printed);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(first.stdout()).toContain('database: pglite');
      expect(first.stdout()).toContain('store: fs');

      expect(await (await fetch(`${first.url}/healthz`)).json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${first.url}/readyz`);
      expect(ready.status).toBe(200);
      const tokens = await fetch(`${first.url}/v1/tokens`, { headers: { authorization: `Bearer ${printed}` } });
      expect(tokens.status).toBe(200);
      const unauth = await fetch(`${first.url}/v1/tokens`);
      expect(unauth.status).toBe(401);
      expect(((await unauth.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
      // PORT=0: the upload URLs the embedded store signs name the port actually listened on.
      const prepared = prepareCapture({
        host: 'esx-start',
        artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: new TextEncoder().encode('tank/a@b\t1793491200\t1\n') }],
      });
      const begun = await fetch(`${first.url}/v1/captures`, {
        method: 'POST',
        headers: { authorization: `Bearer ${printed}`, 'content-type': 'application/json' },
        body: JSON.stringify(prepared.request),
      });
      expect(begun.status).toBe(200);
      const { missing } = (await begun.json()) as { missing: Array<{ url: string }> };
      expect(missing).toHaveLength(1);
      expect(missing[0].url.startsWith(`${first.url}/v1/blobs/`)).toBe(true);
      // The token must never reach the logs.
      expect(first.stderr()).not.toContain(printed!);
    } finally {
      expect(await first.stop()).toBe(0);
    }

    const second = await spawnServer({ DATA_DIR: dataDir });
    try {
      expect(second.stdout()).not.toMatch(/vrc_/);
    } finally {
      await second.stop();
    }
  });

  it('refuses a bad setting with a message naming the variable and a non-zero exit', { timeout: 120_000 }, async () => {
    const child = spawn(process.execPath, [SERVER_BUNDLE], {
      cwd: ROOT,
      env: serverEnv({ DATA_DIR: dataDir, PORT: 'eighty', DATABASE_URL: 'mysql://x' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).not.toBe(0);
    expect(err).toContain('PORT');
    expect(err).toContain('DATABASE_URL');
    expect(err).not.toContain('    at '); // no stack trace
  });
});
