/**
 * `npm start` on an embedded database another process holds — an admin command such as
 * `npm run catalog -- retention` against the same DATA_DIR — is not a setting error. It
 * exited 78 at once, which the systemd unit does not restart (RestartPreventExitStatus=64 78),
 * so a service restart during an admin command left the catalog down for good. Now the server
 * says once who holds it and that it waits (DATABASE_LOCK_WAIT seconds), starts when the holder
 * lets go, and otherwise exits 75 (EX_TEMPFAIL), which systemd restarts.
 *
 * The holder is a live process whose pid is in DATA_DIR/catalog.lock with what it is on the
 * second line, as the catalog CLI writes it (db/client.ts lockDataDir).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runNode, SERVER_BUNDLE, serverEnv } from '../helpers/spawn-server.js';

const scratch = mkdtempSync(join(tmpdir(), 'vrc-held-db-'));
const holders: ChildProcess[] = [];
afterAll(() => {
  for (const h of holders) h.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

/** A live process holding dataDir's embedded database, as `catalog retention` would. */
function holdDataDir(name: string): { dataDir: string; holder: ChildProcess; letGo: () => void } {
  const dataDir = join(scratch, name);
  const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  holders.push(holder);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'catalog.lock'), `${holder.pid}\ncatalog retention\n`);
  return {
    dataDir,
    holder,
    letGo: () => {
      unlinkSync(join(dataDir, 'catalog.lock'));
      holder.kill('SIGKILL');
    },
  };
}

function startHeld(dataDir: string, wait: string) {
  return runNode([SERVER_BUNDLE], { DATA_DIR: dataDir, PORT: '0', DATABASE_LOCK_WAIT: wait }, 120_000, (child) => holders.push(child));
}

// Each test has a data dir of its own: they run at once.
describe.concurrent('npm start on an embedded database an admin command holds', () => {
  it('says who holds it and that it waits, then exits 75 (restarted by systemd), not 78', { timeout: 120_000 }, async () => {
    const { dataDir, holder } = holdDataDir('stays');
    const started = Date.now();
    const r = await startHeld(dataDir, '2');
    const took = Date.now() - started;
    expect(r.status, r.stderr).toBe(75);
    expect(r.stdout).not.toContain('listening on');
    expect(r.stderr.trim().split('\n')).toEqual([
      `catalog: the embedded database in ${dataDir} is in use by another process (pid ${holder.pid}: catalog retention); waiting up to 2 s for it to let go (DATABASE_LOCK_WAIT)`,
      `catalog: the embedded database in ${dataDir} is still in use by another process (pid ${holder.pid}: catalog retention) after 2 s; it allows one at a time. Exit 75: start this again once that one ends (systemd does, RestartSec later); a second server needs its own DATA_DIR (and PORT)`,
    ]);
    expect(took).toBeGreaterThanOrEqual(2000);
  });

  it('DATABASE_LOCK_WAIT=0: one line and exit 75 at once', { timeout: 120_000 }, async () => {
    const { dataDir, holder } = holdDataDir('no-wait');
    const r = await startHeld(dataDir, '0');
    expect(r.status, r.stderr).toBe(75);
    expect(r.stderr.trim().split('\n')).toEqual([
      `catalog: the embedded database in ${dataDir} is still in use by another process (pid ${holder.pid}: catalog retention); it allows one at a time. Exit 75: start this again once that one ends (systemd does, RestartSec later); a second server needs its own DATA_DIR (and PORT)`,
    ]);
  });

  it('starts once the holder lets go within the wait', { timeout: 180_000 }, async () => {
    const { dataDir, holder, letGo } = holdDataDir('lets-go');
    const server = spawn(process.execPath, [SERVER_BUNDLE], {
      cwd: ROOT,
      env: serverEnv({ DATA_DIR: dataDir, PORT: '0', DATABASE_LOCK_WAIT: '60' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    holders.push(server);
    let out = '';
    let err = '';
    server.stdout.on('data', (d) => (out += d));
    const waiting = new Promise<void>((resolve) =>
      server.stderr.on('data', (d) => {
        err += d;
        if (err.includes('waiting up to')) resolve();
      }),
    );
    const listening = new Promise<string>((resolve) =>
      server.stdout.on('data', () => {
        const m = /listening on (http:\/\/[\d.:[\]]+)/.exec(out);
        if (m) resolve(m[1]);
      }),
    );
    await waiting;
    // Still waiting a moment later; then the holder ends, as an admin command does.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(server.exitCode).toBeNull();
    expect(out).not.toContain('listening on');
    letGo();
    const url = await listening;
    try {
      expect(err).toBe(
        `catalog: the embedded database in ${dataDir} is in use by another process (pid ${holder.pid}: catalog retention); waiting up to 60 s for it to let go (DATABASE_LOCK_WAIT)\n`,
      );
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
  });
});

describe.concurrent('the catalog CLI and the embedded database lock', () => {
  it('writes what it runs into the lock, for a waiting server to name', { timeout: 120_000 }, async () => {
    const dataDir = join(scratch, 'cli-writes');
    const cli = spawn(process.execPath, [join(ROOT, 'dist/catalog.mjs'), 'check'], { cwd: ROOT, env: serverEnv({ DATA_DIR: dataDir }), stdio: 'ignore' });
    holders.push(cli);
    const exited = new Promise((resolve) => cli.once('exit', resolve));
    let lock = '';
    for (let i = 0; i < 3000 && !lock && cli.exitCode === null; i++) {
      try {
        lock = readFileSync(join(dataDir, 'catalog.lock'), 'utf8');
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    expect(lock).toBe(`${cli.pid}\ncatalog check\n`);
    await exited;
  });

  it('held by another admin command: says so, not a server, exit 75 at once', { timeout: 120_000 }, async () => {
    const { dataDir, holder } = holdDataDir('cli-held');
    const r = await runNode([join(ROOT, 'dist/catalog.mjs'), 'maintenance'], { DATA_DIR: dataDir }, 60_000, (child) => holders.push(child));
    expect(r.status, r.stderr).toBe(75);
    expect(r.stderr).toBe(
      `catalog: the embedded database in ${dataDir} is in use by another admin command (pid ${holder.pid}: catalog retention); it allows one at a time: run this again once that one ends\n`,
    );
  });
});
