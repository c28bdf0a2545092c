/**
 * `npm run catalog -- <command> --help` printed the whole usage; it prints that command's own
 * entry (all of `tokens`, or one subcommand), and points to `--help` for the rest, without
 * opening the database. An unknown command's --help, or that of a subcommand tokens or events
 * does not have, is the usage error the command is without it (exit 64, one line on stderr),
 * where it printed everything (or all of tokens) and exited 0.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT, serverEnv } from '../helpers/spawn-server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'vrc-cli-help-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const cli = (args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'dist/catalog.mjs'), ...args], {
    cwd: ROOT,
    env: serverEnv({ DATA_DIR: dataDir }),
    encoding: 'utf8',
    timeout: 60_000,
  });

const POINTER = '--json, --help, --version and the exit statuses: npm run catalog -- --help\n';

it('check --help prints the check entry alone', () => {
  const r = cli(['check', '--help']);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toBe(
    `usage: npm run catalog -- check [--read-data-subset=N%]\n${' '.repeat(31)}check manifests, rows and chunks; re-hash the next N % of chunks\n\n${POINTER}`,
  );
  expect(r.stderr).toBe('');
});

it('tokens -h lists its three subcommands; tokens revoke --help just the one', () => {
  const all = cli(['tokens', '-h']);
  expect(all.status).toBe(0);
  expect(all.stdout.match(/^(usage| {3}or): npm run catalog -- tokens (\w+)/gm)?.map((l) => l.split(' ').pop())).toEqual(['create', 'list', 'revoke']);
  expect(all.stdout).not.toMatch(/rebuild|retention|exit status:/);
  const one = cli(['tokens', 'revoke', '--help']);
  expect(one.stdout).toBe(`usage: npm run catalog -- tokens revoke ID             revoke a token\n\n${POINTER}`);
});

it('--help alone prints the whole usage', () => {
  const r = cli(['--help']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^usage: npm run catalog -- <command> \[options\]\n\ncommands:\n/);
  expect(r.stdout).toContain('exit status: 0 done');
  expect(readdirSync(dataDir)).toEqual([]);
});

it('an unknown command with --help is the usage error it is without: one line on stderr, 64', () => {
  // It printed the whole usage and exited 0, so a script's typo (`catalog retnetion --help`) passed.
  const bare = cli(['bogus']);
  expect([bare.status, bare.stderr]).toEqual([64, 'catalog: unknown command "bogus"; see --help\n']);
  const r = cli(['bogus', '--help']);
  expect([r.status, r.stdout, r.stderr]).toEqual([64, '', bare.stderr]);
  const json = cli(['bogus', '--help', '--json']);
  expect([json.status, JSON.parse(json.stdout)]).toEqual([64, { error: { code: 'usage', message: 'unknown command "bogus"; see --help' } }]);
  expect(readdirSync(dataDir)).toEqual([]);
});

it('a subcommand tokens or events does not have, with --help, is the usage error it is without', () => {
  // The lines `tokens bogus` and `events bogus` say (api/cli.ts); an ID where a command takes one is no subcommand.
  for (const [command, line] of [
    ['tokens', 'catalog: unknown tokens command "bogus"; try tokens create|list|revoke\n'],
    ['events', 'catalog: unknown events command "bogus"; try events scan\n'],
  ]) {
    const r = cli([command, 'bogus', '--help']);
    expect([command, r.status, r.stdout, r.stderr]).toEqual([command, 64, '', line]);
  }
  expect(cli(['drop', '0b5e6d7a-0000-4000-8000-000000000000', '--help']).stdout).toMatch(/^usage: npm run catalog -- drop ID /);
});

it('--help under --json is one JSON document holding the usage, as every answer under --json', () => {
  for (const [args, first] of [
    [['--help', '--json'], 'usage: npm run catalog -- <command> [options]'],
    [['check', '--help', '--json'], 'usage: npm run catalog -- check [--read-data-subset=N%]'],
  ] as const) {
    const r = cli([...args]);
    expect(r.status).toBe(0);
    const { usage } = JSON.parse(r.stdout) as { usage: string };
    expect(usage.split('\n')[0]).toBe(first);
  }
});

it('--help names every --json error code the CLI answers with', () => {
  // The codes are the ones api/cli.ts hands to failed(): read from the source, so a new one
  // without its line in --help fails here (database_newer was missing, README named it).
  const source = readFileSync(join(ROOT, 'api/cli.ts'), 'utf8');
  const codes = [...new Set([...source.matchAll(/failed\(\s*io,\s*json,\s*\d+,\s*'([a-z_]+)'/g)].map((m) => m[1]))];
  expect(codes).toEqual(expect.arrayContaining(['usage', 'database_busy', 'database_newer', 'failed']));
  const help = cli(['--help']).stdout.replace(/\s+/g, ' ');
  for (const code of codes) expect(help, code).toContain(code);
});
