import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';
import { shellWord } from '../formats/printable.js';
import { DEFAULT_HOST_SETTINGS, type HostSettings } from './host-access.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** An option given a value: `--url URL` (parseArgs' string option; one object for every such option). */
export const VALUE = { type: 'string' } as const;
/** An option given once for each of its values: `--ssh A --ssh B`. */
export const VALUES = { type: 'string', multiple: true } as const;

/** Options every command that talks to the catalog understands. */
export const CATALOG_OPTIONS = {
  config: VALUE,
  url: VALUE,
  token: VALUE,
  retries: VALUE,
} as const satisfies OptionSpec;

/** Options of commands that send captures (collect, import). */
export const SEND_OPTIONS = {
  ...CATALOG_OPTIONS,
  host: VALUE,
  spool: VALUE,
  'spool-max-bytes': VALUE,
  parallel: VALUE,
  'dry-run': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
} as const satisfies OptionSpec;

/** parseArgs with `--help`/`--json` added and its errors turned into usage errors (exit 64), each in one line: a value starting with `-` keeps parseArgs' last line, which says to write `--args=-VALUE`. */
export function parseCommand<O extends OptionSpec>(command: string, options: O, args: string[], allowPositionals: boolean) {
  try {
    const r = parseArgs({
      args,
      options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' }, ...options },
      allowPositionals,
      strict: true,
    });
    return r;
  } catch (e) {
    // An unknown option is named with where the options are listed; parseArgs' own sentence
    // advised `-- "--x"`, a positional no command but inspect and import takes.
    const unknown = /^Unknown option '(.*?)'\./.exec((e as Error).message);
    if (unknown) throw new UsageError(`${command}: unknown option ${unknown[1]} (collector ${command} --help lists them)`);
    throw new UsageError(`${command}: ${(e as Error).message.replace(/\n/g, ' ')}`);
  }
}

/** Writes a command's help when `--help` asked for it; true when it did (the command then ends). */
export function printedHelp(values: { help?: boolean; json?: boolean }, help: string): boolean {
  // --json: one JSON document, the usage in it, as every other answer under --json.
  if (values.help) process.stdout.write(values.json ? `${JSON.stringify({ usage: help }, null, 2)}\n` : help);
  return values.help === true;
}

/** `text` if it is one of `values`, else a usage error naming `what` (a flag's value, a kind). */
export function oneOf<T extends string>(text: string, what: string, values: readonly T[]): T {
  if (!values.includes(text as T)) throw new UsageError(`${what} must be one of ${values.join(', ')}`);
  return text as T;
}

/** Refuses arguments a command does not take. */
export function noPositionals(command: string, positionals: string[]): void {
  if (positionals.length) throw new UsageError(`${command}: unexpected argument ${positionals[0]}`);
}

const SIZE_SUFFIX: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A byte count with an optional K/M/G/T (binary) suffix: `1536M`, `20971520`. */
export function parseBytes(text: string, what: string): number {
  const m = /^(\d+)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${what}: not a byte count: ${text}`);
  const v = Number(m[1]) * SIZE_SUFFIX[m[2].toLowerCase()];
  if (!Number.isSafeInteger(v)) throw new UsageError(`${what}: too large: ${text}`);
  return v;
}

/** Options of commands that discover hosts (collect, discover): where to look and how long a host command may take. */
export const HOST_OPTIONS = {
  root: VALUE,
  ssh: VALUES,
  device: VALUES,
  file: VALUES,
  undelete: VALUES,
  'command-timeout': VALUE,
} as const satisfies OptionSpec;

export const HOST_HELP = `  --command-timeout S  kill a host command (or an ssh read silent that long) after S
                       seconds; that artifact fails (default 300)`;

/** How the run reaches its hosts: `--command-timeout` (seconds), else the default. */
export function parseHostSettings(commandTimeout: string | undefined): HostSettings {
  if (commandTimeout === undefined) return DEFAULT_HOST_SETTINGS;
  return { commandTimeoutMs: parseInteger(commandTimeout, '--command-timeout', 1, 86_400) * 1000 };
}

/** A whole number in [min, max]. */
export function parseInteger(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${what}: not a whole number: ${text}`);
  const v = Number(text);
  if (v < min || v > max) throw new UsageError(`${what}: must be between ${min} and ${max}`);
  return v;
}

/** Read when --config and VMFS_COLLECTOR_CONFIG name none; help texts name it through this one string. */
export const DEFAULT_CONFIG_FILE = '/etc/vmfs-collector.json';

/** Where captures wait without --spool or "spool"; help texts name it through this one string. */
export const DEFAULT_SPOOL_DIR = '/var/spool/vmfs-collector';

/** `collector spool list` as the operator pastes it to see `dir`: with `--spool DIR` unless it is the default spool. */
export function spoolListCommand(dir: string): string {
  return dir === DEFAULT_SPOOL_DIR ? 'collector spool list' : `collector spool list --spool ${shellWord(dir)}`;
}

export const COMMON_HELP = `
Catalog options (flags win over env, env over the config file):
  --url URL            catalog base URL (env CATALOG_URL, config "catalogUrl")
  --token TOKEN        bearer token (env CATALOG_TOKEN, config "token"); never printed
  --config FILE        JSON config (default ${DEFAULT_CONFIG_FILE}; a missing default is fine)
  --retries N          retries per request on network errors, 408, 429 and 5xx
                       (default 4; a Retry-After up to 60 s is waited out)
  --json               machine-readable output on stdout, an error's too
  -h, --help           this help`;

export const SEND_HELP = `
Sending options:
  --host NAME          host name recorded (env COLLECTOR_HOST, config "host"; default: hostname)
  --spool DIR          spool for unsent captures and staged chunks (default ${DEFAULT_SPOOL_DIR})
  --spool-max-bytes N  bound on the spool (default 2G; K/M/G suffixes)
  --parallel N         chunk uploads at once (default 8)
  --dry-run            read, hash and report, but upload and commit nothing
  -q, --quiet          no progress output (shown on a TTY only)`;

export const EXIT_HELP = `
Exit status: 0 done · 1 failed (nothing could be read; or token, host or URL refused:
kept in the spool) · 2 partial (some artifacts failed) · 64 usage · 65 the catalog will
never take a capture (a 4xx but 401/403/404/405/408/429, or one 5xx but 502/503/504 on
3 runs over 6 h): set aside in <spool>/rejected/ (collector spool list) · 75 catalog
unreachable or failing: spooled for the next run · 78 config file unreadable or invalid
(nothing done), or TLS cert untrusted. First that applies: refused token (1),
75/78, 1, 65, 2.`;
