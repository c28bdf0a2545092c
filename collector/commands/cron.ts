import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_CONFIG_FILE, noPositionals, parseCommand, printedHelp } from '../cli.js';
import { UsageError } from '../errors.js';
import { shellQuote } from '../host-access.js';

export const HELP = `Usage: collector cron [--schedule "M H * * *"] [--args="..."] [--json]

Prints a crontab line that runs collect daily, for a storage host, an ESX host or the
Linux proxy that collects ESXi hosts (ESXi has no Node: --args="--ssh root@esxi01").
The default minute is derived from the host name, so a fleet does not start at once.
The line holds no URL or token: it relies on ${DEFAULT_CONFIG_FILE} (shape
printed with it). --args may not hold --token: no token in a crontab.

  --schedule SPEC      five cron fields (default: a host-specific minute past 02:00)
  --args="..."         extra collect arguments, e.g. --args="--ssh root@esx01 --ssh root@esx02"
  --json               only {"line": "<the crontab line>"} on stdout
  -h, --help           this help
`;

/** `cron`: prints the lines; changes nothing. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('cron', { schedule: { type: 'string' }, args: { type: 'string' } }, args, true);
  if (printedHelp(values, HELP)) return 0;
  noPositionals('cron', positionals);
  const minute = createHash('sha256').update(hostname()).digest()[0] % 60;
  const schedule = values.schedule ?? `${minute} 2 * * *`;
  if (schedule.trim().split(/\s+/).length !== 5) throw new UsageError('cron: --schedule wants five cron fields');
  if (values.args && /(^|\s)--token\b/.test(values.args)) throw new UsageError(`cron: --args must not carry --token; put "token" in ${DEFAULT_CONFIG_FILE}`);
  const script = resolve(process.argv[1] ?? 'collector.cjs');
  // Each path one word for cron's shell (a space in "/opt/vmfs tools/" split the line in two).
  const cmd = `${shellQuote(process.execPath)} ${shellQuote(script)} collect --quiet${values.args ? ` ${values.args}` : ''} >> /var/log/vmfs-collector.log 2>&1`;
  const line = `${schedule} ${cmd}`;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ line }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`# The line relies on ${DEFAULT_CONFIG_FILE} (mode 600, owned by root) for the catalog:
# {"catalogUrl": "https://catalog.example/", "token": "<token>"}

# crontab -e (as root), or /etc/cron.d/vmfs-collector with "root" after the schedule:
${line}
`);
  return 0;
}
