import type { IncomingMessage } from 'node:http';
import { CollectorError, describeError } from './errors.js';

/** The catalog could not be reached, or kept failing with 5xx after every retry. */
export class UnreachableError extends CollectorError {
  constructor(message: string) {
    super(message, 75);
    this.name = 'UnreachableError';
  }
}

/** The catalog answered with a 4xx: retrying the same request cannot help. */
export class RejectedError extends CollectorError {
  constructor(message: string, readonly status: number) {
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
export const requestTimeout = { ms: 60_000 };

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
  const mod = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
    const headers: Record<string, string> = { ...req.headers };
    if (body) headers['content-length'] = String(body.length);
    const r = mod.request(url, { method: req.method, headers }, resolve);
    r.setTimeout(req.timeoutMs ?? requestTimeout.ms, () => r.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
    r.on('error', reject);
    r.end(body);
  });
}

/** One request, body read fully. Network failures reject; any status resolves. */
export async function request(req: HttpRequest): Promise<HttpResponse> {
  const res = await openRequest(req);
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) };
}

/** The server's `{"error":{"message"}}` text, or the start of the body. */
export function errorText(res: HttpResponse): string {
  try {
    const j = JSON.parse(res.body.toString('utf8')) as { error?: { code?: string; message?: string } };
    if (j.error?.message) return j.error.code ? `${j.error.code}: ${j.error.message}` : j.error.message;
  } catch {
    /* not JSON */
  }
  return res.body.toString('utf8', 0, 200).replace(/\s+/g, ' ').trim() || `HTTP ${res.status}`;
}

/**
 * Sends a request, retrying network errors and 5xx with backoff and jitter.
 * 2xx resolves; 4xx throws RejectedError at once; exhausted retries throw UnreachableError.
 * `what` names the request in messages (never the URL: it may carry a signature).
 */
export async function requestWithRetry(req: HttpRequest | (() => HttpRequest), what: string, policy: RetryPolicy = DEFAULT_RETRY): Promise<HttpResponse> {
  let last = '';
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, backoffDelay(attempt - 1, policy)));
    try {
      const res = await request(typeof req === 'function' ? req() : req);
      if (res.status >= 200 && res.status < 300) return res;
      if (res.status < 500) throw new RejectedError(`${what}: HTTP ${res.status} ${errorText(res)}`, res.status);
      last = `HTTP ${res.status} ${errorText(res)}`;
    } catch (e) {
      if (e instanceof RejectedError) throw e;
      last = describeError(e);
    }
  }
  throw new UnreachableError(`${what} failed after ${policy.retries + 1} attempts: ${last}`);
}
