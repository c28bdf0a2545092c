/**
 * The collector's entry point (bundled to dist/collector.cjs). Commands are imported
 * statically: loading one lazily had the bundler wrap each of its modules in an init
 * function (about 2 KB of the bundle's budget), while evaluating the modules of all
 * of them costs `--version` a few milliseconds at most (test/bench/collector.bench.ts).
 */
import * as collect from './commands/collect.js';
import * as cron from './commands/cron.js';
import * as discover from './commands/discover.js';
import * as importCommand from './commands/import.js';
import * as inspect from './commands/inspect.js';
import * as restore from './commands/restore.js';
import * as spool from './commands/spool.js';
import { CollectorError, describeError, EXIT } from './errors.js';
import { VERSION } from './version.js';
import { workerData } from 'node:worker_threads';
import { HASH_WORKER, serveHashJobs } from './hash-pool.js';

const USAGE = `Usage: collector <command> [options]

Keeps the bytes that bring a VMware datastore back (VMFS headers, .vh.sf copies,
iSCSI target configuration, ESX inventories) in the recovery catalog.

Commands:
  collect             discover, read and upload what this host (or --ssh hosts) can lose
  import FILE...      upload backups made by the old cron scripts (.hex, .bu, SMF XML, …)
  inspect FILE...     parse saved artifacts locally and print what they say
  discover            show what collect would capture here, and why
  restore             fetch a restore bundle, verify every checksum, unpack it
  cron                print the crontab line (and how to keep it on ESXi)
  spool               list, resend or drop captures waiting in the spool or rejected

  collector <command> --help     options of a command
  collector --version            the collector's version

Configuration: flags, then env CATALOG_URL / CATALOG_TOKEN / COLLECTOR_HOST, then
the JSON file given with --config, else env VMFS_COLLECTOR_CONFIG, else
/etc/vmfs-collector.json (a missing default file is fine).
Exit status: 0 done · 1 failed · 2 partial · 64 usage · 65 delivered, but a capture was
rejected (see collector spool list) · 75 catalog unreachable, capture spooled.
`;

const COMMANDS: Record<string, { run(args: string[]): Promise<number> }> = { collect, import: importCommand, inspect, discover, restore, cron, spool };

/** Runs one command line; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  const load = command === undefined ? undefined : COMMANDS[command];
  if (!load) {
    process.stderr.write(command === undefined ? USAGE : `collector: unknown command ${JSON.stringify(command)} (see collector --help)\n`);
    return EXIT.usage;
  }
  try {
    return await load.run(rest);
  } catch (e) {
    if (e instanceof CollectorError) {
      process.stderr.write(`collector ${command}: ${e.message}\n`);
      return e.exitCode;
    }
    // Unexpected: still one line, unless the operator asks for the trace.
    process.stderr.write(`collector ${command}: internal error: ${describeError(e)}\n`);
    if (process.env.COLLECTOR_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
    return EXIT.failed;
  }
}

if (workerData === HASH_WORKER) serveHashJobs();
else if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
