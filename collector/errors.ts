/**
 * Exit statuses every command shares (sysexits-style where one exists). `rejected`
 * (EX_DATAERR): the run delivered what it could, but the catalog will never take one
 * capture, which now waits in `<spool>/rejected/` for an operator. `config` (EX_CONFIG): the
 * config file cannot be read, or is not a JSON object with keys of the documented types.
 * `damaged` (as the catalog CLI's check and maintenance exit for corrupt chunks): the catalog's
 * copy of what a restore needs has a damaged chunk, which asking again will not mend.
 */
export const EXIT = { ok: 0, failed: 1, partial: 2, damaged: 3, usage: 64, rejected: 65, spooled: 75, config: 78 } as const;

/**
 * What `--json` puts on stdout for a failure, in the catalog API's shape: `{"error":{"code","message"}}`,
 * the code by exit status (README, "Operating the catalog", its "Scripts:" paragraph): chunk_corrupt (3), usage (64), rejected (65),
 * unreachable (75), invalid_config (78), else failed.
 */
export const jsonError = (status: number, message: string) => ({
  error: { code: { 3: 'chunk_corrupt', 64: 'usage', 65: 'rejected', 75: 'unreachable', 78: 'invalid_config' }[status] ?? 'failed', message },
});

/**
 * An expected failure: printed as one line on stderr, never with a stack trace.
 * `exitCode` is what the process ends with.
 */
export class CollectorError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.failed) {
    super(message);
    this.name = 'CollectorError';
    this.exitCode = exitCode;
  }
}

/** Bad flags or arguments: exit 64 with a pointer to `--help`. */
export class UsageError extends CollectorError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/**
 * A TLS certificate this host does not trust (or issued for another name): a setting of this
 * host to change (its CA, the URL), not an outage, so retrying cannot mend it and it exits 78
 * (EX_CONFIG), not 75, which cron would retry for ever.
 */
export const untrusted = (e: unknown) => /CERT|SIGNED|UNABLE_TO_/.test((e as NodeJS.ErrnoException)?.code as string);

/**
 * A short, single-line description of any thrown value, for reports and stderr. With the `url`
 * a request went to, a scheme that does not match what the server speaks is said as such, with
 * what to change: OpenSSL's "wrong version number" is an https:// URL answered in plain HTTP; a
 * connection an http:// URL found closed without an answer is what a TLS server does with it.
 * A refused connection is nothing listening at the URL's host and port: a catalog stopped or
 * restarting, or a URL with the wrong port. Which one, only the operator can tell, so it still
 * exits 75 (a restart passes; a spooled capture waits), but the line names the address and, for
 * the `catalog`'s own URL, the settings that give it.
 */
export function describeError(e: unknown, url?: string, catalog = false): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    const msg = e.message.split('\n')[0];
    const at = url && new URL(url).host;
    if (at && msg.includes('wrong version number')) return `${at} speaks plain HTTP, not TLS: make the URL http://${at}`;
    if (at && code === 'ECONNRESET' && url.startsWith('http:')) return `${at} hung up unanswered: if it speaks TLS, make the URL https://${at}`;
    if (at && code === 'ECONNREFUSED')
      return `nothing listens on ${at} (${msg})${catalog ? `: the catalog is not running there, or that is not its port — check --url, CATALOG_URL or the config file's "catalogUrl"` : ''}`;
    // Not a passing fault: this host does not trust the certificate, or it names another host.
    if (at && untrusted(e))
      return `${code}: ${msg}: this host does not trust ${at}'s TLS certificate; give its CA with NODE_EXTRA_CA_CERTS=FILE, and a URL with the name it was issued for`;
    return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
  }
  return String(e).split('\n')[0];
}
