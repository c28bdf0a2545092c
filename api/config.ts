/**
 * Configuration by environment, validated once at boot by one zod schema.
 * Every variable is documented in .env.example.
 */
import { z } from 'zod';
import { failureLine, foreignStoreStatus, isMissingBucket, isMissingCredentials } from './errors.js';
import { checkTimeZone } from './retention/policy.js';
import { fsStoreRoot } from './store/fs.js';

/** True when `check` returns instead of throwing. */
function passes(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

/** True when every %XX escape in `s` decodes. */
const decodes = (s: string) => passes(() => decodeURIComponent(s));

/** True when the runtime knows `timeZone` as an IANA time zone. */
const knownTimeZone = (timeZone: string) => passes(() => checkTimeZone(timeZone));

/**
 * Why `value` cannot be PUBLIC_URL, or null. Upload, download and console URLs are PUBLIC_URL
 * plus /v1/…: another scheme, a query or a fragment made them unusable, and a user:password@
 * went into each of them and into the console URL the start prints. The problem never
 * quotes the value.
 */
function publicUrlProblem(value: string): string | null {
  if (!/^https?:\/\/[^?#]*$/i.test(value) || !URL.canParse(value)) return 'must be an http(s) URL without ? or #';
  const url = new URL(value);
  if (url.username || url.password) return 'must not hold a user name or password (user:password@): the start prints it, and every upload URL starts with it';
  return null;
}

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * The largest retention count: a million captures a rule may keep (hourly, 114 years). A count
 * is a number or `unlimited`; past this a typo (a digit too many, 1e23 as `99999999999999999999999`)
 * is said, not printed back as "1e+23 daily".
 */
export const KEEP_COUNT_MAX = 1_000_000;
const keepCount = z
  .string()
  .refine((v) => v === 'unlimited' || (/^\d+$/.test(v) && Number(v) <= KEEP_COUNT_MAX), `a number from 0 to ${KEEP_COUNT_MAX}, or unlimited`);
/** The longest RETENTION_KEEP_WITHIN, in years. */
export const KEEP_WITHIN_MAX_YEARS = 100;
/** True for a RETENTION_KEEP_WITHIN (already in its syntax) of at most KEEP_WITHIN_MAX_YEARS, the parts added up. */
function withinBound(v: string): boolean {
  const m = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?$/.exec(v);
  if (!m) return true;
  const [y, mo, d, h] = m.slice(1).map((x) => Number(x ?? 0));
  return y * 8784 + mo * 732 + d * 24 + h <= KEEP_WITHIN_MAX_YEARS * 8784;
}
/**
 * The largest COLLECTOR_TOKEN_HOSTS_MAX: a begin naming a new host counts the token's hosts, and a
 * number past this is a typo more likely than a fleet behind one token.
 */
export const COLLECTOR_TOKEN_HOSTS_LIMIT = 65_536;
/** The longest STALE_AFTER_HOURS and REPLICATION_PERIOD_HOURS: ten years. */
const HOURS_MAX = 87_600;

export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  /** Base URL clients use to reach this API (fs-store upload/download URLs point here); its scheme kept lower-case. */
  PUBLIC_URL: z
    .string()
    .superRefine((value, ctx) => {
      const problem = publicUrlProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    // Read as written but for the scheme: the console's cookies are Secure when it starts with https:.
    .transform((value) => value.replace(/^https?:/i, (scheme) => scheme.toLowerCase()))
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    // The driver decodes the URL's escapes (a password's %); a stray % stopped the start with "URI malformed".
    .refine(decodes, 'holds a % that starts no %XX escape (write a % in the password as %25)')
    .optional(),
  S3_BUCKET: z.string().min(3).optional(),
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_FORCE_PATH_STYLE: bool.default(false),
  /** Milliseconds an S3 request may stay silent (connecting, sending, waiting) before it fails. */
  S3_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** Tries per S3 request, the first included. */
  S3_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  /**
   * Where DATABASE_URL comes from when it is not set: a Secrets Manager secret (ARN) holding
   * the postgres:// URL, or RDS's JSON {username, password, host, port, dbname}.
   */
  DATABASE_SECRET_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:secretsmanager:/, 'must be a Secrets Manager secret ARN')
    .optional(),
  /** With DATABASE_SECRET_ARN: connect to this host instead of the secret's (an RDS Proxy endpoint). */
  DATABASE_HOST: z.string().min(1).optional(),
  /**
   * Node processes serving HTTP (npm start, the container, systemd): `auto` = one fewer than
   * the available cores, at least 1 and at most AUTO_SERVER_PROCESSES_MAX, on PostgreSQL; 1 on
   * the embedded database, which allows only one process (api/server.ts refuses more there).
   */
  SERVER_PROCESSES: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(64)]).default('auto'),
  /** Connections this process may hold to Postgres; 1 on Lambda (RDS Proxy pools them). */
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  /** Use prepared statements on Postgres; false behind a transaction-pooling proxy (RDS Proxy, PgBouncer). */
  DATABASE_PREPARE: bool.default(true),
  /** Seconds to wait for a Postgres connection. */
  DATABASE_CONNECT_TIMEOUT: z.coerce.number().int().min(1).max(600).default(10),
  /** Milliseconds one SQL statement may run on Postgres (statement_timeout); 0 = no limit. */
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(86_400_000).default(120_000),
  /**
   * Seconds a server start waits for another process holding the embedded database (an admin
   * command such as retention or maintenance) to let go, before it exits 75 (EX_TEMPFAIL) for its
   * service manager to start it again; 0 = exit at once. The catalog CLI does not wait.
   */
  DATABASE_LOCK_WAIT: z.coerce.number().int().min(0).max(3600).default(60),
  /** Milliseconds /readyz waits for the database and the store probe before it answers 503. */
  READY_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
  CATALOG_BOOTSTRAP_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  /** Seconds an upload URL stays valid. */
  UPLOAD_URL_TTL: z.coerce
    .number()
    .int()
    .min(10)
    .max(7 * 24 * 3600)
    .default(3600),
  /**
   * A commit whose staged chunks to read back and hash add up to more than this many bytes is
   * handed to a worker and answered 202 (api/ingest/commit-jobs.ts; chunks taken through the
   * chunks route were verified on arrival and do not count while this process holds them), or whose new artifacts to hash
   * whole add up to more than 16 times this (INLINE_WHOLE_HASH_FACTOR); 0 hands every commit that has staged bytes or a new
   * artifact to hash to it.
   */
  COMMIT_INLINE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 40)
    .default(64 * 1024 * 1024),
  /** Seconds a commit worker holds a job without renewing it; a job whose runner died is taken again after this. */
  COMMIT_JOB_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /**
   * Hosts one collector token may bring into the catalog (api/ingest/begin.ts): a begin naming a
   * host the catalog does not hold yet is refused with 403 once the token's commits brought this
   * many, counting the new hosts its open captures name. A wildcard scope (`esxi-*`) covers any
   * name its collector invents; its begins for hosts already there are never refused.
   */
  COLLECTOR_TOKEN_HOSTS_MAX: z.coerce.number().int().min(1).max(COLLECTOR_TOKEN_HOSTS_LIMIT).default(256),
  /** Hours after which a host without a capture is reported stale. */
  STALE_AFTER_HOURS: z.coerce.number().positive().max(HOURS_MAX).default(36),
  /** Hours after the newest snapshot of an LU's backing zvol before backing-store-missing says replication stopped. */
  REPLICATION_PERIOD_HOURS: z.coerce.number().positive().max(HOURS_MAX).default(48),
  /** Where events are POSTed (optional); deliveries wait in the webhook_outbox table and are retried. */
  WEBHOOK_URL: z
    .string()
    // One problem, said once: it was "Invalid URL" and "must be an http(s) URL" on two lines.
    .refine((v) => /^https?:\/\//i.test(v) && URL.canParse(v), 'must be an http(s) URL')
    .optional(),
  /** Key of the X-Catalog-Signature-256 HMAC-SHA256 header on every webhook delivery. */
  WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Take the client address of audit rows from X-Forwarded-For (only behind a proxy that sets it). */
  TRUST_PROXY: bool.default(false),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** GFS retention (api/retention/): counts per period (a number or `unlimited`), keep-within as a duration (`7d`). */
  RETENTION_KEEP_LAST: keepCount.optional(),
  RETENTION_KEEP_HOURLY: keepCount.optional(),
  RETENTION_KEEP_DAILY: keepCount.optional(),
  RETENTION_KEEP_WEEKLY: keepCount.default('5'),
  RETENTION_KEEP_MONTHLY: keepCount.default('12'),
  RETENTION_KEEP_YEARLY: keepCount.default('unlimited'),
  RETENTION_KEEP_WITHIN: z
    .string()
    .regex(/^(?:0|(?:\d+y)?(?:\d+m)?(?:\d+d)?(?:\d+h)?)$/, 'a duration such as 7d, 36h, 1y6m, or 0 for none')
    // Past the dates a Date holds, every retention run with a capture failed ('Invalid time value').
    .refine(
      withinBound,
      `at most ${KEEP_WITHIN_MAX_YEARS} years (${KEEP_WITHIN_MAX_YEARS}y, ${KEEP_WITHIN_MAX_YEARS * 12}m, ${KEEP_WITHIN_MAX_YEARS * 366}d or ${KEEP_WITHIN_MAX_YEARS * 8784}h)`,
    )
    // A bare 0 turns the rule off, as for the counts above it (the same as 0d).
    .transform((v) => (v === '0' ? '0h' : v))
    .default('7d'),
  /**
   * IANA time zone whose calendar days, ISO weeks, months and years the retention buckets follow.
   * Checked here: an unknown zone passed the start and stopped each retention run (and, with
   * RETENTION_SCHEDULED, the hourly maintenance pass) later.
   */
  RETENTION_TIME_ZONE: z.string().min(1).refine(knownTimeZone, 'unknown time zone; use an IANA name such as Europe/Berlin or UTC').default('UTC'),
  /**
   * Whether the Node server runs the maintenance pass itself (worker 1, a minute after start,
   * then hourly). false where something else runs it: the AWS maintenance function, or a
   * process that must not do work of its own beside what it is asked (benchmarks, tests).
   */
  MAINTENANCE_SCHEDULED: bool.default(true),
  /** Whether the scheduled maintenance pass applies retention (deletes dropped captures and their chunks). */
  RETENTION_SCHEDULED: bool.default(false),
  /** Percent of the stored chunks the maintenance pass re-reads and re-hashes once a day (0 = no scrub). */
  SCRUB_PERCENT: z.coerce.number().min(0).max(100).default(5),
  /** S3 Object Lock: chunk and manifest PUTs carry a retention date (the bucket must have Object Lock enabled). */
  S3_OBJECT_LOCK: bool.default(false),
  S3_OBJECT_LOCK_MODE: z.enum(['GOVERNANCE', 'COMPLIANCE']).default('GOVERNANCE'),
  /** Days an object kept by an unlimited tier (or a pin) is locked for; each retention run extends it. */
  S3_OBJECT_LOCK_MAX_DAYS: z.coerce.number().int().min(1).max(36_500).default(400),
});

