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
import { createGunzip, gzip, gzipSync } from 'node:zlib';
import type { Context, Next } from 'hono';
import { ApiError } from '../errors.js';
import { bodyBudgetFull, holdInflated } from '../ingest/body-budget.js';
import { keepSentLength } from './body-limit.js';

const gzipAsync = promisify(gzip);

/** Answers smaller than this go as they are: gzip would save a few hundred bytes at best. */
export const GZIP_ANSWER_MIN_BYTES = 1024;
/** Answers up to this size are compressed on the calling thread (tens of µs), larger ones on the pool. */
const SYNC_GZIP_MAX_BYTES = 64 * 1024;

/** Whether an Accept-Encoding header takes gzip (not refused with q=0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

/**
 * JSON answers of 1 KiB and more (a commit's found ids, a begin's upload URLs) go gzipped to a
 * client whose Accept-Encoding takes gzip (the collector's does); smaller ones, and every answer
 * to a client that does not take it, go as the route made them. hono/compress did this before:
 * its threshold read Content-Length, which a route's JSON answer lacks, so it compressed every
 * answer of such a client, a few dozen bytes too, each through a CompressionStream; and setting
 * its Vary header turned every answer, compressed or not, from the bytes the route made into a
 * streamed Response read back chunk by chunk.
 */
export async function gzipAnswers(c: Context, next: Next): Promise<void> {
  // Set before the route answers: it goes out with the route's headers, nothing made again.
  c.header('vary', 'Accept-Encoding');
  await next();
  const res = c.res;
  if (c.req.method === 'HEAD' || !acceptsGzip(c.req.header('accept-encoding'))) return;
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(res.headers.get('content-type') ?? '') || res.headers.has('content-encoding')) return;
  const bytes = new Uint8Array(await res.arrayBuffer());
  const headers = new Headers(res.headers);
  let body: Uint8Array = bytes;
  if (bytes.length >= GZIP_ANSWER_MIN_BYTES) {
    const packed = bytes.length <= SYNC_GZIP_MAX_BYTES ? gzipSync(bytes) : await gzipAsync(bytes);
    body = new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength);
    headers.set('content-encoding', 'gzip');
  }
  headers.set('content-length', String(body.length));
  // Cleared first: assigning over an answer would have Hono copy it into a streamed Response again.
  c.res = undefined;
  c.res = new Response(body as BodyInit, { status: res.status, headers });
}

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
  keepSentLength(c);
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        // Read from the request itself: HonoRequest's body cache must not keep the compressed bytes.
        const packed = new Uint8Array(await raw.arrayBuffer());
        for (const part of await inflateWithin(packed, maxBytes, (bytes) => holdInflated(c, bytes))) controller.enqueue(part);
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

/**
 * Inflates `packed` piece by piece, each piece taken from the request body budget
 * (`take`, api/ingest/body-budget.ts) before it is kept: a body stops inflating at `maxBytes`
 * (413) or where the budget ends (503), never holding more than either.
 */
function inflateWithin(packed: Uint8Array, maxBytes: number, take: (bytes: number) => boolean): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    let total = 0;
    const inflate = createGunzip({ chunkSize: 64 * 1024 });
    const stop = (error: ApiError) => {
      inflate.destroy();
      parts.length = 0;
      reject(error);
    };
    inflate.on('data', (part: Buffer) => {
      total += part.length;
      if (total > maxBytes) return stop(new ApiError('payload_too_large', `request body inflates past ${maxBytes} bytes`));
      if (!take(part.length)) return stop(bodyBudgetFull());
      parts.push(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
    });
    inflate.on('end', () => resolve(parts));
    inflate.on('error', reject);
    inflate.end(packed);
  });
}

function inflateError(e: unknown, maxBytes: number): ApiError {
  if (e instanceof ApiError) return e;
  if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
    return new ApiError('payload_too_large', `request body inflates past ${maxBytes} bytes`);
  }
  return new ApiError('bad_request', 'the request body is not valid gzip (Content-Encoding: gzip)');
}
