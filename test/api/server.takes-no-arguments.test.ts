/**
 * The server's settings are environment variables; `npm start -- --help` (or a `--port 9000`
 * from habit) must not start a catalog on the default port and data directory as if nothing
 * had been said. --help and --version answer and exit 0; any other argument is a usage error
 * (64) in one line, naming the environment instead. Nothing is started or created either way.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SERVER_BUNDLE, serverEnv } from '../helpers/spawn-server.js';

const scratch = mkdtempSync(join(tmpdir(), 'vrc-server-args-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the built server with args; a server that starts instead of answering is killed after 20 s (code null). */
function run(args: string[], dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SERVER_BUNDLE, ...args], {
    cwd: ROOT,
    env: serverEnv({ DATA_DIR: dataDir, PORT: '0' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('node dist/server.mjs ARGS', () => {
  it('--help prints how settings are given and exits 0; --version the package version', { timeout: 60_000 }, async () => {
    const dataDir = join(scratch, 'help');
    const [help, h, version] = await Promise.all([run(['--help'], dataDir), run(['-h'], dataDir), run(['--version'], dataDir)]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('PORT=9000 npm start');
    expect(help.stdout).toContain('.env.example');
    expect(help.stdout).toContain('npm run catalog -- --help');
    // Each status this start ends with (the cases are tested where they happen: a taken port and
    // a database not answering 1, a held embedded database 75), one line of --help.
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(
      'exit status: 0 stopped (SIGTERM, Ctrl-C) · 1 cannot start (the port taken, the database or the store not answering) · 64 an argument · 75 another process (an admin command, another server) still holds the embedded database after DATABASE_LOCK_WAIT seconds (60): start again later, as systemd does · 78 a setting is invalid, DATA_DIR cannot be used, the embedded database cannot be opened, or a later release of the catalog migrated the database',
    );
    expect(h).toEqual(help);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('any other argument is a usage error in one line naming the environment, and starts nothing', { timeout: 60_000 }, async () => {
    const dataDir = join(scratch, 'port');
    const [port, typo] = await Promise.all([run(['--port', '9000'], dataDir), run(['--hlep'], dataDir)]);
    for (const r of [port, typo]) {
      expect(r.code).toBe(64);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('environment variables, e.g. PORT=9000 npm start');
    }
    expect(port.stderr).toContain('"--port 9000"');
    expect(existsSync(dataDir)).toBe(false);
  });
});
