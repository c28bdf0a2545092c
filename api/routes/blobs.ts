/**
 * The filesystem store's own upload and download URLs (S3 serves these itself):
 * `PUT /v1/blobs/<key>?exp&len&sha256&sig` stores exactly the signed body,
 * `GET /v1/blobs/<key>?exp[&name]&sig` downloads, with Range support.
 * No bearer token: the signature is the authorisation. Upload URLs name staging keys only
 * (`staging/<captureId>/<sha256>`); a PUT for a capture whose staging area is gone
 * (committed or swept) answers 409, so a long-lived URL cannot write after its commit.
 */
import { Hono, type Context } from 'hono';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { ApiError } from '../errors.js';
import { parseRange } from '../http/range.js';
import { blobKeyFromUrlPath } from '../store/fs.js';
import { BlobNotFoundError, type SelfServingStore } from '../store/types.js';
import { attachmentDisposition } from '../store/content-disposition.js';

/**
 * The request body as it arrives. On Node the IncomingMessage is read directly (about
 * twice the throughput of its web-stream wrapper); elsewhere the web stream.
 */
function requestChunks(c: Context): AsyncIterable<Uint8Array> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && typeof incoming.iterator === 'function') {
    // Not destroyed when we stop early (413): the server then drains or closes it
    // after sending our answer, instead of resetting the connection under it.
    return incoming.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>;
  }
  return webChunks(c.req.raw.body);
}

async function* webChunks(stream: ReadableStream<Uint8Array> | null): AsyncGenerator<Uint8Array> {
  if (!stream) return;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // Stops reading an over-long or refused body instead of draining it.
    await reader.cancel().catch(() => {});
  }
}

function keyOf(url: string): string {
  // The raw path, decoded per segment: Hono's own decoding would turn `%2F` into `/`.
  const key = blobKeyFromUrlPath(new URL(url).pathname);
  if (!key) throw new ApiError('bad_request', 'invalid object key');
  return key;
}

/** Routes for the filesystem store's signed URLs; mount at the app root. */
export function createBlobRoutes(store: SelfServingStore): Hono {
  const routes = new Hono();

  routes.put('/v1/blobs/*', async (c) => {
    const key = keyOf(c.req.url);
    const grant = await store.verifyPresigned('PUT', key, c.req.query());
    const length = grant.contentLength!;
    const declared = c.req.header('content-length');
    if (declared !== undefined) {
      if (!/^\d+$/.test(declared)) throw new ApiError('bad_request', 'invalid Content-Length');
      if (Number(declared) > length) throw new ApiError('payload_too_large', `the body is longer than the ${length} bytes the upload URL allows`);
      if (Number(declared) !== length) throw new ApiError('bad_request', `the body has ${declared} bytes, the upload URL expects ${length}`);
    }
    await store.writeVerified(key, requestChunks(c), { length, sha256: grant.payloadSha256! });
    return c.body(null, 200);
  });

  routes.get('/v1/blobs/*', async (c) => {
    const key = keyOf(c.req.url);
    const grant = await store.verifyPresigned('GET', key, c.req.query());
    const info = await store.head(key);
    if (!info) throw new ApiError('not_found', `no object ${key}`);
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      'cache-control': 'private, no-store',
    };
    if (grant.fileName) headers['content-disposition'] = attachmentDisposition(grant.fileName);
    const range = parseRange(c.req.header('range'), info.size);
    if (range === 'unsatisfiable') {
      c.header('content-range', `bytes */${info.size}`);
      throw new ApiError('range_not_satisfiable', `the range is outside the ${info.size}-byte object`);
    }
    let status: 200 | 206 = 200;
    if (range) {
      status = 206;
      headers['content-range'] = `bytes ${range.start}-${range.end}/${info.size}`;
      headers['content-length'] = String(range.end - range.start + 1);
    } else {
      headers['content-length'] = String(info.size);
    }
    if (c.req.method === 'HEAD') return new Response(null, { status, headers });
    const stream =
      info.size === 0
        ? null
        : await store.getStream(key, range ?? undefined).catch((err) => {
            if (err instanceof BlobNotFoundError) throw new ApiError('not_found', `no object ${key}`); // deleted since the head
            throw err;
          });
    return new Response(stream ? (Readable.toWeb(stream) as ReadableStream<Uint8Array>) : null, { status, headers });
  });

  return routes;
}
