/**
 * `collector cron --args "…"` prints a crontab line an operator pastes as root. Each word of
 * --args must reach collect as written: quoted for cron's shell (a `$(…)`, `;` or `*` in it
 * ran or globbed when pasted raw) and every `%` escaped (cron turns a bare one into a line
 * break and feeds the rest to stdin). The line is run here as cron runs it: `%` un-escaped
 * as cron does (Vixie cron's do_command.c), then `sh -c`, with the collector swapped for a
 * script that prints the arguments it got.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, buildBundle, isolatedEnv, runCollector } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'cron-args-'));
const env = () => isolatedEnv(join(dir, 'absent.json'));
beforeAll(() => buildBundle());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * What cron hands the shell of a crontab command: `\%` becomes `%`, and a bare `%` ends the
 * command (the rest would go to its stdin); a backslash before anything else stays.
 */
function cronCommand(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && i + 1 < text.length) {
      out += text[i + 1] === '%' ? '%' : text.slice(i, i + 2);
      i++;
    } else if (text[i] === '%') break;
    else out += text[i];
  }
  return out;
}

/** Runs `node <copy of the bundle> cron …` so that the printed line names that copy. */
function cronFromCopy(work: string, args: string[]) {
  const collector = join(work, 'collector.cjs');
  copyFileSync(BUNDLE, collector);
  const r = spawnSync(process.execPath, [collector, 'cron', ...args], { env: env(), encoding: 'utf8' });
  return { collector, code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The crontab line for `--args`, run as cron runs it; the arguments collect got, and the files the run left. */
function runAsCron(args: string, work = mkdtempSync(join(dir, 'run-'))): { line: string; argv: string[]; left: string[] } {
  const printed = cronFromCopy(work, ['--schedule', '5 3 * * *', `--args=${args}`, '--json']);
  expect(printed.code, printed.stderr).toBe(0);
  const { line } = JSON.parse(printed.stdout) as { line: string };
  expect(line.startsWith('5 3 * * * ')).toBe(true);
  writeFileSync(printed.collector, 'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
  const log = join(mkdtempSync(join(dir, 'log-')), 'collector.log');
  const command = cronCommand(line.slice('5 3 * * * '.length)).replace('>> /var/log/vmfs-collector.log', `>> ${log}`);
  const cwd = mkdtempSync(join(work, 'cwd-'));
  writeFileSync(join(cwd, 'a-file'), '');
  const sh = spawnSync('sh', ['-c', command], { cwd, encoding: 'utf8' });
  expect(sh.status, sh.stderr).toBe(0);
  return { line, argv: JSON.parse(readFileSync(log, 'utf8')) as string[], left: readdirSync(cwd).sort() };
}

describe('each word of --args reaches collect as written', () => {
  it('plain words pass unchanged, and the line still reads as before', () => {
    const r = runAsCron('--ssh root@esx01 --ssh root@esx02');
    expect(r.argv).toEqual(['collect', '--quiet', '--ssh', 'root@esx01', '--ssh', 'root@esx02']);
    expect(r.line).toMatch(/ collect --quiet --ssh root@esx01 --ssh root@esx02 >> \/var\/log\/vmfs-collector\.log 2>&1$/);
  });

  it('shell syntax is never run, expanded or globbed: $(…), `…`, ;, $VAR and * are characters of their word', () => {
    const r = runAsCron(`'$(touch PWNED-dollar)' "\\\`touch PWNED-tick\\\`" ;touch PWNED-semi $HOME * | &&`);
    expect(r.argv).toEqual(['collect', '--quiet', '$(touch PWNED-dollar)', '`touch PWNED-tick`', ';touch', 'PWNED-semi', '$HOME', '*', '|', '&&']);
    expect(r.left).toEqual(['a-file']);
  });

  it("quotes and backslashes group and escape as in sh: 'a b', \"it's\", say \"hi\", a\\ b, ''", () => {
    const r = runAsCron(`--file 'vh-sf:/vmfs/volumes/my ds/.vh.sf' "it's" 'say "hi"' a\\ b 'back\\slash' x"y"'z' ''`);
    expect(r.argv).toEqual(['collect', '--quiet', '--file', 'vh-sf:/vmfs/volumes/my ds/.vh.sf', "it's", 'say "hi"', 'a b', 'back\\slash', 'xyz', '']);
  });

  it('a % anywhere is escaped for cron (\\%), so the command is not cut there', () => {
    const r = runAsCron(`50% '%' 'a b%c' %d%%`);
    expect(r.argv).toEqual(['collect', '--quiet', '50%', '%', 'a b%c', '%d%%']);
    expect(r.line).not.toMatch(/[^\\]%/);
  });
});

describe('what cannot be written safely is refused: one line, exit 64, no crontab line', () => {
  it.each([
    ['a quote left open', `--file 'vh-sf:/x`, /--args has a quote left open/],
    ['a \\ at the end', '--ssh root@esx01 \\', /--args has a quote left open or a \\ at its end/],
    ['a control character (a line break would end the crontab line)', "'a\nb'", /"a\\nb" cannot be written in a crontab line/],
    ['an ESC', 'a\u001bb', /"a\\u001bb" cannot be written in a crontab line/],
    ['a \\ before a % (cron would take it for an escaped %)', `'a\\%'`, /"a\\\\%" cannot be written in a crontab line/],
    ['--token, even quoted', `'--token' abc`, /--args must not carry --token/],
    ['--token=…', `"--token=abc"`, /--args must not carry --token/],
  ])('%s', async (_, args, message) => {
    const r = await runCollector(['cron', `--args=${args}`], env());
    expect(r.code).toBe(64);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('a schedule that is not five cron fields, or holds more than cron field characters', async () => {
    for (const schedule of ['5 3 * *', '5 3 * * * rm', '5 3 * * %', '5 3 * * *;x']) {
      const r = await runCollector(['cron', '--schedule', schedule], env());
      expect(r.code, schedule).toBe(64);
      expect(r.stderr, schedule).toMatch(/--schedule wants five cron fields/);
    }
  });

  it('a schedule spread over lines is printed on one', () => {
    const work = mkdtempSync(join(dir, 'run-'));
    const r = cronFromCopy(work, ['--schedule', '5\n3 * * *', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { line: string }).line).toMatch(/^5 3 \* \* \* \S/);
  });
});

it("the collector's own path is quoted and escaped too: a space, a quote, a %", () => {
  const work = join(dir, "vmfs tools 100% 'ok'");
  mkdirSync(work);
  const r = runAsCron('--ssh root@esx01', work);
  expect(r.argv).toEqual(['collect', '--quiet', '--ssh', 'root@esx01']);
});
