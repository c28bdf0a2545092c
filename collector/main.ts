/**
 * The collector's entry point (bundled to dist/collector.cjs): dispatches on the command name.
 * The commands are imported, not loaded on demand: a module loaded on demand is wrapped in the
 * bundle, its top-level names declared twice and every import an init call (~2,700 bytes of the
 * budget), while all a lazy load spared was ~5 ms of Node built-ins on `--version` and `--help`.
 */
import { run as collect } from './commands/collect.js';
import { run as cron } from './commands/cron.js';
import { run as discover } from './commands/discover.js';
import { run as importBackups } from './commands/import.js';
import { run as inspect } from './commands/inspect.js';
import { run as restore } from './commands/restore.js';
import { run as spool } from './commands/spool.js';
import { DEFAULT_CONFIG_FILE } from './cli.js';
import { CollectorError, describeError, EXIT, jsonError } from './errors.js';
import { VERSION } from './version.js';
import { printableJson, visible } from '../formats/printable.js';

const USAGE = `Usage: collector <command> [options]

Keeps the bytes that bring a VMware datastore back (VMFS headers, .vh.sf copies,
iSCSI target configuration, ESX inventories) in the recovery catalog.

Commands:
  collect             discover, read and upload what this host (or --ssh hosts) can lose
  import FILE...      upload backups made by the old cron scripts (.hex, .bu, SMF XML, …)
  inspect FILE...     parse saved artifacts locally and print what they say
  discover            show what collect would capture here, and why
  restore             fetch a restore bundle, verify every checksum, unpack it
  cron                print the crontab line (ESXi, which has no Node: from a proxy, --ssh)
  spool               list, resend or drop captures waiting in the spool or rejected

  collector <command> --help     options of a command
  collector --version            the collector's version

Configuration: flags, then env CATALOG_URL / CATALOG_TOKEN / COLLECTOR_HOST, then
the JSON file --config (else env VMFS_COLLECTOR_CONFIG, else ${DEFAULT_CONFIG_FILE}).
A variable set to nothing is unset.
Exit status: 0 done · 1 failed · 2 partial · 3 damaged in the catalog (restore) · 64 usage ·
65 rejected · 75 the catalog unreachable or busy: try again (collect, import: spooled for
the next run) · 78 config file unreadable or invalid, or TLS cert untrusted.
`;

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = { collect, import: importBackups, inspect, discover, restore, cron, spool };

/**
 * The one line on stderr, and with --json (before any `--`) the same as JSON on stdout, where a
 * script reads the command's own (jsonError). Answers `status`.
 */
function failed(argv: string[], message: string, status: number): number {
  process.stderr.write(`collector${argv[0] in COMMANDS ? ` ${argv[0]}` : ''}: ${visible(message)}\n`);
  const args = argv.indexOf('--');
  if ((args < 0 ? argv : argv.slice(0, args)).includes('--json')) process.stdout.write(`${printableJson(jsonError(status, message))}\n`);
  return status;
}

/** Runs one command line; resolves with the exit status. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-V' || command === 'version') {
    // --json: one JSON document, as every command's and the catalog CLI's --version print.
    process.stdout.write(rest.includes('--json') ? `${JSON.stringify({ version: VERSION }, null, 2)}\n` : `${VERSION}\n`);
    return EXIT.ok;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(rest.includes('--json') ? `${JSON.stringify({ usage: USAGE }, null, 2)}\n` : USAGE);
    return EXIT.ok;
  }
  const runCommand = command === undefined ? undefined : COMMANDS[command];
  const fail = (message: string, status: number) => failed(argv, message, status);
  if (!runCommand) {
    if (command === undefined) process.stderr.write(USAGE);
    if (command === undefined) return EXIT.usage;
    // `collector --json` (or an option before the command): no command, not an unknown one named "--json".
    return fail(`${command.startsWith('-') ? 'no command given' : `unknown command ${JSON.stringify(command)}`} (see collector --help)`, EXIT.usage);
  }
  try {
    return await runCommand(rest);
  } catch (e) {
    // Usage errors name their command themselves ("restore: --at is not …"): once is enough.
    if (e instanceof CollectorError) return fail(e.message.slice(e.message.startsWith(`${command}: `) ? command.length + 2 : 0), e.exitCode);
    // Unexpected: still one line, unless the operator asks for the trace.
    if (process.env.COLLECTOR_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
    return fail(`internal error: ${describeError(e)}`, EXIT.failed);
  }
}

if (require.main === module) {
  // A reader that stops early (`… | head`): the rest of the output goes nowhere; the run finishes.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  const argv = process.argv.slice(2);
  main(argv).then((code) => {
    process.exitCode = code;
  });
  // The loop ran dry with the command still waiting (a stream that neither ended nor failed):
  // that must not pass for success.
  process.on('beforeExit', () => (process.exitCode ??= failed(argv, 'internal error: the command never finished', EXIT.failed)));
}
