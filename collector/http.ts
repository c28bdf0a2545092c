import type { IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { CollectorError, describeError, untrusted } from './errors.js';

/**
 * The catalog could not be reached, or kept failing after every retry: try again later.
 * `status` is the last HTTP status (0: network error or timeout); `reason` what went wrong,
 * without the request it happened to (which names one capture).
 */
export class UnreachableError extends CollectorError {
  constructor(
    message: string,
    readonly status = 0,
    readonly requestId?: string,
    readonly reason = message,
    code = 75,
  ) {
    super(message, code);
    this.name = 'UnreachableError';
  }
}

/**
 * What a try-again-later failure says about the catalog, not the request it went wrong on:
 * network errors, timeouts and 502/503/504 mean it is out of reach ('catalog unreachable: …');
 * null for a 202 (still committing) or another 5xx (failing on this capture).
 */
export function unreachableLine(e: UnreachableError): string | null {
  return e.status !== 202 && (e.status < 500 || e.status === 502 || e.status === 503 || e.status === 504) ? `catalog unreachable: ${e.reason}` : null;
}

/**
 * A 4xx that retrying the same request cannot change (status 0: the collector itself
 * cannot send the capture). `store`: an object store refused an upload URL, not the catalog.
 */
export class RejectedError extends CollectorError {
  store = false;
  constructor(
    message: string,
    readonly status: number,
    readonly requestId?: string,
    /** The answer was not the catalog's error document (another server, a proxy in front). */
    readonly foreign = false,
    /** The catalog's setting or limit the request ran into (the error's `details.limit`). */
    readonly limit?: unknown,
  ) {
    super(message);
    this.name = 'RejectedError';
  }
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Idle timeout of begin, PUT and other requests: a live catalog answers within it. */
export const REQUEST_TIMEOUT_MS = 60_000;

/**
 * Idle timeout of a commit: on the first commit of a large support-grade dump the
 * catalog reads and hashes the whole artifact before it answers.
 */
export const COMMIT_TIMEOUT_MS = 15 * 60_000;

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 250, maxDelayMs: 8000 };

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  timeoutMs?: number;
  /** Sent to the catalog's own URL (not an upload URL it handed out): a refused connection then names the settings that give it. */
  catalog?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** Full-jitter exponential backoff: a random delay in [d/2, d], d doubling per attempt. */
export function backoffDelay(attempt: number, policy: RetryPolicy): number {
  const d = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return d / 2 + Math.random() * (d / 2);
}

/** Opens a request and resolves with the streaming response (caller consumes it). */
export async function openRequest(req: HttpRequest): Promise<IncomingMessage> {
  const url = new URL(req.url);
  // Loaded on the first request (TLS takes milliseconds a run without one need not spend), by a
  // name the bundler does not read: a literal import() of a Node module keeps its ES-module
  // interop helpers in the collector bundle, called by nothing (~400 bytes of its budget).
  const name: string = url.protocol === 'https:' ? 'node:https' : 'node:http';
  const mod: typeof import('node:http') = await import(name);
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
    const headers: Record<string, string> = { ...req.headers };
    if (body) headers['content-length'] = String(body.length);
    const r = mod.request(url, { method: req.method, headers }, resolve);
    r.setTimeout(req.timeoutMs ?? REQUEST_TIMEOUT_MS, () => r.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
    r.on('error', reject);
    r.end(body);
  });
}

/** One request, body read fully. Network failures reject; any status resolves. */
export async function request(req: HttpRequest): Promise<HttpResponse> {
  const res = await openRequest(req);
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  const body = Buffer.concat(parts);
  // The catalog compresses JSON when the request says it may (CatalogClient).
  return { status: res.statusCode ?? 0, headers: res.headers, body: res.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body };
}

/** The error text, code and request id of a response (`{"error":{"code","message","requestId"}}`, or the x-request-id header). */
export function catalogError(res: HttpResponse): { text: string; code?: string; requestId?: string; limit?: unknown } {
  let requestId = res.headers['x-request-id'] as string | undefined;
  try {
    const e = (JSON.parse(res.body.toString()) as { error?: { code?: string; message?: string; requestId?: string; details?: { limit?: unknown } } }).error;
    requestId = e?.requestId ?? requestId;
    if (e?.message) return { text: e.code ? `${e.code}: ${e.message}` : e.message, code: e.code, requestId, limit: e.details?.limit };
  } catch {
    /* not JSON */
  }
  return { text: res.body.toString('utf8', 0, 200).replace(/\s+/g, ' ').trim() || `HTTP ${res.status}`, requestId };
}

/** A Retry-After wait the run sits out; a longer one ends this run's tries (the next run goes again). */
export const RETRY_AFTER_MAX_MS = 60_000;

/** Retry-After (seconds or an HTTP date) in ms, or null. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const ms = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.max(0, ms) : null;
}

/**
 * Sends a request, retrying what says "try again later" — network errors, timeouts, 408,
 * 429 and 5xx — with backoff and jitter, waiting out a Retry-After up to RETRY_AFTER_MAX_MS.
 * 2xx resolves; any other 4xx throws RejectedError at once; exhausted retries (or a longer
 * Retry-After) throw UnreachableError. `what` names the request in messages (never the
 * URL: it may carry a signature).
 */
export async function requestWithRetry(req: HttpRequest | (() => HttpRequest), what: string, policy: RetryPolicy = DEFAULT_RETRY): Promise<HttpResponse> {
  let last = '';
  let status = 0;
  let requestId: string | undefined;
  let wait = 0;
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.max(wait, backoffDelay(attempt - 1, policy))));
    const sent = typeof req === 'function' ? req() : req;
    try {
      const res = await request(sent);
      if (res.status >= 200 && res.status < 300) return res;
      const err = catalogError(res);
      status = res.status;
      requestId = err.requestId;
      last = `HTTP ${status} ${err.text}${requestId ? ` (request ${requestId})` : ''}`;
      if (status < 500 && status !== 408 && status !== 429) throw new RejectedError(`${what}: ${last}`, status, requestId, !err.code, err.limit);
      wait = retryAfterMs(res.headers['retry-after'] as string | undefined) ?? 0;
      if (wait > RETRY_AFTER_MAX_MS) {
        last += `; retry after ${Math.round(wait / 1000)} s`;
        throw new UnreachableError(`${what}: ${last}`, status, requestId, last);
      }
    } catch (e) {
      if (e instanceof CollectorError) throw e;
      last = describeError(e, sent.url, sent.catalog);
      if (untrusted(e)) throw new UnreachableError(last, 0, undefined, last, 78);
      status = 0;
      requestId = undefined;
      wait = 0;
    }
  }
  throw new UnreachableError(`${what} failed after ${policy.retries + 1} attempts: ${last}`, status, requestId, last);
}
