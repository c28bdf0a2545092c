/**
 * A second server on a data directory a running one holds: it names the holder, waits
 * DATABASE_LOCK_WAIT for it, then says the way out (its own DATA_DIR) and exits 75, where it
 * gave an admin command's advice ("use the API's admin routes").
 *
 * A first start whose port is taken: the port is tried before anything is made, so the start
 * says what is in the way and how to start elsewhere in one line on stderr and makes no
 * database and no first-start admin token — it made and printed one, then did not serve it
 * (a token on a terminal for a catalog that is not running). The next start, on a free port,
 * is the first start.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SERVER_BUNDLE, serverEnv, spawnServer } from '../helpers/spawn-server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'vrc-port-taken-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('npm start on a port another process holds', () => {
  it('says the port is taken and how to pick another, exit 1, before it makes or prints a token', { timeout: 120_000 }, async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const child = spawn(process.execPath, [SERVER_BUNDLE], {
        cwd: ROOT,
        env: serverEnv({ DATA_DIR: dataDir, PORT: String(port) }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code, err).toBe(1);
      expect(out).toBe('');
      expect(readdirSync(dataDir)).toEqual([]);
      expect(err.trim().split('\n')).toEqual([
        `catalog: cannot listen on 127.0.0.1:${port}: EADDRINUSE: another process listens there; stop it, or start this one on another port (PORT=${port + 1} npm start)`,
      ]);
    } finally {
      blocker.close();
    }
  });
});

describe('npm start on a data directory another server holds', () => {
  it('names the server holding it, waits DATABASE_LOCK_WAIT, says to give this server its own DATA_DIR, exit 75', { timeout: 180_000 }, async () => {
    const first = await spawnServer({ DATA_DIR: dataDir });
    try {
      const second = spawnSync(process.execPath, [SERVER_BUNDLE], {
        cwd: ROOT,
        env: serverEnv({ DATA_DIR: dataDir, PORT: '0', DATABASE_LOCK_WAIT: '1' }),
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(second.status, second.stderr).toBe(75);
      const lines = second.stderr.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe(
        `catalog: the embedded database in ${dataDir} is in use by another process (pid ${first.child.pid}: catalog server); waiting up to 1 s for it to let go (DATABASE_LOCK_WAIT)`,
      );
      expect(lines[1]).toContain(
        `catalog: the embedded database in ${dataDir} is still in use by another process (pid ${first.child.pid}: catalog server) after 1 s`,
      );
      expect(lines[1]).toContain('a second server needs its own DATA_DIR (and PORT)');
      expect(second.stderr).not.toContain('admin routes');
    } finally {
      await first.stop();
    }
  });
});

describe('npm start with its PostgreSQL not answering', () => {
  it('says the database or store does not answer, with the address, and which settings name it; exit 1', { timeout: 120_000 }, async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const r = spawnSync(process.execPath, [SERVER_BUNDLE], {
      cwd: ROOT,
      env: serverEnv({
        DATA_DIR: join(dataDir, 'pg-down'),
        PORT: '0',
        DATABASE_URL: `postgres://catalog@127.0.0.1:${port}/catalog`,
        DATABASE_CONNECT_TIMEOUT: '2',
      }),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(1);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('{'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^catalog: cannot start: the database or the store does not answer \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}.*\\); check that it runs and that DATABASE_URL or S3_ENDPOINT names it$`,
      ),
    );
  });
});
