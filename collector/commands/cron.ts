import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_CONFIG_FILE, noPositionals, parseCommand, printedHelp, VALUE } from '../cli.js';
import { UsageError } from '../errors.js';
import { hasControlChars, shellWord, visible } from '../../formats/printable.js';

export const HELP = `Usage: collector cron [--schedule "M H * * *"] [--args="..."] [--json]

Prints a crontab line that runs collect daily, for a storage host, an ESX host or the
Linux proxy that collects ESXi hosts (ESXi has no Node: --args="--ssh root@esxi01").
The default minute is derived from the host name, so a fleet does not start at once.
The line holds no URL or token: it relies on ${DEFAULT_CONFIG_FILE}, or the --config FILE
in --args (shape printed with it). --args may not hold --token: no token in a crontab.

  --schedule SPEC      five cron fields (default: a host-specific minute past 02:00)
  --args="..."         extra collect arguments, e.g. --args="--ssh root@esx01 --ssh root@esx02":
                       words as sh splits them ('…', "…", \\), each passed as is, never run
  --json               only {"line": "<the crontab line>"} on stdout
  -h, --help           this help
`;

/**
 * --args as the words collect is to get: split as sh splits a command line (blanks between
 * words, '…' and "…" quoting, \ escaping), with nothing expanded or run: `$(…)`, `;` and `*`
 * stay characters of their word. Null for an unclosed quote or a \ at the end.
 */
export function splitArgs(text: string): string[] | null {
  const piece = /[ \t\n]+|'([^']*)'|"((?:[^"\\]|\\[\s\S])*)"|\\([\s\S])|[^ \t\n'"\\]+/y;
  const words: string[] = [];
  let word: string | null = null;
  while (piece.lastIndex < text.length) {
    const m = piece.exec(text);
    if (!m) return null;
    if (/^[ \t\n]/.test(m[0])) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      // Inside "…" a backslash escapes only \, ", $ and ` (POSIX 2.2.3).
      word = (word ?? '') + (m[1] ?? m[2]?.replace(/\\([\\"$`])/g, '$1') ?? m[3] ?? m[0]);
    }
  }
  return word === null ? words : [...words, word];
}

/** `cron`: prints the lines; changes nothing. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('cron', { schedule: VALUE, args: VALUE }, args, true);
  if (printedHelp(values, HELP)) return 0;
  noPositionals('cron', positionals);
  const minute = createHash('sha256').update(hostname()).digest()[0] % 60;
  const fields = (values.schedule ?? `${minute} 2 * * *`).trim().split(/\s+/);
  if (fields.length !== 5 || !fields.every((f) => /^[\w*,/?-]+$/.test(f))) throw new UsageError('cron: --schedule wants five cron fields');
  const extra = splitArgs(values.args ?? '');
  if (!extra) throw new UsageError('cron: --args has a quote left open or a \\ at its end');
  // The file the line's collect reads: the --config it carries, else the default.
  const at = extra.findIndex((w) => w === '--config' || w.startsWith('--config='));
  const configFile = at < 0 ? DEFAULT_CONFIG_FILE : extra[at].startsWith('--config=') ? extra[at].slice(9) : (extra[at + 1] ?? DEFAULT_CONFIG_FILE);
  if (extra.some((w) => /^--token\b/.test(w))) throw new UsageError(`cron: --args must not carry --token; put "token" in ${visible(configFile)}`);
  const script = resolve(process.argv[1] ?? 'collector.cjs');
  // Every word quoted for cron's shell (a space in "/opt/vmfs tools/" split the line in two;
  // `$(…)` or `;` in --args ran), and every % escaped: cron makes a bare one a line break.
  const words = [process.execPath, script, 'collect', '--quiet', ...extra];
  const cmd = words.map(shellWord).join(' ');
  const unwritable = words.find((w) => hasControlChars(w) || w.includes('\\%'));
  if (unwritable !== undefined)
    throw new UsageError(`cron: ${JSON.stringify(unwritable)} cannot be written in a crontab line (a control character, or \\ before %)`);
  const line = `${fields.join(' ')} ${cmd.replaceAll('%', '\\%')} >> /var/log/vmfs-collector.log 2>&1`;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ line }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`# The line relies on ${visible(configFile)} (mode 600, owned by root) for the catalog:
# {"catalogUrl": "https://catalog.example/", "token": "<token>"}

# crontab -e (as root), or /etc/cron.d/vmfs-collector with "root" after the schedule:
${line}
`);
  return 0;
}
