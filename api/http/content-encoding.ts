/**
 * Request bodies sent compressed (`Content-Encoding: gzip`; the collector sends its begin so):
 * inflated before any route reads them, and held to the same limit as a plain body — the
 * inflated bytes past `maxBytes` are a 413 (zlib stops there: a gzip bomb costs at most that
 * much memory), bytes that are not gzip a 400, any other coding a 415 with
 * `Accept-Encoding: gzip` (RFC 7694). The compressed body itself went through the body limit
 * before this runs.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Context } from 'hono';
import { ApiError } from '../errors.js';

const gunzipAsync = promisify(gunzip);

/** Replaces a gzip request body by its inflated bytes (a no-op for a plain body). */
export async function inflateRequest(c: Context, maxBytes: number): Promise<void> {
  const coding = c.req.header('content-encoding')?.trim().toLowerCase();
  if (!coding || coding === 'identity') return;
  if (coding !== 'gzip' && coding !== 'x-gzip') {
    c.header('accept-encoding', 'gzip');
    throw new ApiError('unsupported_media_type', `request bodies may be sent with Content-Encoding gzip, not ${JSON.stringify(coding.slice(0, 40))}`);
  }
  // Read from the request itself: HonoRequest's body cache must not keep the compressed bytes.
  const packed = new Uint8Array(await c.req.raw.arrayBuffer());
  let body: Buffer;
  try {
    body = await gunzipAsync(packed, { maxOutputLength: maxBytes });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new ApiError('payload_too_large', `request body inflates past ${maxBytes} bytes`);
    }
    throw new ApiError('bad_request', 'the request body is not valid gzip (Content-Encoding: gzip)');
  }
  const headers = new Headers(c.req.raw.headers);
  headers.delete('content-encoding');
  headers.set('content-length', String(body.length));
  c.req.raw = new Request(c.req.raw.url, { method: c.req.method, headers, body: body as unknown as BodyInit });
}
