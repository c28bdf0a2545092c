/**
 * Exit statuses every command shares (sysexits-style where one exists). `rejected`
 * (EX_DATAERR): the run delivered what it could, but the catalog will never take one
 * capture, which now waits in `<spool>/rejected/` for an operator.
 */
export const EXIT = { ok: 0, failed: 1, partial: 2, usage: 64, rejected: 65, spooled: 75 } as const;

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

/** A short, single-line description of any thrown value, for reports and stderr. */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    const msg = e.message.split('\n')[0];
    // OpenSSL's words for an https:// URL whose server speaks plain HTTP.
    if (msg.includes('wrong version number')) return `${code}: no TLS there (an https:// URL for an http:// catalog?)`;
    return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
  }
  return String(e).split('\n')[0];
}