export type Config = z.infer<typeof configSchema>;

/**
 * The most processes `SERVER_PROCESSES=auto` starts: each holds up to DATABASE_POOL_MAX
 * connections (10 by default), and 4 × 10 stays well inside PostgreSQL's default
 * max_connections (100), beside the admin CLI and other clients. Set a number to go past it.
 */
export const AUTO_SERVER_PROCESSES_MAX = 4;

/** True when the catalog runs on PostgreSQL (a URL, or a secret holding one), false on the embedded database. */
export function onPostgres(config: Pick<Config, 'DATABASE_URL' | 'DATABASE_SECRET_ARN'>): boolean {
  return !!(config.DATABASE_URL || config.DATABASE_SECRET_ARN);
}

/**
 * How many Node processes serve HTTP: SERVER_PROCESSES, with `auto` resolved. On PostgreSQL
 * that is one fewer than the available cores (at least 1, at most AUTO_SERVER_PROCESSES_MAX):
 * PostgreSQL spends about 40 % as much CPU on a commit as the server does, and a second server
 * process made each commit cost the server up to 42 % more CPU, so a process per core pays only
 * where cores would sit idle — on 2 cores shared with PostgreSQL it measured a median 8 % faster
 * at 500 collectors and not reliably faster at 200 (README, "Speed, measured"). On the embedded database it is 1, and a number above 1 throws a ConfigError:
 * PGlite is one process's.
 */
