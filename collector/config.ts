import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { CollectorError, EXIT, UsageError } from './errors.js';
import { DEFAULT_CONFIG_FILE, DEFAULT_SPOOL_DIR, parseBytes, parseInteger } from './cli.js';
import { DEFAULT_RETRY, type RetryPolicy } from './http.js';
import { hostNameProblem } from '../formats/host-name.js';
import { shellWord } from '../formats/printable.js';

export const DEFAULT_SPOOL_MAX_BYTES = 2 * 1024 ** 3;

/** The JSON config file, every key optional. */
export interface ConfigFile {
  catalogUrl?: string;
  token?: string;
  host?: string;
  spool?: string;
  spoolMaxBytes?: number | string;
  parallel?: number;
  retries?: number;
  root?: string;
  ssh?: string[];
  devices?: string[];
  files?: string[];
  undeletePaths?: string[];
  headerBytes?: number | string;
  /** The file these came from (set by loadConfigFile; not a key of the file). */
  from?: string;
}

/**
 * The keys of a config file (ConfigFile's, but `from`) and what each must hold: a string (s), a
 * list of strings (l), a byte count as its flag reads one (b), or a whole number in its flag's
 * range. A number was taken as it came: `"retries": -1` or `"x"` made every run send nothing and
 * spool its capture as unreachable (exit 75), run after run; a byte count that was none was
 * refused as a flag never given (`--spool-max-bytes: not a byte count`, exit 64).
 */
const CONFIG_KEYS: Record<string, 's' | 'l' | 'b' | [number, number]> = {
  catalogUrl: 's',
  token: 's',
  host: 's',
  spool: 's',
  spoolMaxBytes: 'b',
  parallel: [1, 64],
  retries: [0, 20],
  root: 's',
  ssh: 'l',
  devices: 'l',
  files: 'l',
  undeletePaths: 'l',
  headerBytes: 'b',
};

/** True when parseBytes reads `text` as a byte count. */
function isByteCount(text: string): boolean {
  try {
    parseBytes(text, '');
    return true;
  } catch {
    return false;
  }
}

export interface CatalogConfig {
  catalogUrl: string | null;
  token: string | null;
  retry: RetryPolicy;
}

export interface SendConfig extends CatalogConfig {
  host: string;
  spoolDir: string;
  spoolMaxBytes: number;
  parallel: number;
}

/**
 * Reads the config file: an explicit `--config` must exist, the default may not. One that cannot
 * be read or is not a JSON object with keys of the documented types fails the command (exit 78).
 * `from` is set to the file's path (when there was one), for messages about its values.
 */
