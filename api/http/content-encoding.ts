/**
 * Request bodies sent compressed (`Content-Encoding: gzip`; the collector sends its begin so):
 * inflated when the route reads them, and held to the same limit as a plain body — the
 * inflated bytes past `maxBytes` are a 413 (zlib stops there: a gzip bomb costs at most that
 * much memory), bytes that are not gzip a 400, any other coding a 415 with
 * `Accept-Encoding: gzip` (RFC 7694). The compressed body itself went through the body limit
 * before this runs.
 *
 * Nothing is read or inflated up front: the request's body is replaced by one that inflates
 * on its first read, which comes after the route's token and role checks (api/http/auth.ts).
 * A 64 KiB gzip inflates to 64 MiB, so a request the catalog refuses — no token, an unknown
 * one, a role the route does not take — or a route that reads no body (a commit) must never
 * cost that.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Context } from 'hono';
import { ApiError } from '../errors.js';

const gunzipAsync = promisify(gunzip);

/** Why a request's gzip body could not be read, once a read failed (a route's JSON validator reports any failure as malformed JSON). */
const failures = new WeakMap<Context, ApiError>();

/** The 413 or 400 a gzip body's inflate ended with, if it was read and failed. */
export function inflateFailure(c: Context): ApiError | undefined {
  return failures.get(c);
}

/** Replaces a gzip request body by one that inflates when read (a no-op for a plain body). */
export function inflateRequest(c: Context, maxBytes: number): void {
  const coding = c.req.header('content-encoding')?.trim().toLowerCase();
  if (!coding || coding === 'identity') return;
  if (coding !== 'gzip' && coding !== 'x-gzip') {
    c.header('accept-encoding', 'gzip');
    throw new ApiError('unsupported_media_type', `request bodies may be sent with Content-Encoding gzip, not ${JSON.stringify(coding.slice(0, 40))}`);
  }
  const raw = c.req.raw;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        // Read from the request itself: HonoRequest's body cache must not keep the compressed bytes.
        const packed = new Uint8Array(await raw.arrayBuffer());
        const out = await gunzipAsync(packed, { maxOutputLength: maxBytes });
        controller.enqueue(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
        controller.close();
      } catch (e) {
        const failure = inflateError(e, maxBytes);
        failures.set(c, failure);
        controller.error(failure);
      }
    },
  });
  const headers = new Headers(raw.headers);
  headers.delete('content-encoding');
  headers.delete('content-length');
  c.req.raw = new Request(raw.url, { method: raw.method, headers, body, duplex: 'half' } as RequestInit);
}

function inflateError(e: unknown, maxBytes: number): ApiError {
  if (e instanceof ApiError) return e;
  if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
    return new ApiError('payload_too_large', `request body inflates past ${maxBytes} bytes`);
  }
  return new ApiError('bad_request', 'the request body is not valid gzip (Content-Encoding: gzip)');
}
