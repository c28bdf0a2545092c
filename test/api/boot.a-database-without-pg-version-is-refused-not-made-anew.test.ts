/**
 * An embedded database directory that lost PG_VERSION (and only that): PGlite would run
 * initdb over it and the catalog would start empty, saying ready. The server and the CLI
 * refuse it as they refuse a database that lost global/pg_control — exit 78, one line naming
 * the directory, why, the `mv` and `rebuild` — and the directory is left as it was. A start on
 * an empty database whose store holds manifests says so on stderr, and no longer once rebuilt.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SERVER_BUNDLE, serverEnv, spawnServer } from '../helpers/spawn-server.js';
import { emptyCatalogNotice } from '../../api/admin/empty-catalog.js';
import { openTestCatalogAt } from '../helpers/catalog.js';
import { cli as cliHere } from '../helpers/in-process-cli.js';
import { ingest } from '../helpers/ingest-client.js';
import { buildVhSf, DEFAULTS } from '../fixtures/vmfs-images.js';

const cli = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, [join(ROOT, 'dist/catalog.mjs'), ...args], { cwd: ROOT, env: serverEnv(env), encoding: 'utf8', timeout: 120_000 });

describe('an embedded database without PG_VERSION', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-no-pg-version-'));
  const pgDir = join(dataDir, 'pg');
  const token = `boot-admin-${randomBytes(16).toString('hex')}`;
  const env = { DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: token };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('is refused with the way out, and an empty catalog over a full store says to rebuild', { timeout: 300_000 }, async () => {
    // The catalog is made in this process (its start is not what is tested; the starts below
    // are the server's): a fresh one over an empty store has nothing to say (the notice a start prints).
    const first = await openTestCatalogAt(env, token);
    try {
      expect(await emptyCatalogNotice(first.services)).toBeNull();
      await ingest(first, {
        host: 'esx01',
        artifacts: [{ kind: 'vh-sf', fileName: 'vh.sf', sourcePath: `/vmfs/volumes/${DEFAULTS.vmfsUuid}/.vh.sf`, bytes: buildVhSf() }],
      });
    } finally {
      await first.close();
    }
    rmSync(join(pgDir, 'PG_VERSION'));
    const controlBefore = readFileSync(join(pgDir, 'global', 'pg_control'));

    const listed = cli(['tokens', 'list'], env);
    expect(listed.status, listed.stdout).toBe(78);
    expect(listed.stderr.trim().split('\n')).toHaveLength(1);
    expect(listed.stderr).toContain(`the embedded database in ${pgDir} cannot be opened (PG_VERSION is missing`);
    expect(listed.stderr).toContain(`(mv ${pgDir} ${pgDir}.damaged)`);
    expect(listed.stderr).toContain(`\`DATA_DIR=${dataDir} npm run catalog -- rebuild\``);
    const server = spawnSync(process.execPath, [SERVER_BUNDLE], { cwd: ROOT, env: serverEnv({ ...env, PORT: '0' }), encoding: 'utf8', timeout: 120_000 });
    expect(server.status, server.stdout).toBe(78);
    expect(server.stderr).toContain('cannot be opened (PG_VERSION is missing');
    // Nothing was made over the old cluster.
    expect(existsSync(join(pgDir, 'PG_VERSION'))).toBe(false);
    expect(readFileSync(join(pgDir, 'global', 'pg_control')).equals(controlBefore)).toBe(true);

    renameSync(pgDir, `${pgDir}.damaged`);
    const empty = await spawnServer(env);
    await empty.stop();
    expect(empty.stderr()).toContain(
      'Warning: the store holds 1 capture manifest but the catalog is empty: run `npm run catalog -- rebuild` (or POST /v1/admin/rebuild) to recreate it from them',
    );
    expect(empty.stderr().match(/catalog is empty/g)).toHaveLength(1);

    // The rebuild's own process is not what is tested here: the next start's is.
    const rebuilt = await cliHere(['rebuild'], env);
    expect(rebuilt.code, rebuilt.err).toBe(0);
    const again = await spawnServer(env);
    await again.stop();
    expect(again.stderr()).not.toContain('catalog is empty');
  });
});