export function loadConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): ConfigFile {
  const path = explicit ?? (env.VMFS_COLLECTOR_CONFIG || DEFAULT_CONFIG_FILE);
  const invalid = (why: string) => new CollectorError(`config ${path}: ${why}`, EXIT.config);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (explicit === undefined && (e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw invalid((e as NodeJS.ErrnoException).code ?? (e as Error).message);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    // V8 quotes the text around the error ('Unexpected token 'v', "{"token": vrc_…" is not
    // valid JSON'): a token written without quotes would reach stderr and the cron log.
    throw invalid(`not valid JSON (${(e as Error).message.replace(/, (\.\.\.)?"[\s\S]* is not valid JSON$/, '')})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('must be a JSON object');
  const c = parsed as Record<string, unknown>;
  for (const [k, t] of Object.entries(CONFIG_KEYS)) {
    const v = c[k];
    const wrong =
      v !== undefined &&
      (t === 's'
        ? typeof v !== 'string' && 'a string'
        : t === 'l'
          ? !(Array.isArray(v) && v.every((x) => typeof x === 'string')) && 'a list of strings'
          : t === 'b'
            ? !((typeof v === 'number' || typeof v === 'string') && isByteCount(String(v))) && 'a byte count (a number, or text such as "2G")'
            : !(Number.isInteger(v) && (v as number) >= t[0] && (v as number) <= t[1]) && `a whole number from ${t[0]} to ${t[1]}`);
    if (wrong) throw invalid(`"${k}" must be ${wrong}`);
  }
  // A key no command reads (a typo, "tokn", "catalogURL") is said, not dropped without a word.
  const keys = Object.keys(CONFIG_KEYS);
  for (const k of Object.keys(c))
    if (!keys.includes(k))
      process.stderr.write(`collector: warning: config ${path}: ${JSON.stringify(k)} is no setting (ignored); the keys: ${keys.join(', ')}\n`);
  if (typeof c.token === 'string') warnIfOthersCanRead(path);
  return { ...(c as ConfigFile), from: path };
}

/**
 * One line on stderr when a config file holding a token can be read by group or others, as
 * ssh does for a key: the README asks for mode 0600, and nothing said when it was not.
 */
function warnIfOthersCanRead(path: string): void {
  const mode = statSync(path, { throwIfNoEntry: false })?.mode ?? 0;
  if (mode & 0o077)
    process.stderr.write(
      `collector: warning: ${path} holds a token and others can read it (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); chmod 600 ${shellWord(path)}\n`,
    );
}

interface CatalogFlags {
  config?: string;
  url?: string;
  token?: string;
  retries?: string;
}

/**
 * Catalog URL and token: flags, then env, then the file. A variable set to nothing
 * (`CATALOG_URL=` in a cron env file) is unset, as the catalog takes its own: hence `||`.
 */
export function resolveCatalogConfig(flags: CatalogFlags, file: ConfigFile, env: NodeJS.ProcessEnv = process.env): CatalogConfig {
  const catalogUrl = flags.url ?? (env.CATALOG_URL || file.catalogUrl) ?? null;
  if (catalogUrl !== null) {
    let u: URL;
    try {
      u = new URL(catalogUrl);
    } catch {
      throw new UsageError(`catalog URL is not a URL: ${catalogUrl}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`catalog URL must be http or https: ${catalogUrl}`);
  }
  const retries = flags.retries !== undefined ? parseInteger(flags.retries, '--retries', 0, 20) : (file.retries ?? DEFAULT_RETRY.retries);
  return {
    catalogUrl: catalogUrl === null ? null : catalogUrl.replace(/\/+$/, ''),
    // A line end read with it (a secret file, $(cat …)) is no part of a token, and no header takes it.
    token: (flags.token ?? (env.CATALOG_TOKEN || file.token))?.trim() || null,
    retry: { ...DEFAULT_RETRY, retries },
  };
}

interface SendFlags extends CatalogFlags {
  host?: string;
  spool?: string;
  'spool-max-bytes'?: string;
  parallel?: string;
}

/** Everything collect/import need to send a capture. */
export function resolveSendConfig(flags: SendFlags, file: ConfigFile, env: NodeJS.ProcessEnv = process.env): SendConfig {
  const base = resolveCatalogConfig(flags, file, env);
  const maxText = flags['spool-max-bytes'] ?? (file.spoolMaxBytes !== undefined ? String(file.spoolMaxBytes) : undefined);
  const host = flags.host ?? (env.COLLECTOR_HOST || file.host);
  // The catalog's rule: a name it would refuse is a typo to say now, not a capture to set aside.
  const hostProblem = host === undefined ? null : hostNameProblem(host);
  if (hostProblem) throw new UsageError(`host name ${JSON.stringify(host)} ${hostProblem}`);
  return {
    ...base,
    host: host ?? hostname(),
    spoolDir: flags.spool ?? file.spool ?? DEFAULT_SPOOL_DIR,
    spoolMaxBytes: maxText !== undefined ? parseBytes(maxText, '--spool-max-bytes') : DEFAULT_SPOOL_MAX_BYTES,
    parallel: flags.parallel !== undefined ? parseInteger(flags.parallel, '--parallel', 1, 64) : (file.parallel ?? 8),
  };
}

/** Fails with a usage error unless a catalog URL and token are configured. */
export function requireCatalog(c: CatalogConfig): { catalogUrl: string; token: string } {
  if (!c.catalogUrl) throw new UsageError('no catalog URL: pass --url, set CATALOG_URL, or "catalogUrl" in the config file');
  if (!c.token) throw new UsageError('no token: pass --token, set CATALOG_TOKEN, or "token" in the config file');
  return { catalogUrl: c.catalogUrl, token: c.token };
}
