import type { BeginRequest, BeginResponse, CommitResponse, UploadTarget } from '../formats/index.js';
import { CollectorError } from './errors.js';
import { COMMIT_TIMEOUT_MS, RejectedError, REQUEST_TIMEOUT_MS, requestWithRetry, type HttpRequest, type RetryPolicy } from './http.js';

/** Idle timeouts of the client's requests: the commit's is longer (the catalog hashes a new dump whole first). */
export interface ClientTimeouts {
  requestMs: number;
  commitMs: number;
}

export const DEFAULT_TIMEOUTS: Readonly<ClientTimeouts> = Object.freeze({ requestMs: REQUEST_TIMEOUT_MS, commitMs: COMMIT_TIMEOUT_MS });

/** The catalog's ingest API as the collector uses it: JSON over HTTP, bearer token. */
export class CatalogClient {
  private readonly origin: string;

  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    readonly retry: RetryPolicy,
    readonly timeouts: ClientTimeouts = DEFAULT_TIMEOUTS,
  ) {
    this.origin = new URL(baseUrl).origin;
  }

  private json(method: string, path: string, body?: unknown): HttpRequest {
    return {
      method,
      url: `${this.baseUrl}${path}`,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? '' : JSON.stringify(body),
      timeoutMs: this.timeouts.requestMs,
    };
  }

  private static parse<T>(body: Buffer, what: string): T {
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch {
      throw new CollectorError(`${what}: the catalog answered with something that is not JSON`);
    }
  }

  /** POST /v1/captures: idempotent on captureId. */
  async begin(req: BeginRequest): Promise<BeginResponse> {
    const res = await requestWithRetry(this.json('POST', '/v1/captures', req), `begin capture ${req.captureId}`, this.retry);
    return CatalogClient.parse<BeginResponse>(res.body, 'begin');
  }

  /** POST /v1/captures/{id}/commit. */
  async commit(captureId: string): Promise<CommitResponse> {
    const req = { ...this.json('POST', `/v1/captures/${encodeURIComponent(captureId)}/commit`, {}), timeoutMs: this.timeouts.commitMs };
    const res = await requestWithRetry(req, `commit capture ${captureId}`, this.retry);
    return CatalogClient.parse<CommitResponse>(res.body, 'commit');
  }

  /**
   * PUTs one chunk's stored bytes to the URL the catalog handed out. The bearer token
   * goes only to the catalog's own origin, never to an object store.
   */
  async put(target: UploadTarget, body: Buffer): Promise<void> {
    const url = new URL(target.url, `${this.baseUrl}/`).toString();
    const headers: Record<string, string> = { ...target.headers };
    if (new URL(url).origin === this.origin) headers.authorization = `Bearer ${this.token}`;
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

  /** A GET under the API, for downloads; the caller streams the response. */
  getRequest(path: string): HttpRequest {
    return { method: 'GET', url: `${this.baseUrl}${path}`, headers: { authorization: `Bearer ${this.token}` }, timeoutMs: 300_000 };
  }
}
