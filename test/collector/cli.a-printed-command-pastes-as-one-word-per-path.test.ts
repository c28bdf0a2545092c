/**
 * The commands the collector prints for the operator to paste — restore's `-o DIR-2` when -o
 * holds files, the `chmod 600 FILE` of a config file others can read, the `collector spool list`
 * that shows a rejected or unknown capture — put a path in as it was: a directory with a blank
 * (`/srv/dr restore`) or a `$`, `'` or `;` in its name was two words or an expansion when pasted
 * (and a spool other than the default was not named at all, so the pasted `spool list` showed
 * another spool). Each path is now one shell word (formats/printable.ts shellWord, the catalog's
 * too) and `spool list` carries the `--spool` it was run with. Each printed command is run
 * through sh here as an operator pastes it. Through the built bundle.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUNDLE, buildBundle, isolatedEnv, runCollector } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'pasted-'));
/** A directory name with each character a shell acts on that a real path may hold. */
const hostile = join(dir, "dr restore $HOME it's; echo pwned");
const env = isolatedEnv(join(dir, 'absent.json'));
const catalog = ['--url', 'http://127.0.0.1:9', '--token', 't'];
beforeAll(() => {
  buildBundle();
  mkdirSync(hostile);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The words sh makes of `line`, one per output line. */
const shWords = (line: string) =>
  execFileSync('sh', ['-c', `printf '%s\\n' ${line}`], { encoding: 'utf8' })
    .trimEnd()
    .split('\n');

it('restore -o a directory holding files: the -o it suggests is one word, the directory beside it', async () => {
  const out = join(hostile, 'out');
  mkdirSync(out);
  writeFileSync(join(out, 'kept'), 'x');
  const r = await runCollector(['restore', '--volume', '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c', '-o', out, ...catalog], env);
  expect(r.code, r.stderr).toBe(64);
  const suggested = /\(-o wants a new or empty directory: (-o .*), say; /.exec(r.stderr)?.[1];
  expect(suggested, r.stderr).toBeDefined();
  expect(shWords(suggested!)).toEqual(['-o', `${out}-2`]);
});

it('a config file others can read: the chmod it prints, pasted, makes it 0600', async () => {
  const cfg = join(hostile, 'collector $x.json');
  writeFileSync(cfg, JSON.stringify({ token: 't' }), { mode: 0o644 });
  const r = await runCollector(['spool', 'list', '--config', cfg, '--spool', hostile], env);
  const chmod = /; (chmod 600 .*)$/m.exec(r.stderr)?.[1];
  expect(chmod, r.stderr).toBeDefined();
  execFileSync('sh', ['-c', chmod!]);
  expect(statSync(cfg).mode & 0o777).toBe(0o600);
});

it('spool resend of no capture: the spool list it points to names this spool, and pasted lists it', async () => {
  const spool = join(hostile, 'spool');
  mkdirSync(spool);
  const r = await runCollector(['spool', 'resend', 'nope', '--spool', spool, ...catalog], env);
  expect(r.code, r.stderr).toBe(1);
  const list = /\(see (collector spool list .*)\)$/m.exec(r.stderr)?.[1];
  expect(list, r.stderr).toBeDefined();
  const pasted = execFileSync('sh', ['-c', list!.replace(/^collector /, `node ${BUNDLE} `)], { encoding: 'utf8', env });
  expect(pasted).toMatch(new RegExp(`^no captures in ${spool.replace(/[$.*+?^()[\]{}|\\]/g, '\\$&')}`));
});
