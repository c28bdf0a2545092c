/**
 * One error taxonomy for every route: a code, mapped to an HTTP status in one place,
 * rendered as {"error":{"code","message","requestId"}} by the app's onError.
 * Failures of the database or the store that a retry may cure (connection refused or
 * lost, a timeout, the S3 server failing) are `service_unavailable` (503 + Retry-After);
 * what an operator needs from any 5xx is `describeError` (see docs/architecture.md, "Errors").
 */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  unprocessable: 422,
  too_many_requests: 429,
  internal: 500,
  chunk_corrupt: 502,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Seconds a 503 asks the client to wait before it retries. */
export const RETRY_AFTER_SECONDS = 30;

/** Seconds a 429 asks the client to wait: a host's open captures are committed or expire (api/ingest/begin.ts) over minutes to hours, not seconds. */
export const TOO_MANY_RETRY_AFTER_SECONDS = 600;

export interface ApiErrorOptions {
  /** The underlying error: logged (see describeError) for a 5xx, never sent to the client. */
  cause?: unknown;
}

/** Throw this from any handler or service; the app turns it into the error shape. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: (typeof ERROR_STATUS)[ErrorCode];
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown, options: ApiErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId: string; details?: unknown };
}

/** The JSON body for an error. */
export function errorBody(code: ErrorCode, message: string, requestId: string, details?: unknown): ErrorBody {
  return { error: { code, message, requestId, ...(details !== undefined ? { details } : {}) } };
}

/** Where an error happened (capture, artifact): attached on the way up, read by the log line. */
export interface ErrorContext {
  captureId?: string;
  artifactId?: string;
  artifacts?: string;
}

const CONTEXT = Symbol('catalogErrorContext');

/** Adds `context` to `err` (kept on the object, not in its message) and returns it, for `throw annotateError(e, …)`. */
export function annotateError<T>(err: T, context: ErrorContext): T {
  if (err && typeof err === 'object') {
    const target = err as { [CONTEXT]?: ErrorContext };
    // The innermost call knows the most: keep what is already there.
    target[CONTEXT] = { ...context, ...target[CONTEXT] };
  }
  return err;
}

/** The context annotateError attached anywhere along the cause chain. */
export function errorContext(err: unknown): ErrorContext {
  let out: ErrorContext = {};
  for (const e of causeChain(err)) {
    const c = (e as { [CONTEXT]?: ErrorContext })[CONTEXT];
    if (c) out = { ...c, ...out };
  }
  return out;
}

/** `err` and its causes, outermost first (at most 8, no cycles). */
export function causeChain(err: unknown): object[] {
  const out: object[] = [];
  let e: unknown = err;
  while (e && typeof e === 'object' && out.length < 8 && !out.includes(e)) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

const cut = (s: unknown, n: number): string | undefined => {
  if (s === undefined || s === null || s === '') return undefined;
  const t = String(s);
  return t.length > n ? `${t.slice(0, n)}…` : t;
};

/** True for drizzle's wrapper, whose message is the query followed by its parameter list. */
function isQueryWrapper(e: object): boolean {
  const m = (e as { message?: unknown }).message;
  return 'params' in e && 'query' in e && typeof m === 'string' && m.startsWith('Failed query:');
}

/**
 * What an operator needs from a failure, small enough for one log line: for a database
 * error its own fields (SQLSTATE, message, constraint, table, column, detail), for a
 * system error its code and syscall, for an S3 error its name and HTTP status; plus the
 * statement (without its parameters) and the top frames of the innermost stack.
 * Never the parameter list drizzle puts in its message, never request or artifact bytes.
 */
export function describeError(err: unknown): Record<string, unknown> {
  const chain = causeChain(err);
  const out: Record<string, unknown> = {};
  for (const e of chain) {
    const x = e as Record<string, unknown>;
    if (isQueryWrapper(e)) {
      out.query ??= cut(String(x.query).replace(/\s+/g, ' '), 160);
      continue;
    }
    if (e instanceof ApiError) {
      out.apiCode ??= e.code;
      continue;
    }
    const sqlstate = typeof x.code === 'string' && /^[0-9A-Z]{5}$/.test(x.code) ? x.code : undefined;
    if (
      sqlstate &&
      (x.severity !== undefined ||
        x.routine !== undefined ||
        x.constraint_name !== undefined ||
        x.table_name !== undefined ||
        x.constraint !== undefined ||
        x.table !== undefined ||
        'position' in x)
    ) {
      out.sqlstate ??= sqlstate;
      out.dbMessage ??= cut(x.message, 300);
      out.constraint ??= cut(x.constraint_name ?? x.constraint, 100);
      out.table ??= cut(x.table_name ?? x.table, 100);
      out.column ??= cut(x.column_name ?? x.column, 100);
      // Only a key's detail ("Key (id)=(…) already exists"): "Failing row contains (…)" is row data.
      if (typeof x.detail === 'string' && x.detail.startsWith('Key (')) out.dbDetail ??= cut(x.detail, 200);
      continue;
    }
    out.error ??= cut(`${(x.name as string) ?? 'Error'}: ${isQueryWrapper(e) ? '' : String(x.message ?? '')}`, 300);
    if (typeof x.code === 'string' || typeof x.code === 'number') out.errorCode ??= x.code;
    if (typeof x.syscall === 'string') out.syscall ??= x.syscall;
    const status = (x.$metadata as { httpStatusCode?: number } | undefined)?.httpStatusCode;
    if (status !== undefined) out.storeStatus ??= status;
  }
  const innermost = chain[chain.length - 1] as { stack?: unknown } | undefined;
  if (innermost && !isQueryWrapper(innermost) && typeof innermost.stack === 'string') {
    const frames = innermost.stack
      .split('\n')
      .filter((l) => /^\s+at /.test(l))
      .slice(0, 3)
      .map((l) => l.trim());
    if (frames.length) out.at = cut(frames.join(' < '), 400);
  }
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/**
 * One line for a failure that ends a start or a CLI command: the innermost cause's own
 * words (the database's "database "x" does not exist", the system's "connect ECONNREFUSED
 * 127.0.0.1:5432"), with the statement drizzle wrapped it in. drizzle's own message is
 * "Failed query: <statement>\nparams: <values>": two lines that never say why, and values
 * that may be a token's hash.
 */
export function failureLine(err: unknown): string {
  const chain = causeChain(err);
  const wrapper = chain.find(isQueryWrapper) as { query?: unknown } | undefined;
  const inner = [...chain].reverse().find((e) => !isQueryWrapper(e)) as { message?: unknown; code?: unknown } | undefined;
  const own = inner ? String(inner.message ?? '') || String(inner.code ?? '') : chain.length ? '' : String(err);
  const reason = (own || 'unknown error').split('\n')[0];
  if (!wrapper) return reason;
  return `${reason} (at ${cut(String(wrapper.query).replace(/\s+/g, ' ').trim(), 80)})`;
}

const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'EPIPE',
  'ENOTFOUND',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  // postgres.js
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  // a filesystem store that cannot be written or is full
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
  'EDQUOT',
  'EIO',
]);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError', 'ServiceUnavailable', 'SlowDown', 'InternalError']);

