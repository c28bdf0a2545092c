/**
 * `DATA_DIR=/proc/x npm start` (or `npm run catalog`) hung for ever inside Node's recursive
 * mkdir: /proc answers ENOENT to `mkdir /proc/x`, mkdir -p makes the parent (EEXIST) and tries
 * again, without end. A DATA_DIR the catalog cannot make or write in now stops the start at
 * once with one line naming DATA_DIR and why, exit 78 as every other setting error. A DATA_DIR
 * the start makes is its user's alone (0700): made with the umask's 0755, every local user could
 * read the embedded database, the token records and every stored artifact in it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareDataDir } from '../../api/data-dir.js';
import { ROOT, SERVER_BUNDLE, serverEnv } from '../helpers/spawn-server.js';

const CLI_BUNDLE = join(ROOT, 'dist/catalog.mjs');
const dir = mkdtempSync(join(tmpdir(), 'vrc-boot-datadir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const HAS_PROC = existsSync('/proc/self');

describe.each([
  ['npm start', SERVER_BUNDLE, []],
  ['npm run catalog -- tokens list', CLI_BUNDLE, ['tokens', 'list']],
])('%s', (_name, bundle, args) => {
  const start = (dataDir: string) =>
    spawnSync(process.execPath, [bundle, ...args], { env: serverEnv({ DATA_DIR: dataDir, PORT: '0' }), encoding: 'utf8', timeout: 30_000 });

  it.skipIf(!HAS_PROC)('DATA_DIR=/proc/x: one line, exit 78, at once', () => {
    const r = start('/proc/vrc-no-such-dir');
    expect(r.signal, 'the start hung').toBeNull();
    expect(r.status).toBe(78);
    expect(r.stderr).toBe(
      "catalog: invalid configuration: DATA_DIR: cannot use /proc/vrc-no-such-dir: ENOENT: no such file or directory, mkdir '/proc/vrc-no-such-dir'\n",
    );
  });

  it.skipIf(!HAS_PROC)('DATA_DIR=/proc: it exists, but nothing can be made in it', () => {
    const r = start('/proc');
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/^catalog: invalid configuration: DATA_DIR: cannot use \/proc: ENOENT: [^\n]*\n$/);
  });

  it("a DATA_DIR it makes is its user's alone (0700); its missing parents are made as mkdir -p makes them", async () => {
    const parent = join(dir, `new-parent-${args.length}`);
    const target = join(parent, 'data');
    // The command is stopped once it has made DATA_DIR: the server once it listens (SIGTERM), the CLI when done.
    const child = spawn('sh', ['-c', 'umask 022; exec "$@"', 'sh', process.execPath, bundle, ...args], {
      env: serverEnv({ DATA_DIR: target, HOST: '127.0.0.1', PORT: '0' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (/listening on/.test(out)) child.kill('SIGTERM');
    });
    const hang = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const signal = await new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, sig) => r(sig)));
    clearTimeout(hang);
    expect(signal, 'the start hung').not.toBe('SIGKILL');
    expect(statSync(target).mode & 0o777).toBe(0o700);
    expect(statSync(parent).mode & 0o777).toBe(0o755);
  });

  it('a DATA_DIR under a file', () => {
    const file = join(dir, `a-file-${args.length}`);
    writeFileSync(file, '');
    const r = start(join(file, 'data'));
    expect(r.status).toBe(78);
    expect(r.stderr).toBe(`catalog: invalid configuration: DATA_DIR: cannot use ${file}/data: ENOTDIR: not a directory, mkdir '${file}/data'\n`);
  });
});

describe('prepareDataDir', () => {
  it('makes the missing levels and leaves nothing else behind', () => {
    const target = join(dir, 'x', 'y', 'z');
    prepareDataDir(target);
    expect(statSync(target).isDirectory()).toBe(true);
    prepareDataDir(target);
    expect(spawnSync('ls', ['-A', target], { encoding: 'utf8' }).stdout).toBe('');
  });
});
