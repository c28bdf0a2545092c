/**
 * `npm run catalog -- … --json` (api/cli.ts runCli, in this process): a script reading stdout
 * finds JSON there whatever happened. An error keeps its one line on stderr and its exit
 * status, and stdout holds {"error":{"code","message"}} in the API's shape: usage (64) for a
 * flag, a command or a value the CLI does not take, even when the line does not parse;
 * invalid_setting (78); the API's own code (not_found) for what the catalog refused, on the
 * embedded database. Without --json stdout stays empty.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/in-process-cli.js';

describe('catalog CLI errors under --json', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-cli-json-'));
  const env = { DATA_DIR: dataDir };
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('are the one line on stderr, the same exit status, and the error as JSON on stdout', { timeout: 60_000 }, async () => {
    for (const [args, status, code, message, extraEnv] of [
      // An unknown option names where the command's options are listed, not parseArgs' advice to write `-- "--x"`.
      [['check', '--json', '--no-such-flag'], 64, 'usage', 'unknown option --no-such-flag (npm run catalog -- check --help lists them)', {}],
      [['retention', '--dry-runn', '--json'], 64, 'usage', 'unknown option --dry-runn (npm run catalog -- retention --help lists them)', {}],
      [['frobnicate', '--json'], 64, 'usage', 'unknown command "frobnicate"; see --help', {}],
      [['--json'], 64, 'usage', 'no command given; see --help', {}],
      // A command of subcommands given none says which there are (it said 'unknown tokens command ""').
      [['tokens', '--json'], 64, 'usage', 'tokens needs a subcommand: create, list or revoke', {}],
      [['events', '--json'], 64, 'usage', 'events needs a subcommand: scan', {}],
      [['check', '--read-data-subset=200%', '--json'], 64, 'usage', '--read-data-subset takes a percentage from 0 to 100, e.g. 5% (got "200%")', {}],
      // A value starting with '-' after a space: node's parseArgs says so in three lines, the last
      // naming the way out; they are joined into the one line.
      [['pin', '0190b4c1-0000-7000-8000-000000000000', '--note', '-- before the swap', '--json'], 64, 'usage', "use '--note=-XYZ'", {}],
      [['check', '--json'], 78, 'invalid_setting', 'SCRUB_PERCENT', { SCRUB_PERCENT: 'lots' }],
      [
        ['pin', '0190b4c1-0000-7000-8000-000000000000', '--note', 'keep', '--json'],
        1,
        'not_found',
        'no committed capture 0190b4c1-0000-7000-8000-000000000000',
        {},
      ],
    ] as const) {
      const r = await cli([...args], { ...env, ...extraEnv });
      expect([args.join(' '), r.code]).toEqual([args.join(' '), status]);
      const lines = r.err.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(message);
      expect(JSON.parse(r.out)).toEqual({ error: { code, message: lines[0].replace(/^catalog: /, '') } });
    }
  });

  it('leave stdout empty without --json', async () => {
    for (const args of [['frobnicate'], ['check', '--no-such-flag'], ['check', '--', '--json']]) {
      const r = await cli(args, env);
      expect(r.code).toBe(64);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^catalog: /);
    }
  });
});