/**
 * True when `err` says the database or the store is unavailable right now, so a retry
 * later may succeed: network failures and timeouts, Postgres connection/resource/shutdown
 * states (SQLSTATE classes 08, 53, 57P), a transaction Postgres aborted for a deadlock or a
 * serialization failure (40P01, 40001: the same request succeeds when repeated), a closed
 * embedded database, S3 answering 5xx or not answering, a filesystem store that cannot be
 * written.
 */
export function isUnavailable(err: unknown): boolean {
  for (const e of causeChain(err)) {
    if (e instanceof ApiError) return e.code === 'service_unavailable';
    const x = e as { code?: unknown; name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } };
    if (typeof x.code === 'string') {
      if (NET_CODES.has(x.code)) return true;
      if (/^(08|53)[0-9A-Z]{3}$/.test(x.code) || /^57P0[1-4]$/.test(x.code) || x.code === '57014') return true;
      if (x.code === '40P01' || x.code === '40001') return true;
    }
    if (typeof x.name === 'string' && TIMEOUT_NAMES.has(x.name)) return true;
    const status = x.$metadata?.httpStatusCode;
    if (x.$metadata && (status === undefined || status >= 500)) return true;
    if (typeof x.message === 'string' && /PGlite is closed|database is closed/i.test(x.message)) return true;
  }
  return false;
}

/** Whether the S3 client found no credentials (no AWS_ACCESS_KEY_ID, profile or role): the SDK's CredentialsProviderError. */
export function isMissingCredentials(err: unknown): boolean {
  return causeChain(err).some((e) => (e as { name?: unknown }).name === 'CredentialsProviderError');
}

/** Whether the S3 store answered that its bucket does not exist: S3_BUCKET names no bucket at S3_ENDPOINT. */
export function isMissingBucket(err: unknown): boolean {
  return causeChain(err).some((e) => {
    const x = e as { name?: unknown; Code?: unknown };
    return x.name === 'NoSuchBucket' || x.Code === 'NoSuchBucket';
  });
}

/**
 * The HTTP status of a 4xx the S3 store could not read as S3's: a body that is not S3's XML
 * (a web application's JSON or HTML), or a 404 without a body to any request but a HEAD (which
 * the store answers itself). S3_ENDPOINT then leads to another kind of server. Null otherwise.
 */
export function foreignStoreStatus(err: unknown): number | null {
  for (const e of causeChain(err)) {
    const x = e as { message?: unknown; $metadata?: { httpStatusCode?: number } };
    const status = x.$metadata?.httpStatusCode;
    if (status === undefined || status < 400 || status >= 500 || typeof x.message !== 'string') continue;
    if (x.message.startsWith('@aws-sdk XML parse error') || (status === 404 && x.message === 'UnknownError')) return status;
  }
  return null;
}

/** The ApiError a failure becomes: itself when it is one, `service_unavailable` for an outage, else `internal`. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isUnavailable(err)) return new ApiError('service_unavailable', "the catalog's database or store is unavailable; retry later", undefined, { cause: err });
  return new ApiError('internal', 'internal error', undefined, { cause: err });
}