export function serverProcessesOf(config: Pick<Config, 'SERVER_PROCESSES' | 'DATABASE_URL' | 'DATABASE_SECRET_ARN'>, cores: number): number {
  const postgres = onPostgres(config);
  if (config.SERVER_PROCESSES === 'auto') return postgres ? Math.max(1, Math.min(cores - 1, AUTO_SERVER_PROCESSES_MAX)) : 1;
  if (config.SERVER_PROCESSES > 1 && !postgres) {
    throw new ConfigError([
      `SERVER_PROCESSES: ${config.SERVER_PROCESSES} needs PostgreSQL (DATABASE_URL or DATABASE_SECRET_ARN); the embedded database allows one process`,
    ]);
  }
  return config.SERVER_PROCESSES;
}

/**
 * The http:// base URL a client on this machine uses for a bind address: PUBLIC_URL's default.
 * A wildcard bind (0.0.0.0, ::) is reached on loopback, and an IPv6 literal needs brackets:
 * with HOST=:: the upload URLs read `http://:::8787/…`, which no collector could parse.
 */
export function localBaseUrl(host: string, port: number): string {
  return `http://${urlHost(host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host)}:${port}`;
}

/**
 * Whether a host (a URL's hostname, IPv6 in brackets, or a bind address) is this machine's
 * loopback: localhost, 127.0.0.0/8, ::1 or an IPv4-mapped 127.x. No other machine reaches it.
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1' || /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(h);
}

/** A host as a URL writes it: an IPv6 literal in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Settings that start the catalog but likely not as the admin meant, one sentence each (the
 * start prints them; none stops it, since test setups export S3_ENDPOINT without a bucket on
 * purpose). S3_ENDPOINT or S3_OBJECT_LOCK without S3_BUCKET leaves chunks and manifests in
 * DATA_DIR. A wildcard bind without PUBLIC_URL hands out upload URLs naming 127.0.0.1, as the
 * console opened at the printed address names it in a collector's configuration: a collector
 * on another machine reached the catalog, then failed each upload.
 */
