/**
 * A config file that is not JSON stops every command that reads it before anything is read
 * or sent: one line on stderr naming the file and the parse error, exit 78 (EX_CONFIG, as
 * for any config file the collector cannot use), `invalid_config` under --json. V8's parse
 * error quotes the text around the fault; a token written without quotes must not reach
 * stderr (or the cron log it goes to) that way.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildBundle, isolatedEnv, runCollector } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'config-json-'));
beforeAll(() => buildBundle());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = 'vrc_never-printed-0123456789';
const broken: Array<[string, string]> = [
  ['an unquoted token', `{"catalogUrl": "http://127.0.0.1:9", "token": ${SECRET}}`],
  ['a trailing comma', `{\n  "catalogUrl": "http://127.0.0.1:9",\n  "token": "${SECRET}",\n}\n`],
  ['an empty file', ''],
  ['a key without quotes', `{ token: "${SECRET}" }`],
];

it.each(broken)('%s: one line naming the file and the parse error, exit 78, for every command that reads it', async (_, text) => {
  const file = join(dir, `broken-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, text, { mode: 0o600 });
  const root = mkdtempSync(join(dir, 'root-'));
  for (const args of [
    ['collect', '--dry-run', '--root', root],
    ['discover', '--root', root],
    ['import', '--dry-run', '--host', 'esx01', file],
    ['restore', '--volume', '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c', '-o', join(root, 'out')],
    ['spool', 'list', '--spool', join(root, 'spool')],
  ]) {
    const r = await runCollector([...args, '--config', file], isolatedEnv(join(dir, 'absent.json')));
    expect([args[0], r.code]).toEqual([args[0], 78]);
    expect(r.stderr).toMatch(new RegExp(`^collector ${args[0]}: config ${file}: not valid JSON \\([^\\n]+\\)\\n$`));
    expect(r.stderr).not.toContain(SECRET);
    expect(r.stdout).toBe('');
  }
});

it('under --json: the same line, and {"error":{"code":"invalid_config"}} on stdout without the token', async () => {
  const file = join(dir, 'unquoted.json');
  writeFileSync(file, `{"token": ${SECRET}}`, { mode: 0o600 });
  const r = await runCollector(['collect', '--dry-run', '--json', '--config', file], isolatedEnv(join(dir, 'absent.json')));
  expect(r.code).toBe(78);
  expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'invalid_config', message: `config ${file}: not valid JSON (Unexpected token 'v')` } });
  expect(r.stderr).toBe(`collector collect: config ${file}: not valid JSON (Unexpected token 'v')\n`);
});

it('the default file too (VMFS_COLLECTOR_CONFIG), and --help documents 78', async () => {
  const file = join(dir, 'default.json');
  writeFileSync(file, '{"catalogUrl": }');
  const r = await runCollector(['spool', 'list', '--spool', join(dir, 'spool')], isolatedEnv(file));
  expect(r.code).toBe(78);
  expect(r.stderr).toMatch(/^collector spool: config .*default\.json: not valid JSON \(/);
  for (const command of ['collect', 'restore', 'spool'])
    expect((await runCollector([command, '--help'])).stdout).toMatch(/78 config file\s+unreadable or invalid/);
  expect((await runCollector(['--help'])).stdout).toMatch(/78 config file unreadable or invalid/);
});

it('a key no command reads (a typo) is said on stderr, naming the keys; the rest of the file is used', async () => {
  // "tokn" for "token": the run then said only 'no token: … or "token" in the config file'.
  const file = join(dir, 'typo.json');
  writeFileSync(file, JSON.stringify({ catalogUrl: 'http://127.0.0.1:9', tokn: SECRET }), { mode: 0o600 });
  // A spool given must exist and hold nothing but a spool's (spool list says so, exit 64): an empty one.
  const spool = mkdtempSync(join(dir, 'spool-'));
  const r = await runCollector(['spool', 'list', '--spool', spool, '--config', file], isolatedEnv(join(dir, 'absent.json')));
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toBe(
    `collector: warning: config ${file}: "tokn" is no setting (ignored); the keys: catalogUrl, token, host, spool, spoolMaxBytes, parallel, retries, root, ssh, devices, files, undeletePaths, headerBytes\n`,
  );
  expect(r.stderr).not.toContain(SECRET);
  // Every key the file may hold is taken without a word.
  const full = join(dir, 'full.json');
  writeFileSync(
    full,
    JSON.stringify({
      catalogUrl: 'http://127.0.0.1:9',
      token: 't',
      host: 'h',
      spool,
      spoolMaxBytes: '1G',
      parallel: 2,
      retries: 1,
      root: '/',
      ssh: [],
      devices: [],
      files: [],
      undeletePaths: [],
      headerBytes: '2M',
    }),
    { mode: 0o600 },
  );
  const quiet = await runCollector(['spool', 'list', '--config', full], isolatedEnv(join(dir, 'absent.json')));
  expect(quiet.code, quiet.stderr).toBe(0);
  expect(quiet.stderr).toBe('');
});
