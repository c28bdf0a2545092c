/**
 * An embedded database PGlite cannot open (DATA_DIR/pg/global/pg_control deleted): the CLI
 * and the server (the bundles users run) exit 78 with one line naming the directory, why, and
 * the way out — where they printed PGlite's "Aborted(). Build with -sASSERTIONS…" — and the
 * way out works: the directory moved away as the line says, `rebuild` brings the catalog
 * (here its token) back from the store.
 */
import { execSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli as cliHere } from '../helpers/in-process-cli.js';
import { ROOT, SERVER_BUNDLE, serverEnv } from '../helpers/spawn-server.js';

const cli = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, [join(ROOT, 'dist/catalog.mjs'), ...args], { cwd: ROOT, env: serverEnv(env), encoding: 'utf8', timeout: 120_000 });

describe('a damaged embedded database', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-damaged-'));
  const env = { DATA_DIR: dataDir };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  // The commands that make the catalog, rebuild it and read it back run in this process (their
  // process is not what is tested); those that meet the damage, and the pasted line, are the bundles'.
  it('is named with the way out, which works', { timeout: 300_000 }, async () => {
    const created = await cliHere(['tokens', 'create', '--role', 'admin', '--name', 'before-damage'], env);
    expect(created.code, created.err).toBe(0);
    rmSync(join(dataDir, 'pg', 'global', 'pg_control'));

    const listed = cli(['tokens', 'list'], env);
    expect(listed.status).toBe(78);
    expect(listed.stderr).not.toContain('Aborted()');
    expect(listed.stderr.trim().split('\n')).toHaveLength(1);
    expect(listed.stderr).toContain(`the embedded database in ${join(dataDir, 'pg')} cannot be opened (global/pg_control is missing)`);
    expect(listed.stderr).toContain(`\`DATA_DIR=${dataDir} npm run catalog -- rebuild\` with the other settings as they are`);
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
    const rebuilt = await cliHere(['rebuild'], env);
    expect(rebuilt.code, rebuilt.err).toBe(0);
    const after = await cliHere(['tokens', 'list'], env);
    expect(after.code, after.err).toBe(0);
    expect(after.out).toContain('before-damage');
  });

  it('deployed without the checkout (a container, systemd), names the bundle beside it, and that line pasted works', { timeout: 300_000 }, async () => {
    // The layout infra/compose/Dockerfile and the systemd unit's header make: dist/catalog.mjs and
    // its migrations, package.json and the production node_modules beside, no infra/build.mjs —
    // `npm run catalog` finds no build script there.
    const app = mkdtempSync(join(tmpdir(), 'vrc-deployed-'));
    const data = join(app, 'data');
    try {
      mkdirSync(join(app, 'dist'));
      cpSync(join(ROOT, 'dist/catalog.mjs'), join(app, 'dist/catalog.mjs'));
      cpSync(join(ROOT, 'dist/migrations'), join(app, 'dist/migrations'), { recursive: true });
      cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
      symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
      const deployed = (args: string[]) =>
        spawnSync(process.execPath, [join(app, 'dist/catalog.mjs'), ...args], {
          cwd: app,
          env: serverEnv({ DATA_DIR: data }),
          encoding: 'utf8',
          timeout: 120_000,
        });
      expect((await cliHere(['tokens', 'create', '--role', 'admin', '--name', 'deployed'], { DATA_DIR: data })).code).toBe(0);
      rmSync(join(data, 'pg', 'global', 'pg_control'));
      const listed = deployed(['tokens', 'list']);
      expect(listed.status).toBe(78);
      const command = `DATA_DIR=${data} node ${join(app, 'dist/catalog.mjs')} rebuild`;
      expect(listed.stderr).toContain(`\`${command}\``);
      expect(listed.stderr).not.toContain('npm run catalog');
      execSync(`mv ${/\(mv ([^)]+)\)/.exec(listed.stderr)![1]}`);
      // Pasted as printed, from another directory and without the setting in the environment.
      const pasted = spawnSync('sh', ['-c', command], { cwd: tmpdir(), env: serverEnv({}), encoding: 'utf8', timeout: 120_000 });
      expect(pasted.status, pasted.stderr).toBe(0);
      expect((await cliHere(['tokens', 'list'], { DATA_DIR: data })).out).toContain('deployed');
      // Its usage is written as it is run there, whole and one command's.
      const catalogMjs = join(app, 'dist/catalog.mjs');
      const help = deployed(['--help']);
      expect(help.stdout).toContain(`usage: node ${catalogMjs} <command> [options]`);
      expect(help.stdout).not.toContain('npm run catalog');
      expect(deployed(['check', '--help']).stdout).toContain(`usage: node ${catalogMjs} check [--read-data-subset=N%]`);
      // An unknown option there names the same bundle's --help.
      expect(deployed(['check', '--bogus']).stderr).toContain(`unknown option --bogus (node ${join(app, 'dist/catalog.mjs')} check --help lists them)`);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });
});