/**
 * The path PUBLIC_URL puts before the catalog's own paths (`/vmfs-catalog` for
 * `https://proxy.example/vmfs-catalog/`), '' for none: a reverse proxy serving the catalog
 * there strips it before a request arrives, so routes stay at `/` and only what the catalog
 * writes for a browser (the console's links, forms and redirects) must carry it.
 */
export function publicPathPrefix(publicUrl: string | undefined): string {
  return publicUrl ? new URL(publicUrl).pathname.replace(/\/+$/, '') : '';
}

export function startWarnings(config: Pick<Config, 'HOST' | 'PORT' | 'PUBLIC_URL' | 'DATA_DIR' | 'S3_BUCKET' | 'S3_ENDPOINT' | 'S3_OBJECT_LOCK'>): string[] {
  const warnings: string[] = [];
  if (!config.S3_BUCKET) {
    const set = [config.S3_ENDPOINT ? 'S3_ENDPOINT' : '', config.S3_OBJECT_LOCK ? 'S3_OBJECT_LOCK=true' : ''].filter(Boolean);
    if (set.length) {
      warnings.push(
        `${set.join(' and ')} ${set.length > 1 ? 'are' : 'is'} set but S3_BUCKET is not: chunks and manifests are kept in the filesystem store under DATA_DIR (${fsStoreRoot(config.DATA_DIR)}), not in S3; S3_BUCKET selects S3`,
      );
    }
  }
  if ((config.HOST === '0.0.0.0' || config.HOST === '::') && !config.PUBLIC_URL) {
    const local = localBaseUrl(config.HOST, config.PORT);
    const named = config.S3_BUCKET
      ? `a console opened at ${local}/ names ${local} in a collector's configuration`
      : `upload URLs name ${local}, as does a collector's configuration from the console opened there`;
    warnings.push(
      `HOST=${config.HOST} listens on every address but PUBLIC_URL is not set: ${named}, so collectors on other machines need PUBLIC_URL (http://<this machine's name>:${config.PORT})`,
    );
  }
  return warnings;
}

