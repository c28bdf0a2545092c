/**
 * An embedded database PGlite cannot open (DATA_DIR/pg/global/pg_control deleted): the CLI
 * and the server (the bundles users run) exit 78 with one line naming the directory, why, and
 * the way out — where they printed PGlite's "Aborted(). Build with -sASSERTIONS…" — and the
 * way out works: the directory moved away as the line says, `rebuild` brings the catalog
 * (here its token) back from the store.
 */
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SERVER_BUNDLE, serverEnv } from '../helpers/spawn-server.js';

const cli = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, [join(ROOT, 'dist/catalog.mjs'), ...args], { cwd: ROOT, env: serverEnv(env), encoding: 'utf8', timeout: 120_000 });

describe('a damaged embedded database', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-damaged-'));
  const env = { DATA_DIR: dataDir };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('is named with the way out, which works', { timeout: 300_000 }, () => {
    const created = cli(['tokens', 'create', '--role', 'admin', '--name', 'before-damage'], env);
    expect(created.status, created.stderr).toBe(0);
    rmSync(join(dataDir, 'pg', 'global', 'pg_control'));

    const listed = cli(['tokens', 'list'], env);
    expect(listed.status).toBe(78);
    expect(listed.stderr).not.toContain('Aborted()');
    expect(listed.stderr.trim().split('\n')).toHaveLength(1);
    expect(listed.stderr).toContain(`the embedded database in ${join(dataDir, 'pg')} cannot be opened (global/pg_control is missing)`);
    expect(listed.stderr).toContain('`npm run catalog -- rebuild`');
    const asJson = cli(['tokens', 'list', '--json'], env);
    expect(asJson.status).toBe(78);
    expect(JSON.parse(asJson.stdout).error.code).toBe('database_unreadable');

    const server = spawnSync(process.execPath, [SERVER_BUNDLE], { cwd: ROOT, env: serverEnv({ ...env, PORT: '0' }), encoding: 'utf8', timeout: 120_000 });
    expect(server.status).toBe(78);
    expect(server.stderr).toContain('cannot be opened (global/pg_control is missing)');
    expect(server.stderr).not.toContain('Aborted()');

    // The line's own mv, then rebuild into the empty DATA_DIR/pg, the chunk store kept.
    const mv = /\(mv ([^)]+)\)/.exec(listed.stderr)?.[1];
    expect(mv).toBe(`${join(dataDir, 'pg')} ${join(dataDir, 'pg')}.damaged`);
    execSync(`mv ${mv}`);
    expect(existsSync(join(dataDir, 'pg'))).toBe(false);
    const rebuilt = cli(['rebuild'], env);
    expect(rebuilt.status, rebuilt.stderr).toBe(0);
    const after = cli(['tokens', 'list'], env);
    expect(after.status, after.stderr).toBe(0);
    expect(after.stdout).toContain('before-damage');
  });
});
