/**
 * `collector spool list --spool /typo` said "no captures in /typo" and exited 0: an admin
 * checking for stuck deliveries was told all is well. A spool named by --spool or the config's
 * "spool" that does not exist (or is not a directory) is now one line naming it, exit 64, as a
 * --root that is not there is; `resend` and `drop`, which made a spool there and then found no
 * capture in it, say the same and make nothing. The default spool not there yet (a host that
 * never spooled) still has no captures, exit 0. A directory with files but none of a spool's
 * (`/var/spool`, named one level off) is said the same way: list called it empty, and resend
 * and drop made a spool among its files. Through the built bundle.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_SPOOL_DIR } from '../../collector/cli.js';
import { buildBundle, isolatedEnv, runCollector } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'spool-typo-'));
const typo = join(dir, 'spol');
const env = isolatedEnv(join(dir, 'absent.json'));
beforeAll(() => buildBundle());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it.each([
  [['list'], 'list'],
  [['list', '--json'], 'list --json'],
  [['resend', '0190'], 'resend'],
  [['drop', '0190'], 'drop'],
])('spool %j --spool (not there): exit 64, one line naming it, nothing made there', async (args) => {
  const r = await runCollector(['spool', ...args, '--spool', typo, '--url', 'http://127.0.0.1:9', '--token', 't'], env);
  expect(r.code, r.stderr).toBe(64);
  expect(r.stderr).toBe(`collector spool: --spool ${typo} does not exist\n`);
  if (args.includes('--json')) expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'usage', message: `--spool ${typo} does not exist` } });
  else expect(r.stdout).toBe('');
  expect(existsSync(typo)).toBe(false);
});

it('says so for the config file\'s "spool", naming the file', async () => {
  const cfg = join(dir, 'collector.json');
  writeFileSync(cfg, JSON.stringify({ spool: typo }));
  const r = await runCollector(['spool', 'list', '--config', cfg], env);
  expect(r.code, r.stderr).toBe(64);
  expect(r.stderr).toBe(`collector spool: "spool" of ${cfg}: ${typo} does not exist\n`);
  expect(r.stdout).toBe('');
});

it('says a --spool that is a file is not a directory', async () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  const r = await runCollector(['spool', 'list', '--spool', file], env);
  expect(r.code, r.stderr).toBe(64);
  expect(r.stderr).toBe(`collector spool: --spool ${file} is not a directory\n`);
});

it('a spool whose captures or rejected directory cannot be read says so, exit 1, not "no captures"', async () => {
  for (const sub of ['captures', 'rejected']) {
    const broken = join(dir, `broken-${sub}`);
    mkdirSync(broken);
    writeFileSync(join(broken, sub), ''); // a file where the directory belongs
    const r = await runCollector(['spool', 'list', '--spool', broken], env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe(`collector spool: cannot read ${join(broken, sub)}: ENOTDIR\n`);
    expect(r.stdout).toBe('');
  }
});

it.each([
  [['list'], 'list'],
  [['resend', '0190'], 'resend'],
  [['drop', '0190'], 'drop'],
])("spool %j --spool naming a directory one level off (files, none of a spool's): exit 64, nothing made there", async (args) => {
  const parent = join(dir, `var-spool-${args[0]}`);
  mkdirSync(join(parent, 'cron'), { recursive: true });
  writeFileSync(join(parent, 'mail'), '');
  const r = await runCollector(['spool', ...args, '--spool', parent, '--url', 'http://127.0.0.1:9', '--token', 't'], env);
  expect(r.code, r.stderr).toBe(64);
  expect(r.stderr).toBe(`collector spool: --spool ${parent} is not a spool (it has none of captures/, chunks/, rejected/, lock)\n`);
  expect(r.stdout).toBe('');
  expect(readdirSync(parent).sort()).toEqual(['cron', 'mail']);
});

it('a spool that is there with nothing in it has no captures, exit 0', async () => {
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const r = await runCollector(['spool', 'list', '--spool', empty], env);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe(`no captures in ${empty}\n`);
});

// The default spool is this machine's: these run where nothing ever spooled to it.
it.runIf(!existsSync(DEFAULT_SPOOL_DIR))('the default spool not there yet: no captures (exit 0); drop finds no capture (1) and makes nothing', async () => {
  const list = await runCollector(['spool', 'list'], env);
  expect(list.code, list.stderr).toBe(0);
  expect(list.stdout).toBe(`no captures in ${DEFAULT_SPOOL_DIR}\n`);
  const drop = await runCollector(['spool', 'drop', '0190'], env);
  expect(drop.code, drop.stderr).toBe(1);
  expect(drop.stderr).toBe(`collector spool: no capture "0190" in ${DEFAULT_SPOOL_DIR} (see collector spool list)\n`);
  expect(existsSync(DEFAULT_SPOOL_DIR)).toBe(false);
});

it('spool --help says a spool given must exist and exits 64 when it does not', async () => {
  const help = (await runCollector(['spool', '--help'], env)).stdout;
  expect(help).toMatch(
    /--spool DIR +the spool \(default \/var\/spool\/vmfs-collector; config "spool"\); one\s+given must exist and be a spool or empty, the default not\s+there yet has no captures/,
  );
  expect(help).toMatch(/64 usage, or no spool at the\s+--spool or "spool" given/);
});