/** Thrown with one line per bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    // One problem, one line; several, one line each.
    super(problems.length === 1 ? `invalid configuration: ${problems[0]}` : `invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * The setting error a store failure is when S3_BUCKET or S3_ENDPOINT is wrong — the bucket not
 * there, or an endpoint answering as no S3 server does (errors.ts isMissingBucket,
 * foreignStoreStatus), or no credentials for it (S3_BUCKET set, and no AWS_ACCESS_KEY_ID, profile
 * or role: the SDK's 'Could not load credentials from any providers', exit 1 before) — with the
 * bucket and where it was looked for named; null for any other failure. `settings` is read only
 * for such a failure.
 */
export function storeSettingError(err: unknown, settings: () => Pick<Config, 'S3_BUCKET' | 'S3_ENDPOINT' | 'S3_REGION'>): ConfigError | null {
  const missing = isMissingBucket(err);
  const noCredentials = !missing && isMissingCredentials(err);
  const status = missing || noCredentials ? null : foreignStoreStatus(err);
  if (!missing && !noCredentials && status === null) return null;
  const config = settings();
  const where = config.S3_ENDPOINT ?? `AWS S3 (${config.S3_REGION})`;
  if (noCredentials)
    return new ConfigError([
      `S3_BUCKET: no credentials for bucket ${JSON.stringify(config.S3_BUCKET ?? '')} at ${where} (${failureLine(err)}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or run where a role gives them`,
    ]);
  if (missing)
    return new ConfigError([
      `S3_BUCKET: no bucket ${JSON.stringify(config.S3_BUCKET ?? '')} at ${where}: make it (versioned), or set S3_BUCKET to the catalog's`,
    ]);
  return new ConfigError([
    `S3_ENDPOINT: ${where} answered HTTP ${status} as no S3 server does (${failureLine(err)}): set it to the address of the store's S3 API (MinIO: its API port, not its console's)`,
  ]);
}

/**
 * One line per bad variable: the first of its issues, passing over zod's own bound of a whole
 * number (<=9007199254740991) when the variable has a range of its own — PORT=99999999999999999999
 * said both, the range second.
 */
function oneProblemEach(issues: Array<{ path: PropertyKey[]; message: string }>): string[] {
  const byName = new Map<string, string[]>();
  for (const i of issues) {
    const name = i.path.map(String).join('.') || '(env)';
    byName.set(name, [...(byName.get(name) ?? []), i.message]);
  }
  return [...byName].map(([name, messages]) => {
    const own = messages.filter((m) => !m.includes(String(Number.MAX_SAFE_INTEGER)));
    return `${name}: ${(own.length > 0 ? own : messages)[0]}`;
  });
}

/** Reads and validates the configuration; empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(oneProblemEach(parsed.error.issues));
  }
  return parsed.data;
}
