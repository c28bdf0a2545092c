import type { BeginBody, BeginResponse, CommitResponse, UploadTarget } from '../formats/index.js';
import { gzipSync } from 'node:zlib';
import { CollectorError } from './errors.js';
import {
  COMMIT_TIMEOUT_MS,
  RejectedError,
  REQUEST_TIMEOUT_MS,
  requestWithRetry,
  retryAfterMs,
  UnreachableError,
  type HttpRequest,
  type RetryPolicy,
} from './http.js';

/**
 * Idle timeouts of the client's requests: the commit's is longer (the catalog hashes a new dump
 * whole first). `commitWaitMs`: how long one run sits out 202s (a commit the catalog's worker
 * is on) in all; after that the capture stays spooled and goes out with the next run.
 */
export interface ClientTimeouts {
  requestMs: number;
  commitMs: number;
  commitWaitMs?: number;
}

export const DEFAULT_TIMEOUTS: Readonly<ClientTimeouts> = Object.freeze({ requestMs: REQUEST_TIMEOUT_MS, commitMs: COMMIT_TIMEOUT_MS });

/** What one run may still wait on commits in progress at the catalog (shared by every client of the run). */
let commitWaitLeft = 5 * 60_000;

/** The catalog's ingest API as the collector uses it: JSON over HTTP, bearer token. */
export class CatalogClient {
  readonly #origin: string;
  readonly #token: string;

  constructor(
    readonly baseUrl: string,
    token: string,
    readonly retry: RetryPolicy,
    readonly timeouts: ClientTimeouts = DEFAULT_TIMEOUTS,
  ) {
    this.#token = token;
    this.#origin = new URL(baseUrl).origin;
    if (timeouts.commitWaitMs !== undefined) commitWaitLeft = timeouts.commitWaitMs;
  }

  #json(method: string, path: string, body?: unknown): HttpRequest {
    return {
      method,
      url: `${this.baseUrl}${path}`,
      headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json', accept: 'application/json', 'accept-encoding': 'gzip' },
      body: body === undefined ? '' : JSON.stringify(body),
      timeoutMs: this.timeouts.requestMs,
      catalog: true,
    };
  }

  static #parse<T>(body: Buffer, what: string): T {
    try {
      return JSON.parse(body.toString()) as T;
    } catch {
      throw new CollectorError(`${what}: the catalog answered with something that is not JSON`);
    }
  }

  /** Begins go gzipped until a catalog refuses one (400 to 415: one that predates gzip bodies says 400): then plain. */
  #gzip = true;

  /**
   * POST /v1/captures: idempotent on captureId. The answer leaves out the chunks present (unused
   * here), and carries the commit's answer when the catalog committed the capture with it.
   * `partial`: the artifacts read so far, POST /v1/captures/{id}/partial (deliverPart).
   */
  async begin(req: BeginBody, partial?: boolean): Promise<BeginResponse> {
    const send = () => {
      const r = this.#json('POST', partial ? `/v1/captures/${req.captureId}/partial` : '/v1/captures', req);
      // An unchanged capture is committed by its begin (the answer's `commit`): one round trip.
      r.headers!.prefer = partial ? 'return=minimal' : 'return=minimal, commit-if-complete';
      if (this.#gzip) {
        r.headers!['content-encoding'] = 'gzip';
        r.body = gzipSync(r.body!);
      }
      return requestWithRetry(r, `begin capture ${req.captureId}`, this.retry);
    };
    const res = await send().catch((e) => {
      // 400 (a catalog that predates gzip bodies reads them as bad JSON), 415, or another refusal of the request itself.
      // (Not a catalog without the partial route: it predates neither.)
      if (partial || !this.#gzip || !(e instanceof RejectedError && e.status < 416)) throw e;
      this.#gzip = false;
      return send();
    });
    return CatalogClient.#parse<BeginResponse>(res.body, 'begin');
  }

  /**
   * POST /v1/captures/{id}/commit. A 202 says the catalog's worker is verifying a large capture:
   * the same POST is repeated after its Retry-After (1–30 s) until the answer is final, or the
   * run's wait is used up (UnreachableError with status 202: try later).
   */
  async commit(captureId: string): Promise<CommitResponse> {
    const req = { ...this.#json('POST', `/v1/captures/${encodeURIComponent(captureId)}/commit`, {}), timeoutMs: this.timeouts.commitMs };
    req.headers!.prefer = 'respond-async';
    let waited = 0;
    for (;;) {
      const res = await requestWithRetry(req, `commit capture ${captureId}`, this.retry);
      if (res.status !== 202) return CatalogClient.#parse<CommitResponse>(res.body, 'commit');
      const wait = Math.min(Math.max(retryAfterMs(res.headers['retry-after'] as string) ?? 5000, 1000), 30_000, commitWaitLeft);
      if (wait <= 0)
        throw new UnreachableError(
          `commit capture ${captureId}: still in progress at the catalog after ${waited / 1000} s; it goes out with the next run`,
          202,
        );
      waited += wait;
      if (waited > 10_000) process.stderr.write(`commit ${captureId}: the catalog is still verifying it (${waited / 1000} s)\n`);
      commitWaitLeft -= wait;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /**
   * PUTs one chunk's stored bytes to the URL the catalog handed out. The bearer token
   * goes only to the catalog's own origin, never to an object store.
   */
  async put(target: UploadTarget, body: Buffer): Promise<void> {
    const url = new URL(target.url, `${this.baseUrl}/`).toString();
    const headers: Record<string, string> = { ...target.headers };
    if (new URL(url).origin === this.#origin) headers.authorization = `Bearer ${this.#token}`;
    await requestWithRetry(
      { method: 'PUT', url, headers, body, timeoutMs: this.timeouts.requestMs },
      `upload chunk ${target.sha256.slice(0, 12)}`,
      this.retry,
    ).catch((e) => {
      // A refused upload URL (expired signature) says nothing about the capture or the token.
      if (e instanceof RejectedError) e.store = true;
      throw e;
    });
  }

  /** This client without retries (a step that may simply stop: deliverPart). */
  once(): CatalogClient {
    return new CatalogClient(this.baseUrl, this.#token, { ...this.retry, retries: 0 }, { ...this.timeouts, commitWaitMs: undefined });
  }

  /** A GET under the API, for downloads; the caller streams the response. */
  getRequest(path: string): HttpRequest {
    return { method: 'GET', url: `${this.baseUrl}${path}`, headers: { authorization: `Bearer ${this.#token}` }, timeoutMs: 300_000, catalog: true };
  }
}
