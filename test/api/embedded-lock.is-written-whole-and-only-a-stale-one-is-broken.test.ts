/**
 * The embedded database's lock (DATA_DIR/catalog.lock, db/client.ts lockDataDir): PGlite lets
 * one process at a time use a data directory and does not guard it itself, so two processes
 * that both think they hold the lock damage the database. The lock was created empty and its
 * pid written after; a process starting in between (a server waiting for an admin command
 * polls every 250 ms) read no pid, took it for a stale lock and deleted it. Now the lock is
 * linked into place whole, an empty one younger than a few seconds counts as held, and a stale
 * one is broken only if it is still the one read, by one process at a time: with each breaker
 * moving the lock aside unguarded, three processes starting at once after a kill -9 could end
 * with two holders (one breaker moved aside the lock another had just linked, and the third
 * linked its own into the name left free).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { breakStaleLock, DatabaseBusyError, lockDataDir } from '../../db/client.js';

const scratch = mkdtempSync(join(tmpdir(), 'vrc-lock-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function dataDir(name: string): { dir: string; pgDir: string; lock: string } {
  const dir = join(scratch, name);
  mkdirSync(join(dir, 'pg'), { recursive: true });
  return { dir, pgDir: join(dir, 'pg'), lock: join(dir, 'catalog.lock') };
}

/** A pid no process has: one that ran and ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('the embedded database lock', () => {
  it('is there whole as soon as it is there: pid and holder, and no file of its making left beside it', () => {
    const { dir, pgDir, lock } = dataDir('whole');
    const release = lockDataDir(pgDir, 'catalog server');
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid}\ncatalog server\n`);
    expect(readdirSync(dir).sort()).toEqual(['catalog.lock', 'pg']);
    release();
    expect(existsSync(lock)).toBe(false);
  });

  it('an empty lock just made is one being written: held, not taken over (it was deleted and taken)', () => {
    const { pgDir, lock } = dataDir('empty-young');
    writeFileSync(lock, '');
    expect(() => lockDataDir(pgDir, 'catalog check')).toThrow(DatabaseBusyError);
    expect(readFileSync(lock, 'utf8')).toBe('');
  });

  it('an empty lock left long ago (its writer killed before it wrote) is taken over', () => {
    const { pgDir, lock } = dataDir('empty-old');
    writeFileSync(lock, '');
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(lock, minuteAgo, minuteAgo);
    const release = lockDataDir(pgDir, 'catalog check');
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid}\ncatalog check\n`);
    release();
  });

  it('a stale lock (its process gone, as after kill -9) is taken over', () => {
    const { pgDir, lock } = dataDir('stale');
    writeFileSync(lock, `${deadPid()}\ncatalog server\n`);
    const release = lockDataDir(pgDir, 'catalog server');
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid}\ncatalog server\n`);
    release();
  });

  it('breaking a stale lock that another process broke first and replaced with its own keeps that live lock and names its holder', () => {
    const { lock } = dataDir('raced');
    const staleRead = `${deadPid()}\ncatalog server\n`;
    // What the other process linked after breaking the same stale lock: a live holder (this test's parent).
    const live = `${process.ppid}\ncatalog retention\n`;
    writeFileSync(lock, live);
    let thrown: unknown;
    try {
      breakStaleLock(lock, staleRead);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DatabaseBusyError);
    expect((thrown as DatabaseBusyError).heldBy).toBe(`pid ${process.ppid}: catalog retention`);
    expect(readFileSync(lock, 'utf8')).toBe(live);
  });

  it('a process breaking the stale lock it read, after another broke it and linked its own, never moves that live lock from its name (a third process starting at once linked its own there: two holders)', async () => {
    const { dir, lock } = dataDir('three');
    const staleRead = `${deadPid()}\ncatalog server\n`;
    const live = `${process.ppid}\ncatalog retention\n`;
    writeFileSync(lock, live);
    const seen: string[] = [];
    const watcher = watch(dir, (event, name) => seen.push(`${event} ${name}`));
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(() => breakStaleLock(lock, staleRead)).toThrow(DatabaseBusyError);
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      watcher.close();
    }
    // inotify names every rename and link of catalog.lock: none, so at no instant was the name free.
    expect(seen.filter((e) => e.endsWith(' catalog.lock'))).toEqual([]);
    expect(readFileSync(lock, 'utf8')).toBe(live);
    expect(readdirSync(dir).sort()).toEqual(['catalog.lock', 'pg']);
  });

  it('a stale lock another live process is breaking is left to it: busy, naming that process, and the lock untouched', () => {
    const { pgDir, lock } = dataDir('being-broken');
    const stale = `${deadPid()}\ncatalog server\n`;
    writeFileSync(lock, stale);
    writeFileSync(`${lock}.break`, `${process.ppid}\nbreaking a stale lock\n`);
    let thrown: unknown;
    try {
      lockDataDir(pgDir, 'catalog server');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DatabaseBusyError);
    expect((thrown as DatabaseBusyError).heldBy).toBe(`pid ${process.ppid}: breaking a stale lock`);
    expect(readFileSync(lock, 'utf8')).toBe(stale);
  });

  it('a breaker killed while breaking leaves its mark: that mark and the stale lock are taken over, nothing left beside the lock', () => {
    const { dir, pgDir, lock } = dataDir('breaker-killed');
    writeFileSync(lock, `${deadPid()}\ncatalog server\n`);
    writeFileSync(`${lock}.break`, `${deadPid()}\nbreaking a stale lock\n`);
    const release = lockDataDir(pgDir, 'catalog server');
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid}\ncatalog server\n`);
    expect(readdirSync(dir).sort()).toEqual(['catalog.lock', 'pg']);
    release();
  });
});
